"""Throughput of the released nets on synthetic data: ``python -m gxnor bench``.

For each net at its released batch size and each configuration -- the kernels
('fast': gxnor.kernels, 'theano': Theano's own ops) and the number of threads -- builds
the network and its TrainingGraph (timed as "compile"), runs one untimed warm-up
training step and evaluation pass, then times ``--steps`` training steps and
``--eval-steps`` evaluation passes and prints

    net, kernels, threads, batch, compile s, train step s, train img/s, eval img/s,
    seconds per epoch, user and system CPU seconds per train step (all threads),
    CPU seconds per evaluation pass, peak RSS

where an epoch is the released split of the data set (MNIST 50000 train + 20000
evaluated, CIFAR10 45000 + 15000, SVHN 598388 + 32032). Inputs are uniform in [-1, 1]
(the released scaling of the pixels), targets random one-hot in {-1, +1}. Then, per net:
the ratio of the two kernels, of the thread counts, the system time's share, and the 5
ops that take the most time in a profiled training step and evaluation pass.

Thread counts are set in the running process (OpenMP's and OpenBLAS's own calls), so one
run measures both. With one thread Theano's own gemms give other last bits than with the
pinned two (see gxnor.cpu): that changes no timing. Timings are wall-clock on a possibly
shared machine: repeat and compare, nothing is asserted.
"""
from __future__ import absolute_import, division, print_function

import argparse
import ctypes
import ctypes.util
import os
import platform
import resource
import sys
import time
from collections import OrderedDict, defaultdict

import numpy as np

from ..settings import KERNEL, KERNELS
from ..training.runs import cpu_count

__all__ = ['EPOCH_IMAGES', 'RELEASED_BATCH', 'bench_net', 'set_threads', 'op_profile', 'main']

# (training images, evaluated images) per epoch, as the released scripts split them.
EPOCH_IMAGES = {'mnist': (50000, 20000), 'cifar10': (45000, 15000), 'svhn': (598388, 32032)}
RELEASED_BATCH = {'mnist': 10000, 'cifar10': 1000, 'svhn': 1000}
DEFAULT_STEPS = {'mnist': 3, 'cifar10': 2, 'svhn': 2}

THREAD_VARIABLES = ('OMP_NUM_THREADS', 'OMP_WAIT_POLICY', 'OPENBLAS_NUM_THREADS',
                    'GOTO_NUM_THREADS', 'MKL_NUM_THREADS')


def _synthetic(shape, batch, rng):
    x = rng.uniform(-1, 1, (batch,) + tuple(shape)).astype(np.float32)
    t = -np.ones((batch, 10), np.float32)
    t[np.arange(batch), rng.randint(0, 10, batch)] = 1
    return x, t


def _usage():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime, usage.ru_stime, usage.ru_minflt


def _timed(function, *args):
    """(wall, user CPU, system CPU) seconds of one call, all threads, and the page faults
    it took (minor: first touches of memory the kernel hands out)."""
    user, system, faults = _usage()
    start = time.time()
    function(*args)
    wall = time.time() - start
    user_after, system_after, faults_after = _usage()
    return wall, user_after - user, system_after - system, faults_after - faults


def _peak_rss_gb():
    # ru_maxrss is in kilobytes on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0 ** 2


def _library(name):
    try:
        return ctypes.CDLL(ctypes.util.find_library(name) or 'lib%s.so' % name)
    except OSError:
        return None


# (library, its getter, its setter) of the thread counts set_threads changes
_THREAD_CONTROLS = (('gomp', 'omp_get_max_threads', 'omp_set_num_threads'),
                    ('openblas', 'openblas_get_num_threads', 'openblas_set_num_threads'))


def set_threads(count):
    """Set this process's OpenMP and OpenBLAS thread counts to ``count`` (one number, or
    a pair as returned here); returns the previous pair (None where a library is not
    loaded). ``None`` changes nothing; ``set_threads(previous)`` restores."""
    counts = count if isinstance(count, tuple) else (count, count)
    before = []
    for (name, getter, setter), wanted in zip(_THREAD_CONTROLS, counts):
        library = _library(name)
        if library is None or not hasattr(library, getter):
            before.append(None)
            continue
        before.append(getattr(library, getter)())
        if wanted is not None:
            getattr(library, setter)(int(wanted))
    return tuple(before)


