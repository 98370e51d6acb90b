"""Fetch: download through a local file:// 'mirror', checksums, failures.
Never touches the real internet: unreachable = http://127.0.0.1:9/."""
from __future__ import absolute_import, division, print_function

import hashlib
import io
import os
import tarfile

import numpy as np
import pytest

from gxnor.datasets import DataError, load_cifar10, load_mnist
from gxnor.datasets import fetch as fetch_mod
from gxnor.datasets.fetch import CHECKSUMS, FILES, fetch, main, md5_of
from test_datasets_writers import (MNIST_NAMES, clean_env,  # noqa: F401
                                   write_cifar, write_mnist)

try:
    from urllib.request import pathname2url
except ImportError:  # Python 2
    from urllib import pathname2url

pytestmark = pytest.mark.usefixtures('clean_env')
UNREACHABLE = 'http://127.0.0.1:9/'


def file_url(folder):
    return 'file://' + pathname2url(str(folder)) + '/'


def md5s(folder):
    return dict((name, md5_of(os.path.join(str(folder), name)))
                for name in os.listdir(str(folder)))


def leftovers(folder):
    return [n for n in os.listdir(str(folder)) if n.startswith('.')]


def test_known_checksums():
    assert CHECKSUMS['cifar-10-python.tar.gz'] == 'c58f30108f718f92721af3b95e74349a'
    for name in FILES['mnist'] + FILES['svhn'] + FILES['cifar10']:
        assert len(CHECKSUMS[name]) == 32 and int(CHECKSUMS[name], 16) >= 0
    assert set(FILES['mnist']) == set(n + '.gz' for n in MNIST_NAMES.values())


def test_md5_of_reads_the_whole_file(tmpdir, monkeypatch):
    monkeypatch.setattr(fetch_mod, 'BLOCK', 7)      # several blocks
    p = tmpdir.join('f')
    p.write_binary(b'abc' * 10)
    assert md5_of(str(p)) == hashlib.md5(b'abc' * 10).hexdigest()
    p.write_binary(b'')
    assert md5_of(str(p)) == 'd41d8cd98f00b204e9800998ecf8427e'


def test_no_network_error_says_what_to_download_and_where(tmpdir):
    with pytest.raises(DataError) as e:
        fetch('mnist', data_dir=str(tmpdir), base_url=UNREACHABLE, timeout=5)
    msg = str(e.value)
    target = str(tmpdir.join('mnist'))
    assert 'Could not download' in msg and target in msg
    for name in FILES['mnist']:
        assert UNREACHABLE + name in msg
    assert leftovers(target) == [] and os.listdir(target) == []


def test_no_network_via_env_var_and_command_line(tmpdir, clean_env, capsys):
    clean_env.setenv('GXNOR_FETCH_BASE_URL', UNREACHABLE)
    assert main(['svhn', '--data-dir', str(tmpdir), '--timeout', '5']) == 1
    err = capsys.readouterr().err
    assert 'error: Could not download' in err
    for name in FILES['svhn']:
        assert UNREACHABLE + name in err
    assert str(tmpdir.join('svhn')) in err
    assert os.listdir(str(tmpdir.join('svhn'))) == []


def test_failure_message_names_the_official_sites(tmpdir):
    # built directly: the real sites are never contacted by the tests
    target = str(tmpdir.join('cifar10'))
    msg = str(fetch_mod._failure('cifar10', target, ['x: refused'],
                                 fetch_mod.MIRRORS['cifar10']))
    assert 'https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz' in msg
    assert target in msg and 'tar xzf' in msg and 'x: refused' in msg
    msg = str(fetch_mod._failure('mnist', str(tmpdir), [], fetch_mod.MIRRORS['mnist']))
    assert 'http://yann.lecun.com/exdb/mnist/train-images-idx3-ubyte.gz' in msg
    msg = str(fetch_mod._failure('svhn', str(tmpdir), [], fetch_mod.MIRRORS['svhn']))
    assert 'http://ufldl.stanford.edu/housenumbers/extra_32x32.mat' in msg


def test_download_verifies_checksums_and_is_atomic(tmpdir):
    mirror = tmpdir.join('mirror')
    write_mnist(str(mirror))
    sums = md5s(mirror)
    data = tmpdir.join('data')
    target = fetch('mnist', data_dir=str(data), base_url=file_url(mirror),
                   checksums=sums)
    assert target == str(data.join('mnist'))
    assert sorted(os.listdir(target)) == sorted(FILES['mnist'])
    assert md5s(target) == sums
    assert len(load_mnist(str(data), n_train=8).valid) == 4
    # a second run finds the verified files and needs no network at all
    assert fetch('mnist', data_dir=str(data), base_url=UNREACHABLE,
                 checksums=sums) == target


