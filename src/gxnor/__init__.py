"""gxnor: GXNOR-Net (Deng et al., Neural Networks 2018) in Python 2.7 / Theano / Lasagne.

Where each piece of the method lives:

* discretization -- activation space Z_N^a (multi-step phi_r, pulse derivatives) and the
  weight space Z_N^w (grid, snapping);
* dst -- the discrete state transition of the weights;
* layers -- discrete Dense/Conv2D layers, Lasagne-0.2 batch norm, the activation layer;
* updates -- Adam + DST update assembly of the released scripts;
* models -- the MNIST / CIFAR10 / SVHN networks.
"""
from __future__ import absolute_import, division, print_function

import warnings

from . import cpu, tuning

# Same numbers on any x86-64 machine: pin Theano's -march and OpenBLAS's kernel before
# either is loaded (see gxnor/cpu.py; GXNOR_CPU_PINS=0 unpins).
cpu.pin()
# Speed without a changed number: heap reuse instead of mmap churn, OpenMP kernels
# (see gxnor/tuning.py; GXNOR_TUNING=0 leaves the process alone).
tuning.apply()

# Lasagne 0.1 imports Theano's moved pooling module; the warning is noise for users.
warnings.filterwarnings('ignore', message='downsample module has been moved',
                        category=UserWarning)

__version__ = '0.1.0'
