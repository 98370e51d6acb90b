"""CIFAR10 from the official python pickles, split as in the released script."""
from __future__ import absolute_import, division, print_function

import os
import sys

import numpy as np

from .checksums import check_files
from .errors import DataError
from .paths import candidate_dirs, locate, resolve_data_dir
from .splits import Dataset, Split, scale_2_over_255

if sys.version_info[0] >= 3:
    import pickle

    def _unpickle(f):
        # Python 2 pickles hold str keys and array bytes: read them as bytes.
        return pickle.load(f, encoding='bytes')
else:
    import cPickle as pickle

    def _unpickle(f):
        return pickle.load(f)

FOLDER = 'cifar-10-batches-py'
TRAIN_BATCHES = tuple('data_batch_%d' % i for i in range(1, 6))
TEST_BATCH = 'test_batch'
OFFICIAL_URL = 'https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz'
CHANNELS, ROWS, COLS = 3, 32, 32
PIXELS = CHANNELS * ROWS * COLS


def _fix(root):
    return ('To fix: run `make fetch-cifar10 DATA_DIR=%s` (or `python -m '
            'gxnor.datasets.fetch cifar10 --data-dir %s`), which downloads and '
            'unpacks %s into %s; or unpack that archive yourself so that the folder '
            '%s/ lands in one of the folders searched.'
            % (root, root, OFFICIAL_URL, os.path.join(root, 'cifar10', FOLDER),
               FOLDER))


def find_cifar10(data_dir=None):
    """``(folder, {name: path})`` of the six batch files; DataError if absent."""
    root = resolve_data_dir(data_dir)
    candidates = candidate_dirs(root, (FOLDER, os.path.join('cifar10', FOLDER)),
                                os.path.join('cifar10', FOLDER))
    return locate('CIFAR10', candidates, TRAIN_BATCHES + (TEST_BATCH,), ('',),
                  _fix(root))


def _get(d, key):
    """d[key] whether the pickle's keys are str, unicode or bytes."""
    for k in (key, key.encode('ascii'), u'%s' % key):
        if k in d:
            return d[k]
    raise KeyError(key)


def read_batch(path, hint=''):
    """Validated ``(data uint8 (n, 3, 32, 32), labels uint8 (n,))`` of one batch."""
    try:
        with open(path, 'rb') as f:
            d = _unpickle(f)
    except MemoryError:
        raise
    except Exception as e:  # unpickling garbage can raise almost anything
        raise DataError('%s: not a readable CIFAR10 pickle (%s: %s); the file is '
                        'corrupt or truncated. %s' % (path, type(e).__name__, e, hint))
    if not isinstance(d, dict):
        raise DataError('%s: expected a pickled dict, found %s. %s'
                        % (path, type(d).__name__, hint))
    try:
        data = _get(d, 'data')
        labels = _get(d, 'labels')
    except KeyError as e:
        raise DataError("%s: the pickled dict has no %s key (keys: %s); expected the "
                        "official CIFAR10 python batch ('data', 'labels', ...). %s"
                        % (path, e, sorted(str(k) for k in d), hint))
    data = np.asarray(data)
    labels = np.asarray(labels)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != PIXELS:
        raise DataError("%s: 'data' is %s %s, expected uint8 (n, %d). %s"
                        % (path, data.dtype, data.shape, PIXELS, hint))
    if labels.shape != (len(data),) or labels.dtype.kind not in 'iu':
        raise DataError("%s: 'labels' has %s entries of type %s, expected %d integers. "
                        "%s" % (path, labels.shape, labels.dtype, len(data), hint))
    if len(labels) and (labels.min() < 0 or labels.max() > 9):
        raise DataError("%s: 'labels' range %d..%d, CIFAR10 labels are 0..9. %s"
                        % (path, labels.min(), labels.max(), hint))
    # Each row: 1024 red, then 1024 green, then 1024 blue values, row-major.
    return (data.reshape(len(data), CHANNELS, ROWS, COLS),
            labels.astype(np.uint8))


OFFICIAL_COUNTS = (50000, 10000)


def load_cifar10(data_dir=None, n_train=45000, expected_counts=None, require_official=False):
    """CIFAR10 as in the released script.

    The five training batches in order 1..5 are concatenated; train = first
    ``n_train`` images (45000), valid = the rest (45000..50000), test =
    test_batch. Images (n, 3, 32, 32) uint8, scaled per batch to [-1, 1].
    ``expected_counts`` = (training, test) image counts to insist on, e.g.
    (50000, 10000); None accepts any consistent counts. No checksum of the unpacked
    batches is published (only of the archive, which the fetcher checks), so
    ``require_official`` (what a training run asks) insists on the official counts,
    and the sha256 of each batch file goes to ``source``.
    """
    if require_official and expected_counts is None:
        expected_counts = OFFICIAL_COUNTS
    folder, paths = find_cifar10(data_dir)
    hint = _fix(resolve_data_dir(data_dir))
    parts = [read_batch(paths[name], hint) for name in TRAIN_BATCHES]
    tr_x = np.concatenate([p[0] for p in parts])
    tr_y = np.concatenate([p[1] for p in parts])
    del parts
    te_x, te_y = read_batch(paths[TEST_BATCH], hint)
    if expected_counts is not None and (len(tr_x), len(te_x)) != tuple(expected_counts):
        raise DataError('CIFAR10 in %s: %d training and %d test images, expected %d '
                        'and %d. %s' % (folder, len(tr_x), len(te_x),
                                        expected_counts[0], expected_counts[1], hint))
    if not 0 < n_train < len(tr_x):
        raise DataError('CIFAR10 in %s: the five training batches hold %d images, the '
                        'split needs more than n_train=%d (official: 50000). Are the '
                        'files complete? %s' % (folder, len(tr_x), n_train, hint))
    checks = check_files([paths[name] for name in sorted(paths)], hint=hint)
    source = {
        'name': 'cifar10',
        'folder': folder,
        'files': dict((name, paths[name]) for name in paths),
        'bytes': dict((name, os.path.getsize(paths[name])) for name in paths),
        'sha256': dict((name, checks[paths[name]]['sha256']) for name in paths),
        'checksum': dict((name, 'no published checksum of the unpacked batches')
                         for name in paths),
        'split': {'train': 'data_batch_1..5 concatenated [0, %d)' % n_train,
                  'valid': 'data_batch_1..5 concatenated [%d, %d)'
                           % (n_train, len(tr_x)),
                  'test': 'test_batch [0, %d)' % len(te_x)},
        'scaling': scale_2_over_255.formula,
        'layout': 'NCHW uint8, scaled per mini-batch',
    }
    return Dataset(
        'cifar10',
        Split(tr_x[:n_train], tr_y[:n_train], scale_2_over_255, 'train'),
        Split(tr_x[n_train:], tr_y[n_train:], scale_2_over_255, 'valid'),
        Split(te_x, te_y, scale_2_over_255, 'test'),
        source)
