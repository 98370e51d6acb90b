"""SVHN loader on small format-2 .mat files (scipy.io.savemat, official names)."""
from __future__ import absolute_import, division, print_function

import numpy as np
import pytest

from gxnor.datasets import DataError, load_svhn
from test_datasets_writers import (clean_env, svhn_arrays, write_mat,  # noqa: F401
                                   write_svhn)

pytestmark = pytest.mark.usefixtures('clean_env')
VPC = (2, 1)            # per digit: 2 from train (6 each), 1 from extra (5 each)


def ids(split):
    return split.images[:, 0, 0, 0].astype(int)


def test_shapes_dtypes_and_sizes(tmpdir):
    write_svhn(str(tmpdir))
    d = load_svhn(str(tmpdir), valid_per_class=VPC)
    assert d.name == 'svhn'
    assert (len(d.train), len(d.valid), len(d.test)) == (60 - 20 + 50 - 10, 30, 7)
    for split in (d.train, d.valid, d.test):
        assert split.images.dtype == np.uint8
        assert split.images.shape[1:] == (3, 32, 32)
        assert split.images.flags.c_contiguous
    x, y = d.train.batch(np.arange(5))
    assert x.dtype == np.float32 and x.shape == (5, 3, 32, 32)
    assert d.source['split']['sizes'] == {'train': 80, 'valid': 30, 'test': 7}


def test_pixel_ordering_labels_and_scaling(tmpdir):
    out = write_svhn(str(tmpdir))
    X, y = svhn_arrays(7, 201, 3)
    X[:, :, :, 4] = 0
    X[9, 20, 1, 4] = 255                   # row 9, column 20, green, image 4
    y[:, 0] = [10, 1, 2, 3, 10, 5, 9]
    write_mat(str(tmpdir.join('test_32x32.mat')), X=X, y=y)
    d = load_svhn(str(tmpdir), valid_per_class=VPC)
    x, labels = d.test.batch(slice(4, 5))
    assert x[0, 1, 9, 20] == 1.0
    assert (x[0] == 1.0).sum() == 1 and x[0, 1, 20, 9] == -1.0
    assert x.min() == -1.0
    assert list(d.test.labels) == [0, 1, 2, 3, 0, 5, 9]       # 10 -> digit 0
    # every test image, in file order, is X transposed (3, 2, 0, 1)
    assert np.array_equal(d.test.images, X.transpose(3, 2, 0, 1))
    # training and validation images keep their pixels (id i = train image i - 1,
    # id 100 + i = extra image i - 1)
    tX, eX = out['train_32x32.mat'][0], out['extra_32x32.mat'][0]
    for split in (d.train, d.valid):
        for k in (0, len(split) - 1):
            i = ids(split)[k]
            src = tX[..., i - 1] if i < 100 else eX[..., i - 101]
            assert np.array_equal(split.images[k], src.transpose(2, 0, 1))


def test_split_partitions_train_and_extra_without_overlap(tmpdir):
    out = write_svhn(str(tmpdir))
    d = load_svhn(str(tmpdir), valid_per_class=VPC)
    train, valid = set(ids(d.train)), set(ids(d.valid))
    assert len(train) == len(d.train) and len(valid) == len(d.valid)
    assert not train & valid
    assert train | valid == set(range(1, 61)) | set(range(101, 151))
    assert not set(ids(d.test)) & (train | valid)
    # labels travel with their images
    labels_by_id = {}
    for name, first in (('train_32x32.mat', 1), ('extra_32x32.mat', 101)):
        for i, label in enumerate(out[name][1][:, 0]):
            labels_by_id[first + i] = label % 10
    for split in (d.train, d.valid):
        assert [labels_by_id[i] for i in ids(split)] == list(split.labels)
    # training order: remaining train images, then remaining extra, file order
    assert list(ids(d.train)) == sorted(ids(d.train))


def test_validation_per_class_counts(tmpdir):
    write_svhn(str(tmpdir))
    d = load_svhn(str(tmpdir), valid_per_class=VPC)
    v = ids(d.valid)
    from_train, from_extra = v < 100, v > 100
    assert np.array_equal(np.bincount(d.valid.labels[from_train], minlength=10),
                          [2] * 10)
    assert np.array_equal(np.bincount(d.valid.labels[from_extra], minlength=10),
                          [1] * 10)
    assert np.array_equal(np.bincount(d.train.labels, minlength=10), [8] * 10)


