"""CIFAR10 loader on small pickles written in the official format."""
from __future__ import absolute_import, division, print_function

import codecs
import pickle

import numpy as np
import pytest

from gxnor.datasets import DataError, load_cifar10
from test_datasets_writers import (cifar_arrays, cifar_batch_dict,  # noqa: F401
                                   clean_env, write_cifar)

pytestmark = pytest.mark.usefixtures('clean_env')
FOLDER = 'cifar-10-batches-py'


def test_shapes_dtypes_split_and_order(tmpdir):
    batches = write_cifar(str(tmpdir.join(FOLDER)))
    d = load_cifar10(str(tmpdir), n_train=15)
    assert d.name == 'cifar10'
    assert (len(d.train), len(d.valid), len(d.test)) == (15, 5, 3)
    for split in (d.train, d.valid, d.test):
        assert split.images.dtype == np.uint8
        assert split.images.shape[1:] == (3, 32, 32)
    # batches concatenated in order 1..5: ids 10*b + j; train first 15, valid rest
    ids = list(d.train.images[:, 0, 0, 0]) + list(d.valid.images[:, 0, 0, 0])
    assert ids == [10 * b + j for b in range(5) for j in range(4)]
    labels = [l for data, ls in batches[:5] for l in ls]
    assert list(d.train.labels) + list(d.valid.labels) == labels
    assert list(d.test.labels) == batches[5][1]
    assert list(d.test.images[:, 0, 0, 0]) == [50, 51, 52]
    x, y = d.test.batch(slice(None))
    assert x.dtype == np.float32 and x.shape == (3, 3, 32, 32)


def test_pixel_ordering_row_major_rgb_planes_and_scaling(tmpdir):
    batches = cifar_arrays()
    data = batches[2][0]                       # data_batch_3 -> global images 8..11
    data[1] = 0
    c, r, col = 2, 5, 30                       # blue plane, row 5, column 30
    data[1, c * 1024 + r * 32 + col] = 255
    data[1, 0] = 0
    write_cifar(str(tmpdir.join(FOLDER)), batches)
    x, _ = load_cifar10(str(tmpdir), n_train=15).train.batch(np.array([9]))
    assert x[0, c, r, col] == 1.0
    assert (x[0] == 1.0).sum() == 1
    assert x[0, 0, r, col] == -1.0 and x[0, c, col, r] == -1.0
    assert x.min() == -1.0


def test_found_in_cifar10_subfolder_and_pylearn2_path(tmpdir, clean_env):
    write_cifar(str(tmpdir.join('a', 'cifar10', FOLDER)))
    assert len(load_cifar10(str(tmpdir.join('a')), n_train=15).valid) == 5
    write_cifar(str(tmpdir.join('p2', 'cifar10', FOLDER)))
    clean_env.setenv('PYLEARN2_DATA_PATH', str(tmpdir.join('p2')))
    d = load_cifar10(str(tmpdir.join('none')), n_train=15)
    assert d.source['folder'] == str(tmpdir.join('p2', 'cifar10', FOLDER))


class _Py3Bytes(object):
    """Pickles like a Python 3 ``bytes`` object under protocol 2."""

    def __init__(self, text):
        self.text = text

    def __reduce__(self):
        return (codecs.encode, (u'%s' % self.text, 'latin1'))


@pytest.mark.parametrize('keys', ['bytes', 'unicode'])
def test_pickles_written_by_python3(tmpdir, keys):
    # Python 3 writes bytes keys as _codecs.encode(u'...', 'latin1') and str keys
    # as unicode; both must work.
    batches = cifar_arrays()
    folder = tmpdir.join(FOLDER).ensure(dir=True)
    names = ['data_batch_%d' % i for i in range(1, 6)] + ['test_batch']
    for name, (data, labels) in zip(names, batches):
        d = cifar_batch_dict(data, labels, name)
        conv = _Py3Bytes if keys == 'bytes' else (lambda k: u'%s' % k)
        d = dict((conv(k), v) for k, v in d.items())
        raw = pickle.dumps(d, protocol=2)
        if keys == 'bytes':
            assert b'encode' in raw and b'latin1' in raw
        folder.join(name).write_binary(raw)
    d = load_cifar10(str(tmpdir), n_train=15)
    assert list(d.test.labels) == batches[5][1]


def test_missing_files_lists_every_place_searched(tmpdir, clean_env):
    clean_env.setenv('PYLEARN2_DATA_PATH', str(tmpdir.join('p2')))
    with pytest.raises(DataError) as e:
        load_cifar10(str(tmpdir))
    msg = str(e.value)
    for where in (tmpdir.join(FOLDER), tmpdir.join('cifar10', FOLDER),
                  tmpdir.join('p2', 'cifar10', FOLDER)):
        assert str(where) in msg
    assert 'data_batch_5' in msg and 'test_batch' in msg
    assert 'make fetch-cifar10' in msg and 'cifar-10-python.tar.gz' in msg


@pytest.mark.parametrize('content', [b'not a pickle at all', b'\x80\x02}q\x00(U\x04'])
def test_corrupt_pickle(tmpdir, content):
    write_cifar(str(tmpdir.join(FOLDER)))
    path = tmpdir.join(FOLDER, 'data_batch_4')
    path.write_binary(content)
    with pytest.raises(DataError) as e:
        load_cifar10(str(tmpdir), n_train=15)
    assert str(path) in str(e.value) and 'corrupt' in str(e.value)


def test_truncated_pickle(tmpdir):
    write_cifar(str(tmpdir.join(FOLDER)))
    path = tmpdir.join(FOLDER, 'test_batch')
    raw = path.read_binary()
    path.write_binary(raw[:len(raw) - 50])
    with pytest.raises(DataError) as e:
        load_cifar10(str(tmpdir), n_train=15)
    assert str(path) in str(e.value)


def test_missing_key_and_wrong_shapes(tmpdir):
    batches = write_cifar(str(tmpdir.join(FOLDER)))
    path = str(tmpdir.join(FOLDER, 'data_batch_1'))
    data, labels = batches[0]
    with open(path, 'wb') as f:
        pickle.dump({'data': data, 'fine_labels': labels}, f, protocol=2)
    with pytest.raises(DataError) as e:
        load_cifar10(str(tmpdir), n_train=15)
    assert "'labels'" in str(e.value) and path in str(e.value)
    for bad in ({'data': data[:, :3000], 'labels': labels},
                {'data': data.astype(np.int64), 'labels': labels},
                {'data': data, 'labels': labels[:-1]},
                {'data': data, 'labels': [10] + labels[1:]}):
        with open(path, 'wb') as f:
            pickle.dump(bad, f, protocol=2)
        with pytest.raises(DataError) as e:
            load_cifar10(str(tmpdir), n_train=15)
        assert path in str(e.value)


def test_split_sizes_are_checked(tmpdir):
    write_cifar(str(tmpdir.join(FOLDER)))
    with pytest.raises(DataError) as e:
        load_cifar10(str(tmpdir))             # default n_train=45000 > 20 images
    assert 'n_train=45000' in str(e.value)
    with pytest.raises(DataError):
        load_cifar10(str(tmpdir), n_train=15, expected_counts=(50000, 10000))
    assert len(load_cifar10(str(tmpdir), n_train=15, expected_counts=(20, 3)).test) == 3
