"""The Theano functions of a run: one training step and one evaluation pass.

Built once per run. Loss is the released squared hinge on {-1, +1} targets,
``mean(max(0, 1 - t y)^2)``; the error is the share of argmax mismatches.
"""
from __future__ import absolute_import, division, print_function

import lasagne
import theano
import theano.tensor as T

from .kernels import compile_mode, count_zeros
from .layers import DiscreteActivationLayer
from .settings import ADAM, KERNEL, RANDOM_SEARCH
from .updates import GXNORUpdates

__all__ = ['squared_hinge', 'misclassified', 'TrainingGraph', 'graph_from_config']


def squared_hinge(output, targets):
    """``mean(square(max(0, 1 - t * y)))`` over batch and classes."""
    return T.mean(T.sqr(T.maximum(0., 1. - targets * output)))


def misclassified(output, targets):
    """Per-example 0/1 error: argmax of the output against argmax of the target."""
    return T.neq(T.argmax(output, axis=1), T.argmax(targets, axis=1))


class TrainingGraph(object):
    """Compiled functions for one network.

    * ``train(x, t, lr) -> loss``: one update (DST + Adam + batch-norm statistics);
    * ``evaluate(x, t) -> (loss, errors, zeros, activations)``: deterministic pass (running
      BN statistics): loss averaged over the batch, the number of misclassified examples,
      and how many of the hidden activations' values are exactly zero out of how many
      (the activation sparsity, measured in the same pass).

    ``srng=None`` draws the DST streams from Lasagne's RNG in the released order (one
    per discrete weight, see :func:`gxnor.updates.released_streams`); a given stream
    serves every weight. ``kernels='theano'`` compiles without gxnor's graph
    rewrites (the layers choose their own ops, see :mod:`gxnor.layers`). ``profile``:
    a pair of Theano ``ProfileStats`` for the training and the evaluation function
    (time per op, for ``make bench``).
    """

    def __init__(self, output_layer, input_var, m=3.0, random_search=RANDOM_SEARCH, c_prob=0.8,
                 srng=None, adam_constants=ADAM, kernels=KERNEL, profile=None):
        targets = T.matrix('targets')
        learning_rate = T.scalar('learning_rate')
        mode = compile_mode(kernels)

        train_output = lasagne.layers.get_output(output_layer, deterministic=False)
        train_loss = squared_hinge(train_output, targets)
        self.updates = GXNORUpdates(train_loss, output_layer, learning_rate, srng, m=m,
                                    random_search=random_search, c_prob=c_prob,
                                    adam_constants=adam_constants)
        self.train = theano.function([input_var, targets, learning_rate], train_loss,
                                     updates=self.updates.updates, mode=mode,
                                     profile=profile and profile[0])

        hidden = [layer for layer in lasagne.layers.get_all_layers(output_layer)
                  if isinstance(layer, DiscreteActivationLayer)]
        outputs = lasagne.layers.get_output([output_layer] + hidden, deterministic=True)
        test_output, activations = outputs[0], outputs[1:]
        test_loss = squared_hinge(test_output, targets)
        errors = T.sum(misclassified(test_output, targets))
        # the zeros counted in one threaded pass per activation with the fast kernels (an
        # exact integer either way)
        zero_count = (count_zeros if kernels == 'fast'
                      else lambda a: T.sum(T.eq(a, 0), dtype='int64'))
        zeros = sum((zero_count(a) for a in activations), T.constant(0, dtype='int64'))
        count = sum((T.prod(a.shape, dtype='int64') for a in activations), T.constant(0, dtype='int64'))
        self.evaluate = theano.function([input_var, targets], [test_loss, errors, zeros, count],
                                        mode=mode, profile=profile and profile[1])
        self.output_layer = output_layer

    @property
    def state(self):
        """All shared variables whose values make up the run's state (for checkpoints)."""
        variables = lasagne.layers.get_all_params(self.output_layer)
        variables.extend(v for v in self.updates.state if v not in variables)
        return variables


def graph_from_config(config, network, input_var, srng=None, profile=None):
    """The :class:`TrainingGraph` of ``network`` (built by
    :func:`gxnor.models.network_from_config`) with the configuration's update settings: the
    one place that maps them, for the training loop and the golden generator. ``srng`` and
    ``profile`` as in :class:`TrainingGraph`."""
    return TrainingGraph(network, input_var, m=config['m'],
                         random_search=config['random_search'], c_prob=config['c_prob'],
                         srng=srng, adam_constants=config['adam_constants'],
                         kernels=config['kernels'], profile=profile)
