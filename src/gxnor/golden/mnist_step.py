"""The MNIST net with its training function, as the train_step goldens run it: the net of
gxnor.models and the production training function of gxnor.graphs.TrainingGraph, with the
DST draws given (an object stands in for the MRG stream); ``run`` evaluates one update
with every intermediate a port compares (layers, loss, gradients, new state, the
deterministic pass), and ``fragile`` counts the decisions that hang on rounding."""
from __future__ import absolute_import, division, print_function

import math
from collections import OrderedDict

import numpy as np

from .base import V1_SEMANTICS, as_floatx, floatx

__all__ = ['MnistStep', 'mnist_step', 'BIAS_MOMENTS', 'ACT_MARGIN', 'POOL_MARGIN',
           'PRED_MARGIN']

# Initial Adam moments of the biases: |m| log-uniform in [1e-3, 1e-2], m/sqrt(v) in
# [0.5, 1]: the step-2 change of b is then about 1e-3 to 2e-3, whatever the float noise of
# the bias gradients (see build_train_step's notes).
BIAS_MOMENTS = (1e-3, 1e-2, 0.5, 1.0)

ACT_MARGIN = 1e-5         # every pre-activation is this far from every break point
POOL_MARGIN = 1e-5        # every pool window's top-2 gap is 0 or larger than this (relative)
PRED_MARGIN = 1e-4        # every output row's top-2 gap is larger than this


class _GivenUniforms(object):
    """Stands in for MRG_RandomStreams: ``uniform`` returns the given draws of each weight.

    gxnor.dst.dst_update calls ``srng.uniform(size=W.shape, dtype=W.dtype)`` once per discrete
    W; the W is recognised through ``size`` (the Shape of W), else by call order.
    """

    def __init__(self, draws):
        self.draws = draws          # OrderedDict W -> shared u
        self.calls = []
        self.state_updates = []

    def uniform(self, size=None, low=0.0, high=1.0, ndim=None, dtype=None, nstreams=None):
        if low != 0.0 or high != 1.0:
            raise RuntimeError('expected uniform draws in [0, 1)')
        owner = getattr(size, 'owner', None)
        weight = owner.inputs[0] if owner is not None and owner.inputs else None
        if weight not in self.draws:
            weight = list(self.draws)[len(self.calls)]
        self.calls.append(weight)
        return self.draws[weight]


def _layer_kind(layer):
    """conv, dense, pool, bn, act, or the class name (lower case)."""
    import lasagne
    from ..layers import BatchNormLayer, DiscreteActivationLayer
    if isinstance(layer, lasagne.layers.Conv2DLayer):
        return 'conv'
    if isinstance(layer, lasagne.layers.DenseLayer):
        return 'dense'
    if isinstance(layer, BatchNormLayer):
        return 'bn'
    if isinstance(layer, DiscreteActivationLayer):
        return 'act'
    if 'maxpool' in type(layer).__name__.lower():
        return 'pool'
    return type(layer).__name__.lower()


def _layer_names(network):
    """OrderedDict layer -> conv1, pool1, bn1, act1, conv2, ..., dense3, ..., bn4."""
    import lasagne
    names = OrderedDict()
    block = 0
    for layer in lasagne.layers.get_all_layers(network):
        if isinstance(layer, lasagne.layers.InputLayer):
            continue
        kind = _layer_kind(layer)
        if kind in ('conv', 'dense'):
            block += 1
        name = '%s%d' % (kind, block)
        while name in names.values():
            name += '_'
        names[layer] = name
    return names


