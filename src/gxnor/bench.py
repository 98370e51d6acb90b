"""Throughput of the released nets on synthetic data: ``python -m gxnor.bench``.

For each net at its released batch size, builds the network and its TrainingGraph
(timed as "compile"), runs one untimed warm-up training step and evaluation pass, then
times ``--steps`` training steps and ``--eval-steps`` evaluation passes and prints

    net, batch, compile s, train step s, train img/s, eval img/s, seconds per epoch,
    CPU seconds per train step and per evaluation pass (all threads), peak RSS

where an epoch is the released split of the data set (MNIST 50000 train + 20000
evaluated, CIFAR10 45000 + 15000, SVHN 598388 + 32032). Inputs are uniform in [-1, 1]
(the released scaling of the pixels), targets random one-hot in {-1, +1}. Timings are
wall-clock on a possibly shared machine: repeat and compare, nothing is asserted.
"""
from __future__ import absolute_import, division, print_function

import argparse
import os
import platform
import resource
import sys
import time

import numpy as np

from .runs import cpu_count

__all__ = ['EPOCH_IMAGES', 'RELEASED_BATCH', 'bench_net', 'main']

# (training images, evaluated images) per epoch, as the released scripts split them.
EPOCH_IMAGES = {'mnist': (50000, 20000), 'cifar10': (45000, 15000), 'svhn': (598388, 32032)}
RELEASED_BATCH = {'mnist': 10000, 'cifar10': 1000, 'svhn': 1000}
DEFAULT_STEPS = {'mnist': 3, 'cifar10': 3, 'svhn': 3}

THREAD_VARIABLES = ('OMP_NUM_THREADS', 'OMP_WAIT_POLICY', 'OPENBLAS_NUM_THREADS',
                    'GOTO_NUM_THREADS', 'MKL_NUM_THREADS')


def _synthetic(shape, batch, rng):
    x = rng.uniform(-1, 1, (batch,) + tuple(shape)).astype(np.float32)
    t = -np.ones((batch, 10), np.float32)
    t[np.arange(batch), rng.randint(0, 10, batch)] = 1
    return x, t


def _cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _timed(function, *args):
    """(wall seconds, CPU seconds of all threads) of one call."""
    cpu, start = _cpu_seconds(), time.time()
    function(*args)
    return time.time() - start, _cpu_seconds() - cpu


def _peak_rss_gb():
    # ru_maxrss is in kilobytes on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0 ** 2


def bench_net(name, batch=None, steps=None, eval_steps=None, seed=0):
    """Time one net; returns a dict of the measured numbers."""
    import lasagne
    import theano.tensor as T
    from theano.sandbox.rng_mrg import MRG_RandomStreams

    from .graphs import TrainingGraph
    from .models import INPUT_SHAPES, build_network

    batch = batch or RELEASED_BATCH[name]
    steps = steps or DEFAULT_STEPS[name]
    eval_steps = eval_steps or steps
    rng = np.random.RandomState(seed)
    lasagne.random.set_rng(np.random.RandomState(seed))
    x_batch, t_batch = _synthetic(INPUT_SHAPES[name], batch, rng)

    start = time.time()
    x = T.tensor4('inputs')
    net = build_network(name, x)
    graph = TrainingGraph(net, x, srng=MRG_RandomStreams(seed + 1))
    compile_s = time.time() - start

    graph.train(x_batch, t_batch, 0.0)      # warm-up: allocations, grid snap
    graph.evaluate(x_batch, t_batch)

    train = [_timed(graph.train, x_batch, t_batch, 0.001) for _ in range(steps)]
    evaluation = [_timed(graph.evaluate, x_batch, t_batch) for _ in range(eval_steps)]

    # The median step is less sensitive to other work on a shared machine.
    train_s, train_cpu = [float(np.median(column)) for column in zip(*train)]
    eval_s, eval_cpu = [float(np.median(column)) for column in zip(*evaluation)]
    n_train, n_eval = EPOCH_IMAGES[name]
    return dict(net=name, batch=batch, compile_s=compile_s, train_step_s=train_s,
                eval_pass_s=eval_s, train_ips=batch / train_s, eval_ips=batch / eval_s,
                epoch_s=n_train * train_s / batch + n_eval * eval_s / batch,
                train_cpu_s=train_cpu, eval_cpu_s=eval_cpu,
                train_times=[t for t, _ in train], eval_times=[t for t, _ in evaluation],
                peak_rss_gb=_peak_rss_gb())


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
                                            platform.processor() or platform.machine()))
    return lines


def format_table(results):
    header = ('%-8s %6s %9s %10s %9s %9s %8s %9s %8s %6s'
              % ('net', 'batch', 'compile_s', 'train_step', 'train_i/s', 'eval_i/s',
                 'epoch_s', 'train_cpu', 'eval_cpu', 'rss_GB'))
    rows = [header, '-' * len(header)]
    for r in results:
        rows.append('%-8s %6d %9.1f %10.2f %9.0f %9.0f %8.1f %9.2f %8.2f %6.1f'
                    % (r['net'], r['batch'], r['compile_s'], r['train_step_s'], r['train_ips'],
                       r['eval_ips'], r['epoch_s'], r['train_cpu_s'], r['eval_cpu_s'],
                       r['peak_rss_gb']))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m gxnor.bench', description=__doc__.split('\n')[0])
    parser.add_argument('--nets', default='mnist',
                        help='comma-separated subset of %s (default: mnist)'
                        % ','.join(sorted(EPOCH_IMAGES)))
    parser.add_argument('--batch', type=int, default=None,
                        help='batch size (default: the released one per net)')
    parser.add_argument('--steps', type=int, default=None,
                        help='timed training steps per net (default: %d)' % DEFAULT_STEPS['mnist'])
    parser.add_argument('--eval-steps', type=int, default=None,
                        help='timed evaluation passes (default: as --steps)')
    args = parser.parse_args(argv)
    nets = [n.strip() for n in args.nets.split(',') if n.strip()]
    unknown = [n for n in nets if n not in EPOCH_IMAGES]
    if unknown:
        parser.error('unknown net(s) %s; choose from %s'
                     % (', '.join(unknown), ', '.join(sorted(EPOCH_IMAGES))))
    for line in settings():
        print(line)
    sys.stdout.flush()
    results = []
    for name in nets:
        result = bench_net(name, args.batch, args.steps, args.eval_steps)
        print('%s: train steps %s s, eval passes %s s'
              % (name, ' '.join('%.2f' % t for t in result['train_times']),
                 ' '.join('%.2f' % t for t in result['eval_times'])))
        sys.stdout.flush()
        results.append(result)
    for row in format_table(results):
        print(row)
    return 0


if __name__ == '__main__':
    sys.exit(main())
