"""The three networks are built as the released scripts (and our SVHN reconstruction) say."""
from __future__ import absolute_import, division, print_function

import lasagne
import numpy as np
import pytest
from lasagne.layers import get_all_layers, get_output_shape

from gxnor.layers import (BatchNormLayer, DiscreteActivationLayer, DiscreteConv2DLayer,
                          DiscreteDenseLayer)
from gxnor.models import build_network

WEIGHT_LAYERS = (DiscreteConv2DLayer, DiscreteDenseLayer)


def _sequence(net):
    """Layer kinds in order: C(onv), D(ense), P(ool), B(atch norm), A(ctivation)."""
    kinds = []
    for layer in get_all_layers(net)[1:]:
        if isinstance(layer, DiscreteConv2DLayer):
            kinds.append('C%d' % layer.num_filters)
        elif isinstance(layer, DiscreteDenseLayer):
            kinds.append('D%d' % layer.num_units)
        elif isinstance(layer, BatchNormLayer):
            kinds.append('B')
        elif isinstance(layer, DiscreteActivationLayer):
            kinds.append('A')
        else:
            kinds.append('P')
    return ' '.join(kinds)


def test_mnist_net_as_released():
    np.random.seed(0)
    net = build_network('mnist')
    assert _sequence(net) == 'C32 P B A C64 P B A D512 B A D10 B'
    shapes = [get_output_shape(l) for l in get_all_layers(net) if isinstance(l, WEIGHT_LAYERS)]
    assert shapes == [(None, 32, 24, 24), (None, 64, 8, 8), (None, 512), (None, 10)]


@pytest.mark.parametrize('name,widths', [('cifar10', (128, 256, 512)), ('svhn', (64, 128, 256))])
def test_cifar10_and_svhn_nets(name, widths):
    np.random.seed(0)
    net = build_network(name, H=1.0)
    a, b, c = widths
    assert _sequence(net) == ('C{a} B A C{a} P B A C{b} B A C{b} P B A C{c} B A C{c} P B A '
                              'D1024 B A D10 B').format(a=a, b=b, c=c)
    convs = [l for l in get_all_layers(net) if isinstance(l, DiscreteConv2DLayer)]
    assert [get_output_shape(l)[2] for l in convs] == [32, 32, 16, 16, 8, 8]   # pad 1
    dense = [l for l in get_all_layers(net) if isinstance(l, DiscreteDenseLayer)]
    assert get_output_shape(dense[0].input_layer) == (None, c, 4, 4)
    for layer in convs:
        W = layer.W.get_value()
        assert np.abs(W).max() <= 1.0 and np.abs(W).max() > 0.99     # Uniform(-H, H)
    for layer in dense:
        W = layer.W.get_value()
        assert 1.0 < np.abs(W).max() <= 1.5                           # Uniform(-1.5H, 1.5H)


def test_discrete_tags_and_weight_spaces():
    np.random.seed(0)
    net = build_network('mnist', H=0.5, N=2)
    discrete = lasagne.layers.get_all_params(net, discrete=True)
    assert [W.get_value().ndim for W in discrete] == [4, 4, 2, 2]
    for layer in get_all_layers(net):
        if isinstance(layer, WEIGHT_LAYERS):
            assert (layer.H, layer.N, layer.discrete) == (0.5, 2, True)
            assert np.abs(layer.W.get_value()).max() <= 0.5
    full = build_network('mnist', discrete=False)
    assert lasagne.layers.get_all_params(full, discrete=True) == []


def test_activation_options_reach_every_hidden_layer():
    net = build_network('mnist', act_r=0.5, act_a=0.25, act_N=2, pulse_shape='gaussian')
    activations = [l for l in get_all_layers(net) if isinstance(l, DiscreteActivationLayer)]
    assert len(activations) == 3
    assert all((l.r, l.a, l.N, l.shape) == (0.5, 0.25, 2, 'gaussian') for l in activations)


def test_unknown_architecture():
    with pytest.raises(ValueError) as info:
        build_network('resnet')
    assert 'mnist' in str(info.value)


def _settings_of(net):
    """(layer class, setting, value) for every platform setting a layer holds."""
    found = set()
    for layer in get_all_layers(net):
        for name in ('pool_grad', 'kernels', 'act_grad', 'shape', 'N', 'r', 'a', 'H'):
            if hasattr(layer, name):
                found.add((type(layer).__name__, name, getattr(layer, name)))
    return found


def test_every_setting_of_a_config_reaches_the_layers():
    """network_from_config is the one mapping of settings to layers: training, the golden
    generator and the analyses of trained networks (which once left out pool_grad,
    kernels and act_grad) all build through it."""
    from gxnor.experiments import configure
    from gxnor.models import network_from_config
    from gxnor.studies.trained import _build
    config = configure('mnist', {'pool_grad': 'all', 'kernels': 'theano', 'act_grad': 'exact',
                                 'pulse': 'triangular', 'act_a': 0.25, 'H': 2.0})
    np.random.seed(0)
    net = network_from_config(config)
    settings = _settings_of(net)
    assert ('MaxPool2x2Layer', 'pool_grad', 'all') in settings
    assert ('MaxPool2x2Layer', 'kernels', 'theano') in settings
    assert ('DiscreteConv2DLayer', 'kernels', 'theano') in settings
    assert ('DiscreteActivationLayer', 'act_grad', 'exact') in settings
    assert ('DiscreteActivationLayer', 'shape', 'triangular') in settings
    assert ('DiscreteActivationLayer', 'a', 0.25) in settings
    assert ('DiscreteConv2DLayer', 'H', 2.0) in settings
    assert not [s for s in settings if s[1] == 'pool_grad' and s[2] != 'all']
    assert _settings_of(_build(dict(config), None, None, None)) == settings


def test_trained_networks_fill_in_settings_recorded_before_they_existed():
    from gxnor.experiments import configure
    from gxnor.studies.trained import _build
    hyper = dict(configure('mnist'))
    for name in ('pool_grad', 'kernels', 'act_grad'):
        del hyper[name]
    settings = _settings_of(_build(hyper, None, None, None))
    assert ('DiscreteActivationLayer', 'act_grad', 'exact') in settings   # as those runs did
    assert ('MaxPool2x2Layer', 'kernels', 'fast') in settings