class MnistStep(object):
    """The MNIST net of models.build_network with TrainingGraph, its DST draws given.

    ``run(state, u, x, targets, lr)`` sets every shared variable, then evaluates the loss,
    every layer's training-mode output and every gradient (without touching the state),
    applies ONE call of the production training function ``TrainingGraph.train``, and
    evaluates the deterministic pass with the new state.
    """

    def __init__(self, config=None, pool_grad=None, adam_constants=None, kernels=None):
        import lasagne
        import theano
        import theano.tensor as T
        from ..experiments import configure
        from ..graphs import graph_from_config, squared_hinge
        from ..layers import discrete_weight_spaces
        from ..models import network_from_config
        self.config = OrderedDict(config or configure('mnist'))
        c = self.config
        if pool_grad is not None:
            c['pool_grad'] = pool_grad
        if adam_constants is not None:
            c['adam_constants'] = adam_constants
        if kernels is not None:
            c['kernels'] = kernels
        self.rule = OrderedDict((k, c[k]) for k in V1_SEMANTICS)
        x = T.tensor4('x')
        targets = T.matrix('targets')
        self.network = network_from_config(c, x)
        self.layer_names = _layer_names(self.network)
        self.param_names = OrderedDict()
        for layer, name in self.layer_names.items():
            for param in layer.get_params():
                self.param_names[param] = '%s.%s' % (name, param.name)
        self.discrete = OrderedDict(
            (W, self.param_names[W]) for W, _ in discrete_weight_spaces(self.network))
        self.draws = OrderedDict(
            (W, theano.shared(np.zeros(W.get_value().shape, dtype=W.dtype),
                              name=name + '.u'))
            for W, name in self.discrete.items())
        srng = _GivenUniforms(self.draws)
        self.graph = graph_from_config(c, self.network, x, srng=srng)
        if len(srng.calls) != len(self.discrete) or set(srng.calls) != set(self.discrete):
            raise RuntimeError('the updates drew uniforms %d times for %d discrete weights'
                               % (len(srng.calls), len(self.discrete)))
        self.state = self._state_variables()

        layers = list(self.layer_names)
        self.trainable = lasagne.layers.get_all_params(self.network, trainable=True)
        outs = lasagne.layers.get_output(layers, deterministic=False)
        loss = squared_hinge(outs[-1], targets)
        grads = T.grad(loss, self.trainable)
        self.probe = theano.function([x, targets], [loss] + grads + outs
                                     + [T.argmax(outs[-1], axis=1)], no_default_updates=True)
        evals = lasagne.layers.get_output(layers, deterministic=True)
        self.evaluate = theano.function([x], evals + [T.argmax(evals[-1], axis=1)])
        # what the margin checks look at: inputs of the activations and of the pools
        self.pre_activation = [layers.index(l.input_layer) for l in layers
                               if _layer_kind(l) == 'act']
        self.pool_input = [layers.index(l.input_layer) for l in layers
                           if _layer_kind(l) == 'pool']

    def _state_variables(self):
        """name -> shared variable: parameters, BN statistics, both Adams' m, v and t."""
        state = OrderedDict((name, param) for param, name in self.param_names.items())
        pending = []
        last = None
        for variable in self.graph.updates.updates:
            if variable in self.param_names:
                if len(pending) != 2:
                    raise RuntimeError('unexpected Adam update layout before %s'
                                       % self.param_names[variable])
                name = self.param_names[variable]
                state[name + '.adam_m'], state[name + '.adam_v'] = pending
                pending = []
                last = variable
            elif variable.ndim == 0:
                which = 'discrete' if last in self.discrete else 'others'
                state['adam_%s.t' % which] = variable
            else:
                pending.append(variable)
        if pending:
            raise RuntimeError('unexpected Adam update layout at the end')
        return state

    def set_state(self, values):
        for name, variable in self.state.items():
            variable.set_value(np.asarray(values[name], dtype=variable.dtype))

    def get_state(self):
        return OrderedDict((name, v.get_value()) for name, v in self.state.items())

    def initial_state(self, rng, bias_moments=False):
        """Lasagne's initial values, except the weights: Uniform(-H, H) on a 1/16 grid; with
        ``bias_moments`` the biases' Adam moments start from a history (see BIAS_MOMENTS)."""
        H = self.config['H']
        values = OrderedDict()
        for name, variable in self.state.items():
            value = variable.get_value()
            if variable in self.discrete:
                value = rng.randint(-16, 17, value.shape) / 16.0 * H
            elif name.endswith('.gamma') or name.endswith('.inv_std'):
                value = np.ones_like(value)
            else:
                value = np.zeros_like(value)
            values[name] = np.asarray(value, dtype=np.float32)
        if bias_moments:
            low, high, ratio_low, ratio_high = BIAS_MOMENTS
            for name in values:
                if name.endswith('.b'):
                    size = values[name].shape
                    m = rng.choice([-1.0, 1.0], size) * 10 ** rng.uniform(
                        math.log10(low), math.log10(high), size)
                    ratio = rng.uniform(ratio_low, ratio_high, size)
                    values[name + '.adam_m'] = m.astype(np.float32)
                    values[name + '.adam_v'] = np.square(m / ratio).astype(np.float32)
        return values

    def run(self, state, u, x, targets, lr):
        self.set_state(state)
        for W, name in self.discrete.items():
            self.draws[W].set_value(np.asarray(u[name], dtype=W.dtype))
        x = as_floatx(x)
        targets = as_floatx(targets)
        probed = self.probe(x, targets)
        loss = self.graph.train(x, targets, as_floatx(lr))
        if abs(float(loss) - float(probed[0])) > 1e-6 * abs(float(loss)):
            raise RuntimeError('probe loss %r != training loss %r' % (probed[0], loss))
        k = len(self.trainable)
        out = OrderedDict(loss=loss)
        out['grads'] = OrderedDict((self.param_names[p], g)
                                   for p, g in zip(self.trainable, probed[1:1 + k]))
        out['layers'] = OrderedDict(zip(self.layer_names.values(), probed[1 + k:-1]))
        out['predictions'] = probed[-1]
        out['state'] = self.get_state()
        evaluated = self.evaluate(x)
        out['eval_layers'] = OrderedDict(zip(self.layer_names.values(), evaluated[:-1]))
        out['eval_predictions'] = evaluated[-1]
        return out

    # ---------------------------------------------------------------- margins
    def break_points(self):
        from ..discretization import activation_thresholds
        c = self.config
        points = []
        for t in activation_thresholds(c['act_r'], c['act_N']):
            points.append(t)
            if c['pulse'] == 'rectangular':
                points.extend([t - c['act_a'], t + c['act_a']])
        return np.array(points)

    def fragile(self, layers):
        """Counts of values too close to a break point / near-tied pool windows / outputs."""
        arrays = list(layers.values())
        points = self.break_points()
        act = 0
        for i in self.pre_activation:
            magnitude = np.abs(arrays[i].astype(np.float64)).ravel()
            act += int(np.sum(np.min(np.abs(magnitude[:, None] - points[None, :]), axis=1)
                              < ACT_MARGIN))
        pool = 0
        for i in self.pool_input:
            a = arrays[i].astype(np.float64)
            b, c, h, w = a.shape
            windows = a[:, :, :h // 2 * 2, :w // 2 * 2].reshape(b, c, h // 2, 2, w // 2, 2)
            windows = np.sort(windows.transpose(0, 1, 2, 4, 3, 5).reshape(-1, 4), axis=1)
            gap = windows[:, 3] - windows[:, 2]
            pool += int(np.sum((gap > 0) & (gap < POOL_MARGIN * np.maximum(1, np.abs(
                windows[:, 3])))))
        out = np.sort(arrays[-1].astype(np.float64), axis=1)
        pred = int(np.sum(out[:, -1] - out[:, -2] < PRED_MARGIN))
        return act, pool, pred


_MACHINES = {}


def mnist_step(pool_grad, adam_constants, kernels=None):
    """The MnistStep of a rule, compiled once per process (``run`` sets the whole state, so
    generating, regenerating and replaying can share it)."""
    key = (pool_grad, adam_constants, kernels, floatx())
    if key not in _MACHINES:
        _MACHINES[key] = MnistStep(pool_grad=pool_grad, adam_constants=adam_constants,
                                   kernels=kernels)
    return _MACHINES[key]
