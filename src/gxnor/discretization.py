"""The discrete spaces of GXNOR-Net: multi-step activations and the weight grid.

One function per equation; each has a NumPy twin in ``tests/reference.py`` that the
tests compare it against.

Activation space Z_N^a (the paper's unified framework; definitions reconstructed,
see docs/method.md): levels ``{-1, ..., -d, 0, d, ..., 1}`` with step
``d = 1 / 2^(N-1)`` (N = 1: ternary ``{-1, 0, 1}``). The multi-step function is

.. math::

    \\phi_r(x) = \\begin{cases} 0 & |x| < r \\\\
    \\mathrm{sign}(x)\\,\\min\\!\\left(1,\\ d\\left(\\lfloor (|x| - r)/d \\rfloor + 1\\right)\\right)
    & |x| \\ge r \\end{cases}

so it jumps by ``d`` at every threshold ``t_j = r + j d`` (j = 0 .. 2^(N-1) - 1).
A value exactly on a threshold takes the OUTER level: that is what the authors'
released ternary function ``round(hs(2(x-1)) + hs(2(x+1)) - 1)`` gives at ``|x| = 1``
(the inner value is 0.5 and C ``round`` goes half away from zero).

Its derivative is zero almost everywhere; back-propagation uses the approximation

.. math::

    \\frac{\\partial \\phi_r}{\\partial x} \\approx \\sum_j d\\, \\mathrm{pulse}_a(|x| - t_j)

where ``pulse_a`` has unit area and width parameter ``a`` (so each pulse carries the
area ``d`` of the jump it stands for). The released code is the rectangular pulse with
r = 1, a = 0.5, N = 1: derivative 1 on the CLOSED window ``0.5 <= |x| <= 1.5``.
The triangular, Gaussian and exponential shapes are the paper's alternatives as we
reconstruct them; only the rectangular one is confirmed by the released code.

Float arithmetic of the rectangular window (``act_grad``). The released code does not
test ``|x| - t`` against ``a``: its derivative is the autodiff of the hard-sigmoid clips,
so a window passes the gradient where the clip's input ``(2 (x - t) + 1) / 2`` (for the
threshold ``+t``; ``x + t`` for ``-t``) lies in ``[0, 1]``, rounded in float32. The two
tests differ at one float32 value: at ``x = -0.49999994`` (``-0.5 + 2^-24``), ``x + 1``
is ``0.50000006``, ``2 (x + 1) + 1`` rounds to ``2`` and the released window passes the
gradient, while ``|x| - 1 = -0.50000006`` lies outside ``[-a, a]``. (Its mirror
``+0.49999994`` is outside in both.) ``act_grad='released'`` (default) computes the
released test for the ternary activation (N = 1: one clip per sign), with the window of
``+r`` for ``x >= 0`` and of ``-r`` for ``x < 0``, whose clip input is
``((x -+ r) / a + 1) / 2`` (for r = 1, a = 0.5 the released expression, bit for bit;
other r, a: the same form); ``'exact'`` tests ``|(|x| - r)| <= a`` as written above. The
two agree everywhere else for the released configuration (tested on every float32 near
the break points). Multi-level activations (N > 1) and the other pulse shapes have no
released arithmetic and are the same under both.

Weight space Z_N^w: ``2^N + 1`` states in ``[-H, H]`` with step ``L = 2H / 2^N``
(released: H = 1, N = 1, i.e. ternary ``{-1, 0, 1}``); N = 0 gives binary ``{-H, H}``.
"""
from __future__ import absolute_import, division, print_function

import math
import numbers

import numpy as np
import theano
import theano.tensor as T

from .settings import ACT_GRAD, PULSE, PULSE_SHAPES, check_choice

__all__ = [
    'check_activation_space',
    'check_weight_space',
    'activation_step', 'activation_thresholds', 'multi_step', 'pulse',
    'pulse_derivative', 'discretize_activation', 'ternary_activation',
    'released_ternary_activation', 'weight_step', 'weight_states', 'snap_to_grid',
]


# --------------------------------------------------------------------------- checks

