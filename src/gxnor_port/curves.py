"""Learning curves: the envelope of our seeds (curves.npz) and the check of a port's own
training log against it.

What is compared: the port's TEST error (percent) at every epoch it shares with the
envelope (0-based epochs; epoch 0 is the released LR = 0 epoch). Tolerance: inside
``[band_low, band_high] = [min - margin, max + margin]`` of our seeds at that epoch,
``margin = max(CURVE_MIN_MARGIN, max - min)`` percentage points. Valid error and train
loss are read but not compared (the goldens' rule is the test error's).

A port's log (in the port folder, any number): ``epochs*.jsonl``, one JSON object per line
with ``epoch`` and ``test_error`` (our runs' epochs.jsonl), or ``epochs*.csv`` with the
columns epoch, train loss, valid error, test error (in that order without a header; with
a header, any order, named ``epoch`` and ``test_error`` or ``test error``; an empty cell
of train loss or valid error is not logged). A log that cannot be read is unusable input
(UnreadableFile: exit status 2).

A longer reference is a longer envelope: ``envelope_from_logs`` makes one from our runs'
logs (one run or several seeds), and the checker takes it with ``--curves FILE``; the
check compares whatever epochs the envelope and the log share.
"""
from __future__ import absolute_import, division, print_function

import csv
import glob
import io
import json
import os
import sys
from collections import OrderedDict

import numpy as np

from .compare import Comparison
from .npzfile import UnreadableFile, read_npz
from .report import CheckResult
from .schema import CURVES_FILE

__all__ = ['CURVE_MIN_MARGIN', 'LOG_PATTERNS', 'CURVE_HINTS', 'curve_envelope',
           'curves_schema', 'read_log', 'envelope_from_logs', 'check_curves']

# Curves: a port's test error may leave the seeds' [min, max] by this much (percentage
# points) or by the envelope's own width, whichever is larger (see docs/porting.md).
CURVE_MIN_MARGIN = 1.0
LOG_PATTERNS = ('epochs*.jsonl', 'epochs*.csv')
CSV_COLUMNS = ('epoch', 'train_loss', 'valid_error', 'test_error')

CURVE_HINTS = OrderedDict([
    ('fraction', 'the test errors look like fractions (at most 1) where ours are percent: '
                 'log test_error in percent'),
    ('one_based', 'shifted by one epoch the log fits the envelope: epochs are 0-based '
                  '(epoch 0 is the released LR = 0 epoch, which only snaps the weights and '
                  'warms up the batch-norm statistics)'),
    ('above', 'above the envelope (the port learns slower or worse than every seed of ours '
              'by more than the margin): with the unit checks passing, check the schedule '
              '(epoch 0 at LR = 0, then LR_start decaying per epoch), the input scaling to '
              '[-1, 1], floor(n/batch) batches per epoch and the shuffles (docs/porting.md, '
              '"Schedule")'),
    ('below', 'below the envelope (better than every seed of ours by more than the '
              'margin): check that the error is measured on the test set after the '
              'epoch\'s training pass, with the running batch-norm statistics, in percent'),
])


# ============================================================ the envelope

def curve_envelope(records):
    """Arrays of curves.npz from OrderedDict seed -> epoch records (dicts with epoch,
    test_error, valid_error, train_loss)."""
    seeds = sorted(records)
    epochs = min(len(records[s]) for s in seeds)
    def table(field):
        return np.array([[records[s][e][field] for e in range(epochs)] for s in seeds],
                        dtype=np.float64)
    test = table('test_error')
    low, high = test.min(axis=0), test.max(axis=0)
    margin = np.maximum(CURVE_MIN_MARGIN, high - low)
    return OrderedDict([
        ('seeds', np.array(seeds, np.int64)),
        ('epochs', np.array([records[seeds[0]][e]['epoch'] for e in range(epochs)], np.int64)),
        ('test_error', test), ('valid_error', table('valid_error')),
        ('train_loss', table('train_loss')),
        ('test_error_min', low), ('test_error_median', np.median(test, axis=0)),
        ('test_error_max', high),
        ('band_low', low - margin), ('band_high', high + margin)])


