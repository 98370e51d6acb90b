"""Theano's own elementwise ops with a flat inner loop (helper C in ``flat_elemwise.c``),
and the rewrite that puts them in place of Theano's (tag ``gxnor_flat_elemwise``).

Theano 0.8.2 runs an ``Elemwise`` whose inputs broadcast differently (a batch-norm
parameter per channel against a 4-d batch, as in the activation's gradient window, which
Theano fuses with the batch norm recomputed inside it) as one nested loop per dimension,
every element addressed through every input's strides: the innermost loop is a row of 12
(MNIST) and g++ cannot vectorise it. :class:`FlatElemwise` is the same op (a subclass:
same scalar op, same inplace pattern, same shape checks and output allocation, same
Python fallback) whose C runs, where every operand allows it, one flat loop over the
trailing dimensions, over which each operand is either contiguous or one value: rows of
H x W per image and channel, taken by the threads in order.

No number changes: each element is computed by the very C statements Theano generates
for the scalar op (``scalar_op.c_code``), in the same types, compiled with the same
flags; elements do not interact, so neither the loop order, the thread count nor
vectorisation enters a result (g++'s contraction of ``a * b + c`` into one fused
multiply-add is decided on those statements, alike in the scalar and the vector loop;
``tests/test_flat_elemwise.py`` compares every converted op of the nets, and odd inputs,
with Theano's byte for byte). ``-fno-trapping-math`` lets g++ vectorise the selects; it
reorders and contracts nothing. Where an operand is not contiguous over those dimensions
the op runs Theano's own loop (kept in its C).

The rewrite converts every ``Elemwise`` of 2 or more dimensions, after Theano's fusion
and inplace passes, but for an output broadcast in every dimension and for the scalar ops
with code of their own for contiguous operands (Theano's amdlibm variants, left to
Theano); ``kernels='theano'`` leaves it out (:func:`gxnor.kernels.compile_mode`), and
``THEANO_FLAGS=optimizer_excluding=gxnor_flat_elemwise`` turns it off.
"""
from __future__ import absolute_import, division, print_function

from theano import Apply, config
from theano.compile import optdb
from theano.gof import TopoOptimizer, local_optimizer
from theano.gof.utils import MethodNotDefined, uniq
from theano.scalar import ScalarOp, get_scalar_type
from theano.tensor.elemwise import Elemwise

from .support import read_c, source_version

__all__ = ['FlatElemwise', 'flat_dims_start', 'local_flat_elemwise', 'TAG']

TAG = 'gxnor_flat_elemwise'

# elements per piece of work of a thread (a row longer than this is cut in pieces)
PIECE = 4096

# the dtypes the flat loop handles (Theano 0.8's real ones; float16 has no C code there)
DTYPES = ('float32', 'float64', 'int8', 'int16', 'int32', 'int64',
          'uint8', 'uint16', 'uint32', 'uint64')

SUPPORT_C = read_c('flat_elemwise.c')

# Theano's module cache: the generated C changes with these two files only (and with
# Theano's Elemwise, whose own version is part of the key)
VERSION = source_version(names=('flat_elemwise.py', 'flat_elemwise.c'))


def flat_dims_start(node):
    """The first of the longest run of trailing dimensions over which every input and
    output of ``node`` is either broadcast or not (dimensions where the output is
    broadcast, of length 1, are left out). The output's last such dimension alone is
    always one, so this is None only when the output is broadcast in every dimension."""
    out = node.outputs[0]
    dims = [d for d in range(out.ndim) if not out.broadcastable[d]]
    start = None
    for first in range(len(dims) - 1, -1, -1):
        run = dims[first:]
        if any(len(set(var.broadcastable[d] for d in run)) > 1
               for var in node.inputs + node.outputs):
            break
        start = dims[first]
    return start


