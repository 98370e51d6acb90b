"""Gated-XNOR arithmetic in integers: ternary tensors as bit planes, their dot products
with gates and XNORs and popcounts, integer pooling, and batch norm + activation folded into
per-channel thresholds. NumPy only; gxnor.studies.bitwise runs a trained network with it
(its docstring says what is bit-level, why each step equals the float pass, and how the
thresholds are read off the float path).
"""
from __future__ import absolute_import, division, print_function

import numpy as np

__all__ = ['BitPlanes', 'pack_ternary', 'popcount', 'gated_xnor_dot', 'conv_patches',
           'max_pool', 'min_pool', 'pool_length', 'fold_thresholds', 'apply_thresholds',
           'threshold_then_pool', 'ternary_activation_table']

WORD_BITS = 64
# Largest (rows x units x words) block of uint64 words formed at once (~32 MB each).
BLOCK_WORDS = 1 << 22

_POPCOUNT16 = np.array([bin(value).count('1') for value in range(1 << 16)], dtype=np.uint8)


# ------------------------------------------------------------------ bit planes

class BitPlanes(object):
    """A ternary tensor as two uint64 bit planes over its last axis.

    ``nonzero[..., k]`` and ``negative[..., k]`` hold bits 64k .. 64k+63 of the masks
    ``x != 0`` and ``x < 0``; bits beyond ``length`` are 0 (never gated in).
    """

    def __init__(self, nonzero, negative, length):
        self.nonzero = nonzero
        self.negative = negative
        self.length = int(length)

    @property
    def shape(self):
        return self.nonzero.shape


def _pack_mask(mask, words):
    packed = np.packbits(mask, axis=-1)
    missing = words * 8 - packed.shape[-1]
    if missing:
        filler = np.zeros(packed.shape[:-1] + (missing,), dtype=np.uint8)
        packed = np.concatenate([packed, filler], axis=-1)
    return np.ascontiguousarray(packed).view(np.uint64)


