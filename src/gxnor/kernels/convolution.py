"""Convolutions, C in ``convolution.c``: valid correlation by chunked im2col + gemm, and
convolution + bias + 2x2 max pooling in one pass.

* :func:`conv2d` -- ``T.nnet.conv2d`` (true convolution, filters flipped) for
  ``border_mode='valid'`` or a zero padding, stride 1, as im2col over a chunk of images and
  one BLAS gemm per chunk (Theano's ``CorrMM`` does one small gemm per image and a slow
  im2col). Gradients with respect to the inputs and the filters use the same scheme.
  Results equal ``CorrMM``'s up to the order of the float32 additions inside the gemms
  (and are exact when the operands are integer-valued with sums below 2^24, as ternary
  ones are).
* :class:`ConvPool2x2` -- convolution + tied bias + 2x2 max pooling in one pass, which
  never writes the full-size conv output: each chunk's conv output is pooled while in
  cache, and a uint8 mask of the window elements the gradient goes to (every tied
  maximum, or the first, per ``pool_grad``) replaces it in the backward pass.
  ``layers.MaxPool2x2Layer`` uses it (:func:`fuse_bias_pool`) when its input is such a
  conv layer.
"""
from __future__ import absolute_import, division, print_function

import theano
import theano.tensor as T
from theano import Apply

from ..settings import POOL_GRAD, check_choice
from .support import C_TYPES, FastOp, float_tensor

__all__ = ['Corr2dValid', 'Corr2dValidGradWeights', 'Corr2dValidGradInputs', 'ConvPool2x2',
           'ConvPool2x2GradWeights', 'ConvPool2x2GradInputs', 'conv2d', 'corr2d_valid',
           'conv_pool_2x2', 'fuse_bias_pool', 'DEFAULT_CHUNK_FLOATS']

# Floats per im2col buffer (a chunk of whole images, at least one): big enough for an
# efficient gemm, small enough for a core's L2 cache (1 MB; measured best of 64K..4M on
# the MNIST net: 1M floats ~15% slower per epoch, 4M ~25%).
DEFAULT_CHUNK_FLOATS = 1 << 18


