"""Per-channel sums with float64 accumulation, C in ``sums.c``, and the graph rewrite
that puts them in place of Theano's ``Sum`` (tag ``gxnor_channel_sum``).

:class:`ChannelSum` is what ``x.sum(axis=(0, 2, 3))`` of a float32 tensor computes
(Theano's default ``acc_dtype`` for float32 is float64), over every axis but 1 and any
number of dims; :func:`local_channel_sum` rewrites every such ``Sum``, so the batch-norm
statistics and the bias/batch-norm gradients all use it. Only the order of the float64
additions changes, to one fixed by the shape. :func:`compile_mode` leaves the rewrite out
for ``kernels='theano'``.
"""
from __future__ import absolute_import, division, print_function

import theano
import theano.tensor as T
from theano import Apply
from theano.gof import local_optimizer
from theano.tensor.elemwise import Sum
from theano.tensor.opt import register_specialize

from ..settings import KERNEL, check_choice
from .flat_elemwise import TAG as FLAT_ELEMWISE_TAG
from .support import C_TYPES, FastOp, one_input_c_code

__all__ = ['ChannelSum', 'channel_sum', 'CountZeros', 'count_zeros', 'local_channel_sum',
           'compile_mode']


class ChannelSum(FastOp):
    """``x.sum(axis=all but 1, acc_dtype='float64')`` in x's dtype, for x of 2 or more dims.

    Accumulates in double, in an order fixed by the shape alone (independent of the
    number of threads): partial sums over blocks of 64 images, added in order.
    """

    def make_node(self, x):
        x = T.as_tensor_variable(x)
        if x.ndim < 2 or x.dtype not in C_TYPES:
            raise TypeError("ChannelSum needs a float32/float64 tensor of >= 2 dims")
        return Apply(self, [x], [T.TensorType(x.dtype, (x.broadcastable[1],))()])

    def infer_shape(self, node, shapes):
        return [(shapes[0][1],)]

    def grad(self, inputs, output_grads):
        x, = inputs
        pattern = ['x'] * x.ndim
        pattern[1] = 0
        return [T.zeros_like(x) + output_grads[0].dimshuffle(pattern)]

    def c_code(self, node, name, inputs, outputs, sub):
        return one_input_c_code(node, inputs, outputs, sub, '1', 'dims', setup="""\
            const int nd = PyArray_NDIM(xc);
            const npy_intp* d = PyArray_DIMS(xc);
            npy_intp rest = 1;
            for (int k = 2; k < nd; ++k) rest *= d[k];
            npy_intp dims[1] = {d[1]};
""", body="""\
            int err = gx_channel_sum_%(ctype)s((const %(ctype)s*)PyArray_DATA(xc),
                                               (%(ctype)s*)PyArray_DATA(%(z)s), d[0], d[1], rest);
            Py_DECREF(xc);
            if (err) { %(fail)s }
""")


def channel_sum(x):
    """Sum over every axis but 1, accumulated in float64 (see :class:`ChannelSum`)."""
    return ChannelSum()(x)


class CountZeros(FastOp):
    """``T.sum(T.eq(x, 0), dtype='int64')`` of a float tensor in one threaded pass: how
    many values are zero (either sign), an exact int64 (the evaluation pass counts the
    activations' zeros with it, for the activation sparsity)."""

    def make_node(self, x):
        x = T.as_tensor_variable(x)
        if x.dtype not in C_TYPES:
            raise TypeError("CountZeros needs a float32/float64 tensor, got %s" % x.dtype)
        return Apply(self, [x], [T.lscalar()])

    def infer_shape(self, node, shapes):
        return [()]

    def connection_pattern(self, node):
        return [[False]]

    def grad(self, inputs, output_grads):
        return [theano.gradient.DisconnectedType()()]

    def c_code(self, node, name, inputs, outputs, sub):
        return r"""
        {
        PyArrayObject* xc = PyArray_GETCONTIGUOUS(%(x)s);
        if (!xc) { %(fail)s }
        const npy_intp n = PyArray_SIZE(xc);
        if (gx_prepare_output(&%(z)s, 0, NULL, NPY_INT64)) { Py_DECREF(xc); %(fail)s }
        npy_int64 count;
        Py_BEGIN_ALLOW_THREADS
        count = gx_count_zeros_%(ctype)s((const %(ctype)s*)PyArray_DATA(xc), n);
        Py_END_ALLOW_THREADS
        *(npy_int64*)PyArray_DATA(%(z)s) = count;
        Py_DECREF(xc);
        }""" % dict(x=inputs[0], z=outputs[0], ctype=C_TYPES[node.inputs[0].dtype],
                    fail=sub['fail'])


def count_zeros(x):
    """How many values of ``x`` are zero, as an int64 scalar (see :class:`CountZeros`)."""
    return CountZeros()(x)


@register_specialize('gxnor_channel_sum')
@local_optimizer([Sum])
def local_channel_sum(node):
    """``Sum{axis=all but 1, acc_dtype=float64}`` of a float tensor -> ChannelSum.

    Exclude with ``THEANO_FLAGS=optimizer_excluding=gxnor_channel_sum``.
    """
    op = node.op
    if type(op) is not Sum:
        return False
    x = node.inputs[0]
    out = node.outputs[0]
    if x.ndim < 2 or x.dtype not in C_TYPES or out.dtype != x.dtype:
        return False
    if op.acc_dtype != 'float64' or sorted(op.axis or ()) != [0] + list(range(2, x.ndim)):
        return False
    return [ChannelSum()(x)]


def compile_mode(kernels=KERNEL):
    """The Theano mode for ``kernels``: 'theano' leaves out the ChannelSum and the
    FlatElemwise rewrites (:mod:`.flat_elemwise`)."""
    check_choice('kernels', kernels)
    mode = theano.compile.get_default_mode()
    return mode if kernels == 'fast' else mode.excluding('gxnor_channel_sum', FLAT_ELEMWISE_TAG)
