"""Parameter updates as the released scripts assemble them.

Two Lasagne Adam instances, each with its own step counter: one over the discrete
weights, whose proposed new value only supplies ``dW = adam_new_W - W`` for the DST
(see dst.py), one over every other trainable parameter (biases, batch-norm beta and
gamma), applied as plain Adam. Lasagne's ``adam`` is the same in 0.1 and 0.2:

.. math::

    t \\leftarrow t + 1,\\quad a_t = \\eta \\sqrt{1 - \\beta_2^t} / (1 - \\beta_1^t),\\quad
    m \\leftarrow \\beta_1 m + (1 - \\beta_1) g,\\quad v \\leftarrow \\beta_2 v + (1 - \\beta_2) g^2,
    \\quad \\theta \\leftarrow \\theta - a_t m / (\\sqrt{v} + \\epsilon)

Random search. The released DST update is
``switch(update_type < 100, random_search_branch, dst_branch)`` where ``update_type``
is set by the training loop to 10 after ``patience`` epochs without a new best, else
200. Because ``update_type`` was a Python number when the graph was compiled, the switch
is constant-folded and the random-search branch never runs; its constants (a keep flag
``c`` drawn with probability ``c_prob`` and one random grid state) were drawn once, at
build time, and its "best weights" were the live weights themselves.

* ``random_search='released'`` (default) reproduces that: pure DST on every update.
* ``random_search='live'`` makes the heuristic real, as we read the paper's description
  (our reconstruction): a shared ``update_type``; a snapshot ``W_best`` of the weights
  at the best epoch (the loop calls :meth:`GXNORUpdates.remember_best`); when
  ``update_type < 100`` each weight is kept at ``W_best`` with probability ``c_prob`` and
  otherwise proposed a jump toward a uniformly drawn grid state, the jump being applied
  through the same DST transition; fresh draws on every update.
"""
from __future__ import absolute_import, division, print_function

from collections import OrderedDict

import lasagne
import numpy as np
import theano
import theano.tensor as T
from theano.sandbox.rng_mrg import MRG_RandomStreams

from .discretization import weight_step, _as_floatx
from .dst import dst_update, discrete_state_transition
from .layers import MRG_SEED_HIGH, discrete_weight_spaces
from .settings import ADAM, RANDOM_SEARCH, RANDOM_SEARCH_OFF, check_choice

__all__ = ['adam', 'GXNORUpdates', 'released_streams']


def adam(grads, params, learning_rate, constants=ADAM, beta1=0.9, beta2=0.999,
         epsilon=1e-8):
    """Lasagne's Adam as an OrderedDict of updates (one step counter for ``params``).

    ``constants`` says how ``1 - beta`` reaches the float32 graph:

    * ``'float32'`` (default): Lasagne 0.2.dev1 from 2016-04-26 on, the Lasagne the
      released MNIST script runs on: ``one = T.constant(1)``; ``one - beta1`` and
      ``one - beta2`` are float32 subtractions, i.e. 0.100000024f and 0.0009999871f;
    * ``'python'``: Lasagne 0.1 (PyPI) and the January 2016 master: the Python floats
      ``1 - 0.9`` and ``1 - 0.999`` become the float32 constants 0.1f and 0.001f.

    Everything else is the same expression in both:
    ``t = t_prev + 1``, ``a_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t)``,
    ``m = beta1 m + (1 - beta1) g``, ``v = beta2 v + (1 - beta2) g^2``,
    ``param - a_t m / (sqrt(v) + epsilon)``.
    """
    check_choice('adam_constants', constants, 'adam constants')
    one = T.constant(1) if constants == 'float32' else 1
    t_prev = theano.shared(lasagne.utils.floatX(0.))
    t = t_prev + 1
    a_t = learning_rate * T.sqrt(one - beta2 ** t) / (one - beta1 ** t)
    updates = OrderedDict()
    for param, g_t in zip(params, grads):
        value = param.get_value(borrow=True)
        m_prev = theano.shared(np.zeros(value.shape, dtype=value.dtype),
                               broadcastable=param.broadcastable)
        v_prev = theano.shared(np.zeros(value.shape, dtype=value.dtype),
                               broadcastable=param.broadcastable)
        m_t = beta1 * m_prev + (one - beta1) * g_t
        v_t = beta2 * v_prev + (one - beta2) * g_t ** 2
        step = a_t * m_t / (T.sqrt(v_t) + epsilon)
        updates[m_prev] = m_t
        updates[v_prev] = v_t
        updates[param] = param - step
    updates[t_prev] = t
    return updates


