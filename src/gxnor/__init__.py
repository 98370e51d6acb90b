"""gxnor: GXNOR-Net (Deng et al., Neural Networks 2018) in Python 2.7 / Theano / Lasagne.

The paper's method is the package's top level:

* settings -- every named setting's allowed values and default (no Theano);
* discretization -- activation space Z_N^a (multi-step phi_r, pulse derivatives) and the
  weight space Z_N^w (grid, snapping);
* dst -- the discrete state transition of the weights;
* layers -- discrete Dense/Conv2D layers, Lasagne-0.2 batch norm, the activation layer;
* updates -- Adam + DST update assembly of the released scripts;
* models, graphs -- the MNIST / CIFAR10 / SVHN networks and their compiled functions;
* experiments -- the released hyperparameters of every experiment.

Around it: kernels (gxnor's CPU ops), training (the training loop, run folders, reports),
studies (sweeps and the analyses of trained networks), datasets, golden (the golden
vectors' generator; the porter's kit is the package gxnor_port), and process (the CPU
pins and speed settings). ``python -m gxnor`` runs every program.

Importing gxnor changes nothing in the process: programs call
``gxnor.process.prepare()`` before NumPy and Theano load (``python -m gxnor`` does).
"""
from __future__ import absolute_import, division, print_function

__version__ = '0.1.0'
