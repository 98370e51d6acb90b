"""Datasets of the GXNOR-Net reproduction: MNIST, CIFAR10, SVHN.

Images are kept as uint8 NCHW and scaled to float32 [-1, 1] per mini-batch
(``Split.batch``). Download helpers: ``python -m gxnor fetch``.
"""
from __future__ import absolute_import, division, print_function

from .augment import (AUGMENTATIONS, faithful_augment, get_augmentation,
                      standard_augment)
from .cifar10 import load_cifar10
from .errors import DataError
from .mnist import load_mnist
from .paths import default_data_dir
from .registry import LOADERS, load_dataset
from .splits import Dataset, Split, hinge_targets
from .svhn import load_svhn

__all__ = ['AUGMENTATIONS', 'DataError', 'Dataset', 'LOADERS', 'Split',
           'default_data_dir', 'faithful_augment', 'get_augmentation',
           'hinge_targets', 'load_cifar10', 'load_dataset', 'load_mnist',
           'load_svhn', 'standard_augment']
