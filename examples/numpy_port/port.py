"""A complete port of GXNOR-Net's arithmetic to plain NumPy, written from the specification.

This is the worked example of docs/porting.md: it reads the golden INPUTS of a golden folder
(results/golden/v2, or v1), computes every output with NumPy alone (no Theano, no gxnor
import) and writes them in the port layout that the checker compares (Python 3 and NumPy
alone; ``make check-port PORT=/tmp/numpy-port`` in the project's environment):

    python3 examples/numpy_port/port.py --golden results/golden/v2 --out /tmp/numpy-port
    PYTHONPATH=src python3 -m gxnor_port check /tmp/numpy-port --golden results/golden/v2

Start a port to another framework by replacing one function at a time (``conv_forward``,
``batchnorm_forward``, ...) with the framework's own and re-running the check.

Precision, as the golden notes ask: everything that decides a discrete value (activation
levels, window edges, snapping, the DST gate, Adam's proposed ``dW``) is float32 in the
order the released formulas use; sums over the batch are float64 (Theano's CPU sums
accumulate float32 in float64 too), and so is the backward pass unless ``--backward
float32`` (as a float32 framework would compute it: it passes as well).

The training step follows each case's rule: ``pool_grad`` 'one' (a 2x2 window's gradient
goes to its first maximum in row-major order) or 'all' (to every element equal to the
maximum); Adam ``constants`` 'float32' (1 - b1 etc. computed in float32: 0.100000024,
0.0009999871) or 'python' (the float32 constants 0.1, 0.001). v1 goldens name no rule:
they are 'all' and 'python'. ``--pool-grad`` / ``--adam-constants`` override the cases
(to see what the checker says about the other rule).

Python 2.7 and 3 (3.8+), NumPy 1.11 to 2.x.
"""
from __future__ import absolute_import, division, print_function

import argparse
import json
import math
import os
import sys
from collections import OrderedDict

import numpy as np

F32 = np.float32


# ============================================================ reading and writing

def load_schema(golden_dir):
    with open(os.path.join(golden_dir, 'schema.json')) as handle:
        return json.load(handle, object_pairs_hook=OrderedDict)


def load_golden(golden_dir, filename, entry):
    """Every array of a golden file by name; names with ``same_as`` in the schema are
    stored once under that other name (v2 stores what two cases share once)."""
    with np.load(os.path.join(golden_dir, filename)) as data:
        arrays = dict((name, data[name]) for name in data.files)
    for name, array in entry['arrays'].items():
        if name not in arrays and array.get('same_as'):
            arrays[name] = arrays[array['same_as']]
    return arrays


def save(out_dir, filename, outputs):
    np.savez(os.path.join(out_dir, filename), **outputs)


# ============================================================ activation phi_r

def activation_forward(x, r, N):
    """phi_r(x) in float32: 0 for |x| < r, else sign(x) min(1, d (floor((|x| - r)/d) + 1))."""
    x = F32(x)
    d = F32(1.0 / 2 ** (N - 1))
    above = np.abs(x) - F32(r)
    level = np.minimum(F32(1), d * (np.floor(above / d) + F32(1)))
    return np.where(above >= 0, np.sign(x) * level, F32(0)).astype(F32)


def pulse(u, a, shape):
    """Unit-area pulse at offset u (float32); the rectangular window is CLOSED."""
    a32 = F32(a)
    if shape == 'rectangular':
        return (np.abs(u) <= a32).astype(F32) * F32(1.0 / (2 * a))
    if shape == 'triangular':
        return np.maximum(F32(0), F32(1) - np.abs(u) / a32) * F32(1.0 / a)
    if shape == 'gaussian':
        return np.exp(-np.square(u) / F32(2 * a * a)) * F32(1.0 / (a * math.sqrt(2 * math.pi)))
    if shape == 'exponential':
        return np.exp(-np.abs(u) / a32) * F32(1.0 / (2 * a))
    raise ValueError('unknown pulse shape %r' % (shape,))


def activation_derivative(x, r, a, N, shape):
    """sum_j d pulse_a(|x| - t_j), t_j = r + j d, with |x| - t_j in float32."""
    x = F32(x)
    d = 1.0 / 2 ** (N - 1)
    total = np.zeros_like(x)
    for j in range(2 ** (N - 1)):
        total = total + pulse(np.abs(x) - F32(r + j * d), a, shape)
    return (total * F32(d)).astype(F32)