class _ConvBase(FastOp):
    """Valid correlation with stride 1 by chunked im2col + gemm (see module docstring).

    Every op of the family takes the input ``x`` and the (correlation) filters ``w``
    first, the gradient ops only for their shapes.
    """

    __props__ = ('openmp', 'chunk_floats', 'pool_grad', 'pad')
    direction = None   # 0 forward, 1 filter (and bias) gradient, 2 input gradient
    pooled = False     # True: conv + bias + 2x2 max pool
    roles = ()         # names of the inputs, among x, w, b, gy, mask

    def __init__(self, openmp=None, chunk_floats=DEFAULT_CHUNK_FLOATS, pool_grad=POOL_GRAD,
                 pad=(0, 0)):
        super(_ConvBase, self).__init__(openmp=openmp)
        check_choice('pool_grad', pool_grad)
        self.chunk_floats = int(chunk_floats)
        self.pool_grad = pool_grad   # used by ConvPool2x2's forward mask only
        pad = tuple(int(p) for p in pad)
        if len(pad) != 2 or min(pad) < 0:
            raise ValueError("pad must be two non-negative integers, got %r" % (pad,))
        self.pad = pad               # zeros around each image (rows, columns)

    def _kwargs(self):
        return dict(openmp=self.openmp, chunk_floats=self.chunk_floats,
                    pool_grad=self.pool_grad, pad=self.pad)

    def _check_inputs(self, *inputs):
        x = float_tensor(inputs[0], 4, '%s input' % type(self).__name__)
        checked = [x]
        for role, var in zip(self.roles[1:], inputs[1:]):
            if role == 'mask':
                var = T.as_tensor_variable(var)
                if var.ndim != 4 or var.dtype != 'uint8':
                    raise TypeError("%s: the mask must be a 4-d uint8 tensor"
                                    % type(self).__name__)
            else:
                ndim = 1 if role == 'b' else 4
                var = float_tensor(var, ndim, '%s %s' % (type(self).__name__, role))
                if var.dtype != x.dtype:
                    raise TypeError("%s: dtypes differ (%s, %s)"
                                    % (type(self).__name__, x.dtype, var.dtype))
            checked.append(var)
        return checked

    def c_code(self, node, name, inputs, outputs, sub):
        ctype = C_TYPES[node.inputs[0].dtype]
        local = dict(zip(self.roles, inputs))
        code = ['{',
                'PyArrayObject *x_c = NULL, *w_c = NULL, *b_c = NULL, *gy_c = NULL, '
                '*mask_c = NULL;',
                'int err = 0;']
        for role in self.roles:
            code.append('if (!err && !(%s_c = PyArray_GETCONTIGUOUS(%s))) err = 1;'
                        % (role, local[role]))
        code.append(r"""
        npy_intp N = 0, C = 0, H = 0, W = 0, F = 0, kh = 0, kw = 0, oh = 0, ow = 0;
        if (!err) {
            const npy_intp* xd = PyArray_DIMS(x_c);
            const npy_intp* wd = PyArray_DIMS(w_c);
            N = xd[0]; C = xd[1]; H = xd[2]; W = xd[3]; F = wd[0]; kh = wd[2]; kw = wd[3];
            oh = H + 2 * %(ph)d - kh + 1; ow = W + 2 * %(pw)d - kw + 1;
            if (wd[1] != C || kh < 1 || kw < 1 || oh < 1 || ow < 1) {
                PyErr_SetString(PyExc_ValueError, "%(op)s: the filters do not fit the input");
                err = 1;
            }
        }
        const npy_intp ph = %(pooled)d ? oh / 2 : oh, pw = %(pooled)d ? ow / 2 : ow;
        if (!err && b_c && PyArray_DIMS(b_c)[0] != F) {
            PyErr_SetString(PyExc_ValueError, "%(op)s: the bias does not match the filters");
            err = 1;
        }
        PyArrayObject* grads[2] = {gy_c, mask_c};
        for (int k = 0; k < 2 && !err; ++k) {
            if (!grads[k]) continue;
            const npy_intp* gd = PyArray_DIMS(grads[k]);
            if (gd[0] != N || gd[1] != F || gd[2] != ph || gd[3] != pw) {
                PyErr_SetString(PyExc_ValueError,
                                "%(op)s: the output gradient (or mask) has the wrong shape");
                err = 1;
            }
        }
        """ % dict(op=type(self).__name__, pooled=int(self.pooled), ph=self.pad[0],
                   pw=self.pad[1]))
        # Outputs: (variable, number of dims, dims, type number).
        typenum = 'PyArray_TYPE(x_c)'
        if self.direction == 0:
            outs = [(outputs[0], 4, '{N, F, ph, pw}', typenum)]
            if self.pooled:
                outs.append((outputs[1], 4, '{N, F, ph, pw}', 'NPY_UINT8'))
        elif self.direction == 1:
            outs = [(outputs[0], 4, '{F, C, kh, kw}', typenum)]
            if self.pooled:
                outs.append((outputs[1], 1, '{F, 0, 0, 0}', typenum))
        else:
            outs = [(outputs[0], 4, '{N, C, H, W}', typenum)]
        for index, (var, ndim, dims, tnum) in enumerate(outs):
            code.append('if (!err) { npy_intp dims%d[4] = %s; '
                        'err = gx_prepare_output(&%s, %d, dims%d, %s); }'
                        % (index, dims, var, ndim, index, tnum))

        def data(role, kind):
            if role not in self.roles:
                return 'NULL'
            return '(%s*)PyArray_DATA(%s_c)' % (kind, role)

        if self.direction == 0 and self.pooled:
            mask_ptr = '(npy_uint8*)PyArray_DATA(%s)' % outs[1][0]
        else:
            mask_ptr = data('mask', 'npy_uint8')
        if self.direction == 1 and self.pooled:
            gb_ptr = '(%s*)PyArray_DATA(%s)' % (ctype, outs[1][0])
        else:
            gb_ptr = 'NULL'
        const = 'const ' + ctype
        code.append(r"""
        if (!err) {
            Py_BEGIN_ALLOW_THREADS
            err = gx_conv_%(ctype)s(%(direction)d, %(pooled)d, %(first)d, %(x)s, %(w)s, %(b)s,
                                   %(gy)s,
                                   %(mask)s, (%(ctype)s*)PyArray_DATA(%(out)s), %(gb)s,
                                   N, C, H, W, F, kh, kw, %(ph)d, %(pw)d, %(chunk)d);
            Py_END_ALLOW_THREADS
            if (err == 1)
                PyErr_NoMemory();
            else if (err == 3)
                PyErr_Format(PyExc_ValueError, "%(op)s: GXNOR_INT_KERNEL=%%s names no integer "
                             "kernel this CPU has (use auto, off, portable, avx2 or "
                             "avx512vnni; see docs/method.md)", getenv("GXNOR_INT_KERNEL"));
            else if (err == 4)
                PyErr_SetString(PyExc_ValueError, "%(op)s: GXNOR_INT_STRICT=1 and the filters "
                                "are ternary, but the input is not (its product would take "
                                "the float path)");
            else if (err)
                PyErr_SetString(PyExc_ValueError,
                                "%(op)s: an im2col chunk is too large for BLAS int sizes");
        }
        Py_XDECREF(x_c); Py_XDECREF(w_c); Py_XDECREF(b_c); Py_XDECREF(gy_c); Py_XDECREF(mask_c);
        if (err) { %(fail)s }
        }""" % dict(ctype=ctype, direction=self.direction, pooled=int(self.pooled),
                    first=int(self.pool_grad == 'one'),
                    x=data('x', const), w=data('w', const), b=data('b', const),
                    gy=data('gy', const), mask=mask_ptr, out=outs[0][0], gb=gb_ptr,
                    op=type(self).__name__,
                    chunk=self.chunk_floats, fail=sub['fail'], ph=self.pad[0], pw=self.pad[1]))
        return '\n'.join(code)


