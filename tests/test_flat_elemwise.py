"""FlatElemwise (gxnor.kernels.flat_elemwise): Theano's elementwise ops with a flat inner
loop give Theano's bytes.

Each test compiles one graph twice, with the rewrite (the fast kernels' mode) and without
it (the same mode excluding its tag: Theano's own loops), and compares bytes: whole
training steps of the nets, and small graphs that reach every branch of the generated
C (per-channel operands, scalars, int8 operands, in-place outputs, a repeated input,
inputs that are not contiguous, empty and length-1 dimensions, NaN, infinities, -0).
"""
from __future__ import absolute_import, division, print_function

import lasagne
import numpy as np
import pytest
import theano
import theano.tensor as T
from theano.sandbox.rng_mrg import MRG_RandomStreams

from gxnor import graphs, models
from gxnor.kernels import compile_mode
from gxnor.kernels.flat_elemwise import TAG, FlatElemwise, flat_dims_start
from gxnor.kernels import flat_elemwise

FLAT = compile_mode('fast')
THEANO_LOOPS = FLAT.excluding(TAG)


def _nodes(function, kind):
    return [node for node in function.maker.fgraph.toposort() if type(node.op) is kind]


def _compile(inputs, outputs):
    """(with the rewrite, without it) for the same graph."""
    return (theano.function(inputs, outputs, mode=FLAT),
            theano.function(inputs, outputs, mode=THEANO_LOOPS))


def _same_bytes(ours, theirs, nan_bits=True):
    """Byte for byte; with ``nan_bits=False``, a NaN matches any NaN: which NaN comes out
    of an operation on two NaNs (or on infinities that make one) is the first operand's
    on x86, and g++ orders the operands of a commutative operation as it likes, in
    Theano's loop as in ours; every other value must be the same bytes."""
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        a, b = np.array(a), np.array(b)
        assert a.dtype == b.dtype and a.shape == b.shape
        if not nan_bits and a.dtype.kind == 'f':
            nan = np.isnan(a)
            assert np.array_equal(nan, np.isnan(b))
            a[nan] = b[nan] = np.nan
        assert a.tobytes() == b.tobytes()


def _odd_values(rng, shape):
    """Uniform values with NaN, infinities, zeros of both signs and values at the
    thresholds the test graphs compare with planted in."""
    values = rng.uniform(-3, 3, shape).astype(np.float32)
    flat = values.reshape(-1)
    if flat.size == 0:
        return values
    special = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 0.5, -0.5, 1.5, -1.5, 1.0],
                       np.float32)
    where = rng.randint(0, flat.size, size=min(flat.size, 4 * special.size))
    flat[where] = np.resize(special, where.size)
    return values


def test_a_per_channel_expression_is_converted_and_gives_theanos_bytes():
    rng = np.random.RandomState(3)
    x, y = T.tensor4('x'), T.tensor4('y')
    gamma, beta = T.vector('gamma'), T.vector('beta')
    g = gamma.dimshuffle('x', 0, 'x', 'x')
    b = beta.dimshuffle('x', 0, 'x', 'x')
    t = T.constant(np.int8(1))
    # the shape of the activation's window: a select on comparisons (int8 results),
    # products and sums that g++ may contract, a division, a per-channel operand
    z = T.switch(T.ge(x, t), (x * g + b) * y, T.and_(T.le(y / g, 1.5), T.ge(x + b, -0.5)) - x)
    ours, theirs = _compile([x, y, gamma, beta], z)
    flat = _nodes(ours, FlatElemwise)
    assert len(flat) == 1 and _nodes(theirs, FlatElemwise) == []
    assert flat_dims_start(flat[0]) == 2        # rows of H x W per image and channel
    for shape in [(7, 5, 6, 9), (3, 4, 1, 1), (0, 4, 3, 3), (2, 3, 50, 90)]:
        args = [_odd_values(rng, shape), _odd_values(rng, shape),
                _odd_values(rng, shape[1:2]), _odd_values(rng, shape[1:2])]
        _same_bytes([ours(*args)], [theirs(*args)], nan_bits=False)


def test_an_input_that_is_not_contiguous_runs_theanos_loop_with_the_same_bytes():
    rng = np.random.RandomState(4)
    x, gamma = T.tensor4('x'), T.vector('gamma')
    z = T.sqrt(abs(x)) * gamma.dimshuffle('x', 0, 'x', 'x') + 1
    ours, theirs = _compile([x, gamma], z)
    assert len(_nodes(ours, FlatElemwise)) == 1
    big = _odd_values(rng, (6, 3, 5, 16))
    gamma_values = _odd_values(rng, (3,))
    for view in [big[:, :, :, ::2], big.transpose(0, 1, 3, 2), big[::2]]:
        _same_bytes([ours(view, gamma_values)], [theirs(view, gamma_values)], nan_bits=False)
        _same_bytes([ours(view, gamma_values)],
                    [theirs(np.ascontiguousarray(view), gamma_values)], nan_bits=False)


