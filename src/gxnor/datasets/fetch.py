"""Download the official dataset files if missing and verify them.

    python -m gxnor fetch {mnist,cifar10,svhn} [--data-dir D] [--base-url U]

Files go to D/mnist/, D/cifar10/ (the archive, unpacked to
D/cifar10/cifar-10-batches-py/) and D/svhn/; D defaults to the repository's
datasets/ folder (or $GXNOR_DATA_DIR). $GXNOR_FETCH_BASE_URL (or --base-url)
replaces the official sites, e.g. a local mirror. Each download goes to a
temporary file in the target folder, is checked against CHECKSUMS and only
then renamed to its final name.
"""
from __future__ import absolute_import, division, print_function

import argparse
import hashlib
import os
import shutil
import socket
import sys
import tarfile
import tempfile

from . import checksums, cifar10, mnist, svhn
from .errors import DataError
from .paths import resolve_data_dir

try:
    from urllib.request import urlopen
    from urllib.error import URLError
    from http.client import HTTPException
except ImportError:  # Python 2
    from urllib2 import urlopen, URLError
    from httplib import HTTPException

BASE_URL_ENV = 'GXNOR_FETCH_BASE_URL'

# md5 of each file exactly as downloaded: the MNIST .gz values are the widely used
# ones of yann.lecun.com's files, the CIFAR10 one is printed on the Toronto download
# page, the SVHN ones are those of the Stanford files. MNIST files that are already
# present but gzipped differently (the md5 of a .gz depends on how it was compressed)
# or unzipped are checked by the checksum of their decompressed content
# (checksums.OFFICIAL), as is every file `--if-missing` finds. The unpacked CIFAR10
# pickles are checked through the verified archive plus a structural read (keys,
# dtypes, shapes, labels): no checksum of them is published.
CHECKSUMS = {
    'train-images-idx3-ubyte.gz': 'f68b3c2dcbeaaa9fbdd348bbdeb94873',
    'train-labels-idx1-ubyte.gz': 'd53e105ee54ea40749a09fcbcd1e9432',
    't10k-images-idx3-ubyte.gz': '9fb629c4189551a2d022fa330f9573f3',
    't10k-labels-idx1-ubyte.gz': 'ec29112dd5afa0611ce80d1b7f02629c',
    'cifar-10-python.tar.gz': 'c58f30108f718f92721af3b95e74349a',
    'train_32x32.mat': 'e26dedcc434d2e4c54c9b2d4a06d8373',
    'test_32x32.mat': 'eb5a983be6a315427106f1b164d9cef3',
    'extra_32x32.mat': 'a93ce644f1a588dc4d68dda5feec44a7',
}

# Official sites, tried in order (the PyTorch mirror serves byte-identical MNIST).
MIRRORS = {
    'mnist': ('http://yann.lecun.com/exdb/mnist/',
              'https://ossci-datasets.s3.amazonaws.com/mnist/'),
    'cifar10': ('https://www.cs.toronto.edu/~kriz/',),
    'svhn': ('http://ufldl.stanford.edu/housenumbers/',),
}
FILES = {
    'mnist': tuple(mnist.FILES[k] + '.gz' for k in mnist.ORDER),
    'cifar10': ('cifar-10-python.tar.gz',),
    'svhn': ('train_32x32.mat', 'test_32x32.mat', 'extra_32x32.mat'),
}
MNIST_ROLE = dict((mnist.FILES[k] + '.gz', k) for k in mnist.ORDER)
SUBDIR = {'mnist': 'mnist', 'cifar10': 'cifar10', 'svhn': 'svhn'}
BLOCK = 1 << 20


def md5_of(path):
    """Hex md5 of a file's content, read in blocks."""
    h = hashlib.md5()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(BLOCK), b''):
            h.update(block)
    return h.hexdigest()


def _say(msg):
    print(msg)
    sys.stdout.flush()


