"""The conformance report on a small synthetic golden folder (no Theano, seconds).

What a porter reads first: the line of a failing training step leads with the FIRST
divergence in the documented order (state included), a check with arrays missing is
PARTIAL n/m (never PASS), frozen biases are named, and the exit status is 0 / 1 / 2 both
from ``python -m gxnor_port check`` and from ``make check-port``.
"""
from __future__ import absolute_import, division, print_function

import os
import subprocess
import sys
from collections import OrderedDict

import numpy as np
import pytest

from gxnor_port import check as kit_check
from gxnor_port import command as kit_command
from gxnor_port import schema as kit_schema
from gxnor_port import npzfile
from text_sink import TextSink

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

STEP = OrderedDict([
    ('layers', ['conv1', 'bn1']),
    ('trainable', ['conv1.W', 'conv1.b', 'bn1.beta']),
    ('state', ['conv1.W', 'conv1.b', 'bn1.beta', 'bn1.mean', 'conv1.W.adam_m',
               'conv1.W.adam_v', 'adam_discrete.t', 'conv1.b.adam_m', 'conv1.b.adam_v',
               'bn1.beta.adam_m', 'bn1.beta.adam_v', 'adam_others.t'])])


def _synthetic_golden(folder):
    """A golden folder with one train_step-like file of two steps (v1 naming)."""
    rng = np.random.RandomState(5)
    gf = kit_schema.GoldenFile('train_step.npz', 'train_step', 'synthetic')
    gf.cases['step'] = STEP
    close = kit_schema.close(1e-4, 1e-5, 'test')
    state = OrderedDict((name, rng.standard_normal(3).astype(np.float32))
                        for name in STEP['state'])
    for name, value in state.items():
        gf.input('init/' + name, value, 'start', 'train_step.step1')
    for k in (1, 2):
        check = 'train_step.step%d' % k
        prefix = 'step%d/' % k
        for layer in STEP['layers']:
            gf.output(prefix + 'layer/' + layer, rng.standard_normal(4).astype(np.float32),
                      'layer', check, close)
        gf.output(prefix + 'loss', np.float32(rng.rand()), 'loss', check, close)
        for name in STEP['trainable']:
            gf.output(prefix + 'grad/' + name, rng.standard_normal(3).astype(np.float32),
                      'grad', check, close)
        state = OrderedDict((name, (value + 1).astype(np.float32))
                            for name, value in state.items())
        for name, value in state.items():
            gf.output(prefix + 'state/' + name, value, 'state', check, close)
        gf.output(prefix + 'eval/output', rng.standard_normal(4).astype(np.float32),
                  'eval', check, close)
    os.makedirs(folder)
    npzfile.write_npz(os.path.join(folder, gf.filename), gf.arrays)
    schema = OrderedDict([
        ('format', kit_schema.FORMAT), ('version', 2),
        ('checks', OrderedDict([
            ('train_step.step1', OrderedDict([('order', 0), ('advisory', False)])),
            ('train_step.step2', OrderedDict([('order', 1), ('advisory', False)])),
            ('curves', OrderedDict([('order', 2), ('advisory', False)]))])),
        ('files', OrderedDict([(gf.filename, gf.schema())])),
        ('curves', OrderedDict([('generated', False), ('note', 'none')]))])
    npzfile.write_json(os.path.join(folder, kit_schema.SCHEMA_FILE), schema)
    return folder, gf


@pytest.fixture
def synthetic(tmpdir):
    return _synthetic_golden(str(tmpdir.join('golden')))


def _port(tmpdir, gf, change=None, drop=()):
    folder = str(tmpdir.join('port'))
    os.makedirs(folder)
    outputs = OrderedDict((name, value) for name, value in gf.arrays.items()
                          if gf.entries[name]['role'] == 'output' and name not in drop)
    for name, value in (change or {}).items():
        outputs[name] = value
    npzfile.write_npz(os.path.join(folder, gf.filename), outputs)
    return folder


def _run(port, folder, **options):
    sink = TextSink()
    status = kit_check.run(port, folder, stream=sink, **options)
    return status, sink.getvalue()


def _line(report, check):
    """The report line of ``check`` (status words, then the check's name)."""
    return [line for line in report.splitlines() if check in line.split()[:3]][0]


