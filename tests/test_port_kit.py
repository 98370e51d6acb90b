"""The porter's kit (src/gxnor_port) on its own: NumPy only, on Python 2.7 and 3.

It imports and checks a port with Theano, Lasagne and the training code (package gxnor)
made unimportable, under this interpreter and under a Python 3 with NumPy when there is
one; the curves check reads our epochs.jsonl and a plain CSV, and says where and how a
curve leaves the envelope; unusable input (a missing folder, a truncated file, an
unreadable log) is exit status 2. Seconds, no Theano.
"""
from __future__ import absolute_import, division, print_function

import io
import json
import os
import shutil
import subprocess
import sys
from collections import OrderedDict

import numpy as np
import pytest

from gxnor_port import check as kit_check
from gxnor_port import command as kit_command
from gxnor_port import curves as kit_curves
from gxnor_port import npzfile
from gxnor_port import schema as kit_schema
from text_sink import TextSink

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
V2 = os.path.join(ROOT, 'results', 'golden', 'v2')

# Run in a fresh interpreter: make theano, lasagne and gxnor unimportable, import every
# module of the kit, check a port holding the golden dst outputs, and report what loaded.
BLOCKED_RUN = r'''
import os, sys
BLOCKED = ('theano', 'lasagne', 'gxnor')

def blocked(name):
    return name.split('.')[0] in BLOCKED

class Blocker(object):
    def find_spec(self, name, path=None, target=None):
        if blocked(name):
            raise ImportError('blocked: ' + name)
        return None

    def find_module(self, name, path=None):
        return self if blocked(name) else None

    def load_module(self, name):
        raise ImportError('blocked: ' + name)

sys.meta_path.insert(0, Blocker())
try:
    import theano
    sys.exit('the blocker did not block theano')
except ImportError:
    pass
import pkgutil
import numpy as np
import gxnor_port
from gxnor_port.command import main
from gxnor_port.schema import load_schema, read_golden
modules = [m[1] for m in pkgutil.iter_modules(gxnor_port.__path__) if m[1] != '__main__']
for module in modules:
    __import__('gxnor_port.' + module)
golden, port = sys.argv[1:3]
entry = load_schema(golden)['files']['dst.npz']
outputs = dict((n, a) for n, a in read_golden(golden, 'dst.npz', entry).items()
               if entry['arrays'][n]['role'] == 'output')
os.makedirs(port)
np.savez(os.path.join(port, 'dst.npz'), **outputs)
status = main(['check', port, '--golden', golden])
loaded = sorted(m for m in sys.modules if blocked(m))
sys.stdout.write('status %d modules %d loaded %r\n' % (status, len(modules), loaded))
'''