# The flat loop: one piece of work is a row (a position in the leading dimensions) or a
# PIECE of it; each operand's row starts at its strides over the leading dimensions.
_LOOP_C = """\
if (%(contiguous)s) {
    const npy_intp* gx_dims = PyArray_DIMS(%(shape_of)s);
    npy_intp gx_rows = 1, gx_length = 1;
    for (int d = 0; d < %(first)d; ++d) gx_rows *= gx_dims[d];
    for (int d = %(first)d; d < %(nd)d; ++d) gx_length *= gx_dims[d];
    const npy_intp gx_pieces = gx_length > 0 ? (gx_length + %(piece)d - 1) / %(piece)d : 1;
%(bases)s
    #pragma omp parallel for schedule(static) if (gx_rows * gx_length >= %(minsize)d)
    for (npy_intp gx_work = 0; gx_work < gx_rows * gx_pieces; ++gx_work) {
        npy_intp gx_rest = gx_work / gx_pieces;
        const npy_intp gx_from = (gx_work %% gx_pieces) * %(piece)d;
        const npy_intp gx_to = gx_from + %(piece)d < gx_length ? gx_from + %(piece)d : gx_length;
%(row_starts)s
%(offsets)s
%(row_values)s
        #pragma omp simd
        for (npy_intp gx_j = gx_from; gx_j < gx_to; ++gx_j) {
%(elements)s
%(defines)s
            {
%(task)s
            }
%(stores)s
%(undefs)s
        }
    }
} else {
%(theano_loop)s
}
"""


