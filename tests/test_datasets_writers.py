"""Writers of small files in the official formats, shared by the data tests,
plus checks that what they write matches the published format byte for byte."""
from __future__ import absolute_import, division, print_function

import gzip
import io
import os
import pickle
import struct

import numpy as np
import pytest
import scipy.io

ENV_VARS = ('PYLEARN2_DATA_PATH', 'GXNOR_DATA_DIR', 'GXNOR_FETCH_BASE_URL')


@pytest.fixture
def clean_env(monkeypatch):
    """No data-path variables from the caller's shell leak into a test."""
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


# ----------------------------------------------------------------------- MNIST
def idx_bytes(array, magic=None):
    """IDX encoding of a uint8 array: big-endian magic, sizes, row-major data."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    if magic is None:
        magic = 0x00000800 | array.ndim
    header = struct.pack('>I', magic) + struct.pack('>%dI' % array.ndim, *array.shape)
    return header + array.tobytes()


def write_idx(path, array, magic=None, gz=None, raw=None):
    """Write ``array`` (or the bytes ``raw``) as IDX; gzip if gz (default: the
    path ends with .gz)."""
    data = idx_bytes(array, magic) if raw is None else raw
    if gz is None:
        gz = path.endswith('.gz')
    if gz:
        with gzip.GzipFile(path, 'wb') as f:
            f.write(data)
    else:
        with open(path, 'wb') as f:
            f.write(data)
    return path


def mnist_arrays(n_train=12, n_test=5, seed=0):
    """Random images/labels; image i of each file carries i at pixel (0, 0)."""
    rng = np.random.RandomState(seed)
    out = {}
    for role, n in (('train', n_train), ('test', n_test)):
        x = rng.randint(0, 256, size=(n, 28, 28)).astype(np.uint8)
        x[:, 0, 0] = np.arange(n)
        out[role + '_images'] = x
        out[role + '_labels'] = (np.arange(n) % 10).astype(np.uint8)
    return out


MNIST_NAMES = {'train_images': 'train-images-idx3-ubyte',
               'train_labels': 'train-labels-idx1-ubyte',
               'test_images': 't10k-images-idx3-ubyte',
               'test_labels': 't10k-labels-idx1-ubyte'}


def write_mnist(folder, arrays=None, gz=True):
    """The four MNIST files in ``folder``; returns the arrays written."""
    arrays = mnist_arrays() if arrays is None else arrays
    if not os.path.isdir(folder):
        os.makedirs(folder)
    for role, name in MNIST_NAMES.items():
        write_idx(os.path.join(folder, name + ('.gz' if gz else '')), arrays[role])
    return arrays


# --------------------------------------------------------------------- CIFAR10
def cifar_arrays(per_batch=4, n_test=3, seed=0):
    """Five training batches and a test batch of random uint8 (n, 3072) rows;
    row j of batch b carries the global index 10*b + j at red pixel (0, 0)."""
    rng = np.random.RandomState(seed)
    batches = []
    for b in range(6):
        n = per_batch if b < 5 else n_test
        data = rng.randint(0, 256, size=(n, 3072)).astype(np.uint8)
        data[:, 0] = 10 * b + np.arange(n)
        labels = [int(v) for v in rng.randint(0, 10, size=n)]
        batches.append((data, labels))
    return batches


def cifar_batch_dict(data, labels, name):
    return {'batch_label': 'testing batch 1 of 1' if name == 'test_batch' else
            'training batch %s of 5' % name[-1],
            'data': data, 'labels': labels,
            'filenames': ['img_%d.png' % i for i in range(len(labels))]}


def write_cifar(folder, batches=None):
    """data_batch_1..5 and test_batch, pickled dicts as in the official files."""
    batches = cifar_arrays() if batches is None else batches
    if not os.path.isdir(folder):
        os.makedirs(folder)
    names = ['data_batch_%d' % i for i in range(1, 6)] + ['test_batch']
    for name, (data, labels) in zip(names, batches):
        with open(os.path.join(folder, name), 'wb') as f:
            pickle.dump(cifar_batch_dict(data, labels, name), f, protocol=2)
    return batches


# ------------------------------------------------------------------------ SVHN
def svhn_arrays(n, first_id, seed, label_cycle=10):
    """X (32, 32, 3, n) uint8 and y (n, 1) uint8 in 1..10; image i carries the id
    first_id + i at X[0, 0, 0, i] (row 0, column 0, red)."""
    rng = np.random.RandomState(seed)
    X = rng.randint(0, 256, size=(32, 32, 3, n)).astype(np.uint8)
    X[0, 0, 0, :] = first_id + np.arange(n)
    y = (np.arange(n) % label_cycle + 1).astype(np.uint8).reshape(n, 1)
    return X, y


def write_mat(path, **variables):
    scipy.io.savemat(path, variables)
    return path


def write_svhn(folder, n_train=60, n_extra=50, n_test=7):
    """train/extra/test .mat files with ids 1.., 101.., 201.. at pixel (0, 0, red)."""
    if not os.path.isdir(folder):
        os.makedirs(folder)
    out = {}
    for name, n, first, seed in (('train_32x32.mat', n_train, 1, 1),
                                 ('extra_32x32.mat', n_extra, 101, 2),
                                 ('test_32x32.mat', n_test, 201, 3)):
        X, y = svhn_arrays(n, first, seed)
        write_mat(os.path.join(folder, name), X=X, y=y)
        out[name] = (X, y)
    return out


# ----------------------------------------------- the writers follow the specs
def test_idx_writer_matches_the_published_layout():
    x = np.arange(2 * 28 * 28).reshape(2, 28, 28).astype(np.uint8)
    data = idx_bytes(x)
    assert data[:4] == b'\x00\x00\x08\x03'
    assert data[4:16] == b'\x00\x00\x00\x02\x00\x00\x00\x1c\x00\x00\x00\x1c'
    # pixels row-wise: byte 16 + 28 * r + c of image 0 is x[0, r, c]
    assert bytearray(data)[16 + 28 * 3 + 5] == x[0, 3, 5]
    assert idx_bytes(np.array([7, 2], np.uint8))[:12] == \
        b'\x00\x00\x08\x01\x00\x00\x00\x02\x07\x02'


def test_gzip_writer_writes_gzip(tmpdir):
    path = write_idx(str(tmpdir.join('a.gz')), np.zeros(3, np.uint8))
    with open(path, 'rb') as f:
        assert f.read(2) == b'\x1f\x8b'
    with gzip.GzipFile(path) as f:
        assert f.read() == idx_bytes(np.zeros(3, np.uint8))


def test_cifar_writer_uses_protocol_2_and_official_keys(tmpdir):
    write_cifar(str(tmpdir))
    raw = tmpdir.join('data_batch_1').read_binary()
    assert raw[:2] == b'\x80\x02'
    d = pickle.load(io.BytesIO(raw))
    assert sorted(d) == ['batch_label', 'data', 'filenames', 'labels']
    assert d['data'].dtype == np.uint8 and d['data'].shape == (4, 3072)


def test_svhn_writer_round_trips_through_loadmat(tmpdir):
    X, y = svhn_arrays(5, 1, 0)
    d = scipy.io.loadmat(write_mat(str(tmpdir.join('t.mat')), X=X, y=y))
    assert d['X'].shape == (32, 32, 3, 5) and d['X'].dtype == np.uint8
    assert d['y'].shape == (5, 1)
    assert np.array_equal(d['X'], X)