def _is_integer(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_activation_space(r, a, N, shape):
    """Raise ValueError naming the offending option if (r, a, N, shape) is impossible."""
    if not _is_integer(N) or N < 1:
        raise ValueError("activation N must be an integer >= 1 (2^N + 1 levels), got %r" % (N,))
    if not isinstance(r, numbers.Real) or not r >= 0 or math.isinf(r):
        raise ValueError("activation window r must be a finite number >= 0, got %r" % (r,))
    if not isinstance(a, numbers.Real) or not a > 0 or math.isinf(a):
        raise ValueError("pulse width a must be a finite number > 0, got %r" % (a,))
    if shape not in PULSE_SHAPES:
        raise ValueError("unknown pulse shape %r; choose one of %s"
                         % (shape, ', '.join(PULSE_SHAPES)))


def check_weight_space(H, N):
    """Raise ValueError naming the offending option if (H, N) is impossible."""
    if not _is_integer(N) or N < 0:
        raise ValueError("weight N must be an integer >= 0 (2^N + 1 states; 0 = binary), got %r"
                         % (N,))
    if not isinstance(H, numbers.Real) or not H > 0 or math.isinf(H):
        raise ValueError("weight range H must be a finite number > 0, got %r" % (H,))


# ------------------------------------------------------------------ activation space

def activation_step(N):
    """Step ``d = 1 / 2^(N-1)`` between neighbouring activation levels of Z_N^a."""
    return 1.0 / 2 ** (N - 1)


def activation_thresholds(r, N):
    """Thresholds ``t_j = r + j d``, j = 0 .. 2^(N-1) - 1, where phi_r jumps by d."""
    d = activation_step(N)
    return [r + j * d for j in range(2 ** (N - 1))]


def _as_floatx(value):
    return np.asarray(value, dtype=theano.config.floatX)


def multi_step(x, r=1.0, N=1):
    """Forward value of the multi-step function phi_r (no useful gradient of its own).

    Computed in x's dtype (float32): ``|x| - r`` and the division by the power of two
    ``d`` are the only arithmetic, so the tests can mirror it exactly in NumPy.
    """
    d = activation_step(N)
    magnitude = abs(x)
    above = magnitude - _as_floatx(r)
    level = T.minimum(1, _as_floatx(d) * (T.floor(above / _as_floatx(d)) + 1))
    return T.switch(T.ge(above, 0), T.sgn(x) * level, 0).astype(x.dtype)


def pulse(u, a=0.5, shape=PULSE):
    """Unit-area pulse of width parameter ``a`` at offset ``u`` (symbolic).

    * rectangular: ``1/(2a)`` on the closed interval ``[-a, a]`` (released code),
    * triangular: ``(1/a) max(0, 1 - |u|/a)``,
    * gaussian: ``exp(-u^2 / (2a^2)) / (a sqrt(2 pi))``,
    * exponential: ``exp(-|u|/a) / (2a)``.
    """
    a = float(a)
    if shape == 'rectangular':
        return T.le(abs(u), _as_floatx(a)) * _as_floatx(1.0 / (2 * a))
    if shape == 'triangular':
        return T.maximum(0, 1 - abs(u) / _as_floatx(a)) * _as_floatx(1.0 / a)
    if shape == 'gaussian':
        return T.exp(-T.sqr(u) / _as_floatx(2 * a * a)) * _as_floatx(1.0 / (a * math.sqrt(2 * math.pi)))
    if shape == 'exponential':
        return T.exp(-abs(u) / _as_floatx(a)) * _as_floatx(1.0 / (2 * a))
    raise ValueError("unknown pulse shape %r; choose one of %s" % (shape, ', '.join(PULSE_SHAPES)))


def _released_window(v, a):
    """1 where the released hard-sigmoid clip passes the gradient, for ``v = x -+ t``.

    The clip's input is ``(v / a + 1) / 2`` (released, a = 0.5: ``(2 (x - 1) + 1) / 2``),
    and Theano's clip gradient is 1 on the closed interval ``[0, 1]`` of it.
    """
    clip_input = (v / _as_floatx(a) + 1) / 2
    return T.and_(T.ge(clip_input, 0), T.le(clip_input, 1))


def pulse_derivative(x, r=1.0, a=0.5, N=1, shape=PULSE, act_grad=ACT_GRAD):
    """The derivative approximation ``sum_j d pulse_a(|x| - t_j)`` of phi_r.

    ``act_grad`` chooses the float arithmetic of the ternary (N = 1) rectangular window
    (module doc): ``'released'`` tests ``x - r`` (x >= 0) or ``x + r`` (x < 0) as the
    released clips do, ``'exact'`` tests ``|x| - r``. N > 1 and other shapes ignore it.
    """
    check_choice('act_grad', act_grad)
    d = activation_step(N)
    magnitude = abs(x)
    total = 0
    for threshold in activation_thresholds(r, N):
        if shape == 'rectangular' and act_grad == 'released' and N == 1:
            t = _as_floatx(threshold)
            inside = T.switch(T.ge(x, 0), _released_window(x - t, a),
                              _released_window(x + t, a))
            total = total + inside * _as_floatx(1.0 / (2 * a))
        else:
            total = total + pulse(magnitude - _as_floatx(threshold), a, shape)
    return (total * _as_floatx(d)).astype(x.dtype)


class PulseGradient(theano.Op):
    """Pass ``y`` through unchanged; send the gradient to ``x`` as ``g * pulse_derivative(x)``.

    ``PulseGradient(r, a, N, shape, act_grad)(multi_step(x), x)`` is phi_r(x) on the forward pass
    and has the pulse derivative on the backward pass: forward values stay exactly on
    the levels (no ``y + (s - s)`` arithmetic), and the derivative is the pulse formula
    itself, not the autodiff of some antiderivative. The output is a view of ``y``.
    """
    __props__ = ('r', 'a', 'N', 'shape', 'act_grad')
    view_map = {0: [0]}

    def __init__(self, r, a, N, shape, act_grad=ACT_GRAD):
        check_activation_space(r, a, N, shape)
        check_choice('act_grad', act_grad)
        self.r, self.a, self.N, self.shape = float(r), float(a), int(N), shape
        self.act_grad = act_grad
        super(PulseGradient, self).__init__()

    def make_node(self, y, x):
        y = T.as_tensor_variable(y)
        x = T.as_tensor_variable(x)
        return theano.Apply(self, [y, x], [y.type()])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = inputs[0]

    def infer_shape(self, node, shapes):
        return [shapes[0]]

    def connection_pattern(self, node):
        return [[False], [True]]

    def grad(self, inputs, output_gradients):
        x = inputs[1]
        return [theano.gradient.disconnected_type(),
                output_gradients[0] * pulse_derivative(x, self.r, self.a, self.N, self.shape,
                                                       self.act_grad)]


def discretize_activation(x, r=1.0, a=0.5, N=1, shape=PULSE, act_grad=ACT_GRAD):
    """phi_r(x) with the pulse derivative approximation (the layers' nonlinearity)."""
    check_activation_space(r, a, N, shape)
    return PulseGradient(r, a, N, shape, act_grad)(multi_step(x, r, N), x)


def ternary_activation(x, act_grad=ACT_GRAD):
    """The released configuration: ternary, r = 1, rectangular window a = 0.5."""
    return discretize_activation(x, r=1.0, a=0.5, N=1, shape='rectangular', act_grad=act_grad)


class _RoundStraightThrough(theano.scalar.UnaryScalarOp):
    """C ``round`` (half away from zero) whose gradient is the identity."""

    def impl(self, x):
        return np.sign(x) * np.floor(np.abs(x) + 0.5)

    def c_code(self, node, name, inputs, outputs, sub):
        return "%s = round(%s);" % (outputs[0], inputs[0])

    def c_code_cache_version(self):
        return (1,)

    def grad(self, inputs, output_gradients):
        return [output_gradients[0]]


_round_straight_through = T.Elemwise(
    _RoundStraightThrough(theano.scalar.upgrade_to_float, name='round_straight_through'))


def released_ternary_activation(x):
    """The authors' expression, kept only as the oracle our function is tested against.

    ``round(hard_sigmoid(2(x-1)) + hard_sigmoid(2(x+1)) - 1)`` with a straight-through
    round and ``hard_sigmoid(z) = clip((z + 1)/2, 0, 1)``.
    """
    def hard_sigmoid(z):
        return T.clip((z + 1.) / 2., 0, 1)
    inner = hard_sigmoid(2 * (x - 1)) + hard_sigmoid(2 * (x + 1)) - 1
    return _round_straight_through(inner).astype(x.dtype)


# ---------------------------------------------------------------------- weight space

def weight_step(H, N):
    """Step ``L = 2H / 2^N`` between neighbouring states of Z_N^w."""
    return 2.0 * H / 2 ** N


def weight_states(H, N):
    """The ``2^N + 1`` states of Z_N^w (N = 0: the two states -H, H), in floatX."""
    check_weight_space(H, N)
    return np.linspace(-H, H, 2 ** N + 1).astype(theano.config.floatX)


def snap_to_grid(W, H, N):
    """Nearest state of Z_N^w, as the released code computes it.

    ``round((W + H) / (2H) * 2^N) / 2^N * 2H - H`` with ``round`` half away from zero;
    expects ``W`` already clipped to ``[-H, H]``.
    """
    levels = 2 ** N
    position = T.round((W + _as_floatx(H)) / _as_floatx(2 * H) * levels)
    return (position / levels * _as_floatx(2 * H) - _as_floatx(H)).astype(W.dtype)
