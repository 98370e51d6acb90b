"""train_step.npz: two updates of the MNIST net on a fixed 16-image batch with fixed DST
draws, once per max-pool gradient rule (cases pool_one, pool_all). The batch and the
initial weights are searched so that no decision hangs on float rounding; each output's
tolerance is derived from what float32 implementations can differ by (gradients: the
block's scale; biases after step 2: what the gradient tolerance lets through Adam)."""
from __future__ import absolute_import, division, print_function

import math
from collections import OrderedDict

import numpy as np

from gxnor_port.schema import TRAIN_RULES, GoldenFile, close, exact

from .base import (EXACT_DISCRETE, F32, V1_SEMANTICS, cast32, default_adam_constants,
                   scaled)
from .mnist_step import (ACT_MARGIN, BIAS_MOMENTS, POOL_MARGIN, PRED_MARGIN, mnist_step)

__all__ = ['build_train_step', 'compute_train_step', 'rule_cases', 'BIAS_SPREAD',
           'STEP_BATCH', 'STEP_LRS']

STEP_BATCH = 16
POOL_RULE_TEXT = {
    'one': 'a 2x2 max-pool window\'s gradient goes to its first maximum in row-major order '
           '(cuDNN, PyTorch, Caffe)',
    'all': 'a 2x2 max-pool window\'s gradient goes to every element equal to its maximum '
           '(Theano 0.8.2 CPU)'}
# b after step 2: the largest deviation from the goldens measured for correct
# implementations (the NumPy example port with a float64 or float32 backward pass and
# either Adam constants, this code in float64; docs/porting.md "The bias tolerance") was
# 3.2e-8; the tolerance is never below 10x that, and is otherwise what the gradient
# tolerance lets through (_bias_tolerance).
BIAS_SPREAD = 3.2e-8
STEP_LRS = (0.0, 0.01)
STEP_SEED = 1001          # first seed tried for the batch; see _search_train_step
STEP_SEARCH = 400
U_DELTA = 1e-4            # shifting any u by this much changes no gate
SIGN_MARGIN = 1e-4        # |Adam m| below this x max|m| of its tensor: u set to U_SAFE
U_SAFE = np.float32(0.999)  # above tanh(3) = 0.995: such a gate never fires


def _train_batch(seed, size=STEP_BATCH):
    """MNIST-like synthetic images: background -1, 35% of pixels in {-0.5, 0, 0.5, 1}."""
    rng = np.random.RandomState(seed)
    x = -np.ones((size, 1, 28, 28))
    ink = rng.rand(*x.shape) < 0.35
    x[ink] = rng.choice([-0.5, 0.0, 0.5, 1.0], ink.sum())
    labels = rng.randint(0, 10, size).astype(np.int64)
    return x.astype(np.float32), labels, rng


def _targets(labels):
    from ..datasets import hinge_targets
    return hinge_targets(labels)


def _draw_u(machine, rng):
    return OrderedDict((name, rng.rand(*W.get_value().shape).astype(np.float32))
                       for W, name in machine.discrete.items())


def _stabilise_u(machines, states, u, x, targets, lr):
    """Set u to U_SAFE where, for any of the machines (each from its own state), the gate
    is within U_DELTA of p or the direction is fragile."""
    top = np.float32(1 - 2 ** -24)
    changed = OrderedDict((name, np.zeros(v.shape, bool)) for name, v in u.items())
    for machine, state in zip(machines, states):
        reference = machine.run(state, u, x, targets, lr)
        for shift in (-U_DELTA, U_DELTA):
            shifted = OrderedDict((name, np.clip(v + shift, 0, top).astype(np.float32))
                                  for name, v in u.items())
            moved = machine.run(state, shifted, x, targets, lr)['state']
            for name in u:
                changed[name] |= moved[name] != reference['state'][name]
        for name in u:
            m = reference['state'][name + '.adam_m']
            changed[name] |= np.abs(m) <= SIGN_MARGIN * np.max(np.abs(m))
    stable = OrderedDict()
    for name, value in u.items():
        value = value.copy()
        value[changed[name]] = U_SAFE
        stable[name] = value
    return stable