def test_split_is_deterministic_for_a_seed_and_differs_across_seeds(tmpdir):
    write_svhn(str(tmpdir))
    a = load_svhn(str(tmpdir), seed=1234, valid_per_class=VPC)
    b = load_svhn(str(tmpdir), seed=1234, valid_per_class=VPC)
    c = load_svhn(str(tmpdir), seed=99, valid_per_class=VPC)
    assert np.array_equal(ids(a.valid), ids(b.valid))
    assert np.array_equal(a.train.images, b.train.images)
    assert a.source['split']['valid_index_md5'] == b.source['split']['valid_index_md5']
    assert not np.array_equal(ids(a.valid), ids(c.valid))
    assert a.source['split']['valid_index_md5'] != c.source['split']['valid_index_md5']


def test_found_in_svhn_subfolder_and_pylearn2_path(tmpdir, clean_env):
    write_svhn(str(tmpdir.join('a', 'svhn')))
    assert len(load_svhn(str(tmpdir.join('a')), valid_per_class=VPC).test) == 7
    write_svhn(str(tmpdir.join('p2', 'SVHN', 'format2')))
    clean_env.setenv('PYLEARN2_DATA_PATH', str(tmpdir.join('p2')))
    d = load_svhn(str(tmpdir.join('none')), valid_per_class=VPC)
    assert d.source['folder'] == str(tmpdir.join('p2', 'SVHN', 'format2'))


def test_missing_files_lists_every_place_searched(tmpdir, clean_env):
    clean_env.setenv('PYLEARN2_DATA_PATH', str(tmpdir.join('p2')))
    write_svhn(str(tmpdir.join('svhn')))
    tmpdir.join('svhn', 'extra_32x32.mat').remove()
    with pytest.raises(DataError) as e:
        load_svhn(str(tmpdir), valid_per_class=VPC)
    msg = str(e.value)
    for where in (tmpdir, tmpdir.join('svhn'), tmpdir.join('p2', 'SVHN', 'format2')):
        assert str(where) in msg
    assert 'missing: extra_32x32.mat' in msg
    assert 'make fetch-svhn' in msg and 'ufldl.stanford.edu' in msg


@pytest.mark.parametrize('missing', ['X', 'y'])
def test_mat_missing_a_variable(tmpdir, missing):
    write_svhn(str(tmpdir))
    X, y = svhn_arrays(60, 1, 1)
    present = {'X': X, 'y': y}
    del present[missing]
    path = write_mat(str(tmpdir.join('train_32x32.mat')), **present)
    with pytest.raises(DataError) as e:
        load_svhn(str(tmpdir), valid_per_class=VPC)
    assert "no variable '%s'" % missing in str(e.value) and path in str(e.value)


def test_corrupt_mat(tmpdir):
    write_svhn(str(tmpdir))
    path = tmpdir.join('test_32x32.mat')
    path.write_binary(b'garbage' * 50)
    with pytest.raises(DataError) as e:
        load_svhn(str(tmpdir), valid_per_class=VPC)
    assert str(path) in str(e.value)


def test_bad_shapes_labels_and_too_few_per_class(tmpdir):
    write_svhn(str(tmpdir))
    X, y = svhn_arrays(50, 101, 2)
    path = str(tmpdir.join('extra_32x32.mat'))
    for bad in ({'X': X[:, :, :, :49], 'y': y},            # counts disagree
                {'X': X.astype(np.float64), 'y': y},        # not uint8
                {'X': X[:28], 'y': y},                      # not 32x32
                {'X': X, 'y': y - 1}):                      # label 0 is not format 2
        write_mat(path, **bad)
        with pytest.raises(DataError) as e:
            load_svhn(str(tmpdir), valid_per_class=VPC)
        assert path in str(e.value)
    write_mat(path, X=X, y=y)
    with pytest.raises(DataError) as e:
        load_svhn(str(tmpdir), valid_per_class=(2, 6))      # extra has 5 per digit
    assert 'per class' in str(e.value)
    with pytest.raises(DataError):
        load_svhn(str(tmpdir), valid_per_class=VPC, expected_counts=(73257, 531131,
                                                                     26032))
