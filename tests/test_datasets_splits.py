"""Split / Dataset containers, scalings and hinge targets."""
from __future__ import absolute_import, division, print_function

import numpy as np
import pytest

from gxnor.datasets import Dataset, Split, hinge_targets
from gxnor.datasets.splits import scale_2_over_255, scale_unit_pm1


def make_split(n=6):
    images = (np.arange(n * 2 * 3 * 4) % 256).astype(np.uint8).reshape(n, 2, 3, 4)
    labels = np.arange(n) % 10
    return Split(images, labels, scale_2_over_255, 'train')


def test_batch_on_slice_and_index_arrays():
    s = make_split()
    assert len(s) == 6 and s.shape == (6, 2, 3, 4)
    x, y = s.batch(slice(1, 4))
    assert x.dtype == np.float32 and x.shape == (3, 2, 3, 4)
    assert list(y) == [1, 2, 3]
    assert np.array_equal(x, scale_2_over_255(s.images[1:4]))
    x, y = s.batch(np.array([5, 0, 5]))
    assert list(y) == [5, 0, 5]
    assert np.array_equal(x[0], scale_2_over_255(s.images[5]))
    assert np.array_equal(x[1], scale_2_over_255(s.images[0]))
    x, y = s.batch([2])                       # a list works as an index array
    assert x.shape == (1, 2, 3, 4) and list(y) == [2]
    x, y = s.batch(3)                         # a bare int: a batch of one
    assert x.shape == (1, 2, 3, 4) and list(y) == [3]
    with pytest.raises(TypeError):
        s.batch(np.array([0.5]))


def test_split_keeps_uint8_and_converts_per_batch_only():
    s = make_split()
    assert s.images.dtype == np.uint8
    floats = [k for k, v in vars(s).items()
              if isinstance(v, np.ndarray) and v.dtype.kind == 'f']
    assert floats == []
    assert s.batch(slice(0, 2))[0] is not s.batch(slice(0, 2))[0]


def test_split_rejects_bad_contents():
    good = np.zeros((2, 1, 2, 2), np.uint8)
    with pytest.raises(ValueError):
        Split(good.astype(np.float32), [0, 1], scale_2_over_255)
    with pytest.raises(ValueError):
        Split(good, [0, 1, 2], scale_2_over_255)
    with pytest.raises(ValueError):
        Split(good, [0, 10], scale_2_over_255)


@pytest.mark.parametrize('scale', [scale_2_over_255, scale_unit_pm1])
def test_scaling_endpoints_monotone_float32(scale):
    v = scale(np.arange(256, dtype=np.uint8))
    assert v.dtype == np.float32
    assert v[0] == -1.0 and v[255] == 1.0
    assert np.all(np.diff(v) > 0)
    assert np.allclose(v, np.arange(256) * 2 / 255 - 1, atol=1e-6)


def test_scalings_follow_the_released_float32_arithmetic():
    x = np.arange(256, dtype=np.uint8)
    released_cifar = np.subtract(np.multiply(2. / 255., x.astype(np.float32)), 1.)
    assert np.array_equal(scale_2_over_255(x), released_cifar)
    pylearn2_unit = x.astype(np.float32) / 255.
    assert np.array_equal(scale_unit_pm1(x), 2 * pylearn2_unit - 1.)


def test_dataset_attributes():
    s = make_split()
    d = Dataset('toy', s, s, s, {'folder': '/x'})
    assert d.name == 'toy' and d.train is s and d.valid is s and d.test is s
    assert d.source == {'folder': '/x'}
    assert 'toy' in repr(d)


def test_hinge_targets_match_released_one_hot_then_2t_minus_1():
    labels = np.array([3, 0, 9, 3])
    t = hinge_targets(labels)
    assert t.dtype == np.float32 and t.shape == (4, 10)
    released = 2 * np.float32(np.eye(10)[labels]) - 1.
    assert np.array_equal(t, released)
    assert t[0, 3] == 1 and t[0, 2] == -1 and (t == 1).sum() == 4
    assert hinge_targets([1], num_classes=3).tolist() == [[-1, 1, -1]]
    with pytest.raises(ValueError):
        hinge_targets([10])
    with pytest.raises(ValueError):
        hinge_targets([[1]])
