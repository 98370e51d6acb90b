"""Checksums of the data files' content, and their check against the official values.

The content is what the loaders read: a ``.gz`` file is hashed after decompression,
so MNIST compressed by anyone (the official ``.gz``, a recompressed copy, or the files
unzipped) has one checksum per file. Where the official value is known, a file that
does not match is refused (``DataError``) with what to do; every run records the
sha256 of each file it read (``config.json``, ``data_source.sha256``).

Where the official values come from:

* MNIST (decompressed IDX files): the md5 values are the widely used ones of the four
  files of yann.lecun.com (the site itself publishes none); the sha256 values were
  computed by us from a copy whose decompressed content has exactly those md5 values.
* SVHN format-2 ``.mat`` files (not compressed): md5 as used by torchvision and other
  loaders for the Stanford files; no sha256 is known, the md5 is checked.
* CIFAR10: only the archive ``cifar-10-python.tar.gz`` has a published md5 (on the
  Toronto download page); the fetcher checks it before unpacking. No checksum of the
  unpacked pickles is published, so the loader records theirs without a check.
"""
from __future__ import absolute_import, division, print_function

import gzip
import hashlib
import os

from .errors import DataError

BLOCK = 1 << 20

#: file name (without .gz) -> {'md5': ..., 'sha256': ..., 'entries': N} of the content.
OFFICIAL = {
    'train-images-idx3-ubyte': dict(
        md5='6bbc9ace898e44ae57da46a324031adb',
        sha256='ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db',
        entries=60000),
    'train-labels-idx1-ubyte': dict(
        md5='a25bea736e30d166cdddb491f175f624',
        sha256='65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5',
        entries=60000),
    't10k-images-idx3-ubyte': dict(
        md5='2646ac647ad5339dbf082846283269ea',
        sha256='0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7',
        entries=10000),
    't10k-labels-idx1-ubyte': dict(
        md5='27ae3e4e09519cfbb04c329615203637',
        sha256='ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2',
        entries=10000),
    'train_32x32.mat': dict(md5='e26dedcc434d2e4c54c9b2d4a06d8373', entries=73257),
    'test_32x32.mat': dict(md5='eb5a983be6a315427106f1b164d9cef3', entries=26032),
    'extra_32x32.mat': dict(md5='a93ce644f1a588dc4d68dda5feec44a7', entries=531131),
}


def official_name(path):
    """The OFFICIAL key of a file path ('.../train-images-idx3-ubyte.gz' -> its name)."""
    name = os.path.basename(path)
    return name[:-len('.gz')] if name.endswith('.gz') else name


def content_digests(path):
    """{'md5': ..., 'sha256': ...} of the file's content (decompressed if ``.gz``)."""
    md5, sha256 = hashlib.md5(), hashlib.sha256()
    opener = gzip.open if path.endswith('.gz') else open
    try:
        with opener(path, 'rb') as handle:
            for block in iter(lambda: handle.read(BLOCK), b''):
                md5.update(block)
                sha256.update(block)
    except (IOError, OSError, EOFError) as error:
        raise DataError('%s: cannot be read to the end (%s); corrupt or truncated. Delete '
                        'it and fetch it again.' % (path, error))
    return dict(md5=md5.hexdigest(), sha256=sha256.hexdigest())


def verify(path, digests=None, hint=''):
    """Check ``path``'s content against its official checksum, when one is known.

    Returns ``(digests, status)``: status is 'official' (matches), or 'unknown' (no
    official value for this file name). Raises DataError on a mismatch.
    """
    digests = digests or content_digests(path)
    official = OFFICIAL.get(official_name(path))
    if official is None:
        return digests, 'unknown'
    kind = 'sha256' if 'sha256' in official else 'md5'
    if digests[kind] != official[kind]:
        raise DataError(
            '%s: its content is not the official file (%s of the content %s, the official '
            '%s has %s); it is another data set with the same format (e.g. Fashion-MNIST), '
            'a modified copy, or corrupt. Replace it with the official file. %s'
            % (path, kind, digests[kind], official_name(path), official[kind], hint))
    return digests, 'official'


def check_files(paths, entries=None, hint=''):
    """Digests of several files, each checked where an official value applies.

    ``entries`` ({path: number of entries}) limits the check to files that hold the
    official number of entries, i.e. claim to be the official file; a file of another
    size (a small test file, a subset made on purpose) is only recorded, and its
    status says so. Returns {path: dict(sha256=..., md5=..., status=...)}.
    """
    out = {}
    for path in paths:
        official = OFFICIAL.get(official_name(path))
        count = (entries or {}).get(path)
        digests = content_digests(path)
        if official is not None and count is not None and count != official['entries']:
            status = 'not the official file (%d entries, official %d): not checked' % (
                count, official['entries'])
        else:
            digests, status = verify(path, digests, hint)
        out[path] = dict(digests, status=status)
    return out


def require_official(checks, what, hint):
    """DataError unless every file of ``checks`` (check_files) matched its official
    checksum: what a training run asks of its data."""
    others = ['%s (%s)' % (path, check['status']) for path, check in sorted(checks.items())
              if check['status'] != 'official']
    if others:
        raise DataError('%s: a training run needs the official files; these are not: %s. '
                        '%s' % (what, '; '.join(others), hint))