def test_an_inplace_output_on_a_products_result_and_a_row_operand():
    rng = np.random.RandomState(5)
    a, w, c = T.matrix('a'), T.matrix('w'), T.vector('c')
    z = (T.dot(a, w) + c.dimshuffle('x', 0)) * 3 - c.dimshuffle('x', 0) / 7
    ours, theirs = _compile([a, w, c], z)
    # the product's result is overwritten by the fused sum and products
    assert [node.op.inplace_pattern for node in _nodes(ours, FlatElemwise)
            if node.op.inplace_pattern] == [{0: 1}]
    args = [_odd_values(rng, (33, 20)), rng.uniform(-1, 1, (20, 4100)).astype(np.float32),
            _odd_values(rng, (4100,))]   # a row longer than one piece of work
    _same_bytes([ours(*args)], [theirs(*args)], nan_bits=False)


def test_a_repeated_input_scalars_and_integer_operands():
    rng = np.random.RandomState(6)
    x, s = T.matrix('x'), T.scalar('s')
    k = T.bmatrix('k')
    z = x * x + x / s - k * (x > s)
    ours, theirs = _compile([x, s, k], z)
    assert len(_nodes(ours, FlatElemwise)) == 1
    args = [_odd_values(rng, (40, 31)), np.float32(0.5),
            rng.randint(-128, 128, (40, 31)).astype(np.int8)]
    _same_bytes([ours(*args)], [theirs(*args)], nan_bits=False)


def test_an_operand_broadcast_in_the_last_dimension_is_one_value_per_row():
    rng = np.random.RandomState(7)
    x, y = T.tensor4('x'), T.tensor4('y')
    z = x / (T.addbroadcast(y, 3) + 2)
    ours, theirs = _compile([x, y], z)
    flat = _nodes(ours, FlatElemwise)
    # y + 2 runs flat over all of y; the division runs rows of length 1 in y
    assert sorted(flat_dims_start(node) for node in flat) == [0, 3]
    args = [_odd_values(rng, (4, 3, 5, 6)), _odd_values(rng, (4, 3, 5, 1))]
    _same_bytes([ours(*args)], [theirs(*args)], nan_bits=False)


def test_an_output_broadcast_in_every_dimension_stays_theanos():
    x, y = T.row('x'), T.col('y')
    z = T.addbroadcast(x, 1) * T.addbroadcast(y, 0)
    ours, _ = _compile([x, y], z)
    assert _nodes(ours, FlatElemwise) == []
    assert flat_dims_start(_nodes(ours, theano.tensor.elemwise.Elemwise)[0]) is None


def test_the_rewrite_is_left_out_for_theanos_kernels():
    x, gamma = T.tensor4('x'), T.vector('gamma')
    z = x * gamma.dimshuffle('x', 0, 'x', 'x') + 1
    function = theano.function([x, gamma], z, mode=compile_mode('theano'))
    assert _nodes(function, FlatElemwise) == []


# ------------------------------------------------------------------ whole training steps

NETS = [
    ('mnist', (1, 28, 28)),
    ([models.Conv(8, 3, 1, False), models.Conv(12, 3, 1, True), models.Dense(16, 1.5),
      models.Dense(10, 1.5)], (3, 8, 8)),
]


def _training_run(architecture, input_shape, mode, monkeypatch, steps=2, batch=48):
    """(every state variable after ``steps`` training steps, the losses and the
    evaluation's outputs, the functions) of a net built from fixed seeds, compiled in
    ``mode``."""
    monkeypatch.setattr(graphs, 'compile_mode', lambda kernels: mode)
    lasagne.random.set_rng(np.random.RandomState(21))
    x = T.tensor4('x')
    net = models.build_network(architecture, x, input_shape=input_shape)
    graph = graphs.TrainingGraph(net, x, srng=MRG_RandomStreams(22))
    rng = np.random.RandomState(23)
    values = rng.uniform(-1, 1, (batch,) + input_shape).astype(np.float32)
    targets = -np.ones((batch, 10), np.float32)
    targets[np.arange(batch), rng.randint(0, 10, batch)] = 1
    results = [graph.train(values, targets, 0.01) for _ in range(steps)]
    results += list(graph.evaluate(values, targets))
    results += [v.get_value() for v in graph.state]
    return results, graph


@pytest.mark.parametrize('architecture, input_shape', NETS)
def test_training_steps_give_theanos_bytes(architecture, input_shape, monkeypatch):
    """Losses, the evaluation and every state variable (weights, batch-norm statistics,
    Adam's moments) after two training steps: the same bytes with and without the flat
    loops; the activation's gradient window (Theano's fused select) is among the ops
    converted."""
    ours, graph = _training_run(architecture, input_shape, FLAT, monkeypatch)
    theirs, reference = _training_run(architecture, input_shape, THEANO_LOOPS, monkeypatch)
    flat = _nodes(graph.train, FlatElemwise)
    assert any('Switch' in str(node.op) and node.outputs[0].ndim == 4 for node in flat)
    assert _nodes(reference.train, FlatElemwise) == []
    left = [node for node in _nodes(graph.train, theano.tensor.elemwise.Elemwise)
            if node.outputs[0].ndim >= 2 and flat_dims_start(node) is not None
            and not flat_elemwise._overrides_contiguous_code(node.op.scalar_op)]
    assert left == []
    _same_bytes(ours, theirs)
