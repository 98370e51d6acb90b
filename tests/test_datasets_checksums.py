"""Data integrity (issue #12): the fetcher (`--if-missing` included) and the loaders
check the official checksums of the decompressed content where they are known, and a
run records the sha256 of every data file it read."""
from __future__ import absolute_import, division, print_function

import gzip
import hashlib
import os
import shutil

import numpy as np
import pytest

from gxnor import cli
from gxnor.datasets import DataError, load_mnist
from gxnor.datasets.checksums import OFFICIAL, content_digests
from gxnor.datasets.fetch import main as fetch_main
from test_datasets_writers import (MNIST_NAMES, clean_env, mnist_arrays,  # noqa: F401
                                   write_mnist)

pytestmark = pytest.mark.usefixtures('clean_env')


def real_mnist_dir():
    folder = os.environ.get('GXNOR_MNIST_DIR')
    if not folder:
        pytest.skip('needs the real MNIST: set GXNOR_MNIST_DIR (make test MNIST_DIR=...)')
    return folder


def look_alike(folder):
    """MNIST-shaped files with the official test-file counts (10000), other pixels: what
    Fashion-MNIST or a corrupted copy looks like to a loader that checks only shapes."""
    arrays = mnist_arrays(n_train=12, n_test=10000)
    write_mnist(folder, arrays)
    return arrays


def test_content_digests_are_of_the_decompressed_bytes(tmpdir):
    data = b'\x00\x00\x08\x01' + b'gxnor' * 1000
    plain, packed = tmpdir.join('a'), tmpdir.join('a.gz')
    plain.write_binary(data)
    with gzip.GzipFile(str(packed), 'wb', compresslevel=1) as handle:
        handle.write(data)
    want = dict(md5=hashlib.md5(data).hexdigest(), sha256=hashlib.sha256(data).hexdigest())
    assert content_digests(str(plain)) == want == content_digests(str(packed))


def test_the_official_mnist_values_are_complete():
    for name in MNIST_NAMES.values():
        assert len(OFFICIAL[name]['md5']) == 32 and len(OFFICIAL[name]['sha256']) == 64


def test_a_look_alike_with_official_counts_is_refused_by_the_loader(tmpdir):
    look_alike(str(tmpdir.join('mnist')))
    with pytest.raises(DataError) as info:
        load_mnist(str(tmpdir), n_train=8)
    message = str(info.value)
    assert 't10k-' in message and 'is not the official file' in message
    assert OFFICIAL['t10k-images-idx3-ubyte']['sha256'] in message or \
        OFFICIAL['t10k-labels-idx1-ubyte']['sha256'] in message


def test_small_files_load_but_a_run_refuses_them(tmpdir, capsys):
    write_mnist(str(tmpdir.join('mnist')))          # 12 / 5 images: a test fixture
    source = load_mnist(str(tmpdir), n_train=8).source
    assert source['checksum']['train_images'].startswith('not the official file (12 ')
    assert len(source['sha256']['test_labels']) == 64
    status = cli.main(['run', 'mnist', '--data-dir', str(tmpdir), '--results',
                       str(tmpdir.join('results')), '--stop-after', '1'])
    assert status == 2
    assert 'a training run needs the official files' in capsys.readouterr()[1]
    assert not tmpdir.join('results', 'runs').check()


def test_if_missing_verifies_what_it_finds_and_keeps_it(tmpdir, capsys):
    look_alike(str(tmpdir.join('mnist')))
    status = fetch_main(['mnist', '--data-dir', str(tmpdir), '--if-missing',
                         '--base-url', 'http://127.0.0.1:9/'])
    err = capsys.readouterr()[1]
    assert status == 1 and err.startswith('error: ') and 'not the official file' in err
    assert sorted(os.listdir(str(tmpdir.join('mnist')))) == sorted(
        name + '.gz' for name in MNIST_NAMES.values())


def test_the_real_mnist_recompressed_passes_and_is_recorded(tmpdir, capsys):
    real = real_mnist_dir()
    copy = tmpdir.join('mnist')
    shutil.copytree(real, str(copy))
    # recompress one file: the content, not the .gz bytes, is what is checked
    name = 't10k-labels-idx1-ubyte'
    with gzip.open(os.path.join(real, name + '.gz'), 'rb') as handle:
        content = handle.read()
    os.chmod(str(copy), 0o755)
    os.chmod(str(copy.join(name + '.gz')), 0o644)
    copy.join(name + '.gz').remove()
    with gzip.GzipFile(str(copy.join(name + '.gz')), 'wb', compresslevel=1) as handle:
        handle.write(content)
    assert fetch_main(['mnist', '--data-dir', str(tmpdir), '--if-missing']) == 0
    assert 'verified' in capsys.readouterr()[0]
    source = load_mnist(str(tmpdir), require_official=True).source
    for role, name in MNIST_NAMES.items():
        assert source['sha256'][role] == OFFICIAL[name]['sha256']
        assert source['checksum'][role] == 'official'
        assert content_digests(source['files'][role])['md5'] == OFFICIAL[name]['md5']
    assert np.array_equal(load_mnist(real).test.labels, load_mnist(str(tmpdir)).test.labels)
