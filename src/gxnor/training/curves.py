"""Learning curves of one run: read ``epochs.jsonl``, write a .mat file and a plot.

    python -m gxnor curves results/runs/<run> [more run folders ...]

A run folder (written by the training loop) holds ``config.json`` (with the
``hyperparameters``), ``epochs.jsonl`` (one JSON object per finished epoch) and
``summary.json``. From these this module writes, next to them:

``curves_H<H>_N<N>_LR<lr_start>_decay<decay>_batch<batch_size>_epochs<num_epochs>_th<m>.mat``
    the curves in the spirit of the authors' released MNIST script, which names its
    .mat file after the same hyperparameters. Numbers are written with ``%g``
    (six significant digits: ``1.0`` -> ``1``, ``3e-07`` -> ``3e-07``);
    ``decay = (lr_fin / lr_start) ** (1 / num_epochs)`` is the per-epoch factor of
    the exponential learning-rate schedule. Variables (1-D float64, saved as
    1 x n rows): ``epoch``, ``lr``, ``train_loss``, ``valid_error``,
    ``valid_loss``, ``test_error``, ``test_loss``; a value missing from a record is
    NaN. Errors are in percent.
``curves.png``
    error (%) of the validation and test sets against the epoch (log scale when
    all errors are positive), training loss against the epoch; the best-test and
    the best-validation epochs are marked.

Every file is written to a temporary ``.<name>.<random>.tmp`` in the run folder
and renamed over the final name, so a reader never sees a half-written file.
"""
from __future__ import absolute_import, division, print_function

import argparse
import io
import json
import numbers
import os
import sys

import numpy as np
import scipy.io

from .files import atomic_write

EPOCHS_FILE = 'epochs.jsonl'
CONFIG_FILE = 'config.json'
SUMMARY_FILE = 'summary.json'
PLOT_FILE = 'curves.png'

# The variables of the .mat file, in order; each is one key of an epoch record.
MAT_VARIABLES = ('epoch', 'lr', 'train_loss', 'valid_error', 'valid_loss',
                 'test_error', 'test_loss')

# The hyperparameters the .mat file name is made of (keys of config.json's
# "hyperparameters").
NAME_HYPERPARAMETERS = ('H', 'N', 'lr_start', 'lr_fin', 'batch_size', 'num_epochs')


# ------------------------------------------------------------------ atomic files
# ------------------------------------------------------------------ reading
def read_epochs(run_dir):
    """The epoch records of ``run_dir/epochs.jsonl``: a list of dicts sorted by
    ``epoch``.

    Blank lines are ignored. The last line may be cut short (a run killed while
    writing it): if it does not parse it is dropped. Any other line that is not a
    JSON object with an integer ``epoch`` raises ValueError naming the file and the
    line number. If an epoch appears twice (a run resumed from a checkpoint older
    than its log), the later line wins.
    """
    path = os.path.join(run_dir, EPOCHS_FILE)
    with open(path, 'rb') as f:
        lines = f.read().split(b'\n')
    numbered = [(i + 1, line) for i, line in enumerate(lines) if line.strip()]
    by_epoch = {}
    for k, (lineno, line) in enumerate(numbered):
        last = k == len(numbered) - 1
        try:
            record = json.loads(line.decode('utf-8'))
        except ValueError as e:  # also UnicodeDecodeError
            if last:
                break  # truncated by a kill: the epoch did not finish being logged
            raise ValueError('%s, line %d: not valid JSON (%s)' % (path, lineno, e))
        if not isinstance(record, dict):
            raise ValueError('%s, line %d: expected a JSON object, got %s'
                             % (path, lineno, type(record).__name__))
        epoch = record.get('epoch')
        if isinstance(epoch, bool) or not isinstance(epoch, numbers.Integral):
            raise ValueError('%s, line %d: "epoch" must be an integer, got %r'
                             % (path, lineno, epoch))
        record['epoch'] = int(epoch)
        by_epoch[record['epoch']] = record
    return [by_epoch[e] for e in sorted(by_epoch)]


