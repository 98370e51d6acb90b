"""Typical porting mistakes, planted: each re-enacted by a small NumPy re-implementation of
the mistaken primitive, on the golden inputs, for the checker to catch and name.

Used by tests/test_golden.py (the checker in the project's environment) and, as a script,
by tools/check-port-py3.sh (the checker under Python 3 with NumPy alone):

    python tests/planted_mistakes.py GOLDEN_DIR WORK_DIR

plants each mistake in a port folder of its own under WORK_DIR (the golden outputs of the
file it touches, with the mistaken arrays), runs ``python -m gxnor_port check`` on it and
exits 1 unless every one fails with exit status 1, its check FAIL and its hint in the
report. NumPy only; Python 2.7 and 3.
"""
from __future__ import absolute_import, division, print_function

import os
import subprocess
import sys

import numpy as np

from gxnor_port.schema import TRAIN_RULES, load_schema, read_golden


def _load(folder, filename):
    return read_golden(folder, filename)


def _f32(value):
    return np.asarray(value, dtype=np.float32)


def _snap_half_up(W, H, N):
    position = (_f32(W) + np.float32(H)) / np.float32(2 * H) * np.float32(2 ** N)
    return _f32(np.floor(position + np.float32(0.5)) / np.float32(2 ** N) * np.float32(2 * H)
                - np.float32(H))


def _dst_linear_p(W, dW, u, H, N):
    """DST with plain stochastic rounding p = |nu| / L (no tanh), float32."""
    L = np.float32(2.0 * H / 2 ** N)
    direction = np.sign(dW)
    kappa = direction * np.floor(np.abs(dW) / L)
    nu = dW - kappa * L
    p = np.abs(nu) / L
    moved = W + (kappa + direction * (u < p)) * L
    return _snap_half_up(np.clip(moved, -H, H), H, N), _f32(p)


def _batchnorm_sequence(arrays, case, params, average='inv_std', ddof=0):
    """Our own NumPy batch norm with a chosen running statistic and variance."""
    gamma, beta = arrays[case + '/gamma'], arrays[case + '/beta']
    ndim = len(params['shape'])
    axes = tuple(i for i in range(ndim) if i != 1)
    view = lambda v: v.reshape([1, -1] + [1] * (ndim - 2))
    running_mean = np.zeros(params['shape'][1])
    running_var = np.ones(params['shape'][1])
    running_inv = np.ones(params['shape'][1])
    eps, alpha = params['epsilon'], params['alpha']
    out = {}
    for step in range(1, params['steps'] + 1):
        x = arrays['%s/step%d/x' % (case, step)].astype(np.float64)
        mean = x.mean(axis=axes)
        var = x.var(axis=axes, ddof=ddof)
        inv = 1 / np.sqrt(var + eps)
        out['%s/step%d/output' % (case, step)] = _f32((x - view(mean)) * view(gamma * inv)
                                                      + view(beta))
        running_mean = (1 - alpha) * running_mean + alpha * mean
        if average == 'variance':
            running_var = (1 - alpha) * running_var + alpha * var
            running_inv = 1 / np.sqrt(running_var + eps)
        else:
            running_inv = (1 - alpha) * running_inv + alpha * inv
        out['%s/step%d/mean' % (case, step)] = _f32(running_mean)
        out['%s/step%d/inv_std' % (case, step)] = _f32(running_inv)
    x = arrays[case + '/test/x'].astype(np.float64)
    out[case + '/test/output'] = _f32((x - view(running_mean)) * view(gamma * running_inv)
                                      + view(beta))
    return out


def _adam_eps_in_sqrt(arrays, case, steps=3):
    theta = arrays[case + '/theta0'].astype(np.float64)
    lr = float(arrays[case + '/lr'])
    m, v = np.zeros_like(theta), np.zeros_like(theta)
    out = {}
    for t in range(1, steps + 1):
        g = arrays['%s/step%d/grad' % (case, t)].astype(np.float64)
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        theta = theta - lr * np.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t) * m / np.sqrt(v + 1e-8)
        out['%s/step%d/theta' % (case, t)] = _f32(theta)
        out['%s/step%d/m' % (case, t)] = _f32(m)
        out['%s/step%d/v' % (case, t)] = _f32(v)
    return out


def _cross_correlation(x, W, b):
    x, W = x.astype(np.float64), W.astype(np.float64)
    k = W.shape[2]
    rows = x.shape[2] - k + 1
    out = np.zeros((x.shape[0], W.shape[0], rows, rows))
    for f in range(W.shape[0]):
        for i in range(k):
            for j in range(k):
                out[:, f] += np.sum(x[:, :, i:i + rows, j:j + rows] * W[f, :, i, j][None, :, None,
                                                                                     None], axis=1)
    return _f32(out + b.reshape(1, -1, 1, 1))


def _mistake_linear_p(g, schema):
    arrays = _load(g, 'dst.npz')
    out = {}
    for case, p in schema['files']['dst.npz']['cases'].items():
        W, dW, u = [arrays[case + '/' + k] for k in ('W', 'dW', 'u')]
        out[case + '/W_new'], out[case + '/p'] = _dst_linear_p(W, dW, u, p['H'], p['N'])
    return {'dst.npz': out}


def _mistake_bn_variance(g, schema):
    arrays = _load(g, 'batchnorm.npz')
    out = {}
    for case, p in schema['files']['batchnorm.npz']['cases'].items():
        out.update(_batchnorm_sequence(arrays, case, p, average='variance'))
    return {'batchnorm.npz': out}