def _python3_with_numpy():
    for candidate in ('python3',):
        try:
            status = subprocess.call([candidate, '-c', 'import numpy, sys; '
                                      'sys.exit(sys.version_info < (3, 8))'],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        except OSError:
            continue
        if status == 0:
            return candidate
    return None


INTERPRETERS = [sys.executable, _python3_with_numpy()]


@pytest.mark.parametrize('python', INTERPRETERS, ids=['this', 'python3'])
def test_the_kit_imports_and_checks_without_theano_lasagne_or_gxnor(tmpdir, python):
    if python is None:
        pytest.skip('no python3 (3.8+) with NumPy on this machine')
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, 'src'))
    process = subprocess.Popen([python, '-c', BLOCKED_RUN, V2, str(tmpdir.join('port'))],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = process.communicate()
    out = out.decode('utf-8')
    assert process.returncode == 0, err.decode('utf-8', 'replace')
    assert ['PASS', 'dst'] in [line.split()[:2] for line in out.splitlines()], out
    assert 'RESULT: PARTIAL' in out
    assert out.splitlines()[-1] == 'status 0 modules 10 loaded []'


# ------------------------------------------------------------------ a golden folder of curves

def _records(errors):
    return [dict(epoch=e, test_error=v, valid_error=v + 0.5, train_loss=1.0 / (e + 1))
            for e, v in enumerate(errors)]


def _curves_golden(folder):
    """A golden folder holding only the curves: three seeds, epochs 0..2."""
    os.makedirs(folder)
    records = OrderedDict([(1, _records([90, 20, 10])), (2, _records([88, 22, 11])),
                           (3, _records([89, 21, 10.5]))])
    arrays = kit_curves.curve_envelope(records)
    npzfile.write_npz(os.path.join(folder, kit_schema.CURVES_FILE), arrays)
    schema = OrderedDict([
        ('format', kit_schema.FORMAT), ('version', 2), ('files', OrderedDict()),
        ('checks', OrderedDict([('curves', OrderedDict([('order', 0), ('advisory', False)]))])),
        ('curves', kit_curves.curves_schema(arrays, source='synthetic'))])
    npzfile.write_json(os.path.join(folder, kit_schema.SCHEMA_FILE), schema)
    return folder


@pytest.fixture
def curves_golden(tmpdir):
    return _curves_golden(str(tmpdir.join('golden')))


def _folder_with(tmpdir, name, text):
    folder = str(tmpdir.mkdir('port-' + name.replace('.', '-')))
    with io.open(os.path.join(folder, name), 'w', encoding='utf-8') as handle:
        handle.write(text)
    return folder


def _run(port, golden):
    sink = TextSink()
    status = kit_check.run(port, golden, stream=sink)
    return status, sink.getvalue()


def _jsonl(errors, first=0):
    return u''.join(json.dumps(dict(epoch=e, test_error=v, lr=0.1)) + u'\n'
                    for e, v in enumerate(errors, first))


def test_the_envelope_is_min_max_widened_by_the_spread_at_least_one_point(curves_golden):
    arrays = npzfile.read_npz(os.path.join(curves_golden, kit_schema.CURVES_FILE))
    np.testing.assert_array_equal(arrays['band_low'], [86, 18, 9])       # width 2, 2, 1
    np.testing.assert_array_equal(arrays['band_high'], [92, 24, 12])


def test_our_jsonl_and_a_plain_csv_inside_the_envelope_pass(curves_golden, tmpdir):
    logs = [('epochs.jsonl', _jsonl([91.5, 18.5, 11.9, 3.0])),
            ('epochs-torch.csv', u'epoch,train_loss,valid_error,test_error\n'
                                 u'0,0.9,90,91.5\n1,0.5,20,18.5\n2,0.4,11,11.9\n'),
            ('epochs.csv', u'0, 0.9, 90, 86\n1, 0.5, 20, 24\n'),          # no header
            ('epochs-b.csv', u'Test Error,Epoch\n90,0\n20,1\n10,2\n')]    # any order
    for name, text in logs:
        status, report = _run(_folder_with(tmpdir, name, text), curves_golden)
        assert status == 0, report
        assert report.splitlines()[1].split()[:2] == ['PASS', 'curves'], report


def test_a_curve_outside_the_envelope_fails_saying_where_and_what_to_check(curves_golden,
                                                                          tmpdir):
    above = _folder_with(tmpdir, 'epochs.csv', u'epoch,train loss,valid error,test error\n'
                                               u'0,1,90,89\n1,1,30,30\n2,1,25,25\n')
    status, report = _run(above, curves_golden)
    assert status == 1
    assert 'epochs.csv epoch 2' in report and 'test error 25.00% outside [9.00, 12.00]' \
        in report and '2 of 3 epochs outside' in report
    assert 'hint: above the envelope' in report and 'schedule' in report
    below = _folder_with(tmpdir, 'epochs.jsonl', _jsonl([89, 5, 2]))
    status, report = _run(below, curves_golden)
    assert status == 1 and 'hint: below the envelope' in report
    fraction = _folder_with(tmpdir, 'epochs-f.jsonl', _jsonl([0.89, 0.21, 0.105]))
    status, report = _run(fraction, curves_golden)
    assert status == 1 and 'look like fractions' in report and 'below the envelope' not in report
    one_based = _folder_with(tmpdir, 'epochs-1.jsonl', _jsonl([89, 21, 10.5], first=1))
    status, report = _run(one_based, curves_golden)
    assert status == 1 and 'epochs are 0-based' in report


def test_a_longer_reference_is_an_envelope_made_from_our_runs_logs(curves_golden, tmpdir):
    runs = []
    for seed, errors in enumerate(([50, 10, 5, 3, 2], [52, 11, 6, 3.5, 2.5]), 1):
        path = str(tmpdir.join('run%d.jsonl' % seed))
        with open(path, 'w') as handle:
            for record in _records(errors):
                handle.write(json.dumps(record) + '\n')
        runs.append(path)
    envelope = str(tmpdir.join('long.npz'))
    assert kit_command.main(['envelope', '--out', envelope] + runs) == 0
    arrays = npzfile.read_npz(envelope)
    np.testing.assert_array_equal(arrays['epochs'], [0, 1, 2, 3, 4])
    np.testing.assert_array_equal(arrays['band_high'], [54, 12, 7, 4.5, 3.5])
    port = _folder_with(tmpdir, 'epochs.jsonl', _jsonl([51, 10, 5, 3, 4]))
    sink = TextSink()
    status = kit_check.run(port, curves_golden, stream=sink, curves=envelope)
    assert status == 1 and 'epochs.jsonl epoch 4' in sink.getvalue()
    assert kit_command.main(['check', port, '--golden', curves_golden]) == 1  # epochs 0..2
    assert kit_command.main(['check', port, '--golden', curves_golden, '--curves',
                             envelope]) == 1


# ------------------------------------------------------------------------ unusable input

def test_unusable_input_exits_2(curves_golden, tmpdir):
    missing = str(tmpdir.join('missing'))
    assert kit_command.main(['check', missing, '--golden', curves_golden]) == 2
    assert kit_command.main(['check', str(tmpdir.mkdir('empty')), '--golden',
                             curves_golden]) == 2
    broken = _folder_with(tmpdir, 'epochs.csv', u'epoch,test_error\n0,90\n1,twenty\n')
    assert kit_command.main(['check', broken, '--golden', curves_golden]) == 2
    torn = _folder_with(tmpdir, 'epochs.jsonl', _jsonl([89, 21])[:-9])
    assert kit_command.main(['check', torn, '--golden', curves_golden]) == 2
    latin1 = str(tmpdir.mkdir('latin1'))
    with open(os.path.join(latin1, 'epochs.csv'), 'wb') as handle:
        handle.write(b'epoch,test_error\n0,90\n# \xe9\n')
    assert kit_command.main(['check', latin1, '--golden', curves_golden]) == 2
    assert kit_command.main([]) == 2


def test_a_truncated_port_or_golden_file_exits_2(tmpdir):
    golden = str(tmpdir.join('golden'))
    shutil.copytree(V2, golden)
    entry = kit_schema.load_schema(golden)['files']['snap.npz']
    port = str(tmpdir.mkdir('port'))
    outputs = dict((n, a) for n, a in kit_schema.read_golden(golden, 'snap.npz', entry).items()
                   if entry['arrays'][n]['role'] == 'output')
    path = os.path.join(port, 'snap.npz')
    np.savez(path, **outputs)
    assert kit_command.main(['check', port, '--golden', golden]) == 0
    with open(path, 'rb') as handle:
        data = handle.read()
    with open(path, 'wb') as handle:
        handle.write(data[:len(data) // 2])
    with pytest.raises(npzfile.UnreadableFile):
        kit_check.check_port(port, golden)
    assert kit_command.main(['check', port, '--golden', golden]) == 2
    np.savez(path, **outputs)
    with open(os.path.join(golden, 'snap.npz'), 'r+b') as handle:
        handle.truncate(1000)
    assert kit_command.main(['check', port, '--golden', golden]) == 2
    os.remove(os.path.join(golden, 'snap.npz'))
    assert kit_command.main(['check', port, '--golden', golden]) == 2