def read_json(path):
    """The JSON object in ``path``; ValueError (naming the file) if it is not one."""
    with io.open(path, 'r', encoding='utf-8') as f:
        text = f.read()
    try:
        obj = json.loads(text)
    except ValueError as e:
        raise ValueError('%s: not valid JSON (%s)' % (path, e))
    if not isinstance(obj, dict):
        raise ValueError('%s: expected a JSON object, got %s' % (path, type(obj).__name__))
    return obj


def column(records, key):
    """``key`` of every record as a float64 array (NaN where missing or null)."""
    out = np.empty(len(records), dtype=np.float64)
    for i, r in enumerate(records):
        v = r.get(key)
        out[i] = np.nan if v is None else float(v)
    return out


def best_epochs(records):
    """Model selection over the records, as the training loop does it
    (gxnor.training.schedule.BestEpochs): a tie goes to the LATER epoch, NaN errors are
    ignored. Returns a dict with ``best_test_error``/``best_test_epoch`` (the
    minimum test error: what the authors report), ``best_valid_error``/
    ``best_valid_epoch`` and ``test_error_at_best_valid`` (the honest number);
    values are None when there is nothing to choose from (or, for the last one,
    when the test error at the best validation epoch is NaN)."""
    out = dict(best_test_error=None, best_test_epoch=None, best_valid_error=None,
               best_valid_epoch=None, test_error_at_best_valid=None)
    test = column(records, 'test_error')
    valid = column(records, 'valid_error')
    for i, r in enumerate(records):
        if np.isfinite(test[i]) and (out['best_test_error'] is None
                                     or test[i] <= out['best_test_error']):
            out['best_test_error'], out['best_test_epoch'] = float(test[i]), r['epoch']
        if np.isfinite(valid[i]) and (out['best_valid_error'] is None
                                      or valid[i] <= out['best_valid_error']):
            out['best_valid_error'], out['best_valid_epoch'] = float(valid[i]), r['epoch']
            out['test_error_at_best_valid'] = float(test[i]) if np.isfinite(test[i]) else None
    return out


# ------------------------------------------------------------------ .mat file
def _num(x):
    """``%g`` of a number, the way it appears in file names."""
    return '%g' % x


def mat_name(hyper):
    """The .mat file name for the hyperparameters ``hyper`` (see the module doc).
    ValueError if one of NAME_HYPERPARAMETERS is missing or the schedule has no
    defined decay."""
    missing = [k for k in NAME_HYPERPARAMETERS if hyper.get(k) is None]
    if missing:
        raise ValueError('hyperparameters lack %s, needed for the .mat file name'
                         % ', '.join(missing))
    lr_start, lr_fin = float(hyper['lr_start']), float(hyper['lr_fin'])
    num_epochs = int(hyper['num_epochs'])
    if lr_start <= 0 or lr_fin < 0 or num_epochs <= 0:
        raise ValueError('no learning-rate decay for lr_start=%r, lr_fin=%r, num_epochs=%r'
                         % (hyper['lr_start'], hyper['lr_fin'], hyper['num_epochs']))
    decay = (lr_fin / lr_start) ** (1.0 / num_epochs)
    return 'curves_H%s_N%s_LR%s_decay%s_batch%d_epochs%d_th%s.mat' % (
        _num(float(hyper['H'])), _num(float(hyper['N'])), _num(lr_start), _num(decay),
        int(hyper['batch_size']), num_epochs,
        'none' if hyper.get('m') is None else _num(float(hyper['m'])))  # m=None: p = |v|/L


def write_mat(run_dir, records, hyper):
    """Write the curves of ``records`` to ``run_dir/<mat_name(hyper)>`` (atomic).
    Returns the path."""
    path = os.path.join(run_dir, mat_name(hyper))
    data = dict((k, column(records, k)) for k in MAT_VARIABLES)
    atomic_write(path, lambda f: scipy.io.savemat(f, data, oned_as='row'))
    return path


# ------------------------------------------------------------------ plot
def _figure(size):
    """A matplotlib Figure drawn by the Agg canvas: no display, no pyplot state."""
    import matplotlib
    if 'matplotlib.pyplot' not in sys.modules:
        matplotlib.use('Agg')  # for any pyplot user after us; a no-op if already Agg
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=size)
    FigureCanvasAgg(fig)
    return fig


def _positive(values):
    finite = values[np.isfinite(values)]
    return finite.size > 0 and (finite > 0).all()


