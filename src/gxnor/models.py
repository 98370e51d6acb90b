"""The networks of the paper's experiments, written as data and built by one function.

Every weight layer is followed by (max-pool where there is one, then) batch norm and the
discrete activation; the last layer by batch norm only, as in the released scripts.

* MNIST (released): Conv 32@5x5 valid - pool 2 - Conv 64@5x5 valid - pool 2 - Dense 512 - Dense 10.
* CIFAR10 (released): 2x Conv 128@3x3 pad 1 - pool - 2x Conv 256 - pool - 2x Conv 512 - pool
  - Dense 1024 - Dense 10; dense weights start Uniform(-1.5H, 1.5H).
* SVHN (no released script; our reconstruction): the CIFAR10 net at half width in the
  convolutions (64-64-128-128-256-256), Dense 1024, Dense 10.
"""
from __future__ import absolute_import, division, print_function

from collections import namedtuple

import lasagne
from lasagne.layers import InputLayer

from .layers import (BatchNormLayer, DiscreteActivationLayer, DiscreteConv2DLayer,
                     DiscreteDenseLayer, MaxPool2x2Layer)
from .settings import ACT_GRAD, KERNEL, POOL_GRAD, PULSE

__all__ = ['Conv', 'Dense', 'ARCHITECTURES', 'INPUT_SHAPES', 'build_network',
           'network_from_config']

Conv = namedtuple('Conv', 'filters size pad pool')
Dense = namedtuple('Dense', 'units init_scale')

ARCHITECTURES = {
    'mnist': [Conv(32, 5, 'valid', True), Conv(64, 5, 'valid', True),
              Dense(512, 1.0), Dense(10, 1.0)],
    'cifar10': [Conv(128, 3, 1, False), Conv(128, 3, 1, True),
                Conv(256, 3, 1, False), Conv(256, 3, 1, True),
                Conv(512, 3, 1, False), Conv(512, 3, 1, True),
                Dense(1024, 1.5), Dense(10, 1.5)],
    'svhn': [Conv(64, 3, 1, False), Conv(64, 3, 1, True),
             Conv(128, 3, 1, False), Conv(128, 3, 1, True),
             Conv(256, 3, 1, False), Conv(256, 3, 1, True),
             Dense(1024, 1.5), Dense(10, 1.5)],
}

INPUT_SHAPES = {'mnist': (1, 28, 28), 'cifar10': (3, 32, 32), 'svhn': (3, 32, 32)}


def build_network(architecture, input_var=None, input_shape=None, discrete=True, H=1.0, N=1,
                  act_r=1.0, act_a=0.5, act_N=1, pulse_shape=PULSE,
                  bn_epsilon=1e-4, bn_alpha=0.1, pool_grad=POOL_GRAD, kernels=KERNEL,
                  act_grad=ACT_GRAD):
    """Build a network from a list of ``Conv``/``Dense`` specs; returns the output layer.

    ``architecture`` is a key of ARCHITECTURES or a list of specs (tests use tiny ones);
    ``input_shape`` is (channels, rows, cols), defaulting to the data set's.
    ``act_N=None`` keeps full-precision activations; ``discrete=False`` full-precision
    weights (the released ``discrete = False`` path: plain Adam on W).
    ``pool_grad`` is the max-pool gradient's tie rule ('one' or 'all'), ``kernels``
    'fast' (gxnor.kernels) or 'theano' (Theano's own ops), see gxnor.layers; ``act_grad``
    the float arithmetic of the activation's rectangular window ('released' or 'exact',
    see gxnor.discretization).
    """
    if not isinstance(architecture, (list, tuple)):
        if architecture not in ARCHITECTURES:
            raise ValueError("unknown architecture %r; choose one of %s"
                             % (architecture, ', '.join(sorted(ARCHITECTURES))))
        input_shape = input_shape or INPUT_SHAPES[architecture]
        architecture = ARCHITECTURES[architecture]
    if input_shape is None:
        raise ValueError("input_shape is needed for a custom architecture")
    layer = InputLayer((None,) + tuple(input_shape), input_var=input_var)
    weights = dict(discrete=discrete, H=H, N=N)
    for index, spec in enumerate(architecture):
        last = index == len(architecture) - 1
        if isinstance(spec, Conv):
            layer = DiscreteConv2DLayer(layer, spec.filters, spec.size, pad=spec.pad,
                                        kernels=kernels, **weights)
            if spec.pool:
                layer = MaxPool2x2Layer(layer, pool_grad=pool_grad, kernels=kernels)
        else:
            layer = DiscreteDenseLayer(layer, spec.units, init_scale=spec.init_scale,
                                       kernels=kernels, **weights)
        layer = BatchNormLayer(layer, epsilon=bn_epsilon, alpha=bn_alpha)
        if not last:
            layer = DiscreteActivationLayer(layer, r=act_r, a=act_a, N=act_N, shape=pulse_shape,
                                            kernels=kernels, act_grad=act_grad)
    return layer


def network_from_config(config, input_var=None, architecture=None, input_shape=None):
    """The network a configuration describes (``gxnor.experiments.configure``'s dict, or a
    run's recorded hyperparameters): the one place that maps settings to
    :func:`build_network`'s arguments, for the training loop, the golden generator and the
    analyses of trained networks. ``architecture`` overrides ``config['architecture']``
    (tests train lists of specs); ``input_shape`` defaults to the data set's. A missing
    setting raises KeyError.
    """
    return build_network(
        architecture or config['architecture'], input_var, input_shape=input_shape,
        discrete=config['discrete'], H=config['H'], N=config['N'], act_r=config['act_r'],
        act_a=config['act_a'], act_N=config['act_N'], pulse_shape=config['pulse'],
        bn_epsilon=config['bn_epsilon'], bn_alpha=config['bn_alpha'],
        pool_grad=config['pool_grad'], kernels=config['kernels'],
        act_grad=config['act_grad'])


def count_params(output_layer):
    """Number of trainable scalars (for logs)."""
    return lasagne.layers.count_params(output_layer, trainable=True)