def _search_train_step(machines, first_seed=STEP_SEED, attempts=STEP_SEARCH,
                       bias_moments=False):
    """The first seed whose batch and initial weights leave every decision a clear margin
    for every machine (one per rule; the forward passes are the same for all)."""
    if not isinstance(machines, (list, tuple)):
        machines = [machines]
    for seed in range(first_seed, first_seed + attempts):
        x, labels, rng = _train_batch(seed)
        targets = _targets(labels)
        init = machines[0].initial_state(rng, bias_moments)
        u1 = OrderedDict((name, np.full(v.shape, 0.5, np.float32))
                         for name, v in _draw_u(machines[0], rng).items())
        u2 = _draw_u(machines[0], rng)
        step1 = [machine.run(init, u1, x, targets, STEP_LRS[0]) for machine in machines]
        if any(sum(machine.fragile(out['layers'])) or sum(machine.fragile(out['eval_layers']))
               for machine, out in zip(machines, step1)):
            continue
        u2 = _stabilise_u(machines, [out['state'] for out in step1], u2, x, targets,
                          STEP_LRS[1])
        fragile = False
        for machine, out in zip(machines, step1):
            step2 = machine.run(out['state'], u2, x, targets, STEP_LRS[1])
            fragile = fragile or sum(machine.fragile(step2['layers'])) or \
                sum(machine.fragile(step2['eval_layers'])) or \
                _fragile_adam(step2, list(machine.discrete.values()))
        if fragile:
            continue
        return seed, x, labels, init, u1, u2
    raise RuntimeError('no batch with clear margins in seeds %d..%d'
                       % (first_seed, first_seed + attempts - 1))


def _fragile_adam(step, discrete):
    """Non-discrete parameters whose Adam direction hangs on a near-zero gradient."""
    for name in step['grads']:
        if name in discrete or name.endswith('.b'):
            continue    # discrete: u set to U_SAFE; b: see BIAS_MOMENTS
        m = step['state'][name + '.adam_m']
        if np.any((np.abs(m) > 0) & (np.abs(m) <= SIGN_MARGIN * np.max(np.abs(m)))):
            return True
    return False


def _step_config(machine, seed):
    c = machine.config
    keys = ('architecture', 'discrete', 'H', 'N', 'm', 'act_r', 'act_a', 'act_N', 'pulse',
            'bn_epsilon', 'bn_alpha', 'random_search')
    config = OrderedDict((k, c[k]) for k in keys)
    return OrderedDict([('config', config), ('batch_size', STEP_BATCH),
                        ('lr', list(STEP_LRS)), ('batch_seed', seed),
                        ('layers', list(machine.layer_names.values())),
                        ('state', list(machine.state)),
                        ('trainable', [machine.param_names[p] for p in machine.trainable]),
                        ('discrete', list(machine.discrete.values())),
                        ('margins', OrderedDict([
                            ('pre_activation', ACT_MARGIN), ('pool_top2_relative', POOL_MARGIN),
                            ('prediction_top2', PRED_MARGIN), ('u_shift', U_DELTA),
                            ('adam_m_relative', SIGN_MARGIN)]))])


def rule_cases(cases):
    """[(prefix, rule)] of a train_step file: v2 names one case per rule ('pool_one/',
    {'pool_grad': 'one', 'adam_constants': ...}); v1 has one unnamed case, computed before
    the rules were settings (pool_grad 'all', Adam constants 'python')."""
    named = [(name + '/', OrderedDict((k, p[k]) for k in V1_SEMANTICS))
             for name, p in cases.items() if name != 'step']
    return named or [('', OrderedDict(V1_SEMANTICS))]


