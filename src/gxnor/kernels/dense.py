"""A dense layer's forward product, C in ``dense.c``: :class:`TernaryDot`.

``TernaryDot()(x, w)`` is ``T.dot(x, w)`` for matrices. Where both hold only -1, 0 and +1
(a dense layer of ternary weights after the ternary activation) it computes the product
in integers (:mod:`.ternary`), otherwise with the very BLAS call Theano's ``Dot22`` makes
for C-contiguous operands; either way the bits are ``Dot22``'s (a ternary product's sums
are exact integers in float32, in any order). Its gradient is ``Dot``'s, expression for
expression, so the backward graph, and what Theano's optimizer makes of it, is unchanged.
"""
from __future__ import absolute_import, division, print_function

import theano.tensor as T
from theano import Apply

from .support import C_TYPES, FastOp, float_tensor

__all__ = ['TernaryDot', 'ternary_dot']


class TernaryDot(FastOp):
    """``x . w`` of two float matrices (see the module docstring)."""

    def make_node(self, x, w):
        x = float_tensor(x, 2, 'TernaryDot input')
        w = float_tensor(w, 2, 'TernaryDot weights')
        if x.dtype != w.dtype:
            raise TypeError("TernaryDot: dtypes differ (%s, %s)" % (x.dtype, w.dtype))
        out = T.TensorType(x.dtype, (x.broadcastable[0], w.broadcastable[1]))
        return Apply(self, [x, w], [out()])

    def infer_shape(self, node, shapes):
        return [(shapes[0][0], shapes[1][1])]

    def grad(self, inputs, output_grads):
        # Dot.grad for two matrices (theano.tensor.basic), term for term
        x, w = inputs
        gz, = output_grads
        xgrad, wgrad = T.dot(gz, w.T), T.dot(x.T, gz)
        if xgrad.broadcastable != x.broadcastable:
            xgrad = T.patternbroadcast(xgrad, x.broadcastable)
        if wgrad.broadcastable != w.broadcastable:
            wgrad = T.patternbroadcast(wgrad, w.broadcastable)
        return [xgrad, wgrad]

    def c_code(self, node, name, inputs, outputs, sub):
        x, w = inputs
        out, = outputs
        ctype = C_TYPES[node.inputs[0].dtype]
        gemm = {'float': 'sgemm_', 'double': 'dgemm_'}[ctype]
        return r"""
        {
        PyArrayObject *x_c = NULL, *w_c = NULL;
        int err = 0;
        if (!(x_c = PyArray_GETCONTIGUOUS(%(x)s))) err = 1;
        if (!err && !(w_c = PyArray_GETCONTIGUOUS(%(w)s))) err = 1;
        npy_intp N = 0, K = 0, M = 0;
        if (!err) {
            N = PyArray_DIMS(x_c)[0]; K = PyArray_DIMS(x_c)[1]; M = PyArray_DIMS(w_c)[1];
            if (PyArray_DIMS(w_c)[0] != K) {
                PyErr_SetString(PyExc_ValueError, "TernaryDot: the shapes do not match");
                err = 1;
            }
        }
        if (!err) {
            npy_intp dims[2] = {N, M};
            err = gx_prepare_output(&%(out)s, 2, dims, PyArray_TYPE(x_c));
        }
        int status = 0;
        if (!err) {
            const %(ctype)s* xd = (const %(ctype)s*)PyArray_DATA(x_c);
            const %(ctype)s* wd = (const %(ctype)s*)PyArray_DATA(w_c);
            %(ctype)s* od = (%(ctype)s*)PyArray_DATA(%(out)s);
            Py_BEGIN_ALLOW_THREADS
            status = gx_dense_%(ctype)s(xd, wd, od, N, K, M);
            Py_END_ALLOW_THREADS
            if (status == -1) {
                /* the float path: Dot22's call for C-contiguous operands (its case 0x000) */
                if (K == 0 || N == 0 || M == 0) {
                    memset(od, 0, N * M * sizeof(%(ctype)s));
                } else {
                    char nn = 'N';
                    int m = (int)M, n = (int)N, k = (int)K;
                    %(ctype)s one = 1, zero = 0;
                    %(gemm)s(&nn, &nn, &m, &n, &k, &one, (%(ctype)s*)wd, &m, (%(ctype)s*)xd, &k,
                             &zero, od, &m);
                }
            } else if (status == 1) {
                PyErr_NoMemory();
                err = 1;
            } else if (status == 3) {
                PyErr_Format(PyExc_ValueError, "TernaryDot: GXNOR_INT_KERNEL=%%s names no "
                             "integer kernel this CPU has (use auto, off, portable, avx2 or "
                             "avx512vnni; see docs/method.md)", getenv("GXNOR_INT_KERNEL"));
                err = 1;
            } else if (status == 4) {
                PyErr_SetString(PyExc_ValueError, "TernaryDot: GXNOR_INT_STRICT=1 and the "
                                "weights are ternary, but the input is not (its product "
                                "would take the float path)");
                err = 1;
            }
        }
        Py_XDECREF(x_c); Py_XDECREF(w_c);
        if (err) { %(fail)s }
        }""" % dict(x=x, w=w, out=out, ctype=ctype, gemm=gemm, fail=sub['fail'])


def ternary_dot(x, w):
    """``T.dot(x, w)`` for matrices as one :class:`TernaryDot`."""
    return TernaryDot()(x, w)
