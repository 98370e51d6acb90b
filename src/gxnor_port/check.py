"""The whole check of a port folder against a golden folder, and its exit status.

Every output array the port wrote (any subset, under the golden file and array names) is
compared by its schema rule; failing checks get hints from the catalogue of mistakes; the
port's training logs are checked against the curves' envelope. Exit status of ``run``:
EXIT_PASS (0) when nothing failed, EXIT_FAIL (1) when a check failed (or, required
complete, when a check was not provided in full), and IOError (the command's EXIT_UNUSABLE,
2) when a folder or file cannot be used: no port folder, no golden schema, a golden file
missing or truncated, a port file or log that cannot be read.
"""
from __future__ import absolute_import, division, print_function

import glob
import os
import sys
from collections import OrderedDict

from .compare import compare_arrays
from .curves import check_curves
from .diagnosis import hints
from .npzfile import read_npz
from .report import CheckResult, format_report, overall
from .schema import load_schema, read_golden, step_groups, step_order

__all__ = ['DEFAULT_GOLDEN', 'EXIT_PASS', 'EXIT_FAIL', 'EXIT_UNUSABLE', 'newest_golden',
           'check_port', 'run']

EXIT_PASS, EXIT_FAIL, EXIT_UNUSABLE = 0, 1, 2


def newest_golden(root=os.path.join('results', 'golden')):
    """results/golden/v<highest> that exists (v1 if none does), from the current folder."""
    versions = []
    for path in glob.glob(os.path.join(root, 'v*')):
        tail = os.path.basename(path)[1:]
        if tail.isdigit() and os.path.isdir(path):
            versions.append(int(tail))
    return os.path.join(root, 'v%d' % max(versions or [1]))


DEFAULT_GOLDEN = newest_golden()


def check_port(port_dir, golden_dir=DEFAULT_GOLDEN, curves=None):
    """OrderedDict check -> CheckResult (in the schema's order), and notes (list).
    ``curves``: an envelope .npz to use instead of the golden folder's curves.npz."""
    schema = load_schema(golden_dir)
    if not os.path.isdir(port_dir):
        raise IOError('%s is not a folder' % port_dir)
    checks = schema['checks']
    order = sorted(checks, key=lambda name: checks[name]['order'])
    results = OrderedDict((name, CheckResult(name, checks[name]['advisory'])) for name in order)
    notes = []
    for filename in schema['files']:
        entry = schema['files'][filename]
        path = os.path.join(port_dir, filename)
        port = read_npz(path) if os.path.exists(path) else None
        golden = read_golden(golden_dir, filename, entry) if port else None
        for name, array in entry['arrays'].items():
            if array['role'] != 'output':
                continue
            result = results.setdefault(array['check'], CheckResult(array['check']))
            if port is not None and name in port:
                result.comparisons.append(
                    compare_arrays(name, golden[name], port[name], array['compare']))
            else:
                result.missing.append(name)
        if 'step' in entry['cases']:
            for check, prefix, _ in step_groups(entry):
                results[check].order = (results[check].order or []) + \
                    step_order(entry['cases']['step'], prefix)
        if port:
            unknown = [n for n in port if n not in entry['arrays']]
            if unknown:
                notes.append('%s: %d arrays not in the schema, ignored (e.g. %s)'
                             % (filename, len(unknown), ', '.join(sorted(unknown)[:3])))
            if any(results[a['check']].failures for a in entry['arrays'].values()
                   if a['role'] == 'output'):
                for check, hint in hints(filename, golden, port, entry, results):
                    results[check].hints.append(hint)
    results['curves'] = check_curves(port_dir, golden_dir, schema, curves)
    return results, notes


def run(port_dir, golden_dir=DEFAULT_GOLDEN, stream=None, require_complete=False,
        curves=None):
    """Check, print the report, and return the exit status: 0 when nothing failed
    (PASS or PARTIAL), 1 when a check failed (or, with ``require_complete``, when the
    result is not a complete PASS); IOError when the folders cannot be used."""
    stream = stream or sys.stdout
    results, notes = check_port(port_dir, golden_dir, curves)
    if not any(r.comparisons or r.note for r in results.values()):
        raise IOError('%s holds none of the golden files (%s) nor a training log '
                      '(epochs*.jsonl, epochs*.csv)'
                      % (port_dir, ', '.join(load_schema(golden_dir)['files'])))
    stream.write(format_report(results, notes, port_dir, golden_dir) + '\n')
    word = overall(results)[0]
    if word == 'FAIL' or (require_complete and word != 'PASS'):
        return EXIT_FAIL
    return EXIT_PASS
