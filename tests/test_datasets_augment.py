"""Mini-batch augmentations: 'standard' pad-crop-flip and the 'faithful' no-op."""
from __future__ import absolute_import, division, print_function

import numpy as np
import pytest

from gxnor.datasets import (AUGMENTATIONS, faithful_augment, get_augmentation,
                            standard_augment)
from gxnor.datasets.augment import crop_flip, draw_standard_params

R, C = 10, 12           # planted pixel; after pad 4 / crop it stays in the image


def planted_batch(n, channels=3):
    """n images of -1 with one +1 pixel at (channel n % channels, R, C)."""
    x = np.full((n, channels, 32, 32), -1.0, dtype=np.float32)
    x[np.arange(n), np.arange(n) % channels, R, C] = 1.0
    return x


def locate(out):
    """(channel, row, col) of the single +1 pixel of each image."""
    n = len(out)
    flat = out.reshape(n, -1).argmax(axis=1)
    assert np.all(out.reshape(n, -1).max(axis=1) == 1.0)
    assert np.all((out == 1.0).reshape(n, -1).sum(axis=1) == 1)
    return np.unravel_index(flat, out.shape[1:])


def test_planted_pixel_moves_by_the_drawn_offset_and_flip():
    x = planted_batch(64)
    out = standard_augment(x, np.random.RandomState(5))
    rows, cols, flips = draw_standard_params(64, np.random.RandomState(5))
    ch, r, c = locate(out)
    assert np.array_equal(ch, np.arange(64) % 3)       # channels never move
    assert np.array_equal(r, R + 4 - rows)
    expect_c = C + 4 - cols
    assert np.array_equal(c, np.where(flips, 31 - expect_c, expect_c))


def test_offsets_and_flips_vary_within_one_batch_and_cover_0_to_8():
    x = planted_batch(400)
    out = standard_augment(x, np.random.RandomState(0))
    _, r, c = locate(out)
    # a crop offset o moves the pixel from R to R + 4 - o; unflipped columns
    # land in C-4..C+4 = 8..16, mirrored ones in 31-16..31-8 = 15..23
    flipped = c > 16
    assert 0.35 < flipped.mean() < 0.65
    offsets_r = R + 4 - r
    offsets_c = np.where(flipped, C + 4 - (31 - c), C + 4 - c)
    assert sorted(set(offsets_r)) == list(range(9))
    assert sorted(set(offsets_c)) == list(range(9))


def test_padding_is_zero_in_the_scaled_space():
    x = np.ones((1, 1, 32, 32), dtype=np.float32)
    out = crop_flip(x, np.array([0]), np.array([8]), np.array([False]))
    assert np.all(out[0, 0, :4, :] == 0.0)        # 4 padded rows on top
    assert np.all(out[0, 0, :, 28:] == 0.0)       # 4 padded columns on the right
    assert np.all(out[0, 0, 4:, :28] == 1.0)
    centre = crop_flip(x, np.array([4]), np.array([4]), np.array([False]))
    assert np.array_equal(centre, x)


def test_flipped_images_are_mirror_images():
    rng = np.random.RandomState(1)
    x = rng.uniform(-1, 1, size=(6, 3, 32, 32)).astype(np.float32)
    rows, cols = rng.randint(0, 9, 6), rng.randint(0, 9, 6)
    plain = crop_flip(x, rows, cols, np.zeros(6, bool))
    mirrored = crop_flip(x, rows, cols, np.ones(6, bool))
    assert np.array_equal(mirrored, plain[:, :, :, ::-1])
    assert not np.array_equal(mirrored, plain)
    # no flip and offset 4 is the identity
    assert np.array_equal(crop_flip(x, np.full(6, 4, dtype=int), np.full(6, 4, dtype=int),
                                    np.zeros(6, bool)), x)


def test_same_seed_same_result_other_seed_other_result():
    x = np.random.RandomState(2).uniform(-1, 1, (16, 3, 32, 32)).astype(np.float32)
    a = standard_augment(x, np.random.RandomState(7))
    b = standard_augment(x, np.random.RandomState(7))
    c = standard_augment(x, np.random.RandomState(8))
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert a.dtype == np.float32 and a.shape == x.shape
    assert a is not x and not np.shares_memory(a, x)


def test_input_is_not_modified():
    x = planted_batch(8)
    before = x.copy()
    standard_augment(x, np.random.RandomState(3))
    assert np.array_equal(x, before)


def test_faithful_returns_the_batch_unchanged_and_leaves_rng_alone():
    x = planted_batch(4)
    rng = np.random.RandomState(4)
    state = rng.get_state()[1].copy()
    assert faithful_augment(x, rng) is x
    assert np.array_equal(rng.get_state()[1], state)


def test_registry_and_bad_name():
    assert AUGMENTATIONS == {'faithful': faithful_augment, 'standard': standard_augment}
    assert get_augmentation('standard') is standard_augment
    assert get_augmentation('faithful') is faithful_augment
    with pytest.raises(ValueError) as e:
        get_augmentation('flip')
    msg = str(e.value)
    assert "'flip'" in msg and 'augmentation' in msg
    assert "'faithful'" in msg and "'standard'" in msg


def test_rejects_non_nchw_and_bad_offsets():
    with pytest.raises(ValueError):
        standard_augment(np.zeros((2, 32, 32), np.float32), np.random.RandomState(0))
    with pytest.raises(ValueError):
        crop_flip(np.zeros((1, 1, 32, 32), np.float32), [9], [0], [False])