def port_activation(cases, golden):
    out = OrderedDict()
    for case, p in cases.items():
        for suffix in ('', '_f32edge'):
            if case + '/x' + suffix not in golden:
                continue
            x = golden[case + '/x' + suffix]
            out[case + '/forward' + suffix] = activation_forward(x, p['r'], p['N'])
            out[case + '/derivative' + suffix] = activation_derivative(x, p['r'], p['a'],
                                                                       p['N'], p['shape'])
    return out


# ============================================================ weight grid

def round_half_away(value):
    return np.sign(value) * np.floor(np.abs(value) + F32(0.5))


def snap(W, H, N):
    """round((W + H)/(2H) 2^N)/2^N 2H - H, float32, round half away from zero."""
    levels = F32(2 ** N)
    position = round_half_away((F32(W) + F32(H)) / F32(2 * H) * levels)
    return (position / levels * F32(2 * H) - F32(H)).astype(F32)


def port_snap(cases, golden):
    out = OrderedDict()
    for case, p in cases.items():
        for suffix in ('', '_f32edge'):
            if case + '/W' + suffix in golden:
                out[case + '/snapped' + suffix] = snap(golden[case + '/W' + suffix],
                                                       p['H'], p['N'])
    return out


# ============================================================ discrete state transition

def dst(W, dW, u, H, N, m):
    """(W_new, kappa, nu, p) in float32; gate u < p (strict)."""
    W, dW, u = F32(W), F32(dW), F32(u)
    L = F32(2.0 * H / 2 ** N)
    direction = np.sign(dW)
    kappa = direction * np.floor(np.abs(dW) / L)
    nu = dW - kappa * L
    ratio = np.abs(nu) / L
    p = ratio if m is None else np.tanh(F32(m) * ratio)
    gate = (u < p).astype(F32)
    moved = W + (kappa + direction * gate) * L
    return snap(np.clip(moved, F32(-H), F32(H)), H, N), kappa, nu, p.astype(F32)


def port_dst(cases, golden):
    out = OrderedDict()
    for case, p in cases.items():
        W, dW, u = (golden[case + '/' + k] for k in ('W', 'dW', 'u'))
        values = dst(W, dW, u, p['H'], p['N'], p['m'])
        for key, value in zip(('W_new', 'kappa', 'nu', 'p'), values):
            out[case + '/' + key] = value
    return out


# ============================================================ batch norm (Lasagne 0.2)

def _channel_view(vector, ndim):
    return vector.reshape([1, -1] + [1] * (ndim - 2))


def batch_statistics(x, epsilon):
    """Batch mean and inv_std = 1/sqrt(biased var + eps), per axis-1 channel, float32
    (sums accumulated in float64)."""
    axes = (0,) + tuple(range(2, x.ndim))
    mean = F32(x.astype(np.float64).mean(axis=axes))
    centred = x - _channel_view(mean, x.ndim)
    var = F32(np.square(centred).astype(np.float64).mean(axis=axes))
    inv_std = F32(1) / np.sqrt(var + F32(epsilon))
    return mean, inv_std


def batchnorm_apply(x, mean, inv_std, gamma, beta):
    n = x.ndim
    return ((x - _channel_view(mean, n)) * _channel_view(F32(gamma) * inv_std, n)
            + _channel_view(F32(beta), n)).astype(F32)


def running_average(running, batch, alpha):
    """r = (1 - alpha) r + alpha r_batch, float32."""
    return (F32(1 - alpha) * running + F32(alpha) * batch).astype(F32)


def port_batchnorm(cases, golden):
    out = OrderedDict()
    for case, p in cases.items():
        gamma, beta = golden[case + '/gamma'], golden[case + '/beta']
        channels = p['shape'][1]
        mean, inv_std = np.zeros(channels, F32), np.ones(channels, F32)
        for k in range(1, p['steps'] + 1):
            prefix = '%s/step%d/' % (case, k)
            x = F32(golden[prefix + 'x'])
            batch_mean, batch_inv_std = batch_statistics(x, p['epsilon'])
            out[prefix + 'output'] = batchnorm_apply(x, batch_mean, batch_inv_std, gamma, beta)
            mean = running_average(mean, batch_mean, p['alpha'])
            inv_std = running_average(inv_std, batch_inv_std, p['alpha'])
            out[prefix + 'mean'], out[prefix + 'inv_std'] = mean, inv_std
        out[case + '/test/output'] = batchnorm_apply(F32(golden[case + '/test/x']), mean,
                                                     inv_std, gamma, beta)
    return out