def _op_name(op, width=72):
    """An op's name as Theano prints it (an Elemwise with its scalar expression), cut to
    ``width`` characters."""
    name = str(op)
    return name if len(name) <= width else name[:width - 3] + '...'


def op_profile(stats, top=5):
    """[(op name, seconds per call of the function, share)] of the ``top`` ops by time,
    from a Theano ProfileStats, plus the rest as one line."""
    per_op = defaultdict(float)
    for node, seconds in stats.apply_time.items():
        per_op[_op_name(node.op)] += seconds
    calls = max(stats.fct_callcount, 1)
    total = sum(per_op.values()) or 1.0
    ranked = sorted(per_op.items(), key=lambda item: -item[1])
    rows = [(name, seconds / calls, seconds / total) for name, seconds in ranked[:top]]
    rest = sum(seconds for _, seconds in ranked[top:])
    rows.append(('(%d other ops)' % max(len(ranked) - top, 0), rest / calls, rest / total))
    return rows


def _build(name, batch, seed, kernels, profile=False):
    import lasagne
    import theano.tensor as T
    from theano.compile.profiling import ProfileStats
    from theano.sandbox.rng_mrg import MRG_RandomStreams

    from ..experiments import configure
    from ..graphs import graph_from_config
    from ..models import INPUT_SHAPES, network_from_config

    rng = np.random.RandomState(seed)
    lasagne.random.set_rng(np.random.RandomState(seed))
    x_batch, t_batch = _synthetic(INPUT_SHAPES[name], batch, rng)
    stats = None
    if profile:
        stats = (ProfileStats(atexit_print=False), ProfileStats(atexit_print=False))
    start = time.time()
    x = T.tensor4('inputs')
    config = configure(name, {'kernels': kernels})
    net = network_from_config(config, x)
    graph = graph_from_config(config, net, x, srng=MRG_RandomStreams(seed + 1), profile=stats)
    return graph, x_batch, t_batch, time.time() - start, stats


# The last graph built, reused by the next configuration of the same net (the integer
# kernel and the thread count are chosen at run time): (key, built).
_LAST_BUILD = [None, None]


def _build_once(name, batch, seed, kernels):
    key = (name, batch, seed, kernels)
    if _LAST_BUILD[0] != key:
        _LAST_BUILD[:] = [None, None]          # free the previous graph first
        _LAST_BUILD[:] = [key, _build(name, batch, seed, kernels)]
        return _LAST_BUILD[1]
    graph, x_batch, t_batch, _, stats = _LAST_BUILD[1]
    return graph, x_batch, t_batch, 0.0, stats


def bench_net(name, batch=None, steps=None, eval_steps=None, seed=0, kernels=KERNEL,
              threads=None, int_kernel='auto'):
    """Time one net; returns a dict of the measured numbers. ``int_kernel``: the integer
    kernel of the fast convolutions' forward products (gxnor.kernels.ternary; 'off': the
    float path). A configuration of the net built just before reuses its graph (compile
    time 0)."""
    from ..kernels import ternary

    batch = batch or RELEASED_BATCH[name]
    steps = steps or DEFAULT_STEPS[name]
    eval_steps = eval_steps or steps
    resolved = ternary.resolve(int_kernel) if kernels == 'fast' else '-'
    graph, x_batch, t_batch, compile_s, _ = _build_once(name, batch, seed, kernels)
    before = set_threads(threads)
    try:
        with ternary.int_kernel(int_kernel):
            graph.train(x_batch, t_batch, 0.0)      # warm-up: allocations, grid snap
            graph.evaluate(x_batch, t_batch)
            train = [_timed(graph.train, x_batch, t_batch, 0.001) for _ in range(steps)]
            evaluation = [_timed(graph.evaluate, x_batch, t_batch) for _ in range(eval_steps)]
    finally:
        set_threads(before)

    # The median step is less sensitive to other work on a shared machine.
    train_s, train_user, train_sys, _ = [float(np.median(column)) for column in zip(*train)]
    eval_s, eval_user, eval_sys, _ = [float(np.median(column)) for column in zip(*evaluation)]
    n_train, n_eval = EPOCH_IMAGES[name]
    return dict(net=name, kernels=kernels, int_kernel=resolved,
                threads=threads or before[0] or 1, batch=batch,
                compile_s=compile_s, train_step_s=train_s, eval_pass_s=eval_s,
                train_ips=batch / train_s, eval_ips=batch / eval_s,
                epoch_s=n_train * train_s / batch + n_eval * eval_s / batch,
                train_user_s=train_user, train_sys_s=train_sys,
                eval_cpu_s=eval_user + eval_sys, eval_sys_s=eval_sys,
                train_times=[t[0] for t in train], eval_times=[t[0] for t in evaluation],
                train_sys_times=[t[2] for t in train],
                train_faults=[t[3] for t in train],
                peak_rss_gb=_peak_rss_gb())


