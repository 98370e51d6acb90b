"""MNIST loader on small IDX files written in the official format."""
from __future__ import absolute_import, division, print_function

import os
import struct

import numpy as np
import pytest

from gxnor.datasets import DataError, load_mnist
from gxnor.datasets.paths import default_data_dir
from test_datasets_writers import (MNIST_NAMES, clean_env, idx_bytes,  # noqa: F401
                                   mnist_arrays, write_idx, write_mnist)

pytestmark = pytest.mark.usefixtures('clean_env')


@pytest.mark.parametrize('gz', [True, False])
def test_shapes_dtypes_and_split(tmpdir, gz):
    arrays = write_mnist(str(tmpdir), gz=gz)
    d = load_mnist(str(tmpdir), n_train=8)
    assert d.name == 'mnist'
    assert (len(d.train), len(d.valid), len(d.test)) == (8, 4, 5)
    for split in (d.train, d.valid, d.test):
        assert split.images.dtype == np.uint8
        assert split.images.shape[1:] == (1, 28, 28)
        assert split.labels.shape == (len(split),)
    x, y = d.valid.batch(slice(None))
    assert x.dtype == np.float32 and x.shape == (4, 1, 28, 28)
    # train = first 8 of the training file, valid = the rest, in file order
    assert list(d.train.images[:, 0, 0, 0]) == list(range(8))
    assert list(d.valid.images[:, 0, 0, 0]) == [8, 9, 10, 11]
    assert np.array_equal(y, arrays['train_labels'][8:])
    assert np.array_equal(d.test.labels, arrays['test_labels'])
    assert d.source['files']['train_images'].endswith(
        'train-images-idx3-ubyte' + ('.gz' if gz else ''))


def test_scaling_endpoints_and_pixel_position(tmpdir):
    arrays = mnist_arrays()
    x = arrays['train_images']
    x[2] = 0
    x[2, 3, 17] = 255
    x[3] = 51                          # 51 / 255 * 2 - 1 = -0.6
    write_mnist(str(tmpdir), arrays)
    batch, _ = load_mnist(str(tmpdir), n_train=8).train.batch(np.array([2, 3]))
    assert batch[0, 0, 3, 17] == 1.0
    assert batch[0, 0, 3, 16] == -1.0 and batch[0, 0, 4, 17] == -1.0
    assert (batch[0] == 1.0).sum() == 1
    assert np.allclose(batch[1], -0.6, atol=1e-6)
    # the exact float32 arithmetic of the released script: x / 255 then 2x - 1
    expected = 2 * (np.arange(256, dtype=np.float32) / np.float32(255)) - 1
    got, _ = load_mnist(str(tmpdir), n_train=8).train.batch(slice(0, 1))
    assert np.array_equal(got[0, 0], expected[x[0]])


def test_files_found_in_mnist_subfolder_and_pylearn2_path(tmpdir, clean_env):
    write_mnist(str(tmpdir.join('a', 'mnist')))
    assert len(load_mnist(str(tmpdir.join('a')), n_train=8).train) == 8
    write_mnist(str(tmpdir.join('p2', 'mnist')), gz=False)
    clean_env.setenv('PYLEARN2_DATA_PATH', str(tmpdir.join('p2')))
    d = load_mnist(str(tmpdir.join('empty')), n_train=8)
    assert d.source['folder'] == str(tmpdir.join('p2', 'mnist'))


def test_default_data_dir_is_the_repo_datasets_folder_or_the_env_var(tmpdir, clean_env):
    here = os.path.dirname(os.path.abspath(__file__))
    assert default_data_dir() == os.path.join(os.path.dirname(here), 'datasets')
    write_mnist(str(tmpdir))
    clean_env.setenv('GXNOR_DATA_DIR', str(tmpdir))
    assert default_data_dir() == str(tmpdir)
    assert len(load_mnist(n_train=8).valid) == 4


def test_missing_files_lists_every_place_searched(tmpdir, clean_env):
    clean_env.setenv('PYLEARN2_DATA_PATH', str(tmpdir.join('p2')))
    tmpdir.join('mnist').ensure(dir=True)
    write_idx(str(tmpdir.join('mnist', 'train-images-idx3-ubyte.gz')),
              mnist_arrays()['train_images'])
    with pytest.raises(DataError) as e:
        load_mnist(str(tmpdir))
    msg = str(e.value)
    assert str(tmpdir) in msg
    assert str(tmpdir.join('mnist')) in msg
    assert str(tmpdir.join('p2', 'mnist')) in msg
    for name in MNIST_NAMES.values():
        assert name in msg
    assert 'make fetch-mnist DATA_DIR=%s' % tmpdir in msg
    assert 'missing: train-labels-idx1-ubyte' in msg   # the partial folder


def test_missing_pylearn2_variable_is_reported(tmpdir):
    with pytest.raises(DataError) as e:
        load_mnist(str(tmpdir))
    assert 'PYLEARN2_DATA_PATH is not set' in str(e.value)


@pytest.mark.parametrize('role,magic', [('train_images', 0x00000801),
                                        ('test_labels', 0x00000803),
                                        ('train_labels', 0x00000901)])
