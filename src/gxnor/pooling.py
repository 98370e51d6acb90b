"""2x2 max pooling with Theano's own ops, under either tie rule of its gradient.

The released nets pool with Lasagne's ``MaxPool2DLayer(pool_size=2)``, i.e.
``pool_2d(x, ds=(2, 2), st=(2, 2), ignore_border=True, padding=(0, 0), mode='max')``.
Its forward value is the same everywhere; its gradient depends on the platform when a
window holds its maximum more than once (``pool_grad``):

* ``'all'``: Theano 0.8.2's CPU ``MaxPoolGrad`` gives the window's gradient to EVERY
  element equal to the maximum;
* ``'one'``: cuDNN (the authors' recommended platform, on their K80) gives it to ONE
  element; we take the first maximum in row-major window order (cuDNN does not document
  its choice; Caffe and PyTorch's CPU kernel take the first).

With ``'one'`` the forward value is still Theano's ``Pool`` output, bit for bit;
:class:`RouteToFirstMax` passes it through unchanged and replaces the gradient: it
builds, from Theano's own ops, the one-hot of ``argmax`` over the four window elements
(``argmax`` returns the first maximum) and scatters the window's gradient there. The
fast kernels (:mod:`gxnor.kernels`) compute both rules in C; the tests check the two
implementations against each other and against NumPy.
"""
from __future__ import absolute_import, division, print_function

import theano
import theano.tensor as T
from theano.gradient import DisconnectedType
from theano.tensor.signal.pool import pool_2d

from .settings import POOL_GRAD, check_choice

__all__ = ['theano_max_pool_2x2', 'first_max_gradient', 'RouteToFirstMax']


def first_max_gradient(x, gz):
    """d(2x2 max pool)/dx given dL/dz, every window's gradient on its first maximum.

    ``x`` is (N, C, H, W), ``gz`` (N, C, H // 2, W // 2); trailing odd rows/columns get
    zero, as they do not take part in the pooling.
    """
    rows, cols = gz.shape[2], gz.shape[3]
    inner = x[:, :, :2 * rows, :2 * cols]
    # (N, C, rows, 2, cols, 2) -> (N, C, rows, cols, 2 * 2): the window in row-major order
    windows = inner.reshape((x.shape[0], x.shape[1], rows, 2, cols, 2), ndim=6)
    windows = windows.dimshuffle(0, 1, 2, 4, 3, 5).reshape(
        (x.shape[0], x.shape[1], rows, cols, 4), ndim=5)
    first = T.argmax(windows, axis=4)
    picked = T.eq(T.arange(4).dimshuffle('x', 'x', 'x', 'x', 0),
                  first.dimshuffle(0, 1, 2, 3, 'x'))
    spread = T.switch(picked, gz.dimshuffle(0, 1, 2, 3, 'x'), 0)
    spread = spread.reshape((x.shape[0], x.shape[1], rows, cols, 2, 2), ndim=6)
    spread = spread.dimshuffle(0, 1, 2, 4, 3, 5).reshape(
        (x.shape[0], x.shape[1], 2 * rows, 2 * cols), ndim=4)
    return T.set_subtensor(T.zeros_like(x)[:, :, :2 * rows, :2 * cols], spread)


class RouteToFirstMax(theano.Op):
    """``RouteToFirstMax()(z, x)`` is ``z`` (the pooled ``x``), its gradient w.r.t. ``x``
    that of the one-element tie rule (:func:`first_max_gradient`); none flows into ``z``.
    """

    __props__ = ()
    view_map = {0: [0]}

    def make_node(self, pooled, x):
        pooled = T.as_tensor_variable(pooled)
        x = T.as_tensor_variable(x)
        return theano.Apply(self, [pooled, x], [pooled.type()])

    def perform(self, node, inputs, outputs):
        outputs[0][0] = inputs[0]

    def infer_shape(self, node, shapes):
        return [shapes[0]]

    def connection_pattern(self, node):
        return [[False], [True]]

    def grad(self, inputs, output_grads):
        pooled, x = inputs
        return [DisconnectedType()(), first_max_gradient(x, output_grads[0])]


def theano_max_pool_2x2(x, pool_grad=POOL_GRAD):
    """Lasagne's ``MaxPool2DLayer(pool_size=2)`` output with the gradient rule ``pool_grad``
    ('one', the project's default, or 'all': Lasagne's layer as it is on a CPU)."""
    check_choice('pool_grad', pool_grad)
    pooled = pool_2d(x, ds=(2, 2), st=(2, 2), ignore_border=True, padding=(0, 0), mode='max')
    if pool_grad == 'all':
        return pooled
    return RouteToFirstMax()(pooled, x)