def pack_ternary(values):
    """BitPlanes of an integer array with values in {-1, 0, 1} (packed on the last axis)."""
    values = np.asarray(values)
    length = values.shape[-1]
    words = max(1, (length + WORD_BITS - 1) // WORD_BITS)
    return BitPlanes(_pack_mask(values != 0, words), _pack_mask(values < 0, words), length)


def popcount(words):
    """Set bits of a uint64 array, summed over its last axis (int64)."""
    words = np.ascontiguousarray(words)
    counts = _POPCOUNT16[words.view(np.uint16)]
    return counts.reshape(words.shape[:-1] + (-1,)).sum(axis=-1, dtype=np.int64)


def gated_xnor_dot(inputs, weights):
    """Ternary dot products ``inputs @ weights.T`` with gated XNORs.

    ``inputs``: BitPlanes (..., K words); ``weights``: BitPlanes (U, K). Returns
    ``(dot, executed)``, int64 arrays (..., U): the dot products and the number of XNOR
    operations performed (products with both factors non-zero).
    """
    if inputs.length != weights.length:
        raise ValueError("dot product of lengths %d and %d" % (inputs.length, weights.length))
    lead = inputs.shape[:-1]
    words = inputs.shape[-1]
    a_nz = inputs.nonzero.reshape(-1, words)
    a_neg = inputs.negative.reshape(-1, words)
    w_nz, w_neg = weights.nonzero, weights.negative
    units = w_nz.shape[0]
    rows = len(a_nz)
    dot = np.empty((rows, units), dtype=np.int64)
    executed = np.empty((rows, units), dtype=np.int64)
    step = max(1, BLOCK_WORDS // max(1, units * words))
    for start in range(0, rows, step):
        stop = min(rows, start + step)
        gate = a_nz[start:stop, None, :] & w_nz[None, :, :]
        xnor = ~(a_neg[start:stop, None, :] ^ w_neg[None, :, :])
        agree = gate & xnor                      # executed, product +1
        differ = gate ^ agree                    # = gate & ~xnor: executed, product -1
        plus = popcount(agree)
        minus = popcount(differ)
        dot[start:stop] = plus - minus
        executed[start:stop] = plus + minus      # = popcount(gate)
    return dot.reshape(lead + (units,)), executed.reshape(lead + (units,))


# ------------------------------------------------------ convolution and pooling

def conv_patches(x, filter_size, stride=(1, 1), padding=((0, 0), (0, 0))):
    """im2col: (B, C, H, W) -> (B, OH*OW, C*kh*kw) in (c, u, v) order, zero padded.

    Row p = y*OW + x of example b holds ``xpad[b, c, y*sy + u, x*sx + v]``.
    """
    x = np.asarray(x)
    batch, channels, rows, cols = x.shape
    kh, kw = filter_size
    sy, sx = stride
    (top, bottom), (left, right) = padding
    padded = np.zeros((batch, channels, rows + top + bottom, cols + left + right), dtype=x.dtype)
    padded[:, :, top:top + rows, left:left + cols] = x
    out_rows = (padded.shape[2] - kh) // sy + 1
    out_cols = (padded.shape[3] - kw) // sx + 1
    patches = np.empty((batch, out_rows, out_cols, channels, kh, kw), dtype=x.dtype)
    for u in range(kh):
        for v in range(kw):
            window = padded[:, :, u:u + sy * (out_rows - 1) + 1:sy, v:v + sx * (out_cols - 1) + 1:sx]
            patches[:, :, :, :, u, v] = window.transpose(0, 2, 3, 1)
    return patches.reshape(batch, out_rows * out_cols, channels * kh * kw), (out_rows, out_cols)


def pool_length(length, size, stride, ignore_border):
    # Theano's Pool.out_shape without padding.
    if ignore_border:
        return (length - size) // stride + 1
    if stride >= size:
        return (length - 1) // stride + 1
    return max(0, (length - 1 - size + stride) // stride) + 1


def _pool(values, size, stride, ignore_border, combine, fill):
    batch, channels, rows, cols = values.shape
    (ph, pw), (sy, sx) = size, stride
    out_rows = pool_length(rows, ph, sy, ignore_border)
    out_cols = pool_length(cols, pw, sx, ignore_border)
    need_rows = sy * (out_rows - 1) + ph
    need_cols = sx * (out_cols - 1) + pw
    if need_rows > rows or need_cols > cols:   # partial windows at the border
        grown = np.full((batch, channels, max(rows, need_rows), max(cols, need_cols)), fill,
                        dtype=values.dtype)
        grown[:, :, :rows, :cols] = values
        values = grown
    result = None
    for u in range(ph):
        for v in range(pw):
            window = values[:, :, u:u + sy * (out_rows - 1) + 1:sy, v:v + sx * (out_cols - 1) + 1:sx]
            result = window.copy() if result is None else combine(result, window)
    return result


def max_pool(values, size=(2, 2), stride=None, ignore_border=True):
    """Max-pooling of an integer array (B, C, H, W), as Theano's Pool (no padding)."""
    values = np.asarray(values)
    return _pool(values, size, stride or size, ignore_border, np.maximum,
                 np.iinfo(values.dtype).min)


def min_pool(values, size=(2, 2), stride=None, ignore_border=True):
    """Min-pooling (for thresholding before pooling on non-increasing channels)."""
    values = np.asarray(values)
    return _pool(values, size, stride or size, ignore_border, np.minimum,
                 np.iinfo(values.dtype).max)


# --------------------------------------------------------------------- thresholds

def fold_thresholds(grid, table):
    """Switch points of monotone ternary step functions.

    ``grid``: ascending integers (n,); ``table``: (n, F) values in {-1, 0, 1}, column f
    the activation of channel f at each grid value. Returns int64 arrays
    ``(direction, t_low, t_high)`` of shape (F,) with
    ``a(s) = direction * ([s >= t_low] + [s >= t_high] - 1)`` on the grid;
    ValueError if a column is not monotone or not ternary.
    """
    grid = np.asarray(grid, dtype=np.int64)
    table = np.asarray(table)
    if not np.all(np.in1d(table.ravel(), (-1, 0, 1))):
        raise ValueError("activation table holds values outside {-1, 0, 1}")
    table = table.astype(np.int64)
    steps = np.diff(table, axis=0)
    rising = np.all(steps >= 0, axis=0)
    falling = np.all(steps <= 0, axis=0)
    if not np.all(rising | falling):
        bad = np.flatnonzero(~(rising | falling))
        raise ValueError("activation is not monotone in the integer pre-activation for "
                         "channels %s" % bad[:10].tolist())
    direction = np.where(rising, 1, -1).astype(np.int64)
    oriented = table * direction                              # non-decreasing columns
    never = grid[-1] + 1

    def first(mask):
        return np.where(mask.any(axis=0), grid[mask.argmax(axis=0)], never)

    return direction, first(oriented >= 0).astype(np.int64), first(oriented >= 1).astype(np.int64)


def apply_thresholds(s, direction, t_low, t_high, axis=1):
    """Ternary outputs (int8) of integer pre-activations ``s`` with channels on ``axis``."""
    s = np.asarray(s)
    shape = [1] * s.ndim
    shape[axis] = -1
    low = np.reshape(t_low, shape)
    high = np.reshape(t_high, shape)
    d = np.reshape(direction, shape)
    level = (s >= low).astype(np.int8) + (s >= high).astype(np.int8) - 1
    return (level * d.astype(np.int8)).astype(np.int8)


def threshold_then_pool(s, direction, t_low, t_high, size=(2, 2), stride=None,
                        ignore_border=True):
    """Threshold each position, then pool the ternary outputs: max for non-decreasing
    channels, min for non-increasing ones (equal to max-pooling s, then thresholding)."""
    ternary = apply_thresholds(s, direction, t_low, t_high)
    rising = np.asarray(direction) > 0
    high = max_pool(ternary, size, stride, ignore_border)
    low = min_pool(ternary, size, stride, ignore_border)
    return np.where(rising[None, :, None, None], high, low)


def ternary_activation_table(y, r):
    """phi_r for N = 1 in exact arithmetic (sign(y) where |y| >= r, else 0)."""
    y = np.asarray(y)
    return np.where(np.abs(y) >= r, np.sign(y), 0).astype(np.int64)
