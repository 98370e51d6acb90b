"""What every kernel shares: the C support code read from the ``.c`` files beside this
module, the base op (OpenMP per Theano's flag, BLAS linkage, the cache version) and the
input checks.

The C files: ``support.c`` (helpers: output allocation, im2col row copies, BLAS thread
pinning, chunk sizes) and ``ternary.c`` (the integer kernels of ternary products, chosen
at run time by the CPU and ``GXNOR_INT_KERNEL``) are C as they stand; the family files ``pooling.c``,
``elementwise.c``, ``sums.c``, ``convolution.c`` and ``dense.c`` are written once for a type ``TYPE``
and its BLAS ``GEMM`` and instantiated here for float (``sgemm_``) and double
(``dgemm_``). Every op compiles the whole support code, so a kernel of one family may
call a helper of another.

Theano's module cache: the ops' ``c_code_cache_version`` holds a hash of every ``.c`` and
``.py`` file of this package, so any edit of the C (or of the Python that writes C)
recompiles the ops.
"""
from __future__ import absolute_import, division, print_function

import hashlib
import os

import theano.tensor as T
from theano.gof import OpenMPOp
from theano.tensor.blas import ldflags
from theano.tensor.blas_headers import blas_header_text

__all__ = ['C_TYPES', 'FastOp', 'float_tensor', 'one_input_c_code', 'SUPPORT_C',
           'SOURCE_VERSION']

HERE = os.path.dirname(os.path.abspath(__file__))

C_TYPES = {'float32': 'float', 'float64': 'double'}

# The C files as they stand (helpers, the integer kernels of ternary products), then the
# typed ones, in the order they are compiled (pooling first, convolution last).
UNTYPED_FILES = ('support.c', 'ternary.c')
TYPED_FILES = ('pooling.c', 'elementwise.c', 'sums.c', 'convolution.c', 'dense.c')


def read_c(name):
    """The text of the C file ``name`` of this package (a native str)."""
    with open(os.path.join(HERE, name), 'rb') as handle:
        data = handle.read()
    return data if isinstance(data, str) else data.decode('utf-8')


def support_code():
    """support.c, then each typed file for float and double (in TYPED_FILES order)."""
    typed = ''.join(read_c(name) for name in TYPED_FILES)
    parts = [read_c(name) for name in UNTYPED_FILES]
    for ctype, gemm in (('float', 'sgemm_'), ('double', 'dgemm_')):
        parts.append(typed.replace('TYPE', ctype).replace('GEMM', gemm))
    return '\n'.join(parts)


def source_version(folder=HERE, names=None):
    """A hash of every .c and .py file of ``folder`` (this package), or of the files
    ``names`` only, in name order."""
    digest = hashlib.md5()
    for name in sorted(os.listdir(folder) if names is None else names):
        if os.path.splitext(name)[1] in ('.c', '.py'):
            with open(os.path.join(folder, name), 'rb') as handle:
                digest.update(name.encode('utf-8'))
                digest.update(handle.read())
    return digest.hexdigest()


SUPPORT_C = support_code()
SOURCE_VERSION = source_version()


class FastOp(OpenMPOp):
    """Common plumbing: OpenMP per Theano's flag, the support code, BLAS linkage."""

    __props__ = ('openmp',)
    c_code_version = 3   # raise when the generated code changes in a way the hash misses

    def __init__(self, openmp=None):
        super(FastOp, self).__init__(openmp=openmp)

    def c_support_code(self):
        return blas_header_text() + SUPPORT_C

    def c_headers(self):
        return super(FastOp, self).c_headers() + ['<string.h>', '<stdlib.h>']

    def c_libraries(self):
        return ldflags()

    def c_compile_args(self):
        return super(FastOp, self).c_compile_args() + ldflags(libs=False, flags=True)

    def c_lib_dirs(self):
        return ldflags(libs=False, libs_dir=True)

    def c_header_dirs(self):
        return ldflags(libs=False, include_dir=True)

    def c_code_cache_version(self):
        return (1, SOURCE_VERSION, self.c_code_version)

    def perform(self, node, inputs, outputs):
        raise NotImplementedError("%s has C code only (needs a C compiler and BLAS)"
                                  % type(self).__name__)


def float_tensor(x, ndim, what):
    """``x`` as a float32/float64 tensor of ``ndim`` dims; TypeError naming ``what``."""
    x = T.as_tensor_variable(x)
    if x.ndim != ndim:
        raise TypeError("%s must be a %d-d tensor, got %d-d" % (what, ndim, x.ndim))
    if x.dtype not in C_TYPES:
        raise TypeError("%s must be float32 or float64, got %s" % (what, x.dtype))
    return x


# The C around the body of a kernel with one input and one output (one_input_c_code).
_TAKE_INPUT_C = """
        {
            PyArrayObject* xc = PyArray_GETCONTIGUOUS(%(x)s);
            if (!xc) { %(fail)s }
"""
_ALLOCATE_OUTPUT_C = """\
            if (gx_prepare_output(&%%(z)s, %s, %s, PyArray_TYPE(xc))) {
                Py_DECREF(xc);
                %%(fail)s
            }
"""
_END_C = """\
        }
        """


def one_input_c_code(node, inputs, outputs, sub, ndim, dims, body, setup='', **values):
    """The C code of a kernel with one input ``x`` and one output ``z`` of its dtype.

    It takes ``xc``, a C-contiguous reference to the input, runs the C lines ``setup``,
    allocates the output with ``ndim`` dimensions ``dims`` (C expressions; failing, it
    releases ``xc``), then runs ``body``, which must release ``xc``. ``setup`` and ``body``
    are lines indented by 12 spaces that may name ``%(x)s``, ``%(z)s``, ``%(ctype)s`` (the
    C type), ``%(fail)s`` and the keys of ``values``.
    """
    x, = inputs
    z, = outputs
    text = _TAKE_INPUT_C + setup + _ALLOCATE_OUTPUT_C % (ndim, dims) + body + _END_C
    return text % dict(values, x=x, z=z, ctype=C_TYPES[node.inputs[0].dtype], fail=sub['fail'])