def test_checksum_mismatch_leaves_nothing_behind(tmpdir):
    mirror = tmpdir.join('mirror')
    write_mnist(str(mirror))
    sums = md5s(mirror)
    sums['t10k-labels-idx1-ubyte.gz'] = '0' * 32
    data = tmpdir.join('data')
    with pytest.raises(DataError) as e:
        fetch('mnist', data_dir=str(data), base_url=file_url(mirror), checksums=sums)
    msg = str(e.value)
    assert 'checksum mismatch' in msg and '0' * 32 in msg
    assert 't10k-labels-idx1-ubyte.gz' in msg
    target = str(data.join('mnist'))
    assert 't10k-labels-idx1-ubyte.gz' not in os.listdir(target)
    assert leftovers(target) == []
    assert len(os.listdir(target)) == 3      # the three good files were kept


def test_present_mnist_with_other_md5_is_checked_by_its_content(tmpdir):
    write_mnist(str(tmpdir.join('mnist')))   # 12/5 random images: not the official files
    with pytest.raises(DataError) as e:
        fetch('mnist', data_dir=str(tmpdir), base_url=UNREACHABLE)
    assert 'its content is not the official file' in str(e.value)
    assert tmpdir.join('mnist', 'train-images-idx3-ubyte.gz').check(file=True)


def test_present_file_with_bad_checksum_is_reported_not_deleted(tmpdir):
    target = tmpdir.join('svhn').ensure(dir=True)
    target.join('train_32x32.mat').write_binary(b'partial download')
    with pytest.raises(DataError) as e:
        fetch('svhn', data_dir=str(tmpdir), base_url=UNREACHABLE)
    assert 'train_32x32.mat' in str(e.value) and 'Delete it' in str(e.value)
    assert target.join('train_32x32.mat').check(file=True)


def make_cifar_archive(path, extra_member=None):
    src = os.path.join(os.path.dirname(path), 'build')
    write_cifar(os.path.join(src, 'cifar-10-batches-py'))
    with tarfile.open(path, 'w:gz') as tar:
        tar.add(os.path.join(src, 'cifar-10-batches-py'), 'cifar-10-batches-py')
        if extra_member is not None:
            info = tarfile.TarInfo(extra_member)
            info.size = 3
            tar.addfile(info, io.BytesIO(b'bad'))
    return md5_of(path)


def test_cifar_archive_is_downloaded_verified_and_unpacked(tmpdir):
    mirror = tmpdir.join('mirror').ensure(dir=True)
    md5 = make_cifar_archive(str(mirror.join('cifar-10-python.tar.gz')))
    data = tmpdir.join('data')
    target = fetch('cifar10', data_dir=str(data), base_url=file_url(mirror),
                   checksums={'cifar-10-python.tar.gz': md5})
    assert sorted(os.listdir(target)) == ['cifar-10-batches-py',
                                          'cifar-10-python.tar.gz']
    d = load_cifar10(str(data), n_train=15)
    assert np.array_equal(d.test.images[:, 0, 0, 0], [50, 51, 52])
    # unpacked batches present and readable: nothing to download
    fetch('cifar10', data_dir=str(data), base_url=UNREACHABLE)


def test_cifar_archive_with_foreign_member_is_refused(tmpdir):
    mirror = tmpdir.join('mirror').ensure(dir=True)
    md5 = make_cifar_archive(str(mirror.join('cifar-10-python.tar.gz')),
                             extra_member='../evil')
    data = tmpdir.join('data')
    with pytest.raises(DataError) as e:
        fetch('cifar10', data_dir=str(data), base_url=file_url(mirror),
              checksums={'cifar-10-python.tar.gz': md5})
    assert '../evil' in str(e.value)
    assert not tmpdir.join('evil').check()
    assert sorted(os.listdir(str(data.join('cifar10')))) == ['cifar-10-python.tar.gz']


def test_unknown_dataset_name():
    with pytest.raises(ValueError) as e:
        fetch('imagenet')
    assert 'cifar10' in str(e.value) and 'mnist' in str(e.value)
    with pytest.raises(SystemExit):
        main(['imagenet'])