def _download(url, dest, md5, timeout):
    """url -> dest through a temporary file in dest's folder; returns None on
    success, else a one-line reason. Nothing is left behind on failure."""
    fd, tmp = tempfile.mkstemp(prefix='.%s.' % os.path.basename(dest),
                               suffix='.part', dir=os.path.dirname(dest))
    try:
        h = hashlib.md5()
        try:
            response = urlopen(url, timeout=timeout)
            try:
                with os.fdopen(fd, 'wb') as out:
                    fd = None
                    for block in iter(lambda: response.read(BLOCK), b''):
                        h.update(block)
                        out.write(block)
            finally:
                response.close()
        except (URLError, HTTPException, socket.error, socket.timeout, IOError,
                OSError, ValueError) as e:
            return '%s: %s' % (url, getattr(e, 'reason', None) or e)
        if md5 is not None and h.hexdigest() != md5:
            return '%s: checksum mismatch (md5 %s, expected %s)' % (
                url, h.hexdigest(), md5)
        os.rename(tmp, dest)
        tmp = None
        return None
    finally:
        if fd is not None:
            os.close(fd)
        if tmp is not None and os.path.exists(tmp):
            os.remove(tmp)


def _mnist_present(target, name, md5):
    """True if MNIST file ``name`` (or its unzipped twin) is already in target
    and valid; DataError if it is there but not the official file."""
    gz = os.path.join(target, name)
    plain = gz[:-len('.gz')]
    if os.path.isfile(gz) and md5 is not None and md5_of(gz) == md5:
        _say('%s: present, md5 verified' % gz)
        return True
    path = gz if os.path.isfile(gz) else plain if os.path.isfile(plain) else None
    if path is None:
        return False
    hint = ('Delete %s and run this command again, or replace it with the file from '
            '%s.' % (path, mnist.OFFICIAL_URL))
    checksums.verify(path, hint=hint)
    _say('%s: present (compressed differently or unzipped), sha256 of the content '
         'verified' % path)
    return True


def _failure(name, target, failed, mirrors):
    lines = ['Could not download the %s files (no network, or the site is down):'
             % name]
    lines += ['  ' + reason for reason in failed]
    lines.append('Download these files by hand and put them, unchanged, into %s/:'
                 % target)
    for fname in FILES[name]:
        if not os.path.isfile(os.path.join(target, fname)):
            lines.append('  %s  from %s' % (fname, ' or '.join(
                m.rstrip('/') + '/' + fname for m in mirrors)))
    if name == 'cifar10':
        lines.append('then run this command again to verify and unpack it (or unpack '
                     'it yourself: tar xzf cifar-10-python.tar.gz -C %s).' % target)
    else:
        lines.append('then run this command again to verify them.')
    return DataError('\n'.join(lines))


def _unpack_cifar(archive, target):
    """archive -> target/cifar-10-batches-py, through a temporary folder."""
    final = os.path.join(target, cifar10.FOLDER)
    tmp = tempfile.mkdtemp(prefix='.unpack-', dir=target)
    try:
        try:
            with tarfile.open(archive, 'r:gz') as tar:
                members = tar.getmembers()
                for m in members:
                    norm = os.path.normpath(m.name)
                    if (os.path.isabs(norm) or norm.split(os.sep)[0] != cifar10.FOLDER
                            or not (m.isfile() or m.isdir())):
                        raise DataError('%s: unexpected member %r (not a plain file '
                                        'under %s/); not the official archive. Delete '
                                        'it and run this command again.'
                                        % (archive, m.name, cifar10.FOLDER))
                if hasattr(tarfile, 'data_filter'):
                    tar.extractall(tmp, members, filter='data')
                else:
                    tar.extractall(tmp, members)
        except (tarfile.TarError, IOError, OSError, EOFError) as e:
            raise DataError('%s: cannot unpack (%s). Delete it and run this command '
                            'again.' % (archive, e))
        try:
            os.rename(os.path.join(tmp, cifar10.FOLDER), final)
        except OSError as e:
            raise DataError('cannot create %s (%s). Delete that folder and run this '
                            'command again.' % (final, e))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def fetch(name, data_dir=None, base_url=None, timeout=60, checksums=None):
    """Make the ``name`` files present and verified in data_dir/<name>/.

    ``base_url`` (or $GXNOR_FETCH_BASE_URL) replaces the official sites;
    ``checksums`` replaces CHECKSUMS (a dict file name -> md5). Returns the
    target folder. Raises DataError, saying what to download from where and
    where to put it, when a download fails or a file does not verify.
    """
    if name not in FILES:
        raise ValueError('unknown dataset %r; allowed values: %s'
                         % (name, ', '.join(sorted(FILES))))
    checksums = CHECKSUMS if checksums is None else checksums
    base_url = base_url or os.environ.get(BASE_URL_ENV) or None
    mirrors = (base_url,) if base_url else MIRRORS[name]
    target = os.path.join(resolve_data_dir(data_dir), SUBDIR[name])
    if name == 'cifar10' and _cifar_unpacked(target):
        return target
    if not os.path.isdir(target):
        os.makedirs(target)

    failed = []
    for fname in FILES[name]:
        dest = os.path.join(target, fname)
        md5 = checksums.get(fname)
        if name == 'mnist':
            if _mnist_present(target, fname, md5):
                continue
        elif os.path.isfile(dest):
            found = md5_of(dest)
            if md5 is not None and found != md5:
                raise DataError('%s: md5 %s, expected %s: the file is corrupt, '
                                'incomplete or not the official one. Delete it and run '
                                'this command again.' % (dest, found, md5))
            _say('%s: present, md5 verified' % dest)
            continue
        reasons = []
        for mirror in mirrors:
            url = mirror.rstrip('/') + '/' + fname
            _say('downloading %s -> %s' % (url, dest))
            reason = _download(url, dest, md5, timeout)
            if reason is None:
                _say('%s: downloaded, md5 verified' % dest)
                break
            reasons.append(reason)
        else:
            failed.extend(reasons)
    if failed:
        everywhere = tuple(mirrors) + tuple(m for m in MIRRORS[name] if m not in mirrors)
        raise _failure(name, target, failed, everywhere)

    if name == 'cifar10':
        _unpack_cifar(os.path.join(target, FILES['cifar10'][0]), target)
        if not _cifar_unpacked(target):
            raise DataError('%s: the archive did not contain the six batch files; '
                            'not the official archive.'
                            % os.path.join(target, FILES['cifar10'][0]))
    return target