def compute_train_step(cases, inputs, machines=None, kernels=None):
    """Both steps of every rule case from the golden inputs; step 2 starts from the GOLDEN
    state after step 1 when ``inputs`` holds it (replay), else from the state this code
    computed. ``machines``: prefix -> MnistStep (made from the cases when not given)."""
    x, targets = inputs['x'], inputs['targets']
    result = OrderedDict()
    for prefix, rule in rule_cases(cases):
        machine = (machines or {}).get(prefix) or mnist_step(kernels=kernels, **rule)
        state = OrderedDict((name, inputs['init/' + name]) for name in machine.state)
        for k, lr in enumerate(cases['step']['lr'], 1):
            u = OrderedDict((name, inputs['u/step%d/%s' % (k, name)])
                            for name in machine.discrete.values())
            out = machine.run(state, u, x, targets, lr)
            head = '%sstep%d/' % (prefix, k)
            result[head + 'loss'] = cast32(out['loss'])
            for name, value in out['layers'].items():
                result[head + 'layer/' + name] = cast32(value)
            result[head + 'predictions'] = np.asarray(out['predictions'], np.int64)
            for name, value in out['grads'].items():
                result[head + 'grad/' + name] = cast32(value)
            for name, value in out['state'].items():
                if k > 1 and not prefix and (name.endswith('.adam_m') or
                                             name.endswith('.adam_v')):
                    continue    # v1 left the step-2 moments out
                result[head + 'state/' + name] = cast32(value)
            result[head + 'eval/output'] = cast32(list(out['eval_layers'].values())[-1])
            result[head + 'eval/predictions'] = np.asarray(out['eval_predictions'], np.int64)
            golden_next = OrderedDict((name, inputs.get(head + 'state/' + name))
                                      for name in machine.state)
            if all(v is not None for v in golden_next.values()):
                state = golden_next
            else:
                state = out['state']
    return result


def _block(name):
    """'conv1.W' -> 'conv1' block number '1'; 'adam_discrete.t' -> None."""
    head = name.split('.')[0]
    digits = ''.join(ch for ch in head if ch.isdigit())
    return digits or None


def _bias_steps(outputs):
    """(smallest, largest) |b after step 2 - b after step 1| over every bias and case."""
    steps = [np.abs(value.astype(np.float64) - outputs[name.replace('step2/', 'step1/')])
             for name, value in outputs.items()
             if '/step2/state/' in '/' + name and name.endswith('.b')]
    steps = np.concatenate([s.ravel() for s in steps])
    return float(steps.min()), float(steps.max())

def _first_check(step=1):
    return 'train_step.step%d.%s' % (step, list(TRAIN_RULES)[0])


