"""Resting probability: exact counts equal brute force over every product; run folders load."""
from __future__ import absolute_import, division, print_function

import atexit
import json
import os
import shutil
import tempfile

import lasagne
import numpy as np
import pytest
import theano

from gxnor import cli
from gxnor.datasets import Dataset, Split
from gxnor.datasets.splits import scale_unit_pm1
from gxnor.models import Conv, Dense
from gxnor.studies.resting import (conv_product_counts, dense_product_counts, format_markdown,
                           measure_resting, write_report)
from gxnor.studies.trained import TrainedNetworkError, load_network, network_stages
from text_sink import TextSink

# conv + pool, conv with zero padding, two dense layers; 8x8 single-channel images
TINY = [Conv(6, 3, 'valid', True), Conv(8, 3, 1, False), Dense(16, 1.0), Dense(10, 1.0)]
TINY_SHAPE = (1, 8, 8)
SETTINGS = dict(batch_size=100, num_epochs=6, lr_start=0.01, lr_fin=0.001, seed=7)


def tiny_dataset():
    """A learnable 10-class problem on 8x8 uint8 images (labels from a fixed projection)."""
    rng = np.random.RandomState(0)
    images = rng.randint(0, 256, (500, 1, 8, 8)).astype(np.uint8)
    labels = np.argmax(images.reshape(500, -1).dot(rng.standard_normal((64, 10))), axis=1)

    def split(part):
        return Split(images[part], labels[part], scale_unit_pm1, name='tiny')
    return Dataset('tiny', split(slice(0, 300)), split(slice(300, 400)), split(slice(400, 500)),
                   source={'synthetic': True})


_TRAINED = {}


def trained_run_dir():
    """A run folder of TINY trained for 6 epochs (once per test session; shared with
    tests/test_bitwise.py)."""
    if 'dir' not in _TRAINED:
        results = tempfile.mkdtemp(prefix='gxnor-tiny-run-')
        atexit.register(shutil.rmtree, results, True)
        cli.run_experiment('mnist', SETTINGS, run='tiny', results_dir=results,
                           architecture=TINY, dataset=tiny_dataset(), stream=TextSink())
        _TRAINED['dir'] = os.path.join(results, 'runs', 'tiny')
    return _TRAINED['dir']


def load_tiny():
    return load_network(trained_run_dir(), architecture=TINY, input_shape=TINY_SHAPE)


# ------------------------------------------------------------------- brute force

def brute_force_dense(x, W):
    """Every product x[b, i] * W[i, j], one at a time."""
    x = x.reshape(len(x), -1)
    executed = products = 0
    out = np.zeros((len(x), W.shape[1]))
    for b in range(len(x)):
        for j in range(W.shape[1]):
            for i in range(W.shape[0]):
                products += 1
                if x[b, i] != 0 and W[i, j] != 0:
                    executed += 1
                out[b, j] += x[b, i] * W[i, j]
    return dict(products=products, executed=executed, products_inside=products), out


def brute_force_conv(x, W, stride, padding, flip=True):
    """Every product of the (true, if flip) convolution, one tap at a time; the loop over
    examples is vectorised. Padded taps are products with a zero input."""
    n, channels, rows, cols = x.shape
    filters, _, kh, kw = W.shape
    (top, bottom), (left, right) = padding
    out_rows = (rows + top + bottom - kh) // stride[0] + 1
    out_cols = (cols + left + right - kw) // stride[1] + 1
    executed = products = inside = 0
    out = np.zeros((n, filters, out_rows, out_cols))
    for f in range(filters):
        for oy in range(out_rows):
            for ox in range(out_cols):
                for c in range(channels):
                    for u in range(kh):
                        for v in range(kw):
                            w = W[f, c, kh - 1 - u, kw - 1 - v] if flip else W[f, c, u, v]
                            y = oy * stride[0] + u - top
                            z = ox * stride[1] + v - left
                            products += n
                            if not (0 <= y < rows and 0 <= z < cols):
                                continue
                            inside += n
                            values = x[:, c, y, z]
                            executed += int(np.sum((values != 0) & (w != 0)))
                            out[:, f, oy, ox] += values * w
    return dict(products=products, executed=executed, products_inside=inside), out


def _ternary(rng, shape, zero=0.4):
    return (rng.choice([-1, 0, 1], size=shape, p=[(1 - zero) / 2, zero, (1 - zero) / 2])
            .astype(np.float32))


def _counts(result):
    return dict((k, result[k]) for k in ('products', 'executed', 'products_inside'))


# ------------------------------------------------------------------------- tests

def test_dense_counts_equal_brute_force():
    rng = np.random.RandomState(1)
    x = _ternary(rng, (7, 3, 2, 2), zero=0.5)       # flattened to 12 features, as Lasagne
    W = _ternary(rng, (12, 5), zero=0.3)
    W[4] = 0                                         # a dead input row
    x[:, 0, 0, 0] = 0                                # a feature that is always zero
    expected, _ = brute_force_dense(x, W)
    assert _counts(dense_product_counts(x, W)) == expected


