"""Gated-XNOR inference (gxnor.studies.bitplanes and bitwise): bit planes, folded thresholds,
pooling, and equality with Theano."""
from __future__ import absolute_import, division, print_function

import lasagne
import numpy as np
import pytest
import theano
import theano.tensor as T

from gxnor.layers import BatchNormLayer, DiscreteActivationLayer, DiscreteDenseLayer
from gxnor.models import Conv, Dense, build_network
from gxnor.studies import bitplanes, bitwise
from gxnor.studies.bitplanes import (apply_thresholds, fold_thresholds, gated_xnor_dot,
                                     pack_ternary, popcount, ternary_activation_table,
                                     threshold_then_pool)
from gxnor.studies.bitwise import (BitLayer, GatedXnorNetwork, batch_norm_float64,
                                   run_inference, stage_table)
from gxnor.studies.resting import measure_resting
from gxnor.studies.trained import TrainedNetworkError, network_stages

from test_resting import TINY, load_tiny, tiny_dataset


def _ternary(rng, shape, zero=0.4):
    return rng.choice([-1, 0, 1], size=shape, p=[(1 - zero) / 2, zero, (1 - zero) / 2])


def _set_batch_norm(bn, gamma, beta, mean, inv_std):
    for name, value in (('gamma', gamma), ('beta', beta), ('mean', mean), ('inv_std', inv_std)):
        getattr(bn, name).set_value(np.asarray(value, dtype=np.float32))


# ------------------------------------------------------------------ bit planes

def test_popcount_counts_bits():
    rng = np.random.RandomState(0)
    words = rng.randint(0, 2 ** 62, size=(5, 3)).astype(np.uint64) * np.uint64(3)
    words[0, 0] = np.uint64(2 ** 64 - 1)
    expected = [[sum(bin(int(w)).count('1') for w in row)] for row in words]
    assert popcount(words).reshape(-1, 1).tolist() == expected


@pytest.mark.parametrize('length', [1, 7, 63, 64, 65, 127, 200, 300])
def test_bitwise_dot_equals_integer_dot(length, monkeypatch):
    rng = np.random.RandomState(length)
    x = _ternary(rng, (3, 4, length), zero=0.3)
    w = _ternary(rng, (9, length), zero=0.5)
    monkeypatch.setattr(bitplanes, 'BLOCK_WORDS', 5)     # several blocks per call
    dot, executed = gated_xnor_dot(pack_ternary(x), pack_ternary(w))
    assert dot.shape == (3, 4, 9)
    np.testing.assert_array_equal(dot, np.einsum('abi,ui->abu', x, w))
    np.testing.assert_array_equal(executed, np.einsum('abi,ui->abu', (x != 0).astype(int), (w != 0).astype(int)))


# ------------------------------------------------------------------ thresholds

def _dense_stage(fan_in, r, rng):
    """Dense layer (ternary W) -> batch norm -> ternary activation, with channels that have
    a positive, negative or zero scale and channels whose BN output hits +-r exactly."""
    x = T.matrix('x')
    layer = lasagne.layers.InputLayer((None, fan_in), input_var=x)
    units = 8
    W = _ternary(rng, (fan_in, units), zero=0.3).astype(np.float32)
    dense = DiscreteDenseLayer(layer, units, W=W)
    bn = BatchNormLayer(dense)
    act = DiscreteActivationLayer(bn, r=r, N=1)
    bias = rng.uniform(-2, 2, units)
    gamma = rng.uniform(0.2, 1.5, units)
    beta = rng.uniform(-1, 1, units)
    mean = rng.uniform(-3, 3, units)
    inv_std = rng.uniform(0.2, 1.0, units)
    gamma[1] *= -1                                   # negative scale
    gamma[2], beta[2] = 0, 1.5                       # zero scale: constant +1 (r <= 1.5)
    gamma[3], beta[3] = 0, 0.25 if r > 0.25 else -1  # zero scale: constant 0 or -1
    for c, g in ((4, 0.5), (5, -0.25)):              # y = s * g exactly: ties at |s g| = r
        bias[c], mean[c], beta[c], inv_std[c], gamma[c] = 0, 0, 0, 1, g
    dense.b.set_value(bias.astype(np.float32))
    _set_batch_norm(bn, gamma, beta, mean, inv_std)
    return x, act, W


