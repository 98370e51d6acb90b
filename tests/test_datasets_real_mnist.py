"""The real MNIST files, when GXNOR_MNIST_DIR names a folder holding them."""
from __future__ import absolute_import, division, print_function

import os

import numpy as np
import pytest

from gxnor.datasets import load_mnist


@pytest.fixture(scope='module')
def real_mnist():
    folder = os.environ.get('GXNOR_MNIST_DIR')
    if not folder:
        pytest.skip('real MNIST test disabled: set GXNOR_MNIST_DIR to a folder with '
                    'the four MNIST files (e.g. `make test MNIST_DIR=/path/to/mnist`)')
    return load_mnist(folder)


def test_real_mnist_counts_split_and_known_labels(real_mnist):
    d = real_mnist
    assert (len(d.train), len(d.valid), len(d.test)) == (50000, 10000, 10000)
    assert d.train.images.shape == (50000, 1, 28, 28)
    assert d.train.labels[0] == 5          # the first training digit is a 5
    assert d.test.labels[0] == 7           # the first test digit is a 7
    assert d.valid.labels[0] == 3          # training image 50000 is a 3
    for split in (d.train, d.valid, d.test):
        assert np.array_equal(np.bincount(split.labels, minlength=10) > 0, [True] * 10)


def test_real_mnist_value_range_is_exactly_minus_one_to_one(real_mnist):
    for split in (real_mnist.train, real_mnist.valid, real_mnist.test):
        lo, hi = np.inf, -np.inf
        for start in range(0, len(split), 10000):
            x, _ = split.batch(slice(start, start + 10000))
            lo, hi = min(lo, x.min()), max(hi, x.max())
        assert (lo, hi) == (-1.0, 1.0)
        assert split.images.min() == 0 and split.images.max() == 255