def _same_bytes(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def build_train_step():
    gf = GoldenFile('train_step.npz', 'train_step',
                    'Two updates of the MNIST net (models.build_network(\'mnist\'), released '
                    'hyperparameters) by the production training function '
                    'graphs.TrainingGraph.train, with the DST draws given (an object standing '
                    'in for the MRG stream returns u/stepK/<W> for each discrete W), once per '
                    'rule case (%s): the case names its max-pool gradient rule (pool_grad) '
                    'and Adam constants. Step 1: LR = 0 from the initial state (snaps W onto '
                    'the grid, advances both Adams and the batch-norm statistics). Step 2: '
                    'LR = 0.01 from the golden state after step 1 of the same case '
                    '(<case>/step1/state/*): start a port\'s step 2 from those arrays, not '
                    'from its own step 1. Loss, layer outputs and gradients are those of the '
                    'state before the step; state/* is after it; eval/* is the deterministic '
                    'pass after it. Inputs (x, targets, init/*, u/*, lr/*) are shared by the '
                    'cases.' % ', '.join(TRAIN_RULES))
    adam_constants = default_adam_constants()
    machines = OrderedDict((case + '/', mnist_step(pool, adam_constants))
                           for case, pool in TRAIN_RULES.items())
    first = list(machines.values())[0]
    seed, x, labels, init, u1, u2 = _search_train_step(list(machines.values()),
                                                       bias_moments=True)
    gf.cases['step'] = _step_config(first, seed)
    for case, pool in TRAIN_RULES.items():
        gf.cases[case] = OrderedDict([
            ('pool_grad', pool), ('adam_constants', adam_constants),
            ('checks', ['train_step.step%d.%s' % (k, case) for k in (1, 2)]),
            ('rule', POOL_RULE_TEXT[pool])])
    inputs = OrderedDict([('x', x), ('labels', labels), ('targets', _targets(labels))])
    for name, value in init.items():
        inputs['init/' + name] = value
    for k, u in ((1, u1), (2, u2)):
        for name, value in u.items():
            inputs['u/step%d/%s' % (k, name)] = value
    for k, lr in enumerate(STEP_LRS, 1):
        inputs['lr/step%d' % k] = np.float32(lr)
    outputs = compute_train_step(gf.cases, inputs, machines)

    gf.input('x', x, 'input images (B, 1, 28, 28) in [-1, 1]: background -1, 35% of pixels in '
             '{-0.5, 0, 0.5, 1}', _first_check())
    gf.input('labels', labels, 'class labels', _first_check())
    gf.input('targets', inputs['targets'], 'hinge targets: +1 at the label, -1 elsewhere',
             _first_check())
    for name, value in init.items():
        meaning = ('state before step 1, one array per name of <case>/step1/state/<state> '
                   '(cases.step.state): Lasagne\'s initial values (b = beta = mean = 0, '
                   'gamma = inv_std = 1, Adam m = v = t = 0) but W: Uniform(-1, 1) on a 1/16 '
                   'grid, and the biases\' Adam moments (see the notes)')
        gf.input('init/' + name, value, meaning, _first_check(), 'init/<state>')
    for k in (1, 2):
        gf.input('lr/step%d' % k, inputs['lr/step%d' % k], 'learning rate of the step (step 1: '
                 '0, step 2: 0.01)', _first_check(k), 'lr/step<k>')
        for name in first.discrete.values():
            meaning = ('uniform draws of the DST gate of each discrete W (gate = u < p)'
                       if k > 1 else '0.5 everywhere: at LR = 0, dW = 0 exactly, so p = 0 and '
                                     'no gate fires whatever u is')
            gf.input('u/step%d/%s' % (k, name), inputs['u/step%d/%s' % (k, name)], meaning,
                     _first_check(k), 'u/step%d/<W>' % k)

    stored = OrderedDict()
    for prefix, _ in rule_cases(gf.cases):
        case = prefix[:-1]
        relative = OrderedDict((n[len(prefix):], v) for n, v in outputs.items()
                               if n.startswith(prefix))
        for rest, value in relative.items():
            step, tail = rest.split('/', 1)
            check = 'train_step.%s.%s' % (step, case)
            rule, meaning, _ = _train_rule(tail, value, relative, step, gf.cases['step'])
            name = prefix + rest
            twin = [other for other in stored.get(rest, []) if _same_bytes(outputs[other], value)]
            if twin:
                gf.alias(name, twin[0], value, meaning, check, rule, '<case>/step<k>/' + tail)
            else:
                gf.output(name, value, meaning, check, rule, '<case>/step<k>/' + tail)
                stored.setdefault(rest, []).append(name)
    gf.notes.extend([
        'Batch and weights were chosen (seed search from %d) so that no decision hangs on '
        'float rounding, for every rule case: every batch-norm output feeding an activation '
        'is >= %g from every break point (|y| = 0.5, 1, 1.5), every max-pool window\'s two '
        'largest values are equal or differ by > %g relative, every output row\'s top two '
        'differ by > %g, and every step-2 DST gate keeps its value when u moves by +-%g '
        '(gates whose Adam direction rests on |m| <= %g max|m| have u = %g: never fire).'
        % (STEP_SEED, ACT_MARGIN, POOL_MARGIN, PRED_MARGIN, U_DELTA, SIGN_MARGIN, U_SAFE),
        'Initial weights are Uniform(-1, 1) on a 1/16 grid and pixels are multiples of 1/2, '
        'so convolutions are exact in float32; some initial weights sit exactly on the '
        'snapping ties +-0.5.',
        'Max-pool windows with tied maxima occur in both steps (conv outputs are multiples '
        'of 1/32, integers in step 2), so the two rules give different gradients upstream of '
        'the pools (conv1, bn1, conv2) and the same elsewhere. pool_grad one: a 2x2 '
        'window\'s gradient goes to its FIRST maximum in row-major order (cuDNN, PyTorch, '
        'Caffe); all: to EVERY element equal to the maximum (Theano 0.8.2\'s CPU op).',
        'Biases: every b is followed by batch norm (after the pool for conv1/conv2). Its '
        'gradient is float noise where the gradient reaches b through exactly one element '
        'per pool window or directly (pool_grad one; the dense layers), and systematic '
        'where a tied window passes it on twice (conv1.b, conv2.b under pool_grad all). So '
        'that a port that does not update b (or updates it wrongly) fails, init/*.b.adam_m '
        'and adam_v are not zero: |m| log-uniform in [%g, %g], m/sqrt(v) in [%g, %g] (as if '
        'carried over). The step-2 change of b is then decided by those moments (%.2g to '
        '%.2g here), not by noise, and is compared with an absolute tolerance: what a '
        'port whose gradients sit at the edge of their tolerance can change (schema, '
        'compare; docs/porting.md says how the spread of correct ports was measured).'
        % (BIAS_MOMENTS + _bias_steps(outputs)),
        'Arrays whose schema entry has same_as are identical in two cases and stored once, '
        'under the same_as name (gxnor.golden.read_golden resolves them).'])
    return gf


def _state_meaning(name, initial=False):
    when = 'before step 1' if initial else 'after the step'
    if name.endswith('.adam_m'):
        return 'Adam first moment of %s %s' % (name[:-7], when)
    if name.endswith('.adam_v'):
        return 'Adam second moment of %s %s' % (name[:-7], when)
    if name.endswith('.t'):
        return 'step counter of the Adam over the %s parameters %s' % (
            name.split('.')[0][5:], when)
    field = name.split('.')[-1]
    what = {'W': 'weights', 'b': 'bias', 'beta': 'batch-norm shift', 'gamma': 'batch-norm scale',
            'mean': 'batch-norm running mean', 'inv_std': 'batch-norm running inverse std'}
    text = '%s of %s %s' % (what.get(field, field), name.split('.')[0], when)
    if initial and field == 'W':
        text += ' (Uniform(-H, H) on a 1/16 grid; on the grid after step 1)'
    return text


def _grad_tolerance(outputs, step, param):
    """(block scale S, atol) of a gradient: S = largest |gradient| of the param's block."""
    block = _block(param)
    scale = max(float(np.max(np.abs(v))) for k, v in outputs.items()
                if k.startswith(step + '/grad/') and _block(k.split('/')[-1]) == block)
    return scale, scaled(np.array([scale]), 1e-4)


def _bias_tolerance(outputs, step, name, lr, beta1=0.9, beta2=0.999, epsilon=1e-8):
    """atol on a bias after an Adam step: a port whose gradient g of b is off by the
    gradient tolerance dg moves m by 0.1 dg and v by 0.001 (2|g| dg + dg^2); through
    step = a_t m/(sqrt(v) + eps) that changes b by at most
    a_t (0.1 dg/(sqrt(v) + eps) + |m| dsqrt(v)/(sqrt(v) + eps)^2), dsqrt(v) = dv/(2 sqrt(v)).
    Twice the largest such change over the array, rounded up; never below 10x BIAS_SPREAD."""
    g = outputs['%s/grad/%s' % (step, name)].astype(np.float64)
    m = outputs['%s/state/%s.adam_m' % (step, name)].astype(np.float64)
    v = outputs['%s/state/%s.adam_v' % (step, name)].astype(np.float64)
    t = float(outputs['%s/state/adam_others.t' % step])
    _, dg = _grad_tolerance(outputs, step, name)
    a_t = lr * math.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)
    root = np.sqrt(v)
    d_root = 0.001 * (2 * np.abs(g) * dg + dg * dg) / (2 * np.maximum(root, 1e-30))
    change = a_t * ((1 - beta1) * dg / (root + epsilon) + np.abs(m) * d_root
                    / np.square(root + epsilon))
    return max(scaled(2 * change, 1.0), 10 * BIAS_SPREAD)