def curves_schema(arrays, experiment='mnist', source=None):
    seeds = [int(s) for s in arrays['seeds']]
    entries = OrderedDict()
    meanings = OrderedDict([
        ('seeds', 'seeds of the runs (config seed)'),
        ('epochs', 'epoch numbers (0-based; epoch 0 runs at LR = 0)'),
        ('test_error', 'test error in percent, per seed (rows) and epoch'),
        ('valid_error', 'validation error in percent, per seed and epoch'),
        ('train_loss', 'mean training loss, per seed and epoch'),
        ('test_error_min', 'lowest test error over the seeds, per epoch'),
        ('test_error_median', 'median test error over the seeds, per epoch'),
        ('test_error_max', 'highest test error over the seeds, per epoch'),
        ('band_low', 'a port\'s test error must be >= this (min - margin)'),
        ('band_high', 'a port\'s test error must be <= this (max + margin)')])
    for name, meaning in meanings.items():
        value = np.asarray(arrays[name])
        entries[name] = OrderedDict([('role', 'reference'), ('shape', list(value.shape)),
                                     ('dtype', str(value.dtype)), ('meaning', meaning),
                                     ('check', 'curves'), ('pattern', name)])
    return OrderedDict([
        ('generated', True), ('experiment', experiment), ('epochs', len(arrays['epochs'])),
        ('seeds', seeds), ('source', source),
        ('schedule', 'released schedule (num_epochs 4000), stopped after K epochs '
                     '(STOP_AFTER semantics)'),
        ('margin', 'margin(e) = max(%g, max(e) - min(e)) percentage points; a port\'s '
                   'epochs.jsonl passes when every epoch e it shares with the envelope has '
                   'band_low(e) <= test_error <= band_high(e)' % CURVE_MIN_MARGIN),
        ('port_file', 'epochs*.jsonl in the port folder: one JSON object per line with '
                      'fields epoch (0-based) and test_error (percent)'),
        ('arrays', entries)])


# ============================================================ a port's training log

def _number(text):
    return float(text.strip())


def _lines(path):
    """The log's lines as text; UnreadableFile when it is not UTF-8."""
    try:
        with io.open(path, encoding='utf-8') as handle:
            return handle.read().splitlines()
    except UnicodeError:
        raise UnreadableFile('%s: not a UTF-8 text file' % path)


def _read_jsonl(path):
    records = OrderedDict()
    for number, line in enumerate(_lines(path), 1):
        line = line.strip()
        if not line:
            continue
        try:
            record = json.loads(line)
            records[int(record['epoch'])] = OrderedDict(
                (field, float(record[field])) for field in CSV_COLUMNS[1:]
                if record.get(field) is not None)
            if 'test_error' not in records[int(record['epoch'])]:
                raise KeyError('test_error')
        except (ValueError, KeyError, TypeError, AttributeError):
            raise UnreadableFile('%s: line %d is not a JSON object with epoch and '
                                 'test_error' % (path, number))
    return records


def _csv_header(row):
    """Column index of each known field in a header row, or None when ``row`` is data."""
    try:
        [_number(cell) for cell in row]
        return None
    except ValueError:
        pass
    names = [cell.strip().lower().replace(' ', '_') for cell in row]
    return OrderedDict((field, names.index(field)) for field in CSV_COLUMNS if field in names)


def _read_csv(path):
    records = OrderedDict()
    lines = _lines(path)
    if sys.version_info[0] < 3:     # Python 2's csv reads bytes
        lines = [line.encode('utf-8') for line in lines]
    rows = [(n, row) for n, row in enumerate(csv.reader(lines), 1)
            if row and any(cell.strip() for cell in row)]
    if not rows:
        return records
    columns = _csv_header(rows[0][1])
    if columns is None:
        columns = OrderedDict((field, i) for i, field in enumerate(CSV_COLUMNS))
    else:
        rows = rows[1:]
        if 'epoch' not in columns or 'test_error' not in columns:
            raise UnreadableFile('%s: the header names no epoch and test_error column (%s)'
                                 % (path, ', '.join(CSV_COLUMNS)))
    for number, row in rows:
        try:
            record = OrderedDict((field, _number(row[i])) for field, i in columns.items()
                                 if field in ('epoch', 'test_error') or row[i].strip())
            records[int(record.pop('epoch'))] = record
        except (ValueError, IndexError):
            raise UnreadableFile('%s: line %d is not a row of numbers %s'
                                 % (path, number, ', '.join(CSV_COLUMNS)))
    return records