def test_wrong_magic_number(tmpdir, role, magic):
    arrays = write_mnist(str(tmpdir))
    path = str(tmpdir.join(MNIST_NAMES[role] + '.gz'))
    write_idx(path, arrays[role], magic=magic)
    with pytest.raises(DataError) as e:
        load_mnist(str(tmpdir), n_train=8)
    assert 'magic' in str(e.value) and path in str(e.value)
    assert '0x%08X' % magic in str(e.value)


def test_truncated_payload(tmpdir):
    arrays = write_mnist(str(tmpdir))
    path = str(tmpdir.join('t10k-images-idx3-ubyte'))
    os.remove(path + '.gz')
    write_idx(path, None, raw=idx_bytes(arrays['test_images'])[:-100])
    with pytest.raises(DataError) as e:
        load_mnist(str(tmpdir), n_train=8)
    assert 'truncated' in str(e.value) and path in str(e.value)


def test_truncated_header(tmpdir):
    write_mnist(str(tmpdir))
    path = str(tmpdir.join('train-labels-idx1-ubyte.gz'))
    write_idx(path, None, raw=struct.pack('>I', 0x801) + b'\x00\x00')
    with pytest.raises(DataError) as e:
        load_mnist(str(tmpdir), n_train=8)
    assert 'truncated' in str(e.value) and path in str(e.value)


def test_truncated_gzip_stream(tmpdir):
    write_mnist(str(tmpdir))
    path = tmpdir.join('train-images-idx3-ubyte.gz')
    raw = path.read_binary()
    path.write_binary(raw[:len(raw) // 2])
    with pytest.raises(DataError) as e:
        load_mnist(str(tmpdir), n_train=8)
    assert str(path) in str(e.value)


def test_trailing_bytes_are_rejected(tmpdir):
    arrays = write_mnist(str(tmpdir))
    path = str(tmpdir.join('train-labels-idx1-ubyte.gz'))
    write_idx(path, None, raw=idx_bytes(arrays['train_labels']) + b'\x00')
    with pytest.raises(DataError) as e:
        load_mnist(str(tmpdir), n_train=8)
    assert 'longer than its header' in str(e.value)


def test_gzip_detected_by_content_not_name(tmpdir):
    arrays = write_mnist(str(tmpdir))
    plain = str(tmpdir.join('t10k-labels-idx1-ubyte'))
    os.rename(plain + '.gz', plain)
    with open(plain, 'rb') as f:
        assert f.read(2) == b'\x1f\x8b'
    assert np.array_equal(load_mnist(str(tmpdir), n_train=8).test.labels,
                          arrays['test_labels'])


def test_image_label_count_mismatch(tmpdir):
    arrays = write_mnist(str(tmpdir))
    path = str(tmpdir.join('train-labels-idx1-ubyte.gz'))
    write_idx(path, arrays['train_labels'][:11])
    with pytest.raises(DataError) as e:
        load_mnist(str(tmpdir), n_train=8)
    msg = str(e.value)
    assert '12 images' in msg and '11 labels' in msg and path in msg


def test_label_out_of_range(tmpdir):
    arrays = write_mnist(str(tmpdir))
    arrays['test_labels'][1] = 10
    write_idx(str(tmpdir.join('t10k-labels-idx1-ubyte.gz')), arrays['test_labels'])
    with pytest.raises(DataError) as e:
        load_mnist(str(tmpdir), n_train=8)
    assert 'label 10' in str(e.value)


def test_wrong_image_size(tmpdir):
    write_mnist(str(tmpdir))
    write_idx(str(tmpdir.join('t10k-images-idx3-ubyte.gz')),
              np.zeros((5, 28, 27), np.uint8))
    with pytest.raises(DataError) as e:
        load_mnist(str(tmpdir), n_train=8)
    assert '28x27' in str(e.value)


def test_split_needs_more_images_than_n_train(tmpdir):
    write_mnist(str(tmpdir))
    with pytest.raises(DataError) as e:
        load_mnist(str(tmpdir))               # default n_train=50000, file has 12
    assert 'n_train=50000' in str(e.value) and '60000' in str(e.value)
    with pytest.raises(DataError):
        load_mnist(str(tmpdir), n_train=12)   # no validation image left


def test_expected_counts(tmpdir):
    write_mnist(str(tmpdir))
    assert len(load_mnist(str(tmpdir), n_train=8, expected_counts=(12, 5)).test) == 5
    with pytest.raises(DataError) as e:
        load_mnist(str(tmpdir), n_train=8, expected_counts=(60000, 10000))
    assert 'expected 60000 and 10000' in str(e.value)


def test_images_stay_read_only_uint8_and_batches_are_fresh(tmpdir):
    write_mnist(str(tmpdir))
    d = load_mnist(str(tmpdir), n_train=8)
    with pytest.raises(ValueError):
        d.train.images[0, 0, 0, 0] = 1
    first, _ = d.train.batch(slice(0, 2))
    expected = first.copy()
    first[...] = 7                            # writing a batch changes nothing stored
    assert np.array_equal(d.train.batch(slice(0, 2))[0], expected)