def test_first_divergence_leads_state_included(synthetic, tmpdir):
    folder, gf = synthetic
    wrong_W = gf.arrays['step1/state/conv1.W'] + 1
    wrong_eval = gf.arrays['step1/eval/output'] * 3      # larger deviation, but downstream
    status, report = _run(_port(tmpdir, gf, {'step1/state/conv1.W': wrong_W,
                                            'step1/eval/output': wrong_eval}), folder)
    assert status == 1
    line = _line(report, 'train_step.step1')
    assert line.startswith('FAIL') and 'first divergence step1/state/conv1.W[0]' in line, report
    assert 'eval/output' not in line
    assert 'also step1/eval/output' in report
    results, _ = kit_check.check_port(_port(tmpdir.mkdir('b'), gf, {
        'step1/state/conv1.W.adam_m': gf.arrays['step1/state/conv1.W.adam_m'] * 2,
        'step1/state/conv1.W': wrong_W,
        'step1/grad/bn1.beta': gf.arrays['step1/grad/bn1.beta'] + 5}), folder)
    # gradients from the last layer back come before the state; moments before the param
    assert results['train_step.step1'].lead().name == 'step1/grad/bn1.beta'
    order = kit_schema.step_order(STEP, 'step1/')
    assert order.index('step1/state/conv1.W.adam_m') < order.index('step1/state/conv1.W') \
        < order.index('step1/state/bn1.mean') < order.index('step1/eval/output')
    assert order[:5] == ['step1/layer/conv1', 'step1/layer/bn1', 'step1/loss',
                         'step1/predictions', 'step1/grad/bn1.beta']


def test_partial_coverage_is_not_a_pass(synthetic, tmpdir):
    folder, gf = synthetic
    step2 = [n for n in gf.arrays if n.startswith('step2/')]
    status, report = _run(_port(tmpdir, gf, drop=step2[:5]), folder)
    n = len(step2)
    assert status == 0
    assert _line(report, 'train_step.step1').startswith('PASS ')
    assert _line(report, 'train_step.step2').startswith('PARTIAL %d/%d' % (n - 5, n))
    assert 'PASS' not in report.splitlines()[-1]
    assert report.splitlines()[-1].startswith('RESULT: PARTIAL')
    status, _ = _run(_port(tmpdir.mkdir('b'), gf, drop=step2[:5]), folder,
                     require_complete=True)
    assert status == 1
    assert kit_command.main(['check', _port(tmpdir.mkdir('c'), gf, drop=step2[:5]), '--golden',
                             folder, '--require-complete']) == 1


def test_frozen_biases_fail_and_are_named(synthetic, tmpdir):
    folder, gf = synthetic
    frozen = {'step2/state/conv1.b': gf.arrays['step1/state/conv1.b']}
    status, report = _run(_port(tmpdir, gf, frozen), folder)
    assert status == 1
    assert 'first divergence step2/state/conv1.b' in _line(report, 'train_step.step2')
    assert 'the biases conv1.b did not move' in report
    moved = {'step2/state/conv1.b': gf.arrays['step2/state/conv1.b'] + 0.5}
    status, report = _run(_port(tmpdir.mkdir('b'), gf, moved), folder)
    assert status == 1 and 'did not move' not in report
    assert 'the gradients of conv1.b match but the new values do not' in report


def _make(args, env_extra=None):
    env = dict(os.environ)
    env['GXNOR_VENV'] = sys.prefix        # the environment these tests run in
    env.update(env_extra or {})
    process = subprocess.Popen(['make', '-s', '--no-print-directory'] + args, cwd=ROOT,
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = process.communicate()
    return process.returncode, out.decode('utf-8', 'replace'), err.decode('utf-8', 'replace')


def _environment_ready():
    """GNU make is there and `make env` would not (re)build this interpreter's venv (so
    the check-port calls below never build or replace an environment)."""
    try:
        status, out, _ = _make(['-n', 'env'])
    except OSError:
        return False
    return status == 0 and 'install-stack' not in out and 'virtualenv' not in out


def test_make_check_port_exits_0_1_2(synthetic, tmpdir):
    if not _environment_ready():
        pytest.skip('needs GNU make and an up-to-date project environment (make env)')
    folder, gf = synthetic
    good = _port(tmpdir.mkdir('good'), gf)
    bad = _port(tmpdir.mkdir('bad'), gf, {
        'step2/state/conv1.b': gf.arrays['step1/state/conv1.b']})
    partial = _port(tmpdir.mkdir('partial'), gf, drop=['step2/loss'])
    status, out, err = _make(['check-port', 'PORT=' + good, 'GOLDEN=' + folder])
    assert status == 0, err
    assert out.splitlines()[0].startswith('conformance of ')
    assert out.splitlines()[-1].startswith('RESULT: PARTIAL')      # curves not provided
    status, out, err = _make(['check-port', 'PORT=' + bad, 'GOLDEN=' + folder])
    assert status == 1, err
    assert 'did not move' in out and out.splitlines()[-1].startswith('RESULT: FAIL')
    status, out, _ = _make(['check-port', 'PORT=' + partial, 'GOLDEN=' + folder])
    assert status == 0 and 'PARTIAL' in out
    status, out, _ = _make(['check-port', 'PORT=' + partial, 'GOLDEN=' + folder,
                            'REQUIRE_COMPLETE=1'])
    assert status == 1
    status, _, err = _make(['check-port', 'PORT=' + str(tmpdir.join('missing')),
                            'GOLDEN=' + folder])
    assert status == 2 and 'is not a folder' in err
    status, _, err = _make(['check-port', 'PORT=' + good, 'GOLDEN=' + str(tmpdir)])
    assert status == 2 and 'no golden schema' in err
    status, _, err = _make(['check-port'])
    assert status == 2 and 'usage: make check-port' in err
