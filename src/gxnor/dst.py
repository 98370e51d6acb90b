"""Discrete state transition (DST): updating weights that live in Z_N^w.

There is no hidden full-precision copy of the weights. A proposed change ``dW`` (the
released code takes it from Lasagne's Adam: ``dW = adam_new_W - W``) is turned into a
jump between grid states of step ``L = 2H / 2^N``:

.. math::

    \\kappa = \\mathrm{sign}(\\Delta W)\\,\\lfloor |\\Delta W| / L \\rfloor, \\qquad
    \\nu = \\Delta W - \\kappa L, \\qquad
    p = \\tanh(m\\,|\\nu| / L)

    W' = \\mathrm{snap}\\big(\\mathrm{clip}(W + (\\kappa + \\mathrm{sign}(\\Delta W)\\,g) L, -H, H)\\big),
    \\qquad g \\sim \\mathrm{Bernoulli}(p)

``m`` is the released ``th`` (default 3). ``m=None`` selects plain stochastic rounding
``p = |nu| / L`` (the "no tanh" point of the m ablation).

The random draw is explicit in :func:`discrete_state_transition` (``g = u < p`` for a
given uniform array ``u``) so that ports can reproduce it bit for bit;
:func:`dst_update` draws ``u`` from a Theano MRG stream, which is what
``MRG_RandomStreams.binomial`` does internally in the released code.
"""
from __future__ import absolute_import, division, print_function

import theano.tensor as T

from .discretization import check_weight_space, snap_to_grid, weight_step, _as_floatx

__all__ = ['decompose', 'transition_probability', 'discrete_state_transition', 'dst_update',
           'check_transition_nonlinearity']


def check_transition_nonlinearity(m):
    """Raise ValueError unless ``m`` is a positive number or None (linear probability)."""
    if m is None:
        return
    if isinstance(m, bool) or not isinstance(m, (int, float)) or not m > 0 or m == float('inf'):
        raise ValueError("DST nonlinearity m must be a finite number > 0 (or None for "
                         "p = |v|/L), got %r" % (m,))


def decompose(dW, L):
    """Split ``dW`` into whole steps ``kappa`` (signed count of L) and remainder ``nu``.

    Returns ``(direction, kappa, nu)`` with ``direction = sign(dW)``,
    ``kappa = sign(dW) floor(|dW| / L)`` and ``nu = dW - kappa L``.
    """
    step = _as_floatx(L)
    direction = T.sgn(dW)
    kappa = direction * T.floor(abs(dW) / step)
    nu = dW - kappa * step
    return direction, kappa, nu


def transition_probability(nu, L, m=3.0):
    """``p = tanh(m |nu| / L)``; with ``m=None`` the linear ``p = |nu| / L``."""
    ratio = abs(nu) / _as_floatx(L)
    if m is None:
        return ratio
    return T.tanh(_as_floatx(m) * ratio)


def discrete_state_transition(W, dW, u, H=1.0, N=1, m=3.0):
    """DST with the random numbers given: gate ``g = u < p`` for uniform ``u`` in [0, 1).

    ``W``, ``dW`` and ``u`` have the same shape; returns the new weights, on the grid.
    """
    check_weight_space(H, N)
    check_transition_nonlinearity(m)
    L = weight_step(H, N)
    direction, kappa, nu = decompose(dW, L)
    gate = T.lt(u, transition_probability(nu, L, m))
    moved = W + (kappa + direction * gate) * _as_floatx(L)
    return snap_to_grid(T.clip(moved, _as_floatx(-H), _as_floatx(H)), H, N)


def dst_update(W, dW, srng, H=1.0, N=1, m=3.0):
    """DST drawing the gate's uniform numbers from ``srng`` (an MRG_RandomStreams)."""
    u = srng.uniform(size=W.shape, dtype=W.dtype)
    return discrete_state_transition(W, dW, u, H, N, m)
