"""The multi-step activation's forward value in one pass, C in ``elementwise.c``."""
from __future__ import absolute_import, division, print_function

import theano.tensor as T
from theano import Apply

from .support import C_TYPES, FastOp, one_input_c_code

__all__ = ['MultiStep', 'multi_step']


class MultiStep(FastOp):
    """Forward value of the multi-step activation phi_r (:func:`gxnor.discretization.multi_step`)
    in one pass, bit for bit: the same float operations on each element, and only those
    whose results are exact but for ``|x| - r`` (one rounding, as in Theano; ``r`` enters
    as a float32, as ``floatX`` makes it there). Theano's
    version is two or three elementwise passes with branches on random data (the
    activation of a conv layer was the most expensive elementwise op of a train step).
    Its gradient is zero, as that of the Theano expression (floor, sign and switch); the
    layers take theirs from :class:`gxnor.discretization.PulseGradient`.
    """

    __props__ = ('openmp', 'r', 'N')

    def __init__(self, r=1.0, N=1, openmp=None):
        super(MultiStep, self).__init__(openmp=openmp)
        self.r = float(r)
        self.N = int(N)
        if self.N < 1:
            raise ValueError("MultiStep needs N >= 1, got %r" % (N,))

    def make_node(self, x):
        x = T.as_tensor_variable(x)
        if x.dtype not in C_TYPES:
            raise TypeError("MultiStep needs a float32/float64 tensor, got %s" % x.dtype)
        return Apply(self, [x], [x.type()])

    def infer_shape(self, node, shapes):
        return [shapes[0]]

    def grad(self, inputs, output_grads):
        return [T.zeros_like(inputs[0])]

    def c_compile_args(self):
        # lets g++ vectorise the loop (floor and the selects); it changes no result: no
        # operation is reordered or contracted, only traps are assumed not to happen
        return super(MultiStep, self).c_compile_args() + ['-fno-trapping-math']

    def c_code(self, node, name, inputs, outputs, sub):
        return one_input_c_code(node, inputs, outputs, sub, 'PyArray_NDIM(xc)',
                                'PyArray_DIMS(xc)', body="""\
            const %(ctype)s* src = (const %(ctype)s*)PyArray_DATA(xc);
            %(ctype)s* dst = (%(ctype)s*)PyArray_DATA(%(z)s);
            const npy_intp n = PyArray_SIZE(xc);
            Py_BEGIN_ALLOW_THREADS
            gx_multi_step_%(ctype)s(src, dst, n, (%(ctype)s)(float)%(r)r, (%(ctype)s)%(d)r);
            Py_END_ALLOW_THREADS
            Py_DECREF(xc);
""", r=self.r, d=1.0 / 2 ** (self.N - 1))


def multi_step(x, r=1.0, N=1):
    """phi_r(x) by :class:`MultiStep` (the value of gxnor.discretization.multi_step)."""
    return MultiStep(r, N)(x)
