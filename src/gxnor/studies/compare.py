"""Several runs side by side: one table and one plot of their test-error curves.

    python -m gxnor compare --out results/platform-pool --title "..." RUN [RUN ...]

RUN is a run folder or a run name under ``--results``/runs. Writes ``<out>.md`` (a table:
the settings that differ between the runs, best test error and its epoch, test error at
the best validation epoch, test error after 15 and 30 epochs, activation sparsity at the
last and at the best test epoch) and ``<out>.png`` (test error against the epoch, one curve
per run). Epochs are 0-based as in ``epochs.jsonl`` (epoch 0 is the LR = 0 epoch); "after
k epochs" is the record of epoch k - 1, the released script's "Epoch k".
"""
from __future__ import absolute_import, division, print_function

import argparse
import json
import os
import sys

from ..training.curves import read_epochs
from ..training.files import atomic_write

__all__ = ['load_run', 'table_lines', 'write_plot', 'main']

EPOCHS_SHOWN = (15, 30)


class CompareError(ValueError):
    """A run folder that cannot be compared; the message says why."""


def load_run(path):
    """(name, hyperparameters, epoch records) of a run folder."""
    try:
        with open(os.path.join(path, 'config.json')) as handle:
            config = json.load(handle)
    except (IOError, OSError, ValueError) as error:
        raise CompareError('%s is not a run folder (config.json: %s)' % (path, error))
    records = read_epochs(path)
    if not records:
        raise CompareError('%s has no finished epoch yet' % path)
    return os.path.basename(os.path.normpath(path)), config.get('hyperparameters', {}), records


def _differing(runs):
    keys = sorted(set(k for _, hyper, _ in runs for k in hyper))
    return [k for k in keys if k != 'stop_after'
            and len(set(json.dumps(hyper.get(k)) for _, hyper, _ in runs)) > 1]


def _label(hyper, keys):
    return ', '.join('%s=%s' % (k, hyper.get(k)) for k in keys)


def _pct(value):
    return 'n/a' if value is None else '%.2f' % value


def table_lines(runs, epochs_shown=EPOCHS_SHOWN):
    """Markdown table lines for ``runs`` (as returned by :func:`load_run`)."""
    keys = _differing(runs) or ['seed']
    header = (['run', ', '.join(keys), 'epochs', 'best test error % (epoch)',
               'test error % at best valid (epoch)']
              + ['test error %% after %d epochs' % e for e in epochs_shown]
              + ['zero activations % (last epoch)', 'zero activations % (best test epoch)'])
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    for name, hyper, records in runs:
        by_epoch = dict((r['epoch'], r) for r in records)
        best = min(records, key=lambda r: (r['test_error'], -r['epoch']))
        best_valid = min(records, key=lambda r: (r['valid_error'], -r['epoch']))

        def sparsity(record):
            share = record.get('activation_sparsity')
            return 'n/a' if share is None else '%.1f' % (100 * share)
        cells = [name, _label(hyper, keys), str(len(records)),
                 '%s (%d)' % (_pct(best['test_error']), best['epoch']),
                 '%s (%d)' % (_pct(best_valid['test_error']), best_valid['epoch'])]
        # after k epochs = the record of 0-based epoch k - 1 (the released "Epoch k")
        cells += [_pct(by_epoch.get(e - 1, {}).get('test_error')) for e in epochs_shown]
        cells += [sparsity(records[-1]), sparsity(best)]
        lines.append('| ' + ' | '.join(cells) + ' |')
    return lines


def write_plot(path, runs, title):
    """Test error (%) against the epoch, one line per run, log scale."""
    import matplotlib
    if 'matplotlib.pyplot' not in sys.modules:
        matplotlib.use('Agg')
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    keys = _differing(runs) or ['seed']
    figure = Figure(figsize=(8, 5))
    FigureCanvasAgg(figure)
    axes = figure.add_subplot(1, 1, 1)
    for name, hyper, records in runs:
        axes.plot([r['epoch'] for r in records], [r['test_error'] for r in records],
                  marker='.', label=_label(hyper, keys))
    axes.set_yscale('log')
    axes.set_xlabel('epoch (0 = the LR = 0 epoch)')
    axes.set_ylabel('test error (%)')
    axes.set_title(title, fontsize=10)
    axes.grid(True, which='both', alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    atomic_write(path, lambda handle: figure.savefig(handle, format='png', dpi=100))
    return path


def _resolve(run, results):
    if os.path.isdir(run):
        return run
    candidate = os.path.join(results, 'runs', run)
    if os.path.isdir(candidate):
        return candidate
    raise CompareError('no run folder %r (nor %s)' % (run, candidate))


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m gxnor compare',
                                     description=__doc__.split('\n\n')[0])
    parser.add_argument('runs', nargs='+', help='run folders or names under RESULTS/runs')
    parser.add_argument('--out', required=True, help='path without extension: .md and .png')
    parser.add_argument('--title', default='test error per epoch')
    parser.add_argument('--results', default='results')
    args = parser.parse_args(argv)
    try:
        runs = [load_run(_resolve(run, args.results)) for run in args.runs]
    except CompareError as error:
        sys.stderr.write('error: %s\n' % error)
        return 2
    folder = os.path.dirname(os.path.abspath(args.out))
    if not os.path.isdir(folder):
        os.makedirs(folder)
    plot = write_plot(args.out + '.png', runs, args.title)
    text = ['# %s' % args.title, '', '![curves](%s)' % os.path.basename(plot), '']
    text += table_lines(runs)
    text.append('')
    atomic_write(args.out + '.md', lambda handle: handle.write('\n'.join(text).encode('utf-8')))
    print('\n'.join(text))
    return 0