def released_streams(count, rng):
    """The DST streams of ``count`` discrete weights, drawn as the released scripts do.

    For each discrete W, in network order, the released update builder draws from the
    global RandomState ``rng``: ``random()`` (the keep flag c of the dead random-search
    branch), ``random()`` (its target state), then ``randint(1, 2147462579)`` seeding a
    new ``MRG_RandomStreams``. From that stream the dead branch's ``binomial`` is built
    first (it takes the first block of substreams and advances the stream) and the live
    gate's second, so the gate uses the SECOND block: here ``inc_rstate()`` skips the
    first block, which is all the dead call leaves behind.

    Returns a list of ``(stream, (c_draw, state_draw))``.
    """
    streams = []
    for _ in range(count):
        c_draw = rng.random_sample()
        state_draw = rng.random_sample()
        stream = MRG_RandomStreams(rng.randint(1, MRG_SEED_HIGH))
        stream.inc_rstate()
        streams.append((stream, (c_draw, state_draw)))
    return streams


class GXNORUpdates(object):
    """The update dictionary of one training function, and the state it owns.

    ``updates`` maps every shared variable to its new value: DST for the discrete
    weights, Adam for the other trainable parameters, Adam's own moments and counters.
    ``state`` lists every shared variable the updates carry (for checkpoints).

    ``srng=None`` (runs): one MRG stream per discrete W, drawn from Lasagne's RNG in the
    released order (:func:`released_streams`). A given ``srng`` serves every W instead
    (tests and golden vectors hand in their own draws).
    """

    def __init__(self, loss, output_layer, learning_rate, srng=None, m=3.0,
                 random_search=RANDOM_SEARCH, c_prob=0.8, adam_constants=ADAM):
        check_choice('random_search', random_search)
        if not 0 <= c_prob <= 1:
            raise ValueError("random-search c_prob must be in [0, 1], got %r" % (c_prob,))
        self.random_search = random_search
        self.update_type = theano.shared(np.int32(RANDOM_SEARCH_OFF), name='update_type')
        self.best = OrderedDict()

        spaces = discrete_weight_spaces(output_layer)
        discrete = [W for W, _ in spaces]
        others = [p for p in lasagne.layers.get_all_params(output_layer, trainable=True)
                  if p not in discrete]

        self.updates = OrderedDict()
        self.streams = []
        if discrete:
            proposal = adam(T.grad(loss, discrete), discrete, learning_rate, adam_constants)
            if srng is None:
                self.streams = [stream for stream, _ in
                                released_streams(len(discrete), lasagne.random.get_rng())]
                per_weight = self.streams
            else:
                self.streams = [srng]
                per_weight = [srng] * len(discrete)
            for (W, (H, N)), stream in zip(spaces, per_weight):
                dW = proposal[W] - W
                proposal[W] = self._discrete_update(W, dW, H, N, m, stream, c_prob)
            self.updates.update(proposal)
        if others:
            self.updates.update(adam(T.grad(loss, others), others, learning_rate,
                                     adam_constants))
        self.discrete_params = discrete
        self.other_params = others

    def _discrete_update(self, W, dW, H, N, m, srng, c_prob):
        dst = dst_update(W, dW, srng, H, N, m)
        if self.random_search == 'released':
            # The released branch is constant-folded away (update_type is a Python
            # number there); its build-time draws are made by released_streams.
            return dst
        best = theano.shared(W.get_value(), name='%s.best' % (W.name or 'W'),
                             broadcastable=W.broadcastable)
        self.best[W] = best
        states = 2 ** N + 1
        index = T.floor(srng.uniform(size=W.shape, dtype=W.dtype) * states)
        target = T.minimum(index, states - 1) * _as_floatx(weight_step(H, N)) - _as_floatx(H)
        keep = T.lt(srng.uniform(size=W.shape, dtype=W.dtype), _as_floatx(c_prob))
        search_dW = T.switch(keep, 0, target - best)
        u = srng.uniform(size=W.shape, dtype=W.dtype)
        searched = discrete_state_transition(best, search_dW, u, H, N, m)
        return T.switch(T.lt(self.update_type, 100), searched, dst)

    @property
    def state(self):
        """Every shared variable the training function updates or reads as state."""
        variables = list(self.updates.keys())
        variables.extend(v for v in self.best.values() if v not in variables)
        for stream in self.streams:
            variables.extend(update[0] for update in stream.state_updates
                             if update[0] not in variables)
        if self.random_search == 'live':
            variables.append(self.update_type)
        return variables

    def set_update_type(self, value):
        self.update_type.set_value(np.int32(value))

    def remember_best(self):
        """Copy the current discrete weights into the random-search snapshot (live mode)."""
        for W, best in self.best.items():
            best.set_value(W.get_value())
