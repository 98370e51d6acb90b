"""Dataset loaders by name (for run configs that name their dataset)."""
from __future__ import absolute_import, division, print_function

from .cifar10 import load_cifar10
from .mnist import load_mnist
from .svhn import load_svhn

LOADERS = {'mnist': load_mnist, 'cifar10': load_cifar10, 'svhn': load_svhn}


def load_dataset(name, data_dir=None, **kwargs):
    """``LOADERS[name](data_dir, **kwargs)``; ValueError for an unknown name."""
    if name not in LOADERS:
        raise ValueError('unknown value %r for option dataset; allowed values: %s'
                         % (name, ', '.join(repr(k) for k in sorted(LOADERS))))
    return LOADERS[name](data_dir, **kwargs)