def _train_rule(rest, value, outputs, step, step_case):
    """(comparison rule, meaning, pattern) of one train_step output."""
    lr = step_case['lr'][int(step[-1]) - 1]
    parts = rest.split('/')
    if rest == 'loss':
        return close(1e-5, 1e-6, F32), 'squared hinge loss of the batch (training mode)', 'loss'
    if rest in ('predictions', 'eval/predictions'):
        mode = 'training-mode' if rest == 'predictions' else 'deterministic'
        return exact(EXACT_DISCRETE), 'argmax of the %s output' % mode, rest
    if rest == 'eval/output':
        return (close(1e-4, scaled(value, 1e-5), 'float32 forward through 4 layers with '
                      'running statistics; atol 1e-5 x max|golden|'),
                'deterministic output (running BN statistics) after the step', rest)
    if parts[0] == 'layer':
        name = parts[1]
        meaning = 'training-mode output of layer %s' % name
        if name.startswith('act'):
            return exact(EXACT_DISCRETE), meaning + ' (levels)', 'layer/<layer>'
        return (close(1e-4, scaled(value, 1e-5), 'float32 sums and batch statistics; '
                      'atol 1e-5 x max|golden|'), meaning, 'layer/<layer>')
    if parts[0] == 'grad':
        name = parts[1]
        _, atol = _grad_tolerance(outputs, step, name)
        meaning = 'gradient of the loss with respect to %s' % name
        if name.endswith('.b'):
            return (close(0.0, atol, 'float noise (b is followed by batch norm): absolute, '
                                     '1e-4 x the largest gradient of its block'),
                    meaning + ' (float noise where its true value is 0; see the notes)',
                    'grad/<param>')
        return (close(1e-3, atol, 'float32 reductions over the batch and back through batch '
                                  'norm (cancellation); atol 1e-4 x the largest gradient of '
                                  'its block'), meaning, 'grad/<param>')
    name = parts[1]
    meaning = _state_meaning(name)
    if name.endswith('.t'):
        return exact('step counter'), meaning, 'state/<state>'
    if name in step_case['discrete']:
        return exact(EXACT_DISCRETE + ': grid states'), meaning, 'state/<state>'
    if name.endswith('.adam_m') or name.endswith('.adam_v'):
        scale, atol = _grad_tolerance(outputs, step, name[:-7])
        if name.endswith('.adam_m'):
            return (close(1e-3, 0.1 * atol, 'm = (1 - b1) g after one step: the gradient '
                                            'tolerance times 0.1'), meaning, 'state/<state>')
        return (close(2e-3, scaled(np.array([1e-3 * atol * (2 * scale + atol)]), 1.0),
                      'v = (1 - b2) g^2 after one step: the gradient tolerance carried '
                      'through the square'), meaning, 'state/<state>')
    if name.endswith('.b'):
        if lr == 0:
            return (close(0.0, 1e-6, 'no step at LR = 0'), meaning, 'state/<state>')
        return (close(0.0, _bias_tolerance(outputs, step, name, lr),
                      'Adam step of a bias, decided by its initial moments: absolute, the '
                      'largest change of the step that gradients within their tolerance can '
                      'cause (at least 10x the measured spread of correct implementations, '
                      '%g; docs/porting.md)' % BIAS_SPREAD), meaning, 'state/<state>')
    return (close(1e-5, 1e-6, F32 + '; Adam steps of about LR'), meaning, 'state/<state>')