def _conv_shape(x_shape, w_shape, pad=(0, 0)):
    (n, _, h, w), (f, _, kh, kw) = x_shape, w_shape
    return n, f, h + 2 * pad[0] - kh + 1, w + 2 * pad[1] - kw + 1


class Corr2dValid(_ConvBase):
    """``y[n, f] = sum_c corr_valid(x[n, c], w[f, c])`` (no filter flip), stride 1, of x
    with ``pad`` zeros around each image (read as zeros, never written: the same sums as
    an explicitly padded input, and the input gradient of the cropped border dropped)."""

    direction = 0
    roles = ('x', 'w')

    def make_node(self, x, w):
        x, w = self._check_inputs(x, w)
        out = T.TensorType(x.dtype, (x.broadcastable[0], w.broadcastable[0], False, False))
        return Apply(self, [x, w], [out()])

    def infer_shape(self, node, shapes):
        return [_conv_shape(shapes[0], shapes[1], self.pad)]

    def grad(self, inputs, output_grads):
        x, w = inputs
        gy, = output_grads
        gx = Corr2dValidGradInputs(**self._kwargs())(x, w, gy)
        gw = Corr2dValidGradWeights(**self._kwargs())(x, w, gy)
        return [T.patternbroadcast(gx, x.broadcastable), T.patternbroadcast(gw, w.broadcastable)]


class _GradOne(_ConvBase):
    """A gradient op with one output: the gradient with respect to the input ``x``
    (``direction = 2``) or the filters ``w`` (``direction = 1``), of that variable's
    type and shape. The direction also selects the C driver's pass."""

    def make_node(self, *inputs):
        if len(inputs) != len(self.roles):
            raise TypeError("%s takes %d inputs (%s), got %d" % (
                type(self).__name__, len(self.roles), ', '.join(self.roles), len(inputs)))
        inputs = self._check_inputs(*inputs)
        return Apply(self, inputs, [inputs[self._wrt()].type()])

    def infer_shape(self, node, shapes):
        return [shapes[self._wrt()]]

    def _wrt(self):
        return {1: 1, 2: 0}[self.direction]   # index of w or of x among the inputs


class Corr2dValidGradWeights(_GradOne):
    """Gradient of :class:`Corr2dValid` with respect to the filters: ``(x, w, dL/dy)``."""

    direction = 1
    roles = ('x', 'w', 'gy')


class Corr2dValidGradInputs(_GradOne):
    """Gradient of :class:`Corr2dValid` with respect to its input: ``(x, w, dL/dy)``."""

    direction = 2
    roles = ('x', 'w', 'gy')