def _cifar_unpacked(target):
    """True if target/cifar-10-batches-py holds six readable batches."""
    folder = os.path.join(target, cifar10.FOLDER)
    names = cifar10.TRAIN_BATCHES + (cifar10.TEST_BATCH,)
    present = [n for n in names if os.path.isfile(os.path.join(folder, n))]
    if not present:
        return False
    if len(present) < len(names):
        raise DataError('%s exists but lacks %s. Delete that folder and run this '
                        'command again.' % (folder, ', '.join(
                            n for n in names if n not in present)))
    hint = 'Delete %s and run this command again.' % folder
    for n in names:
        cifar10.read_batch(os.path.join(folder, n), hint)
    _say('%s: the six batches are present and readable' % folder)
    return True


def _verify_found(name, paths):
    """The files a finder found, against their official checksums (DataError if one
    differs). CIFAR10's unpacked batches have none published: they are read whole."""
    if name == 'cifar10':
        for path in sorted(paths.values()):
            cifar10.read_batch(path, 'Delete %s and run this command again.' % path)
        _say('cifar10: the batches are readable (no checksum of unpacked batches is '
             'published; the archive is checked when fetched)')
        return
    for path in sorted(paths.values()):
        hint = ('Delete it (or point DATA_DIR elsewhere) and run this command again to '
                'download the official file.')
        checksums.verify(path, hint=hint)
        _say('%s: content matches the official checksum' % path)


FINDERS = {'mnist': mnist.find_mnist, 'cifar10': cifar10.find_cifar10, 'svhn': svhn.find_svhn}


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='python -m gxnor fetch',
        description='Download and verify the official files of a dataset.')
    parser.add_argument('name', choices=sorted(FILES))
    parser.add_argument('--data-dir', default=None,
                        help='data folder (default: $GXNOR_DATA_DIR or the '
                             "repository's datasets/)")
    parser.add_argument('--base-url', default=None,
                        help='download from here instead of the official sites '
                             '(also $%s)' % BASE_URL_ENV)
    parser.add_argument('--timeout', type=float, default=60.0,
                        help='network timeout in seconds (default 60)')
    parser.add_argument('--if-missing', action='store_true',
                        help='do nothing when the loader already finds the files in '
                             'any accepted layout (what the make targets use)')
    args = parser.parse_args(argv)
    if args.if_missing:
        try:
            _, paths = FINDERS[args.name](args.data_dir)
        except DataError:
            pass
        else:
            try:
                _verify_found(args.name, paths)
            except DataError as e:
                print('error: %s' % e, file=sys.stderr)
                return 1
            _say('%s: files found (%s) and verified' % (
                args.name, args.data_dir or 'default data folder'))
            return 0
    try:
        target = fetch(args.name, args.data_dir, args.base_url, args.timeout)
    except DataError as e:
        print('error: %s' % e, file=sys.stderr)
        return 1
    _say('%s: ready in %s' % (args.name, target))
    return 0