def read_log(path):
    """OrderedDict epoch -> {test_error, and valid_error / train_loss when logged} of an
    epochs*.jsonl or epochs*.csv log; UnreadableFile when it cannot be read."""
    if path.endswith('.csv'):
        return _read_csv(path)
    return _read_jsonl(path)


def envelope_from_logs(paths):
    """The arrays of a curves.npz from our own runs' logs (one run per path; its seed is
    its position): how a longer reference (e.g. a full-length run) becomes an envelope."""
    records = OrderedDict()
    for seed, path in enumerate(paths, 1):
        log = read_log(path)
        missing = [e for e in log if 'valid_error' not in log[e] or 'train_loss' not in log[e]]
        if missing:
            raise UnreadableFile('%s: epoch %d has no valid_error or train_loss'
                                 % (path, missing[0]))
        records[seed] = [dict(values, epoch=epoch) for epoch, values in log.items()]
    return curve_envelope(records)


# ============================================================ the check

def _logs(port_dir):
    found = []
    for pattern in LOG_PATTERNS:
        found.extend(glob.glob(os.path.join(port_dir, pattern)))
    return sorted(found)


def _fits(errors, epochs, envelope, shift=0):
    shared = [e for e in epochs if e + shift in errors]
    return bool(shared) and all(
        envelope['band_low'][epochs.index(e)] <= errors[e + shift] <= envelope['band_high'][
            epochs.index(e)] for e in shared)


def _curve_hints(errors, epochs, envelope, rows):
    """Hints for a log outside the envelope (rows: the compared epochs, see check_curves)."""
    outside = [row for row in rows if row[0] > 0]
    values = [errors[e] for e in errors]
    if max(values) <= 1 and min(float(m) for m in envelope['test_error_min']) > 1:
        return [CURVE_HINTS['fraction']]
    if 0 not in errors and _fits(errors, epochs, envelope, shift=1):
        return [CURVE_HINTS['one_based']]
    above = [row for row in outside if row[2] > row[4]]
    return [CURVE_HINTS['above' if len(above) * 2 >= len(outside) else 'below']]


def check_curves(port_dir, golden_dir, schema, envelope_path=None):
    """The curves check: every epochs*.jsonl / epochs*.csv of the port against the
    envelope (the golden folder's curves.npz, or ``envelope_path``)."""
    result = CheckResult('curves')
    logs = _logs(port_dir)
    curves = schema.get('curves', {})
    if not logs:
        result.missing.append('epochs*.jsonl')
        return result
    if envelope_path is None and not curves.get('generated'):
        result.note = 'port has %d log(s) but the goldens have no curves (%s)' % (
            len(logs), curves.get('note', 'not generated'))
        return result
    envelope = read_npz(envelope_path or os.path.join(golden_dir, CURVES_FILE))
    epochs = [int(e) for e in envelope['epochs']]
    for log in logs:
        name = os.path.basename(log)
        errors = OrderedDict((e, v['test_error']) for e, v in read_log(log).items())
        shared = [e for e in epochs if e in errors]
        if not shared:
            result.comparisons.append(Comparison(
                name, False, problem='no epoch in common with the envelope (epochs %d..%d)'
                % (epochs[0], epochs[-1])))
            if errors and _fits(errors, epochs, envelope, shift=1):
                result.hints.append(CURVE_HINTS['one_based'])
            continue
        rows = []
        for epoch in shared:
            i = epochs.index(epoch)
            low, high = float(envelope['band_low'][i]), float(envelope['band_high'][i])
            value = errors[epoch]
            rows.append((max(low - value, value - high, 0.0), epoch, value, low, high, i))
        bad = sum(1 for row in rows if row[0] > 0)
        excess, epoch, value, low, high, i = max(rows, key=lambda row: row[0])
        comparison = Comparison('%s epoch %d' % (name, epoch), bad == 0, bad, len(shared),
                                None, envelope['test_error_median'][i], value, excess,
                                0.0, 0.0)
        if bad:
            comparison.problem = ('test error %.2f%% outside [%.2f, %.2f] (our seeds: median '
                                  '%.2f%%); %d of %d epochs outside'
                                  % (value, low, high, envelope['test_error_median'][i], bad,
                                     len(shared)))
            for hint in _curve_hints(errors, epochs, envelope, rows):
                if hint not in result.hints:
                    result.hints.append(hint)
        result.comparisons.append(comparison)
    return result