def profile_net(name, batch=None, seed=0, kernels=KERNEL, top=5):
    """(train rows, eval rows) of :func:`op_profile` for one profiled step of each."""
    batch = batch or RELEASED_BATCH[name]
    graph, x_batch, t_batch, _, stats = _build(name, batch, seed, kernels, profile=True)
    graph.train(x_batch, t_batch, 0.0)
    graph.evaluate(x_batch, t_batch)
    for profile in stats:          # count only the steps after the warm-up
        profile.apply_time.clear()
        profile.fct_callcount = 0
    graph.train(x_batch, t_batch, 0.001)
    graph.evaluate(x_batch, t_batch)
    return op_profile(stats[0], top), op_profile(stats[1], top)


def settings():
    """The Theano flags and thread settings in force (printed with the table)."""
    import theano
    lines = ['THEANO_FLAGS=%s' % os.environ.get('THEANO_FLAGS', '')]
    config = theano.config
    lines.append('theano %s: floatX=%s openmp=%s openmp_elemwise_minsize=%s allow_gc=%s '
                 'blas.ldflags=%s optimizer=%s'
                 % (theano.__version__, config.floatX, config.openmp,
                    config.openmp_elemwise_minsize, config.allow_gc, config.blas.ldflags,
                    config.optimizer))
    lines.append(' '.join('%s=%s' % (var, os.environ.get(var, '(unset)'))
                          for var in THREAD_VARIABLES))
    lines.append('python %s, %d CPUs, %s' % (platform.python_version(), cpu_count(),
                                            _cpu_model() or platform.machine()))
    return lines


def _cpu_model(cpuinfo='/proc/cpuinfo'):
    try:
        with open(cpuinfo) as handle:
            for line in handle:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except IOError:
        pass
    return None


COLUMNS = ('net', 'kernels', 'int', 'threads', 'batch', 'compile_s', 'train_step',
           'train_i/s', 'eval_i/s', 'epoch_s', 'train_usr', 'train_sys', 'eval_cpu', 'rss_GB')


def format_table(results):
    header = ('%-8s %-7s %-10s %7s %6s %9s %10s %9s %9s %8s %9s %9s %8s %6s' % COLUMNS)
    rows = [header, '-' * len(header)]
    for r in results:
        rows.append('%-8s %-7s %-10s %7d %6d %9.1f %10.2f %9.0f %9.0f %8.1f %9.2f %9.2f %8.2f '
                    '%6.1f'
                    % (r['net'], r['kernels'], r.get('int_kernel', '-'), r['threads'],
                       r['batch'], r['compile_s'],
                       r['train_step_s'], r['train_ips'], r['eval_ips'], r['epoch_s'],
                       r['train_user_s'], r['train_sys_s'], r['eval_cpu_s'],
                       r['peak_rss_gb']))
    return rows