# ============================================================ Adam (Lasagne)

class Adam(object):
    """Lasagne's Adam in float32: t += 1; a_t = lr sqrt(1 - b2^t)/(1 - b1^t);
    m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2; theta -= a_t m/(sqrt(v) + eps).

    ``constants='float32'``: 1 - b1 and 1 - b2 are float32 subtractions (Lasagne 0.2.dev1
    of 2016-06); ``'python'``: the float32 constants 0.1 and 0.001 (Lasagne 0.1). Both
    compute 1 - b^t in float32.
    """

    def __init__(self, constants='float32', beta1=0.9, beta2=0.999, epsilon=1e-8):
        if constants not in ('float32', 'python'):
            raise ValueError("Adam constants must be 'float32' or 'python', got %r"
                             % (constants,))
        self.b1, self.b2, self.eps = F32(beta1), F32(beta2), F32(epsilon)
        if constants == 'float32':
            self.c1, self.c2 = F32(1) - self.b1, F32(1) - self.b2
        else:
            self.c1, self.c2 = F32(1 - beta1), F32(1 - beta2)

    def step(self, theta, g, m, v, t, lr):
        """(new theta, m, v, t) for one step; everything float32."""
        t = F32(t) + F32(1)
        a_t = F32(lr) * np.sqrt(F32(1) - self.b2 ** t) / (F32(1) - self.b1 ** t)
        m = (self.b1 * F32(m) + self.c1 * F32(g)).astype(F32)
        v = (self.b2 * F32(v) + self.c2 * np.square(F32(g))).astype(F32)
        theta = (F32(theta) - a_t * m / (np.sqrt(v) + self.eps)).astype(F32)
        return theta, m, v, t


def port_adam(cases, golden, constants=None):
    out = OrderedDict()
    for case, p in cases.items():
        adam = Adam(constants or p.get('constants', 'python'), p['beta1'], p['beta2'],
                    p['epsilon'])
        theta = golden[case + '/theta0']
        m, v, t = np.zeros_like(theta), np.zeros_like(theta), F32(0)
        for k in range(1, p['steps'] + 1):
            prefix = '%s/step%d/' % (case, k)
            theta, m, v, t = adam.step(theta, golden[prefix + 'grad'], m, v, t,
                                       golden[case + '/lr'])
            out[prefix + 'theta'], out[prefix + 'm'], out[prefix + 'v'] = theta, m, v
            out[prefix + 't'] = F32(t)
    return out


# ============================================================ the MNIST net

def correlate(x, W, dtype=np.float64):
    """'valid' cross-correlation: out[b, f, i, j] = sum x[b, c, i+u, j+v] W[f, c, u, v]."""
    x, W = np.asarray(x, dtype), np.asarray(W, dtype)
    rows, cols = x.shape[2] - W.shape[2] + 1, x.shape[3] - W.shape[3] + 1
    out = np.zeros((x.shape[0], rows, cols, W.shape[0]), dtype)
    for u in range(W.shape[2]):
        for v in range(W.shape[3]):
            out += np.tensordot(x[:, :, u:u + rows, v:v + cols], W[:, :, u, v], axes=([1], [1]))
    return out.transpose(0, 3, 1, 2)


def conv_forward(x, W, b):
    """Theano / Lasagne convolution (filters flipped), 'valid', plus the bias per channel."""
    return F32(correlate(x, W[:, :, ::-1, ::-1]) + b.reshape(1, -1, 1, 1))


def conv_backward(x, W, grad_out, dtype=np.float64):
    """(dx, dW, db) of conv_forward."""
    k = W.shape[2]
    flipped_dW = np.zeros(W.shape, dtype)
    rows, cols = grad_out.shape[2], grad_out.shape[3]
    x64 = np.asarray(x, dtype)
    for u in range(k):
        for v in range(k):
            flipped_dW[:, :, u, v] = np.tensordot(grad_out, x64[:, :, u:u + rows, v:v + cols],
                                                  axes=([0, 2, 3], [0, 2, 3]))
    padded = np.pad(grad_out, ((0, 0), (0, 0), (k - 1, k - 1), (k - 1, k - 1)), 'constant')
    dx = correlate(padded, np.asarray(W, dtype).transpose(1, 0, 2, 3), dtype)
    return dx, flipped_dW[:, :, ::-1, ::-1], grad_out.sum(axis=(0, 2, 3))


