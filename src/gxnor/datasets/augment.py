"""Training-time augmentations of a float32 NCHW mini-batch.

'faithful': what the authors' released CIFAR10 script trained on -- their
augmentation output was computed and then discarded, so the batch is used
unchanged. Its random draws were made all the same, from the global RandomState,
and move every later draw (the shuffles): per batch one pair of crop offsets
``randint(0, 8)`` and a flip flag ``randint(0, 1)`` (which is always 0 and draws
nothing). So for CIFAR10 (and SVHN, trained with the CIFAR10 recipe) faithful mode
makes the same draws and discards them; MNIST's script has no augmentation code.
'standard': the usual CIFAR recipe. Each image is zero-padded by 4 pixels on
every side, a crop of the original size (32x32) is taken at row/column offsets
drawn uniformly from 0..8 inclusive, and the crop is mirrored left-right with
probability 0.5. Padding happens on the SCALED batch with 0.0, i.e. mid-grey
(raw pixel 127.5) in the [-1, 1] space, not black (-1). Random draws, in this
order, from the given RandomState: row offsets (n,), column offsets (n,),
flips (n,). Fully vectorised: one fancy-indexing gather, no loop over images.
"""
from __future__ import absolute_import, division, print_function

import numpy as np

PAD = 4


def draw_standard_params(n, rng, pad=PAD):
    """``(row_offsets, col_offsets, flips)`` for n images, in the draw order of
    standard_augment: offsets in 0..2*pad inclusive, flips boolean (p = 0.5)."""
    rows = rng.randint(0, 2 * pad + 1, size=n)
    cols = rng.randint(0, 2 * pad + 1, size=n)
    flips = rng.randint(0, 2, size=n).astype(bool)
    return rows, cols, flips


def crop_flip(x, row_offsets, col_offsets, flips, pad=PAD):
    """Zero-pad x (n, C, H, W) by ``pad``, crop H x W at the given offsets into
    the padded image, mirror left-right where ``flips``. New float32 array."""
    x = np.asarray(x)
    if x.ndim != 4:
        raise ValueError('augmentation needs a 4-D NCHW batch, got shape %s'
                         % (x.shape,))
    n, c, h, w = x.shape
    padded = np.zeros((n, c, h + 2 * pad, w + 2 * pad), dtype=np.float32)
    padded[:, :, pad:pad + h, pad:pad + w] = x
    row_offsets = np.asarray(row_offsets).astype(np.intp)
    col_offsets = np.asarray(col_offsets).astype(np.intp)
    if n and (min(row_offsets.min(), col_offsets.min()) < 0
              or max(row_offsets.max(), col_offsets.max()) > 2 * pad):
        raise ValueError('crop offsets must be in 0..%d' % (2 * pad))
    rows = row_offsets[:, None] + np.arange(h)                       # (n, H)
    cols = col_offsets[:, None] + np.arange(w)                       # (n, W)
    cols = np.where(np.asarray(flips, dtype=bool)[:, None], cols[:, ::-1], cols)
    return padded[np.arange(n)[:, None, None, None],
                  np.arange(c)[None, :, None, None],
                  rows[:, None, :, None],
                  cols[:, None, None, :]]


def standard_augment(x, rng):
    """Pad 4 with 0.0, random crop (offsets 0..8), random mirror (p = 0.5).
    Returns a new float32 array; reproducible from ``rng`` (a RandomState)."""
    row_offsets, col_offsets, flips = draw_standard_params(len(x), rng)
    return crop_flip(x, row_offsets, col_offsets, flips)


def faithful_augment(x, rng):
    """The batch itself, unchanged (and ``rng`` untouched): the MNIST script."""
    return x


def faithful_discarded_augment(x, rng):
    """The batch itself, unchanged, after the released CIFAR10 script's discarded draws:
    ``randint(0, 8)`` twice (crop offsets) and ``randint(0, 1)`` (flip, draws nothing)."""
    rng.randint(0, 8)
    rng.randint(0, 8)
    rng.randint(0, 1)
    return x


AUGMENTATIONS = {'faithful': faithful_augment, 'standard': standard_augment}
# Data sets whose (released or reconstructed) script draws and discards augmentation.
DISCARDED_DRAWS = ('cifar10', 'svhn')


def get_augmentation(name, dataset='mnist'):
    """The augmentation function called ``name`` for ``dataset``; ValueError if unknown."""
    try:
        augment = AUGMENTATIONS[name]
    except (KeyError, TypeError):
        raise ValueError('unknown value %r for option augmentation; allowed values: %s'
                         % (name, ', '.join(repr(k) for k in sorted(AUGMENTATIONS))))
    if augment is faithful_augment and dataset in DISCARDED_DRAWS:
        return faithful_discarded_augment
    return augment