def write_plot(run_dir, records, title):
    """Write ``run_dir/curves.png`` (atomic): validation and test error (%) against
    the epoch, with the best-test and best-validation epochs marked, and the
    training loss against the epoch. Returns the path."""
    path = os.path.join(run_dir, PLOT_FILE)
    fig = _figure((8, 7.5))
    ax_err = fig.add_subplot(2, 1, 1)
    ax_loss = fig.add_subplot(2, 1, 2, sharex=ax_err)
    fig.suptitle(title)
    fig.subplots_adjust(top=0.91, hspace=0.25)
    if records:
        epoch = column(records, 'epoch')
        valid = column(records, 'valid_error')
        test = column(records, 'test_error')
        loss = column(records, 'train_loss')
        ax_err.plot(epoch, valid, color='tab:blue', lw=1, label='validation')
        ax_err.plot(epoch, test, color='tab:red', lw=1, label='test')
        best = best_epochs(records)
        if best['best_test_epoch'] is not None:
            e = best['best_test_epoch']
            ax_err.axvline(e, color='tab:red', ls='--', lw=0.8)
            ax_err.plot([e], [best['best_test_error']], 'v', color='tab:red',
                        label='best test %.2f%% (epoch %d)' % (best['best_test_error'], e))
        if best['best_valid_epoch'] is not None:
            e = best['best_valid_epoch']
            at = best['test_error_at_best_valid']
            ax_err.axvline(e, color='tab:blue', ls=':', lw=0.8)
            ax_err.plot([e], [best['best_valid_error']], '^', color='tab:blue',
                        label='best validation %.2f%% (epoch %d); test there %s'
                        % (best['best_valid_error'], e,
                           'n/a' if at is None else '%.2f%%' % at))
        if _positive(np.concatenate([valid, test])):
            ax_err.set_yscale('log')
        ax_err.legend(loc='upper right', fontsize='small')
        ax_loss.plot(epoch, loss, color='k', lw=1, label='training loss')
        if _positive(loss):
            ax_loss.set_yscale('log')
        ax_loss.legend(loc='upper right', fontsize='small')
    else:
        ax_err.text(0.5, 0.5, 'no finished epoch yet', ha='center', va='center',
                    transform=ax_err.transAxes)
    ax_err.set_ylabel('error (%)')
    ax_err.grid(True, which='both', alpha=0.3)
    ax_loss.set_ylabel('training loss')
    ax_loss.set_xlabel('epoch')
    ax_loss.grid(True, which='both', alpha=0.3)
    atomic_write(path, lambda f: fig.savefig(f, format='png', dpi=100))
    return path


# ------------------------------------------------------------------ both
def run_title(config):
    """A plot title from a run's config.json contents."""
    hyper = config.get('hyperparameters') or {}
    parts = ['%s=%s' % (k, hyper[k]) for k in ('H', 'N', 'm', 'batch_size', 'num_epochs')
             if hyper.get(k) is not None]
    name = '%s / %s' % (config.get('dataset', '?'), config.get('run', '?'))
    return name + (' (%s)' % ', '.join(parts) if parts else '')


def update_run_artifacts(run_dir):
    """Rewrite the .mat file and curves.png of ``run_dir`` from its config.json and
    epochs.jsonl. Returns {'mat': path, 'png': path}."""
    config = read_json(os.path.join(run_dir, CONFIG_FILE))
    hyper = config.get('hyperparameters')
    if not isinstance(hyper, dict):
        raise ValueError('%s: no "hyperparameters" object'
                         % os.path.join(run_dir, CONFIG_FILE))
    records = read_epochs(run_dir)
    return {'mat': write_mat(run_dir, records, hyper),
            'png': write_plot(run_dir, records, run_title(config))}


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='python -m gxnor curves',
        description='Rewrite the .mat curves and curves.png of run folders.')
    parser.add_argument('run_dirs', nargs='+', metavar='RUN_DIR')
    args = parser.parse_args(argv)
    status = 0
    for run_dir in args.run_dirs:
        try:
            paths = update_run_artifacts(run_dir)
        except (IOError, OSError, ValueError) as e:
            print('%s: %s' % (run_dir, e), file=sys.stderr)
            status = 1
            continue
        print(paths['mat'])
        print(paths['png'])
    return status
