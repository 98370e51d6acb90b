"""2x2 max pooling, stride 2, borders dropped (Lasagne's ``MaxPool2DLayer(pool_size=2)``),
C in ``pooling.c``.

The forward pass and the gradient are bit-identical to Theano's ``Pool``/``MaxPoolGrad``
under ``pool_grad='all'`` (a window's gradient to EVERY element equal to its maximum);
``pool_grad='one'`` (the project's default, gxnor.settings) gives it to the first of them
in row-major order. Ties are the rule here (integer-valued conv outputs).
"""
from __future__ import absolute_import, division, print_function

from theano import Apply

from ..settings import POOL_GRAD, check_choice
from .support import C_TYPES, FastOp, float_tensor, one_input_c_code

__all__ = ['MaxPool2x2', 'MaxPool2x2Grad', 'max_pool_2x2']


class _PoolOp(FastOp):
    """A pooling op with a tie rule for its gradient (``pool_grad``, see the module doc)."""

    __props__ = ('openmp', 'pool_grad')

    def __init__(self, openmp=None, pool_grad=POOL_GRAD):
        super(_PoolOp, self).__init__(openmp=openmp)
        check_choice('pool_grad', pool_grad)
        self.pool_grad = pool_grad


class MaxPool2x2(_PoolOp):
    """2x2 max pooling with stride 2 over the last two axes of a 4-d tensor.

    Odd trailing rows/columns are dropped (``ignore_border=True``), as in Lasagne's
    ``MaxPool2DLayer(pool_size=2)``. The forward pass is the same for both tie rules.
    """

    def make_node(self, x):
        x = float_tensor(x, 4, 'MaxPool2x2 input')
        return Apply(self, [x], [x.type()])

    def infer_shape(self, node, shapes):
        n, c, h, w = shapes[0]
        return [(n, c, h // 2, w // 2)]

    def grad(self, inputs, output_grads):
        return [MaxPool2x2Grad(self.openmp, self.pool_grad)(inputs[0], output_grads[0])]

    def c_code(self, node, name, inputs, outputs, sub):
        return one_input_c_code(node, inputs, outputs, sub, '4', 'dims', setup="""\
            const npy_intp* d = PyArray_DIMS(xc);
            npy_intp dims[4] = {d[0], d[1], d[2] / 2, d[3] / 2};
""", body="""\
            gx_pool_fwd_%(ctype)s((const %(ctype)s*)PyArray_DATA(xc),
                                  (%(ctype)s*)PyArray_DATA(%(z)s), d[0] * d[1], d[2], d[3]);
            Py_DECREF(xc);
""")


class MaxPool2x2Grad(_PoolOp):
    """Gradient of :class:`MaxPool2x2` from its input ``x`` and the output gradient.

    Recomputes each window's maximum from ``x`` (bitwise the forward output) and gives
    the window's gradient to every element equal to it (``pool_grad='all'``, as Theano's
    ``MaxPoolGrad``) or to the first of them in row-major order (``'one'``), zero
    elsewhere.
    """

    def make_node(self, x, gz):
        x = float_tensor(x, 4, 'MaxPool2x2Grad input')
        gz = float_tensor(gz, 4, 'MaxPool2x2Grad output gradient')
        if gz.dtype != x.dtype:
            raise TypeError("MaxPool2x2Grad: dtypes differ (%s, %s)" % (x.dtype, gz.dtype))
        return Apply(self, [x, gz], [x.type()])

    def infer_shape(self, node, shapes):
        return [shapes[0]]

    def c_code(self, node, name, inputs, outputs, sub):
        x, gz = inputs
        gx, = outputs
        ctype = C_TYPES[node.inputs[0].dtype]
        return """
        {
            PyArrayObject* xc = PyArray_GETCONTIGUOUS(%(x)s);
            if (!xc) { %(fail)s }
            PyArrayObject* gc = PyArray_GETCONTIGUOUS(%(gz)s);
            if (!gc) { Py_DECREF(xc); %(fail)s }
            const npy_intp* d = PyArray_DIMS(xc);
            const npy_intp* g = PyArray_DIMS(gc);
            int bad = g[0] != d[0] || g[1] != d[1] || g[2] != d[2] / 2 || g[3] != d[3] / 2;
            if (bad)
                PyErr_SetString(PyExc_ValueError, "MaxPool2x2Grad: gradient shape mismatch");
            if (bad || gx_prepare_output(&%(gx)s, 4, d, PyArray_TYPE(xc))) {
                Py_DECREF(xc); Py_DECREF(gc);
                %(fail)s
            }
            gx_pool_bwd_%(ctype)s((const %(ctype)s*)PyArray_DATA(xc),
                                  (const %(ctype)s*)PyArray_DATA(gc),
                                  (%(ctype)s*)PyArray_DATA(%(gx)s), d[0] * d[1], d[2], d[3],
                                  %(first)d);
            Py_DECREF(xc); Py_DECREF(gc);
        }
        """ % dict(x=x, gz=gz, gx=gx, ctype=ctype, fail=sub['fail'],
                   first=int(self.pool_grad == 'one'))


def max_pool_2x2(x, pool_grad=POOL_GRAD):
    """2x2/stride-2 max pooling of a 4-d tensor (see :class:`MaxPool2x2`)."""
    return MaxPool2x2(pool_grad=pool_grad)(x)