class FlatElemwise(Elemwise):
    """Theano's ``Elemwise`` with a flat inner loop where the operands allow it (see the
    module's docstring); everything else is Elemwise's own."""

    def __str__(self):
        return 'Flat' + super(FlatElemwise, self).__str__()

    def c_compile_args(self):
        return super(FlatElemwise, self).c_compile_args() + ['-fno-trapping-math']

    def c_support_code(self):
        try:
            theirs = super(FlatElemwise, self).c_support_code()
        except MethodNotDefined:
            theirs = ''
        return theirs + '\n' + SUPPORT_C

    def c_code_cache_version_apply(self, node):
        theirs = super(FlatElemwise, self).c_code_cache_version_apply(node)
        if not theirs:
            return ()
        return (('gxnor_flat', VERSION, PIECE, config.openmp_elemwise_minsize),) \
            + tuple(theirs)

    def c_code(self, node, nodename, inames, onames, sub):
        decl, checks, alloc, theano_loop = self._c_all(node, nodename, inames, onames, sub)
        return '\n'.join([decl, checks, alloc,
                          self._flat_loop(node, nodename, inames, onames, sub, theano_loop)])

    def _flat_loop(self, node, nodename, inames, onames, sub, theano_loop):
        first = flat_dims_start(node)
        # the operands: each distinct input, then each output not computed in place
        operands = [(name, var, True) for name, var in uniq(list(zip(inames, node.inputs)))]
        operands += [(name, var, False) for k, (name, var) in enumerate(zip(onames, node.outputs))
                     if k not in self.inplace_pattern]
        runs = dict((name, not var.broadcastable[first]) for name, var, _ in operands)

        def lines(indent, items):
            return '\n'.join(' ' * indent + item for item in items)

        bases, row_starts, offsets, row_values, elements = [], [], [], [], []
        for name, var, is_input in operands:
            bases.append('char* const gx_base_%s = (char*)PyArray_DATA(%s);' % (name, name))
            bases.append('const npy_intp* const gx_step_%s = PyArray_STRIDES(%s);' % (name, name))
            row_starts.append('char* gx_at_%s = gx_base_%s;' % (name, name))
            if runs[name]:
                row_values.append('dtype_%s* const gx_row_%s = (dtype_%s*)gx_at_%s;'
                                  % (name, name, name, name))
                if is_input:
                    elements.append('dtype_%s %s_i = gx_row_%s[gx_j];' % (name, name, name))
            else:
                row_values.append('const dtype_%s gx_one_%s = *(dtype_%s*)gx_at_%s;'
                                  % (name, name, name, name))
                elements.append('dtype_%s %s_i = gx_one_%s;' % (name, name, name))
            if not is_input:
                elements.append('dtype_%s %s_i;' % (name, name))
        # the row's position in the leading dimensions, last one first
        for d in range(first - 1, -1, -1):
            offsets.append('{ const npy_intp gx_i = gx_rest %% gx_dims[%d]; gx_rest /= gx_dims[%d];'
                           % (d, d))
            offsets += ['  gx_at_%s += gx_i * gx_step_%s[%d];' % (name, name, d)
                        for name, var, _ in operands if not var.broadcastable[d]]
            offsets.append('}')
        # outputs computed in place are the input's element (as in Theano's loop)
        input_name = dict((var, name) for name, var, is_input in operands if is_input)
        defines, undefs, stores = [], [], []
        for out, index in sorted(self.inplace_pattern.items()):
            name = input_name[node.inputs[index]]
            defines.append('#define %s_i %s_i' % (onames[out], name))
            undefs.append('#undef %s_i' % onames[out])
            stores.append('gx_row_%s[gx_j] = %s_i;' % (name, name))
        stores += ['gx_row_%s[gx_j] = %s_i;' % (name, name)
                   for name, var, is_input in operands if not is_input]
        scalar_node = Apply(self.scalar_op,
                            [get_scalar_type(dtype=v.type.dtype).make_variable()
                             for v in node.inputs],
                            [get_scalar_type(dtype=v.type.dtype).make_variable()
                             for v in node.outputs])
        task = self.scalar_op.c_code(scalar_node, nodename + '_scalar_',
                                     ['%s_i' % name for name in inames],
                                     ['%s_i' % name for name in onames], sub)
        contiguous = ' && '.join('gx_contiguous_from(%s, %d)' % (name, first)
                                 for name, var, _ in operands if runs[name])
        shape_of = onames[0]
        return _LOOP_C % dict(
            contiguous=contiguous or '1', shape_of=shape_of, first=first,
            nd=node.outputs[0].ndim, piece=PIECE, minsize=config.openmp_elemwise_minsize,
            bases=lines(4, bases), row_starts=lines(8, row_starts), offsets=lines(8, offsets),
            row_values=lines(8, row_values), elements=lines(12, elements),
            defines='\n'.join(defines), undefs='\n'.join(undefs), task=task,
            stores=lines(12, stores), theano_loop=theano_loop)


def _overrides_contiguous_code(scalar_op):
    """Whether the scalar op has its own code for contiguous operands (Theano's
    amdlibm variants): then Theano's op is left as it is."""
    def function(method):
        return getattr(method, '__func__', method)      # Python 2's unbound methods
    return function(type(scalar_op).c_code_contiguous) is not \
        function(ScalarOp.c_code_contiguous)


@local_optimizer([Elemwise])
def local_flat_elemwise(node):
    """Elemwise of 2 or more dims whose output is not broadcast in every dim -> FlatElemwise."""
    op = node.op
    if type(op) is not Elemwise or node.outputs[0].ndim < 2:
        return False
    if any(var.dtype not in DTYPES for var in node.inputs + node.outputs):
        return False
    if _overrides_contiguous_code(op.scalar_op) or flat_dims_start(node) is None:
        return False
    flat = FlatElemwise(op.scalar_op, op.inplace_pattern, name=op.name,
                        nfunc_spec=op.nfunc_spec, openmp=op.openmp)
    return flat(*node.inputs, return_list=True)


# after Theano's elementwise fusion (49) and its inplace pass (75), so the ops it converts
# are those Theano would run, with their inplace patterns
optdb.register('local_flat_elemwise', TopoOptimizer(local_flat_elemwise), 76, 'fast_run', TAG)
