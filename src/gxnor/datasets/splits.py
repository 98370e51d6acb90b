"""Split / Dataset containers, the per-batch scalings and the hinge targets.

Images are stored once, as uint8 NCHW; a Split converts to float32 only the
mini-batch asked for, so no float32 copy of a whole set is ever kept.
"""
from __future__ import absolute_import, division, print_function

import numpy as np

NUM_CLASSES = 10


def scale_unit_pm1(images):
    """MNIST scaling of the released script: float32(x) / 255 (Pylearn2's [0, 1]),
    then 2 * x - 1, all in float32. uint8 -> new float32 array in [-1, 1]."""
    x = np.asarray(images).astype(np.float32)
    x /= np.float32(255.0)
    x *= np.float32(2.0)
    x -= np.float32(1.0)
    return x


def scale_2_over_255(images):
    """CIFAR10 / SVHN scaling of the released scripts: float32(2/255) * x - 1,
    all in float32. uint8 -> new float32 array in [-1, 1]."""
    x = np.asarray(images).astype(np.float32)
    x *= np.float32(2.0 / 255.0)
    x -= np.float32(1.0)
    return x


scale_unit_pm1.formula = 'float32(x) / 255 * 2 - 1'
scale_2_over_255.formula = 'float32(2/255) * float32(x) - 1'


class Split(object):
    """One split: uint8 images (n, C, H, W), int32 labels (n,) in 0..9, and the
    ``scale`` function applied per mini-batch (uint8 -> float32)."""

    def __init__(self, images, labels, scale, name=''):
        images = np.asarray(images)
        labels = np.asarray(labels)
        if images.dtype != np.uint8 or images.ndim != 4:
            raise ValueError('Split %r: images must be uint8 (n, C, H, W), got %s %s'
                             % (name, images.dtype, images.shape))
        if labels.ndim != 1 or len(labels) != len(images):
            raise ValueError('Split %r: labels must have shape (%d,), got %s'
                             % (name, len(images), labels.shape))
        if labels.dtype.kind not in 'iu':
            raise ValueError('Split %r: labels must be integers, got %s'
                             % (name, labels.dtype))
        if len(labels) and (labels.min() < 0 or labels.max() >= NUM_CLASSES):
            raise ValueError('Split %r: labels must be in 0..%d, got %d..%d'
                             % (name, NUM_CLASSES - 1, labels.min(), labels.max()))
        self.images = images
        self.labels = labels.astype(np.int32, copy=False)
        self.scale = scale
        self.name = name

    def __len__(self):
        return len(self.images)

    @property
    def shape(self):
        """(n, C, H, W) of the stored images."""
        return self.images.shape

    def batch(self, index):
        """``(x, labels)`` for a slice or an integer (or boolean) index array:
        x is float32 NCHW, scaled; labels int32. A bare int gives a batch of one."""
        if not isinstance(index, slice):
            index = np.asarray(index)
            if index.ndim == 0:
                index = index.reshape(1)
            if index.dtype.kind not in 'iub':
                raise TypeError('Split.batch: index must be a slice or an integer '
                                'array, got dtype %s' % index.dtype)
        return self.scale(self.images[index]), self.labels[index]

    def __repr__(self):
        return 'Split(%r, images=%s uint8, labels=%d)' % (
            self.name, self.images.shape, len(self.labels))


class Dataset(object):
    """``name``; ``train``, ``valid``, ``test`` Splits; ``source``: a JSON-able
    dict saying where the files came from and how the splits were made."""

    def __init__(self, name, train, valid, test, source):
        self.name = name
        self.train = train
        self.valid = valid
        self.test = test
        self.source = source

    def __repr__(self):
        return 'Dataset(%r, train=%d, valid=%d, test=%d)' % (
            self.name, len(self.train), len(self.valid), len(self.test))


def hinge_targets(labels, num_classes=NUM_CLASSES):
    """float32 (n, num_classes): +1 at the label, -1 elsewhere (the released
    scripts: one-hot, then 2 * t - 1)."""
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.dtype.kind not in 'iu':
        raise ValueError('hinge_targets: labels must be a 1-D integer array, got '
                         '%s %s' % (labels.dtype, labels.shape))
    if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError('hinge_targets: labels must be in 0..%d, got %d..%d'
                         % (num_classes - 1, labels.min(), labels.max()))
    t = np.full((len(labels), num_classes), -1.0, dtype=np.float32)
    t[np.arange(len(labels)), labels] = 1.0
    return t
