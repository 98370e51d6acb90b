"""MNIST from the official IDX files, split as in the authors' released script."""
from __future__ import absolute_import, division, print_function

import os

from .checksums import check_files
from .checksums import require_official as _insist_on_official
from .errors import DataError
from .idx import IMAGES_MAGIC, LABELS_MAGIC, read_idx
from .paths import candidate_dirs, locate, resolve_data_dir
from .splits import Dataset, Split, scale_unit_pm1

FILES = {
    'train_images': 'train-images-idx3-ubyte',
    'train_labels': 'train-labels-idx1-ubyte',
    'test_images': 't10k-images-idx3-ubyte',
    'test_labels': 't10k-labels-idx1-ubyte',
}
ORDER = ('train_images', 'train_labels', 'test_images', 'test_labels')
OFFICIAL_URL = 'http://yann.lecun.com/exdb/mnist/'
OFFICIAL_COUNTS = (60000, 10000)
MAGIC = {'train_images': IMAGES_MAGIC, 'train_labels': LABELS_MAGIC,
         'test_images': IMAGES_MAGIC, 'test_labels': LABELS_MAGIC}
OFFICIAL_FILE_COUNTS = {'train_images': 60000, 'train_labels': 60000,
                        'test_images': 10000, 'test_labels': 10000}
ROWS = COLS = 28


def _fix(root):
    return ('To fix: run `make fetch-mnist DATA_DIR=%s` (or `python -m '
            'gxnor.datasets.fetch mnist --data-dir %s`), which downloads the four '
            '.gz files into %s; or copy them (from %s, gzipped or not) into one of '
            'the folders above.' % (root, root, os.path.join(root, 'mnist'),
                                    OFFICIAL_URL))


def find_mnist(data_dir=None):
    """``(folder, {role: path})`` of the four MNIST files; DataError if absent."""
    root = resolve_data_dir(data_dir)
    candidates = candidate_dirs(root, ('', 'mnist'), 'mnist')
    names = [FILES[k] for k in ORDER]
    folder, found = locate('MNIST', candidates, names, ('', '.gz'), _fix(root))
    return folder, dict((k, found[FILES[k]]) for k in ORDER)


def read_mnist_pair(images_path, labels_path, hint=''):
    """Validated ``(images uint8 (n, 28, 28), labels uint8 (n,))`` of one pair."""
    images = read_idx(images_path, IMAGES_MAGIC, hint)
    labels = read_idx(labels_path, LABELS_MAGIC, hint)
    if images.shape[1:] != (ROWS, COLS):
        raise DataError('%s: images are %dx%d, MNIST images are %dx%d. %s'
                        % (images_path, images.shape[1], images.shape[2], ROWS,
                           COLS, hint))
    if len(images) != len(labels):
        raise DataError('%s holds %d images but %s holds %d labels; the two files '
                        'must come from the same release. %s'
                        % (images_path, len(images), labels_path, len(labels), hint))
    if len(labels) and labels.max() > 9:
        raise DataError('%s: label %d found, MNIST labels are 0..9. %s'
                        % (labels_path, labels.max(), hint))
    return images, labels


def load_mnist(data_dir=None, n_train=50000, expected_counts=None, require_official=False):
    """MNIST as in the released script.

    train = first ``n_train`` images of the training file, valid = the rest of
    it (50000..60000), test = the test file. Images (n, 1, 28, 28) uint8, scaled
    per batch to [-1, 1]. ``expected_counts`` = (training file, test file) image
    counts to insist on, e.g. (60000, 10000); None accepts any consistent counts.
    A file with the official number of entries must have the official content
    (checksums.py); ``require_official`` (what a training run asks) insists that all
    four are the official files. The sha256 of each file's content goes to ``source``.
    """
    folder, paths = find_mnist(data_dir)
    hint = _fix(resolve_data_dir(data_dir))
    tr_x, tr_y = read_mnist_pair(paths['train_images'], paths['train_labels'], hint)
    te_x, te_y = read_mnist_pair(paths['test_images'], paths['test_labels'], hint)
    checks = check_files([paths[k] for k in ORDER], hint=hint, entries={
        paths['train_images']: len(tr_x), paths['train_labels']: len(tr_y),
        paths['test_images']: len(te_x), paths['test_labels']: len(te_y)})
    if require_official:
        _insist_on_official(checks, 'MNIST', hint)
    if expected_counts is not None and (len(tr_x), len(te_x)) != tuple(expected_counts):
        raise DataError('MNIST in %s: %d training and %d test images, expected %d and '
                        '%d. %s' % (folder, len(tr_x), len(te_x), expected_counts[0],
                                    expected_counts[1], hint))
    if not 0 < n_train < len(tr_x):
        raise DataError('%s holds %d images, the split needs more than n_train=%d '
                        '(train = first n_train, valid = the rest; the official file '
                        'has 60000). Is the file complete? %s'
                        % (paths['train_images'], len(tr_x), n_train, hint))
    tr_x = tr_x.reshape(-1, 1, ROWS, COLS)
    te_x = te_x.reshape(-1, 1, ROWS, COLS)
    source = {
        'name': 'mnist',
        'folder': folder,
        'files': dict((k, paths[k]) for k in ORDER),
        'bytes': dict((k, os.path.getsize(paths[k])) for k in ORDER),
        'sha256': dict((k, checks[paths[k]]['sha256']) for k in ORDER),
        'checksum': dict((k, checks[paths[k]]['status']) for k in ORDER),
        'split': {'train': 'training file [0, %d)' % n_train,
                  'valid': 'training file [%d, %d)' % (n_train, len(tr_x)),
                  'test': 'test file [0, %d)' % len(te_x)},
        'scaling': scale_unit_pm1.formula,
        'layout': 'NCHW uint8, scaled per mini-batch',
    }
    return Dataset(
        'mnist',
        Split(tr_x[:n_train], tr_y[:n_train], scale_unit_pm1, 'train'),
        Split(tr_x[n_train:], tr_y[n_train:], scale_unit_pm1, 'valid'),
        Split(te_x, te_y, scale_unit_pm1, 'test'),
        source)