class ConvPool2x2(_ConvBase):
    """``z = max_pool_2x2(corr_valid(x, w) + b)`` and the pooling mask, in one pass.

    The same floating-point operations as the three ops in sequence (bias added in the
    input dtype, then the max), without writing the full-size conv output: ``z`` has the
    pooled shape and the uint8 ``mask`` marks, per window, every element equal to the
    maximum (bit ``2 a + c`` for the element in row ``a``, column ``c`` of the window;
    ``pool_grad='one'``: only the first such element in row-major order). Each marked
    element receives the window's gradient (``'all'``: as Theano's ``MaxPoolGrad``).
    """

    direction = 0
    pooled = True
    roles = ('x', 'w', 'b')

    def make_node(self, x, w, b):
        x, w, b = self._check_inputs(x, w, b)
        broadcastable = (x.broadcastable[0], w.broadcastable[0], False, False)
        return Apply(self, [x, w, b], [T.TensorType(x.dtype, broadcastable)(),
                                       T.TensorType('uint8', broadcastable)()])

    def infer_shape(self, node, shapes):
        n, f, oh, ow = _conv_shape(shapes[0], shapes[1], self.pad)
        pooled = (n, f, oh // 2, ow // 2)
        return [pooled, pooled]

    def connection_pattern(self, node):
        return [[True, False], [True, False], [True, False]]

    def grad(self, inputs, output_grads):
        x, w, b = inputs
        gz = output_grads[0]
        mask = self(x, w, b)[1]
        gw, gb = ConvPool2x2GradWeights(**self._kwargs())(x, w, gz, mask)
        gx = ConvPool2x2GradInputs(**self._kwargs())(x, w, gz, mask)
        return [T.patternbroadcast(gx, x.broadcastable), T.patternbroadcast(gw, w.broadcastable),
                T.patternbroadcast(gb, b.broadcastable)]


class ConvPool2x2GradWeights(_ConvBase):
    """Filter and bias gradients of :class:`ConvPool2x2` from ``(x, w, dL/dz, mask)``."""

    direction = 1
    pooled = True
    roles = ('x', 'w', 'gy', 'mask')

    def make_node(self, x, w, gz, mask):
        x, w, gz, mask = self._check_inputs(x, w, gz, mask)
        return Apply(self, [x, w, gz, mask], [w.type(), T.TensorType(x.dtype, (False,))()])

    def infer_shape(self, node, shapes):
        return [shapes[1], (shapes[1][0],)]


class ConvPool2x2GradInputs(_GradOne):
    """Input gradient of :class:`ConvPool2x2` from ``(x, w, dL/dz, mask)``."""

    direction = 2
    pooled = True
    roles = ('x', 'w', 'gy', 'mask')


def corr2d_valid(x, w, chunk_floats=DEFAULT_CHUNK_FLOATS, pad=(0, 0)):
    """Valid cross-correlation (filters not flipped), stride 1, of x zero-padded by ``pad``."""
    return Corr2dValid(chunk_floats=chunk_floats, pad=pad)(x, w)


def conv_pool_2x2(x, w, b, chunk_floats=DEFAULT_CHUNK_FLOATS, pool_grad=POOL_GRAD):
    """``max_pool_2x2(corr_valid(x, w) + b[None, :, None, None])`` as one ConvPool2x2."""
    return ConvPool2x2(chunk_floats=chunk_floats, pool_grad=pool_grad)(x, w, b)[0]


def fuse_bias_pool(y, pool_grad=POOL_GRAD):
    """``max_pool_2x2(y)`` as one :class:`ConvPool2x2` when ``y = Corr2dValid(x, w) + b``.

    ``b`` must enter as ``b.dimshuffle('x', 0, 'x', 'x')`` (a tied bias, as Lasagne's
    Conv2DLayer adds it). Returns None when ``y`` does not have that form.
    """
    node = y.owner
    if (node is None or not isinstance(node.op, T.Elemwise)
            or not isinstance(node.op.scalar_op, theano.scalar.Add) or len(node.inputs) != 2):
        return None
    for conved, shifted in (node.inputs, node.inputs[::-1]):
        conv, bias = conved.owner, shifted.owner
        if (conv is not None and isinstance(conv.op, Corr2dValid)
                and bias is not None and isinstance(bias.op, T.DimShuffle)
                and tuple(bias.op.new_order) == ('x', 0, 'x', 'x')
                and conved.dtype == y.dtype and bias.inputs[0].dtype == y.dtype):
            x, w = conv.inputs
            kwargs = dict(conv.op._kwargs(), pool_grad=pool_grad)
            return ConvPool2x2(**kwargs)(x, w, bias.inputs[0])[0]
    return None


def conv2d(input, filters, input_shape=None, filter_shape=None, border_mode='valid',
           subsample=(1, 1), filter_flip=True, image_shape=None, **kwargs):
    """Drop-in for ``T.nnet.conv2d`` as Lasagne calls it (``convolution=`` argument).

    ``border_mode='valid'`` or a padding ``(p_rows, p_cols)`` (or one int) with stride 1
    runs :class:`Corr2dValid` on the flipped filters (``filter_flip=True``: a true
    convolution, as ``T.nnet.conv2d``); anything else is passed on to ``T.nnet.conv2d``
    unchanged.
    """
    pad = (0, 0)
    if isinstance(border_mode, int) and not isinstance(border_mode, bool):
        border_mode = (border_mode, border_mode)
    if (isinstance(border_mode, tuple) and len(border_mode) == 2
            and all(isinstance(p, int) and p >= 0 for p in border_mode)):
        pad, border_mode = border_mode, 'valid'
    if border_mode != 'valid' or tuple(subsample) != (1, 1) or kwargs:
        if image_shape is not None and input_shape is None:
            input_shape = image_shape
        return T.nnet.conv2d(input, filters, input_shape=input_shape,
                             filter_shape=filter_shape, border_mode=border_mode,
                             subsample=subsample, filter_flip=filter_flip, **kwargs)
    if filter_flip:
        filters = filters[:, :, ::-1, ::-1]
    return Corr2dValid(pad=pad)(input, filters)