@pytest.mark.parametrize('r', [1.0, 0.0])
def test_folded_thresholds_equal_batch_norm_and_activation(r):
    rng = np.random.RandomState(3)
    fan_in = 20
    x, act, W = _dense_stage(fan_in, r, rng)
    stage = network_stages(act)[0]
    grid = np.arange(-fan_in, fan_in + 1)
    table = stage_table(stage, grid)
    direction, t_low, t_high = fold_thresholds(grid, table)
    np.testing.assert_array_equal(apply_thresholds(grid[:, None], direction, t_low, t_high), table)
    assert direction[1] == -1 and direction[5] == -1 and direction[4] == 1
    assert np.all(table[:, 2] == 1)                                   # constant channel
    assert np.all(table[:, 3] == (0 if r > 0.25 else -1))
    if r == 1.0:
        a = dict(zip(grid, table[:, 4]))                              # y = s / 2
        assert (a[2], a[1], a[0], a[-1], a[-2]) == (1, 0, 0, 0, -1)  # |y| = r: outer level
        a = dict(zip(grid, table[:, 5]))                              # y = -s / 4
        assert (a[-4], a[-3], a[3], a[4]) == (1, 0, 0, -1)
    else:
        a = dict(zip(grid, table[:, 4]))                              # r = 0: sign(y)
        assert (a[1], a[0], a[-1]) == (1, 0, -1)
    # the tie channels agree with exact arithmetic
    exact = ternary_activation_table(batch_norm_float64(stage, grid[:, None]), r)
    np.testing.assert_array_equal(exact[:, 4:6], table[:, 4:6])

    # the float path (Theano's own Dot22 + batch norm + activation) on random inputs
    forward = theano.function([x], lasagne.layers.get_output(act, deterministic=True))
    inputs = _ternary(rng, (3000, fan_in), zero=0.2)
    expected = forward(inputs.astype(np.float32))
    s = inputs.dot(W.astype(np.int64))
    np.testing.assert_array_equal(apply_thresholds(s, direction, t_low, t_high), expected)
    layer = BitLayer(stage, final=False)
    out, executed, products, _ = layer.forward(inputs.astype(np.int8))
    np.testing.assert_array_equal(out, expected)
    assert executed == np.sum((inputs != 0)[:, :, None] & (W != 0)[None])
    assert products == inputs.size * W.shape[1]


def test_fold_rejects_tables_that_are_not_monotone():
    with pytest.raises(ValueError):
        fold_thresholds(np.arange(3), np.array([[1], [0], [1]]))


@pytest.mark.parametrize('pad,size', [('valid', 9), (1, 8)])
def test_pooling_then_thresholds_equal_float_path(pad, size):
    """conv -> 2x2 max-pool -> batch norm (some negative / zero scales) -> activation,
    built as models.py builds it, on ternary inputs."""
    rng = np.random.RandomState(4)
    x = T.tensor4('x')
    net = build_network([Conv(8, 3, pad, True), Dense(10, 1.0)], x, input_shape=(3, size, size))
    stage = network_stages(net)[0]
    conv = stage.weight
    conv.W.set_value(_ternary(rng, conv.W.get_value().shape, zero=0.4).astype(np.float32))
    conv.b.set_value(rng.uniform(-1, 1, 8).astype(np.float32))
    gamma = rng.uniform(0.2, 1.0, 8) * np.array([1, -1, 1, -1, 0, -1, 1, -1])
    inv_std = rng.uniform(0.2, 1.0, 8)
    gamma[6], inv_std[6] = -0.5, 1        # with b = mean = beta = 0: ties at s = +-2
    conv.b.set_value(np.where(np.arange(8) == 6, 0, conv.b.get_value()).astype(np.float32))
    mean = np.where(np.arange(8) == 6, 0, rng.uniform(-3, 3, 8))
    beta = np.where(np.arange(8) == 6, 0, rng.uniform(-1, 1, 8))
    _set_batch_norm(stage.bn, gamma, beta, mean, inv_std)

    inputs = _ternary(rng, (200, 3, size, size), zero=0.3)
    forward = theano.function([x], lasagne.layers.get_output(stage.activation, deterministic=True))
    expected = forward(inputs.astype(np.float32))
    layer = BitLayer(stage, final=False)
    out, executed, products, _ = layer.forward(inputs.astype(np.int8))
    assert out.shape == expected.shape == ((200, 8, 3, 3) if pad == 'valid' else (200, 8, 4, 4))
    np.testing.assert_array_equal(out, expected)
    assert set(layer.direction[[1, 3, 5, 6, 7]]) == {-1}

    # thresholding before pooling needs min-pooling on the decreasing channels
    s, _, _ = layer.integer_sums(inputs.astype(np.int8))   # pooled s
    patches, (rows, cols) = bitplanes.conv_patches(inputs, (3, 3), (1, 1), stage.padding)
    unpooled = np.einsum('bpi,fi->bfp', patches,
                         conv.W.get_value()[:, :, ::-1, ::-1].reshape(8, -1).astype(np.int64))
    unpooled = unpooled.reshape(200, 8, rows, cols)
    np.testing.assert_array_equal(bitplanes.max_pool(unpooled), s)
    early = threshold_then_pool(unpooled, layer.direction, layer.t_low, layer.t_high)
    np.testing.assert_array_equal(early, expected)
    always_max = bitplanes.max_pool(apply_thresholds(unpooled, layer.direction, layer.t_low,
                                                   layer.t_high))
    assert np.any(always_max != expected)