def _mistake_bn_unbiased(g, schema):
    arrays = _load(g, 'batchnorm.npz')
    out = {}
    for case, p in schema['files']['batchnorm.npz']['cases'].items():
        out.update(_batchnorm_sequence(arrays, case, p, ddof=1))
    return {'batchnorm.npz': out}


def _mistake_conv_flip(g, schema):
    arrays = _load(g, 'train_step.npz')
    return {'train_step.npz': {
        'pool_one/step1/layer/conv1': _cross_correlation(arrays['x'], arrays['init/conv1.W'],
                                                         arrays['init/conv1.b']),
        'pool_one/step2/layer/conv1': _cross_correlation(
            arrays['x'], arrays['pool_one/step1/state/conv1.W'],
            arrays['pool_one/step1/state/conv1.b'])}}


def _mistake_activation_half_even(g, schema):
    """The released expression round(hs(2(x-1)) + hs(2(x+1)) - 1) with np.round (N = 1)."""
    arrays = _load(g, 'activation.npz')
    out = {}
    for case, p in schema['files']['activation.npz']['cases'].items():
        if p['N'] != 1:
            continue
        x, r = arrays[case + '/x'], np.float32(p['r'])
        inner = np.clip(x - r + np.float32(0.5), 0, 1) + np.clip(x + r + np.float32(0.5), 0, 1) - 1
        out[case + '/forward'] = _f32(np.round(inner))
    return {'activation.npz': out}


def _mistake_snap_half_even(g, schema):
    arrays = _load(g, 'snap.npz')
    out = {}
    for case, p in schema['files']['snap.npz']['cases'].items():
        for suffix in ('', '_f32edge'):
            if case + '/W' + suffix in arrays:
                W, H, levels = arrays[case + '/W' + suffix], np.float32(p['H']), 2 ** p['N']
                position = (W + H) / (2 * H) * np.float32(levels)
                out[case + '/snapped' + suffix] = _f32(np.round(position) / levels * (2 * H) - H)
    return {'snap.npz': out}


def _mistake_adam_eps_in_sqrt(g, schema):
    arrays = _load(g, 'adam.npz')
    out = {}
    for case in schema['files']['adam.npz']['cases']:
        out.update(_adam_eps_in_sqrt(arrays, case))
    return {'adam.npz': out}


MISTAKES = [
    (_mistake_linear_p, 'dst', 'p = |nu|/L instead of p = tanh(m |nu|/L)'),
    (_mistake_bn_variance, 'batchnorm', 'the running VARIANCE is averaged'),
    (_mistake_bn_unbiased, 'batchnorm', 'unbiased variance (n - 1)'),
    (_mistake_conv_flip, 'train_step.step1.pool_one', 'cross-correlation instead of '
                                                      'convolution'),
    (_mistake_activation_half_even, 'activation.forward', 'round half to even'),
    (_mistake_snap_half_even, 'snap', 'round half to even at the midpoints'),
    (_mistake_adam_eps_in_sqrt, 'adam', 'epsilon inside the square root'),
]


def _mistake_frozen_biases(g, schema):
    """Biases never updated: after step 2 they are still what step 1 left (every case)."""
    arrays = _load(g, 'train_step.npz')
    out = {}
    for case in TRAIN_RULES:
        for b in ('conv1.b', 'conv2.b', 'dense3.b', 'dense4.b'):
            out['%s/step2/state/%s' % (case, b)] = arrays['%s/step1/state/%s' % (case, b)]
    return {'train_step.npz': out}


# Each (make, the checks that fail, the hint that names it); MISTAKES are tests/test_golden.py's.
# A step-1 mistake of the training step fails step 2 as well (the same mistake in both).
PLANTED = [(make, [check] + ([check.replace('step1', 'step2')] if '.step1.' in check else []),
            hint) for make, check, hint in MISTAKES] + [
    (_mistake_frozen_biases, ['train_step.step2.' + case for case in TRAIN_RULES],
     'the biases conv1.b, conv2.b, dense3.b, dense4.b did not move')]


def plant(golden_dir, folder, make):
    """A port folder holding, for each file the mistake touches, the golden outputs with
    the mistaken arrays."""
    schema = load_schema(golden_dir)
    os.makedirs(folder)
    for filename, replaced in make(golden_dir, schema).items():
        entry = schema['files'][filename]
        outputs = dict((n, a) for n, a in _load(golden_dir, filename).items()
                       if entry['arrays'][n]['role'] == 'output')
        outputs.update(replaced)
        np.savez(os.path.join(folder, filename), **outputs)
    return folder


def _failing_checks(report):
    return [line.split()[1] for line in report.splitlines() if line.startswith('FAIL ')]


def main(argv=None):
    golden_dir, work = (argv or sys.argv[1:])[:2]
    caught = 0
    for make, checks, hint in PLANTED:
        name = make.__name__[len('_mistake_'):]
        port = plant(golden_dir, os.path.join(work, name), make)
        process = subprocess.Popen([sys.executable, '-m', 'gxnor_port', 'check', port,
                                    '--golden', golden_dir], stdout=subprocess.PIPE)
        report = process.communicate()[0].decode('utf-8')
        failing = _failing_checks(report)
        if process.returncode == 1 and failing == checks and hint in report:
            caught += 1
            print('caught and named: %-22s %s' % (name, ', '.join(checks)))
        else:
            print('NOT CAUGHT: %s (exit %s, failing %s, hint %r expected)\n%s'
                  % (name, process.returncode, failing, hint, report))
    print('%d of %d planted mistakes caught and named' % (caught, len(PLANTED)))
    return 0 if caught == len(PLANTED) else 1


if __name__ == '__main__':
    sys.exit(main())
