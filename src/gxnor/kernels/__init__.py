"""Faster CPU kernels for the GXNOR nets, with exactly the math of the Theano ops they replace.

Theano 0.8.2's CPU pooling, reductions and convolutions are generic and mostly
single-threaded; the released MNIST net spends most of a training step in them
(batch 10000: the first conv output alone is 10000 x 32 x 24 x 24 floats). These C ops
do the same arithmetic with simpler loops, OpenMP threads and bigger BLAS calls. One
module per family, its C in the ``.c`` file of the same name:

* :mod:`.pooling` -- :func:`max_pool_2x2`, bit-identical to Theano's ``Pool`` /
  ``MaxPoolGrad`` (gradient tie rule ``pool_grad``: 'one', the project's default, or
  'all', Theano's);
* :mod:`.convolution` -- :func:`conv2d` (im2col + one gemm per chunk of images) and
  :class:`ConvPool2x2` (convolution + bias + 2x2 max pooling in one pass);
* :mod:`.sums` -- :class:`ChannelSum` (float64-accumulated sums over every axis but 1)
  and the rewrite that puts it in place of Theano's ``Sum``; :func:`compile_mode`;
  :class:`CountZeros` (the evaluation's count of zero activations);
* :mod:`.elementwise` -- :class:`MultiStep`, the activation's value in one pass;
* :mod:`.flat_elemwise` -- :class:`FlatElemwise`, Theano's own elementwise ops (the
  fused ones included) with a flat, vectorisable inner loop where the operands allow it,
  and the rewrite that uses it: the same C statements per element, the same bits;
* :mod:`.dense` -- :class:`TernaryDot`, a dense layer's forward product (``T.dot``'s
  bits: the integer path where both operands are ternary, Dot22's BLAS call otherwise);
* :mod:`.ternary` -- the integer path of the convolutions' and dense layers' forward products (C in
  ``ternary.c``): 8-bit products where both operands are ternary, the same bits as the
  float gemm, the kernel chosen by the CPU and ``GXNOR_INT_KERNEL``;
* :mod:`.support` -- what they share (``support.c``, the base op, the cache version).

OpenMP: the pooling and convolution ops use threads when Theano's ``openmp`` flag is on
(``THEANO_FLAGS=openmp=True``, which gxnor.process.tuning sets; the thread count is
``OMP_NUM_THREADS``); each thread runs whole chunks. BLAS is always called with one
thread inside these ops (OpenBLAS's own split among threads changes the last bits), so
results depend neither on the number of threads nor on the openmp flag.
"""
from __future__ import absolute_import, division, print_function

from .convolution import (DEFAULT_CHUNK_FLOATS, ConvPool2x2, ConvPool2x2GradInputs,
                          ConvPool2x2GradWeights, Corr2dValid, Corr2dValidGradInputs,
                          Corr2dValidGradWeights, conv2d, conv_pool_2x2, corr2d_valid,
                          fuse_bias_pool)
from .dense import TernaryDot, ternary_dot
from .elementwise import MultiStep, multi_step
from .flat_elemwise import FlatElemwise, local_flat_elemwise
from .pooling import MaxPool2x2, MaxPool2x2Grad, max_pool_2x2
from .sums import (ChannelSum, CountZeros, channel_sum, compile_mode, count_zeros,
                   local_channel_sum)

__all__ = ['MaxPool2x2', 'MaxPool2x2Grad', 'max_pool_2x2', 'ChannelSum', 'channel_sum',
           'CountZeros', 'count_zeros',
           'local_channel_sum', 'compile_mode', 'Corr2dValid', 'Corr2dValidGradWeights',
           'Corr2dValidGradInputs', 'ConvPool2x2', 'ConvPool2x2GradWeights',
           'ConvPool2x2GradInputs', 'conv2d', 'corr2d_valid', 'conv_pool_2x2',
           'fuse_bias_pool', 'DEFAULT_CHUNK_FLOATS', 'MultiStep', 'multi_step', 'TernaryDot',
           'ternary_dot', 'FlatElemwise', 'local_flat_elemwise']
