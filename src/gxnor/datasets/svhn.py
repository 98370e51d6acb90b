"""SVHN from the official format-2 .mat files.

The authors released no SVHN script. The split follows the BinaryNet/Pylearn2
lineage: validation = 400 images per class drawn from train_32x32.mat plus 200
per class drawn from extra_32x32.mat (6000); training = every other image of
train and extra (598388); test = test_32x32.mat (26032). The draw is ours:
numpy RandomState(seed); for train, then extra; for digit 0..9 in order:
``rng.permutation(indices of that digit)[:k]``. Selected indices are kept in
file order; the training set is the remaining train images in file order, then
the remaining extra images in file order.
"""
from __future__ import absolute_import, division, print_function

import hashlib
import os

import numpy as np
import scipy.io

from .checksums import check_files
from .checksums import require_official as _insist_on_official
from .errors import DataError
from .paths import candidate_dirs, locate, resolve_data_dir
from .splits import Dataset, Split, scale_2_over_255

TRAIN, TEST, EXTRA = 'train_32x32.mat', 'test_32x32.mat', 'extra_32x32.mat'
OFFICIAL_URL = 'http://ufldl.stanford.edu/housenumbers/'
SHAPE = (32, 32, 3)
CHUNK = 8192        # images copied per step when building the NCHW arrays


def _fix(root):
    return ('To fix: run `make fetch-svhn DATA_DIR=%s` (or `python -m '
            'gxnor.datasets.fetch svhn --data-dir %s`), which downloads the three '
            'files into %s; or download %s, %s and %s from %s into one of the '
            'folders searched.' % (root, root, os.path.join(root, 'svhn'), TRAIN,
                                   TEST, EXTRA, OFFICIAL_URL))


def find_svhn(data_dir=None):
    """``(folder, {name: path})`` of the three .mat files; DataError if absent."""
    root = resolve_data_dir(data_dir)
    candidates = candidate_dirs(root, ('', 'svhn'), os.path.join('SVHN', 'format2'))
    return locate('SVHN', candidates, (TRAIN, TEST, EXTRA), ('',), _fix(root))


def _loadmat(path, name, hint):
    """Variable ``name`` ('X' or 'y') of the .mat file at ``path``."""
    try:
        content = scipy.io.loadmat(path, variable_names=[name])
    except MemoryError:
        raise
    except NotImplementedError as e:
        raise DataError('%s: MATLAB v7.3 (HDF5) files are not the official format-2 '
                        'files (%s). %s' % (path, e, hint))
    except Exception as e:  # scipy raises many types on garbage input
        raise DataError('%s: not a readable .mat file (%s: %s); corrupt or '
                        'truncated. %s' % (path, type(e).__name__, e, hint))
    if name not in content:
        raise DataError("%s: no variable '%s' (found: %s); the official format-2 files "
                        "hold 'X' (32, 32, 3, n) uint8 and 'y' (n, 1). %s"
                        % (path, name, ', '.join(sorted(k for k in content
                                                        if not k.startswith('__')))
                           or 'none', hint))
    return content[name]


def read_labels(path, hint=''):
    """Digits 0..9 (uint8, (n,)) of a format-2 file: its label 10 means digit 0."""
    y = np.asarray(_loadmat(path, 'y', hint))
    if y.ndim != 2 or y.shape[1] != 1 or y.dtype.kind not in 'iuf':
        raise DataError("%s: 'y' is %s %s, expected (n, 1) numbers. %s"
                        % (path, y.dtype, y.shape, hint))
    y = y[:, 0]
    if len(y) and (y.min() < 1 or y.max() > 10 or np.any(y != np.round(y))):
        raise DataError("%s: 'y' holds values outside 1..10 (format 2 uses 1..10, "
                        "10 meaning digit 0). %s" % (path, hint))
    y = y.astype(np.uint8)
    y[y == 10] = 0
    return y


def read_images(path, n, hint=''):
    """'X' of a format-2 file: uint8 (32, 32, 3, n) = (row, col, channel, image)."""
    x = _loadmat(path, 'X', hint)
    if x.ndim == 3 and n == 1:
        x = x[..., np.newaxis]
    if x.dtype != np.uint8 or x.shape != SHAPE + (n,):
        raise DataError("%s: 'X' is %s %s, expected uint8 %s (as many images as 'y' "
                        "has labels). %s" % (path, x.dtype, x.shape, SHAPE + (n,), hint))
    return x


def _copy_nchw(dst, start, x, index):
    """dst[start + j] = image index[j] of x (32, 32, 3, n) as (3, 32, 32)."""
    for s in range(0, len(index), CHUNK):
        sel = index[s:s + CHUNK]
        dst[start + s:start + s + len(sel)] = x[:, :, :, sel].transpose(3, 2, 0, 1)


def draw_validation(labels, per_class, rng, path='', hint=''):
    """Sorted indices of ``per_class`` images of each digit 0..9, drawn with rng."""
    chosen = []
    for digit in range(10):
        idx = np.flatnonzero(labels == digit)
        if len(idx) < per_class:
            raise DataError('%s: only %d images of digit %d, the validation split '
                            'draws %d per class. Is the file complete? %s'
                            % (path, len(idx), digit, per_class, hint))
        chosen.append(rng.permutation(idx)[:per_class])
    return np.sort(np.concatenate(chosen))


