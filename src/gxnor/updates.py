"""Parameter updates as the released scripts assemble them.

Two Lasagne Adam instances, each with its own step counter: one over the discrete
weights, whose proposed new value only supplies ``dW = adam_new_W - W`` for the DST
(see dst.py), one over every other trainable parameter (biases, batch-norm beta and
gamma), applied as plain Adam. Lasagne's ``adam`` is the same in 0.1 and 0.2:

.. math::

    t \\leftarrow t + 1,\\quad a_t = \\eta \\sqrt{1 - \\beta_2^t} / (1 - \\beta_1^t),\\quad
    m \\leftarrow \\beta_1 m + (1 - \\beta_1) g,\\quad v \\leftarrow \\beta_2 v + (1 - \\beta_2) g^2,
    \\quad \\theta \\leftarrow \\theta - a_t m / (\\sqrt{v} + \\epsilon)

Random search. The released DST update is
``switch(update_type < 100, random_search_branch, dst_branch)`` where ``update_type``
is set by the training loop to 10 after ``patience`` epochs without a new best, else
200. Because ``update_type`` was a Python number when the graph was compiled, the switch
is constant-folded and the random-search branch never runs; its constants (a keep flag
``c`` drawn with probability ``c_prob`` and one random grid state) were drawn once, at
build time, and its "best weights" were the live weights themselves.

* ``random_search='released'`` (default) reproduces that: pure DST on every update.
* ``random_search='live'`` makes the heuristic real, as we read the paper's description
  (our reconstruction): a shared ``update_type``; a snapshot ``W_best`` of the weights
  at the best epoch (the loop calls :meth:`GXNORUpdates.remember_best`); when
  ``update_type < 100`` each weight is kept at ``W_best`` with probability ``c_prob`` and
  otherwise proposed a jump toward a uniformly drawn grid state, the jump being applied
  through the same DST transition; fresh draws on every update.
"""
from __future__ import absolute_import, division, print_function

from collections import OrderedDict

import lasagne
import numpy as np
import theano
import theano.tensor as T

from .discretization import weight_step, _as_floatx
from .dst import dst_update, discrete_state_transition
from .layers import discrete_weight_spaces

__all__ = ['adam', 'GXNORUpdates', 'RANDOM_SEARCH_MODES', 'RANDOM_SEARCH_ON', 'RANDOM_SEARCH_OFF']

RANDOM_SEARCH_MODES = ('released', 'live')
RANDOM_SEARCH_ON = 10     # update_type values the released loop uses
RANDOM_SEARCH_OFF = 200


def adam(grads, params, learning_rate):
    """Lasagne's Adam (beta1 0.9, beta2 0.999, epsilon 1e-8) as an OrderedDict of updates."""
    return lasagne.updates.adam(grads, params, learning_rate=learning_rate)


class GXNORUpdates(object):
    """The update dictionary of one training function, and the state it owns.

    ``updates`` maps every shared variable to its new value: DST for the discrete
    weights, Adam for the other trainable parameters, Adam's own moments and counters.
    ``state`` lists every shared variable the updates carry (for checkpoints).
    """

    def __init__(self, loss, output_layer, learning_rate, srng, m=3.0,
                 random_search='released', c_prob=0.8):
        if random_search not in RANDOM_SEARCH_MODES:
            raise ValueError("random_search must be one of %s, got %r"
                             % (', '.join(RANDOM_SEARCH_MODES), random_search))
        if not 0 <= c_prob <= 1:
            raise ValueError("random-search c_prob must be in [0, 1], got %r" % (c_prob,))
        self.random_search = random_search
        self.update_type = theano.shared(np.int32(RANDOM_SEARCH_OFF), name='update_type')
        self.best = OrderedDict()

        spaces = discrete_weight_spaces(output_layer)
        discrete = [W for W, _ in spaces]
        others = [p for p in lasagne.layers.get_all_params(output_layer, trainable=True)
                  if p not in discrete]

        self.updates = OrderedDict()
        if discrete:
            proposal = adam(T.grad(loss, discrete), discrete, learning_rate)
            for W, (H, N) in spaces:
                dW = proposal[W] - W
                proposal[W] = self._discrete_update(W, dW, H, N, m, srng, c_prob)
            self.updates.update(proposal)
        if others:
            self.updates.update(adam(T.grad(loss, others), others, learning_rate))
        self.discrete_params = discrete
        self.other_params = others

    def _discrete_update(self, W, dW, H, N, m, srng, c_prob):
        dst = dst_update(W, dW, srng, H, N, m)
        if self.random_search == 'released':
            # The released branch is constant-folded away (update_type is a Python
            # number there), so its build-time draws are not made here.
            return dst
        best = theano.shared(W.get_value(), name='%s.best' % (W.name or 'W'),
                             broadcastable=W.broadcastable)
        self.best[W] = best
        states = 2 ** N + 1
        index = T.floor(srng.uniform(size=W.shape, dtype=W.dtype) * states)
        target = T.minimum(index, states - 1) * _as_floatx(weight_step(H, N)) - _as_floatx(H)
        keep = T.lt(srng.uniform(size=W.shape, dtype=W.dtype), _as_floatx(c_prob))
        search_dW = T.switch(keep, 0, target - best)
        u = srng.uniform(size=W.shape, dtype=W.dtype)
        searched = discrete_state_transition(best, search_dW, u, H, N, m)
        return T.switch(T.lt(self.update_type, 100), searched, dst)

    @property
    def state(self):
        """Every shared variable the training function updates or reads as state."""
        variables = list(self.updates.keys())
        variables.extend(v for v in self.best.values() if v not in variables)
        if self.random_search == 'live':
            variables.append(self.update_type)
        return variables

    def set_update_type(self, value):
        self.update_type.set_value(np.int32(value))

    def remember_best(self):
        """Copy the current discrete weights into the random-search snapshot (live mode)."""
        for W, best in self.best.items():
            best.set_value(W.get_value())