def _windows(x):
    b, c, h, w = x.shape
    return x[:, :, :h // 2 * 2, :w // 2 * 2].reshape(b, c, h // 2, 2, w // 2, 2) \
        .transpose(0, 1, 2, 4, 3, 5).reshape(b, c, h // 2, w // 2, 4)


def pool_forward(x):
    return _windows(x).max(axis=-1)


def pool_backward(x, grad_out, rule, dtype=np.float64):
    """Gradient of a 2x2 max pool: to every element equal to the window's maximum
    ('all', Theano's CPU op) or to the first maximum in row-major order ('one')."""
    windows = _windows(x)
    hit = windows == windows.max(axis=-1)[..., None]
    if rule == 'one':
        first = np.argmax(hit, axis=-1)
        hit = np.arange(4) == first[..., None]
    elif rule != 'all':
        raise ValueError("pool_grad must be 'one' or 'all', got %r" % (rule,))
    spread = hit * np.asarray(grad_out, dtype)[..., None]
    b, c, h, w = x.shape
    grad = np.zeros((b, c, h, w), dtype)
    grad[:, :, :h // 2 * 2, :w // 2 * 2] = spread.reshape(b, c, h // 2, w // 2, 2, 2) \
        .transpose(0, 1, 2, 4, 3, 5).reshape(b, c, h // 2 * 2, w // 2 * 2)
    return grad


def batchnorm_backward(x, inv_std, gamma, grad_out, dtype=np.float64):
    """(dx, dgamma, dbeta) through the batch statistics."""
    axes = (0,) + tuple(range(2, x.ndim))
    view = lambda vector: _channel_view(np.asarray(vector, dtype), x.ndim)
    x64 = np.asarray(x, dtype)
    centred = (x64 - view(x64.mean(axis=axes))) * view(inv_std)
    dbeta = grad_out.sum(axis=axes)
    dgamma = (grad_out * centred).sum(axis=axes)
    dx = view(np.asarray(gamma, dtype) * inv_std) * (
        grad_out - view(grad_out.mean(axis=axes)) - centred * view((grad_out * centred)
                                                                   .mean(axis=axes)))
    return dx, dgamma, dbeta


LAYERS = ('conv1', 'pool1', 'bn1', 'act1', 'conv2', 'pool2', 'bn2', 'act2',
          'dense3', 'bn3', 'act3', 'dense4', 'bn4')


class MnistNet(object):
    """Conv 32@5x5 - pool - BN - act - Conv 64@5x5 - pool - BN - act - Dense 512 - BN - act -
    Dense 10 - BN, with the configuration of the golden case (cases.step.config)."""

    def __init__(self, config, pool_grad='all', adam_constants='python', backward=np.float64):
        self.c = config
        self.pool_grad = pool_grad
        self.adam = Adam(adam_constants)
        self.dtype = backward         # of the backward pass

    def _act(self, x):
        return activation_forward(x, self.c['act_r'], self.c['act_N'])

    def _act_grad(self, x):
        c = self.c
        return activation_derivative(x, c['act_r'], c['act_a'], c['act_N'], c['pulse'])

    def forward(self, s, x, deterministic=False):
        """Every layer's output (float32) and the batch statistics of each BN."""
        eps = self.c['bn_epsilon']
        out, stats = OrderedDict(), OrderedDict()

        def bn(name, h):
            if deterministic:
                mean, inv_std = s[name + '.mean'], s[name + '.inv_std']
            else:
                mean, inv_std = batch_statistics(h, eps)
            stats[name] = (mean, inv_std)
            return batchnorm_apply(h, mean, inv_std, s[name + '.gamma'], s[name + '.beta'])

        h = out['conv1'] = conv_forward(x, s['conv1.W'], s['conv1.b'])
        h = out['pool1'] = pool_forward(h)
        h = out['bn1'] = bn('bn1', h)
        h = out['act1'] = self._act(h)
        h = out['conv2'] = conv_forward(h, s['conv2.W'], s['conv2.b'])
        h = out['pool2'] = pool_forward(h)
        h = out['bn2'] = bn('bn2', h)
        h = out['act2'] = self._act(h)
        h = out['dense3'] = F32(np.dot(h.reshape(len(h), -1).astype(np.float64),
                                       s['dense3.W']) + s['dense3.b'])
        h = out['bn3'] = bn('bn3', h)
        h = out['act3'] = self._act(h)
        h = out['dense4'] = F32(np.dot(h.astype(np.float64), s['dense4.W']) + s['dense4.b'])
        out['bn4'] = bn('bn4', h)
        return out, stats

    def backward(self, s, x, out, stats, targets):
        """Loss and the gradient of every trainable parameter (in self.dtype)."""
        dt = self.dtype
        y = out['bn4'].astype(dt)
        t = np.asarray(targets, dt)
        margin = np.maximum(0, 1 - t * y)
        loss = np.mean(np.square(margin))
        g = -2 * t * margin / y.size
        grads = OrderedDict()

        def bn_back(name, pre, g):
            dx, grads[name + '.gamma'], grads[name + '.beta'] = batchnorm_backward(
                pre, stats[name][1], s[name + '.gamma'], g, dt)
            return dx

        g = bn_back('bn4', out['dense4'], g)
        grads['dense4.W'] = np.dot(out['act3'].T.astype(dt), g)
        grads['dense4.b'] = g.sum(axis=0)
        g = np.dot(g, np.asarray(s['dense4.W'], dt).T) * self._act_grad(out['bn3'])
        g = bn_back('bn3', out['dense3'], g)
        flat = out['act2'].reshape(len(x), -1).astype(dt)
        grads['dense3.W'] = np.dot(flat.T, g)
        grads['dense3.b'] = g.sum(axis=0)
        g = np.dot(g, np.asarray(s['dense3.W'], dt).T).reshape(out['act2'].shape)
        g = g * self._act_grad(out['bn2'])
        g = bn_back('bn2', out['pool2'], g)
        g = pool_backward(out['conv2'], g, self.pool_grad, dt)
        g, grads['conv2.W'], grads['conv2.b'] = conv_backward(out['act1'], s['conv2.W'], g, dt)
        g = g * self._act_grad(out['bn1'])
        g = bn_back('bn1', out['pool1'], g)
        g = pool_backward(out['conv1'], g, self.pool_grad, dt)
        _, grads['conv1.W'], grads['conv1.b'] = conv_backward(x, s['conv1.W'], g, dt)
        return loss, grads

    def train_step(self, state, x, targets, u, lr, discrete, trainable):
        """One update: DST for the discrete W (dW from their Adam), Adam for the rest,
        running BN statistics; returns what the golden step records."""
        out, stats = self.forward(state, x)
        loss, grads = self.backward(state, x, out, stats, targets)
        new = OrderedDict(state)
        for group, names in (('discrete', discrete),
                             ('others', [n for n in trainable if n not in discrete])):
            counter = 'adam_%s.t' % group
            for name in names:
                theta, m, v, t = self.adam.step(state[name], F32(grads[name]),
                                                state[name + '.adam_m'],
                                                state[name + '.adam_v'], state[counter], lr)
                new[name + '.adam_m'], new[name + '.adam_v'] = m, v
                if name in discrete:
                    dW = (theta - F32(state[name])).astype(F32)     # adam_new_W - W
                    theta = dst(state[name], dW, u[name], self.c['H'], self.c['N'],
                                self.c['m'])[0]
                new[name] = theta
            new[counter] = F32(t)
        for name, (mean, inv_std) in stats.items():
            alpha = self.c['bn_alpha']
            new[name + '.mean'] = running_average(state[name + '.mean'], mean, alpha)
            new[name + '.inv_std'] = running_average(state[name + '.inv_std'], inv_std, alpha)
        evaluated, _ = self.forward(new, x, deterministic=True)
        return OrderedDict([('loss', F32(loss)), ('layers', out),
                            ('predictions', np.argmax(out['bn4'], axis=1)),
                            ('grads', OrderedDict((n, F32(grads[n])) for n in trainable)),
                            ('state', new), ('eval_output', evaluated['bn4']),
                            ('eval_predictions', np.argmax(evaluated['bn4'], axis=1))])


def train_step_rules(cases):
    """(prefix, pool_grad, adam_constants) per case: v2 names a rule per case; v1 has one
    unnamed case computed with 'all' and 'python'."""
    rules = [(name + '/', p['pool_grad'], p['adam_constants'])
             for name, p in cases.items() if name != 'step']
    return rules or [('', 'all', 'python')]


def port_train_step(cases, golden, pool_grad=None, adam_constants=None, backward=np.float64):
    step = cases['step']
    config = step['config']
    if config.get('architecture') != 'mnist' or config.get('random_search') != 'released':
        raise ValueError('this port covers the released MNIST configuration only')
    out = OrderedDict()
    for prefix, case_pool, case_constants in train_step_rules(cases):
        net = MnistNet(config, pool_grad or case_pool, adam_constants or case_constants,
                       backward)
        state = OrderedDict((name, golden['init/' + name]) for name in step['state'])
        for k, lr in enumerate(step['lr'], 1):
            u = dict((name, golden['u/step%d/%s' % (k, name)]) for name in step['discrete'])
            result = net.train_step(state, F32(golden['x']), golden['targets'], u,
                                    golden['lr/step%d' % k], step['discrete'], step['trainable'])
            head = '%sstep%d/' % (prefix, k)
            out[head + 'loss'] = result['loss']
            for name, value in result['layers'].items():
                out[head + 'layer/' + name] = value
            out[head + 'predictions'] = result['predictions']
            for name, value in result['grads'].items():
                out[head + 'grad/' + name] = value
            for name, value in result['state'].items():
                out[head + 'state/' + name] = F32(value)
            out[head + 'eval/output'] = result['eval_output']
            out[head + 'eval/predictions'] = result['eval_predictions']
            # the next step starts from the GOLDEN state after this one (where it exists)
            golden_state = [head + 'state/' + name for name in step['state']]
            if all(name in golden for name in golden_state):
                state = OrderedDict((name, golden[head + 'state/' + name])
                                    for name in step['state'])
            else:
                state = result['state']
    return out


# ============================================================ command line

PORTS = OrderedDict([('activation.npz', port_activation), ('snap.npz', port_snap),
                     ('dst.npz', port_dst), ('batchnorm.npz', port_batchnorm),
                     ('adam.npz', port_adam), ('train_step.npz', port_train_step)])


def run(golden_dir, out_dir, only=None, pool_grad=None, adam_constants=None,
        backward='float64', stream=None):
    stream = stream or sys.stdout
    schema = load_schema(golden_dir)
    if not os.path.isdir(out_dir):
        os.makedirs(out_dir)
    for filename, entry in schema['files'].items():
        if filename not in PORTS or (only and filename.split('.')[0] not in only):
            continue
        golden = load_golden(golden_dir, filename, entry)
        if filename == 'train_step.npz':
            outputs = port_train_step(entry['cases'], golden, pool_grad, adam_constants,
                                      np.dtype(backward).type)
        elif filename == 'adam.npz':
            outputs = port_adam(entry['cases'], golden, adam_constants)
        else:
            outputs = PORTS[filename](entry['cases'], golden)
        save(out_dir, filename, outputs)
        stream.write('numpy port: %s (%d arrays)\n' % (filename, len(outputs)))
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description='GXNOR-Net in NumPy: compute the golden '
                                                 'outputs from the golden inputs.')
    parser.add_argument('--golden', required=True, help='golden folder, e.g. results/golden/v2')
    parser.add_argument('--out', required=True, help='port folder to write')
    parser.add_argument('--only', help='comma-separated subset: activation,snap,dst,'
                                       'batchnorm,adam,train_step')
    parser.add_argument('--pool-grad', choices=('one', 'all'),
                        help='override the max-pool gradient rule of every case')
    parser.add_argument('--adam-constants', choices=('float32', 'python'),
                        help='override the Adam constants of every case')
    parser.add_argument('--backward', choices=('float64', 'float32'), default='float64',
                        help='precision of the backward pass (float32: as a float32 '
                             'framework sums; both pass)')
    args = parser.parse_args(argv)
    only = [s.strip() for s in args.only.split(',')] if args.only else None
    return run(args.golden, args.out, only, args.pool_grad, args.adam_constants, args.backward)


if __name__ == '__main__':
    sys.exit(main())