def _fingerprint(index):
    return hashlib.md5(np.ascontiguousarray(index, dtype='<i8').tobytes()).hexdigest()


def load_svhn(data_dir=None, seed=1234, valid_per_class=(400, 200),
              expected_counts=None, require_official=False):
    """SVHN, BinaryNet/Pylearn2-lineage split (see the module docstring).

    ``valid_per_class`` = (drawn from train, drawn from extra) per digit.
    ``expected_counts`` = (train, extra, test) file image counts to insist on,
    e.g. (73257, 531131, 26032); None accepts any consistent counts.
    A file with the official number of images must have the official md5
    (checksums.py); ``require_official`` insists that all three are the official
    files. The sha256 of each file goes to ``source``.
    Memory: the training set is built once as uint8 NCHW (~1.8 GB for the full
    set); while it is built, the extra file's own array (~1.6 GB) is also held.
    """
    folder, paths = find_svhn(data_dir)
    hint = _fix(resolve_data_dir(data_dir))
    k_train, k_extra = valid_per_class
    y_tr = read_labels(paths[TRAIN], hint)
    y_ex = read_labels(paths[EXTRA], hint)
    y_te = read_labels(paths[TEST], hint)
    counts = (len(y_tr), len(y_ex), len(y_te))
    checks = check_files([paths[TRAIN], paths[EXTRA], paths[TEST]], hint=hint, entries={
        paths[TRAIN]: len(y_tr), paths[EXTRA]: len(y_ex), paths[TEST]: len(y_te)})
    if require_official:
        _insist_on_official(checks, 'SVHN', hint)
    if expected_counts is not None and counts != tuple(expected_counts):
        raise DataError('SVHN in %s: train/extra/test hold %s images, expected %s. %s'
                        % (folder, counts, tuple(expected_counts), hint))
    rng = np.random.RandomState(seed)
    v_tr = draw_validation(y_tr, k_train, rng, paths[TRAIN], hint)
    v_ex = draw_validation(y_ex, k_extra, rng, paths[EXTRA], hint)
    keep = np.ones(len(y_tr), dtype=bool)
    keep[v_tr] = False
    r_tr = np.flatnonzero(keep)
    keep = np.ones(len(y_ex), dtype=bool)
    keep[v_ex] = False
    r_ex = np.flatnonzero(keep)
    del keep

    n_train = len(r_tr) + len(r_ex)
    n_valid = len(v_tr) + len(v_ex)
    train_x = np.empty((n_train, 3, 32, 32), dtype=np.uint8)
    valid_x = np.empty((n_valid, 3, 32, 32), dtype=np.uint8)
    x = read_images(paths[TRAIN], len(y_tr), hint)
    _copy_nchw(train_x, 0, x, r_tr)
    _copy_nchw(valid_x, 0, x, v_tr)
    del x
    x = read_images(paths[EXTRA], len(y_ex), hint)
    _copy_nchw(train_x, len(r_tr), x, r_ex)
    _copy_nchw(valid_x, len(v_tr), x, v_ex)
    del x
    x = read_images(paths[TEST], len(y_te), hint)
    test_x = np.empty((len(y_te), 3, 32, 32), dtype=np.uint8)
    _copy_nchw(test_x, 0, x, np.arange(len(y_te)))
    del x
    train_y = np.concatenate([y_tr[r_tr], y_ex[r_ex]])
    valid_y = np.concatenate([y_tr[v_tr], y_ex[v_ex]])

    source = {
        'name': 'svhn',
        'folder': folder,
        'files': dict(paths),
        'bytes': dict((name, os.path.getsize(paths[name])) for name in paths),
        'sha256': dict((name, checks[paths[name]]['sha256']) for name in paths),
        'checksum': dict((name, checks[paths[name]]['status']) for name in paths),
        'split': {
            'method': 'BinaryNet/Pylearn2-lineage reconstruction (no SVHN script was '
                      'released): valid = %d per digit from %s + %d per digit from '
                      '%s, drawn with numpy RandomState(%d); train = all other train '
                      'then extra images, in file order; test = %s'
                      % (k_train, TRAIN, k_extra, EXTRA, seed, TEST),
            'seed': seed,
            'valid_per_class': [k_train, k_extra],
            'sizes': {'train': n_train, 'valid': n_valid, 'test': len(y_te)},
            'valid_index_md5': {TRAIN: _fingerprint(v_tr), EXTRA: _fingerprint(v_ex)},
        },
        'labels': "format-2 'y' with 10 -> digit 0",
        'scaling': scale_2_over_255.formula,
        'layout': 'NCHW uint8 from X (row, col, channel, n), scaled per mini-batch',
    }
    return Dataset(
        'svhn',
        Split(train_x, train_y, scale_2_over_255, 'train'),
        Split(valid_x, valid_y, scale_2_over_255, 'valid'),
        Split(test_x, y_te, scale_2_over_255, 'test'),
        source)