# ---------------------------------------------------------------- whole networks

def test_trained_network_gives_identical_predictions():
    network = load_tiny()
    split = tiny_dataset().test
    result = run_inference(network, split, batch_size=40)
    assert result['examples'] == 100
    assert result['identical'], result['disagreements']
    for row in result['layers'][:-1]:
        assert row['activation_mismatches'] == 0 and row['activations_compared'] > 0
    resting = measure_resting(network, split)
    assert [r['xnor_ops'] for r in result['layers']] == \
        [r['executed'] for r in resting['layers'][1:]]
    assert result['dense_products'] == resting['total_bit_level']['products']
    assert result['float_error'] == result['bitwise_error'] == network.checkpoint['last_test_error']
    assert 'identical to the float Theano pass for 100 / 100 (all)' in \
        bitwise.format_summary(result)


def test_negative_zero_scales_and_ties_stay_identical():
    network = load_tiny()
    rng = np.random.RandomState(5)
    stages = network.stages
    for stage in stages[1:-1]:
        bn = stage.bn
        gamma = bn.gamma.get_value()
        channels = len(gamma)
        gamma = gamma * np.where(rng.rand(channels) < 0.5, -1, 1)
        gamma[0] = 0
        bias, mean, beta = stage.weight.b.get_value(), bn.mean.get_value(), bn.beta.get_value()
        inv_std = bn.inv_std.get_value()
        bias[1] = mean[1] = beta[1] = 0                 # y = s / 2: ties at s = +-2
        gamma[1], inv_std[1] = 0.5, 1
        stage.weight.b.set_value(bias)
        _set_batch_norm(bn, gamma, beta, mean, inv_std)
    last = stages[-1]                                   # classes 3 and 7 always tie
    W, b = last.weight.W.get_value(), last.weight.b.get_value()
    W[:, 7], b[7] = W[:, 3], b[3]
    last.weight.W.set_value(W)
    last.weight.b.set_value(b)
    for name in ('gamma', 'beta', 'mean', 'inv_std'):
        values = getattr(last.bn, name).get_value()
        values[7] = values[3]
        getattr(last.bn, name).set_value(values)

    engine = GatedXnorNetwork(network)
    result = run_inference(engine, tiny_dataset().test, batch_size=100)
    assert result['identical'], result['disagreements']
    assert all(row['activation_mismatches'] == 0 for row in result['layers'][:-1])
    assert result['layers'][0]['negative_scale'] > 0 and result['layers'][0]['zero_scale'] == 1
    _, _, predictions = engine.float_pass(tiny_dataset().test.batch(slice(0, 100))[0])
    assert 7 not in predictions                       # ties go to the first class, as in Theano


def test_networks_that_are_not_ternary_are_refused():
    x = T.tensor4('x')
    with pytest.raises(TrainedNetworkError) as info:
        GatedXnorNetwork(build_network(TINY, x, input_shape=(1, 8, 8), act_N=2))
    assert 'act_N=1' in str(info.value)
    with pytest.raises(TrainedNetworkError) as info:   # fresh Uniform(-H, H) weights
        GatedXnorNetwork(build_network(TINY, x, input_shape=(1, 8, 8)))
    assert 'not all in {-1, 0, 1}' in str(info.value)


def test_command_line_reports_a_missing_run(tmpdir, capsys):
    assert bitwise.main([str(tmpdir.join('nothing')), '--results', str(tmpdir)]) == 2
    assert 'error: no run folder' in capsys.readouterr()[1]