@pytest.mark.parametrize('filter_size,stride,padding', [
    (3, (1, 1), ((0, 0), (0, 0))),
    (3, (1, 1), ((1, 1), (1, 1))),
    (2, (1, 1), ((1, 0), (1, 0))),                   # Lasagne's 'same' for an even filter
    (3, (2, 1), ((1, 1), (0, 0))),
])
def test_conv_counts_equal_brute_force(filter_size, stride, padding):
    rng = np.random.RandomState(2)
    x = _ternary(rng, (5, 3, 6, 7), zero=0.5)
    W = _ternary(rng, (4, 3, filter_size, filter_size), zero=0.4)
    for flip in (True, False):
        expected, _ = brute_force_conv(x, W, stride, padding, flip)
        found = conv_product_counts(x, W, stride, padding, flip)
        assert _counts(found) == expected
    if padding != ((0, 0), (0, 0)):
        assert found['products_inside'] < found['products']


def test_trained_net_counts_equal_brute_force(tmpdir):
    network = load_tiny()
    assert network.checkpoint['epochs_done'] == 6
    split = tiny_dataset().test
    result = measure_resting(network, split, batch_size=30)   # 4 batches, one partial
    assert result['examples'] == 100

    stages = network.stages
    wanted = [s.weight.input_layer for s in stages] + [s.weight for s in stages]
    values = theano.function([network.input_var],
                             lasagne.layers.get_output(wanted, deterministic=True))(
                                 split.batch(slice(0, 100))[0])
    inputs, outputs = values[:len(stages)], values[len(stages):]
    for stage, row, x, theano_out in zip(stages, result['layers'], inputs, outputs):
        W = stage.weight.W.get_value()
        assert set(np.unique(W)) <= {-1.0, 0.0, 1.0}
        if stage.kind == 'conv':
            expected, out = brute_force_conv(x, W, stage.stride, stage.padding)
        else:
            expected, out = brute_force_dense(x, W)
        # the brute force pairs inputs and weights as Theano does
        bias = stage.weight.b.get_value()
        out = out + (bias[None, :, None, None] if out.ndim == 4 else bias[None, :])
        np.testing.assert_allclose(out, theano_out, rtol=1e-5, atol=1e-4)
        assert _counts(row) == expected
        assert row['zero_weights'] == np.mean(W == 0)
        assert row['zero_inputs'] == np.mean(x == 0)
        assert row['resting'] == 1 - expected['executed'] / expected['products']
        if stage.index > 0:
            assert set(np.unique(x)) <= {-1.0, 0.0, 1.0}
    total = result['total']
    assert total['products'] == sum(r['products'] for r in result['layers'])
    assert total['executed'] == sum(r['executed'] for r in result['layers'])
    assert result['total_bit_level']['layers'] == [r['layer'] for r in result['layers'][1:]]
    assert stages[1].padding == ((1, 1), (1, 1))
    assert result['layers'][1]['products_inside'] < result['layers'][1]['products']

    md, js = write_report(str(tmpdir), dict(result, split='test'))
    assert json.load(open(js))['total']['executed'] == total['executed']
    text = open(md).read()
    assert '| conv2 8@3x3 |' in text and 'bit-level layers' in text
    assert format_markdown(result).count('\n|') == 2 + len(stages) + 2


def test_in_memory_network_and_stage_structure():
    network = load_tiny()
    same = load_network(network.output_layer)
    kinds = [(s.kind, s.pool is not None, s.activation is not None) for s in same.stages]
    assert kinds == [('conv', True, True), ('conv', False, True), ('dense', False, True),
                     ('dense', False, False)]
    assert [s.fan_in for s in same.stages] == [9, 54, 72, 16]
    assert network_stages(network.output_layer)[-1].last


def test_bad_run_folders_are_reported(tmpdir):
    with pytest.raises(TrainedNetworkError) as info:
        load_network(str(tmpdir.join('missing')))
    assert 'does not exist' in str(info.value)
    folder = tmpdir.mkdir('run')
    with pytest.raises(TrainedNetworkError) as info:
        load_network(str(folder))
    assert 'config.json' in str(info.value)
    shutil.copy(os.path.join(trained_run_dir(), 'config.json'), str(folder))
    with pytest.raises(TrainedNetworkError) as info:
        load_network(str(folder), architecture=TINY, input_shape=TINY_SHAPE)
    assert 'no checkpoint.npz' in str(info.value)
    shutil.copy(os.path.join(trained_run_dir(), 'checkpoint.npz'), str(folder))
    with pytest.raises(TrainedNetworkError) as info:      # config names the MNIST net
        load_network(str(folder))
    assert 'does not match' in str(info.value) and 'architecture' in str(info.value)
    other = [Conv(6, 3, 'valid', True), Conv(8, 3, 1, False), Dense(12, 1.0), Dense(10, 1.0)]
    with pytest.raises(TrainedNetworkError) as info:
        load_network(str(folder), architecture=other, input_shape=TINY_SHAPE)
    assert 'variable 12 is W (72, 16)' in str(info.value)