def summary(results):
    """Lines comparing the configurations of each net (kernels, threads, system time)."""
    lines = []
    by_net = OrderedDict()
    for r in results:
        by_net.setdefault(r['net'], []).append(r)
    for name, rows in by_net.items():
        threads = sorted(set(r['threads'] for r in rows))
        most = threads[-1]
        fast_rows = [r for r in rows if r['kernels'] == 'fast']
        # the first integer kernel timed is the default one ('auto' resolved)
        default_int = fast_rows[0].get('int_kernel') if fast_rows else None
        fast = dict((r['threads'], r) for r in fast_rows
                    if r.get('int_kernel') == default_int)
        theano_ops = [r for r in rows if r['kernels'] == 'theano' and r['threads'] == most]
        if most in fast:
            minutes = fast[most]['epoch_s'] / 60.0
            lines.append('%s: fast path %.1f s per epoch (%.1f min)'
                         % (name, fast[most]['epoch_s'], minutes))
            user = fast[most]['train_user_s']
            if user > 0:
                lines.append('%s: system time %.1f%% of user in the train step (fast, %d threads)'
                             % (name, 100.0 * fast[most]['train_sys_s'] / user, most))
        if most in fast and theano_ops:
            lines.append('%s: fast path %.2fx faster than Theano\'s own ops per epoch '
                         '(train step %.2fx, evaluation %.2fx)'
                         % (name, theano_ops[0]['epoch_s'] / fast[most]['epoch_s'],
                            theano_ops[0]['train_step_s'] / fast[most]['train_step_s'],
                            theano_ops[0]['eval_pass_s'] / fast[most]['eval_pass_s']))
        for other in fast_rows:
            if (most in fast and other['threads'] == most
                    and other.get('int_kernel') != default_int):
                mine = fast[most]
                lines.append('%s: integer forward (%s) vs %s: %.1f vs %.1f s per epoch (%.2fx), '
                             'train step %.2fx, evaluation %.2fx faster'
                             % (name, default_int,
                                'float' if other['int_kernel'] == 'off' else other['int_kernel'],
                                mine['epoch_s'], other['epoch_s'],
                                other['epoch_s'] / mine['epoch_s'],
                                other['train_step_s'] / mine['train_step_s'],
                                other['eval_pass_s'] / mine['eval_pass_s']))
        if len(fast) > 1:
            low = threads[0]
            lines.append('%s: %d threads vs %d: train step %.2fx, evaluation %.2fx faster'
                         % (name, most, low, fast[low]['train_step_s'] / fast[most]['train_step_s'],
                            fast[low]['eval_pass_s'] / fast[most]['eval_pass_s']))
    return lines


def format_profile(name, kernels, rows_train, rows_eval):
    lines = []
    for what, rows in (('train step', rows_train), ('evaluation', rows_eval)):
        lines.append('%s %s kernels, %s: top ops' % (name, kernels, what))
        for op, seconds, share in rows:
            lines.append('  %5.1f%% %8.3f s  %s' % (100 * share, seconds, op))
    return lines


def _int_list(text, what, parser):
    try:
        values = [int(v) for v in text.split(',') if v.strip()]
    except ValueError:
        parser.error('%s: a comma-separated list of integers, got %r' % (what, text))
    if not values or min(values) < 1:
        parser.error('%s: positive integers, got %r' % (what, text))
    return values


def main(argv=None):
    from ..kernels.ternary import INT_KERNELS, resolve

    parser = argparse.ArgumentParser(prog='python -m gxnor bench', description=__doc__.split('\n')[0])
    parser.add_argument('--nets', default='mnist',
                        help='comma-separated subset of %s (default: mnist)'
                        % ','.join(sorted(EPOCH_IMAGES)))
    parser.add_argument('--batch', type=int, default=None,
                        help='batch size (default: the released one per net)')
    parser.add_argument('--steps', type=int, default=None,
                        help='timed training steps per configuration (default: %d for MNIST, '
                        '%d for the others)' % (DEFAULT_STEPS['mnist'], DEFAULT_STEPS['cifar10']))
    parser.add_argument('--eval-steps', type=int, default=None,
                        help='timed evaluation passes (default: as --steps)')
    parser.add_argument('--kernels', default=KERNEL,
                        help='comma-separated, among %s (default: %s)' % (', '.join(KERNELS), KERNEL))
    parser.add_argument('--int-kernels', default='auto,off',
                        help='comma-separated GXNOR_INT_KERNEL values timed with the fast '
                        'kernels, among %s (default: auto,off: the integer forward path and '
                        'the float one)' % ', '.join(INT_KERNELS))
    parser.add_argument('--threads', default=None,
                        help='comma-separated thread counts to time, e.g. 1,2 (default: as '
                        'the process runs)')
    parser.add_argument('--profile', action='store_true',
                        help='also print the 5 slowest ops of a profiled step (fast kernels)')
    parser.add_argument('--estimate', default='',
                        help='comma-separated nets whose epoch time is only estimated: the '
                        'fast path at --estimate-batch, one step, the most threads')
    parser.add_argument('--estimate-batch', type=int, default=None,
                        help='batch size of the estimates (default: the released one; a '
                        'batch under 1000 leaves Theano\'s elementwise loops on one thread)')
    args = parser.parse_args(argv)
    nets = [n.strip() for n in args.nets.split(',') if n.strip()]
    estimates = [n.strip() for n in args.estimate.split(',') if n.strip()]
    unknown = [n for n in nets + estimates if n not in EPOCH_IMAGES]
    if unknown:
        parser.error('unknown net(s) %s; choose from %s'
                     % (', '.join(unknown), ', '.join(sorted(EPOCH_IMAGES))))
    kernels = [k.strip() for k in args.kernels.split(',') if k.strip()]
    bad = [k for k in kernels if k not in KERNELS]
    if bad or not kernels:
        parser.error('--kernels: among %s, got %r' % (', '.join(KERNELS), args.kernels))
    for option in ('batch', 'estimate_batch'):
        value = getattr(args, option)
        if value is not None and value < 1:
            parser.error('--%s must be positive, got %d' % (option.replace('_', '-'), value))
    int_kernels = [k.strip() for k in args.int_kernels.split(',') if k.strip()]
    try:
        if not int_kernels:
            raise ValueError('give at least one')
        for value in int_kernels:
            resolve(value)
    except ValueError as error:
        parser.error('--int-kernels: %s' % error)
    threads = sorted(set(_int_list(args.threads, '--threads', parser))) if args.threads else [None]
    for line in settings():
        print(line)
    sys.stdout.flush()
    results = []
    for name in nets:
        for kernel in kernels:
            # Theano's own ops: only at the highest thread count (the ratio is per run).
            counts = threads if kernel == 'fast' else threads[-1:]
            # the integer kernels: all at the highest thread count, the first at every one
            variants = [(count, int_kernels[0]) for count in counts]
            if kernel == 'fast':
                variants += [(counts[-1], other) for other in int_kernels[1:]]
            for count, int_kernel in variants:
                result = bench_net(name, args.batch, args.steps, args.eval_steps,
                                   kernels=kernel, threads=count, int_kernel=int_kernel)
                print('%s %s (int %s) %d threads: train steps %s s, eval passes %s s'
                      % (name, kernel, result['int_kernel'], result['threads'],
                         ' '.join('%.2f' % t for t in result['train_times']),
                         ' '.join('%.2f' % t for t in result['eval_times'])))
                print('    train steps: system s %s; page faults (thousands) %s'
                      % (' '.join('%.2f' % t for t in result['train_sys_times']),
                         ' '.join('%.0f' % (f / 1e3) for f in result['train_faults'])))
                sys.stdout.flush()
                results.append(result)
    for name in estimates:
        result = bench_net(name, args.estimate_batch, 1, 1, kernels='fast', threads=threads[-1])
        print('%s fast %d threads (estimate): train step %.2f s, eval pass %.2f s'
              % (name, result['threads'], result['train_times'][0], result['eval_times'][0]))
        sys.stdout.flush()
        results.append(result)
    for row in format_table(results):
        print(row)
    for line in summary(results):
        print(line)
    if args.profile:
        for name in nets:
            for line in format_profile(name, 'fast', *profile_net(name, args.batch)):
                print(line)
    return 0
