"""The worked example port (examples/numpy_port/port.py) against the committed goldens.

The port is NumPy only, written from the specification; what it must show a porter: it
passes every check of v2 for both max-pool rules (and every check of v1), the bias checks
of v2 catch a port that never updates its biases and name them, the other pool rule is
caught with the pool hint, and the released activation formula evaluated left to right in
float32 differs only on the advisory points. A few seconds each (no Theano).
"""
from __future__ import absolute_import, division, print_function

import os
import sys

import numpy as np
import pytest

from gxnor.golden import train_step as golden_train_step
from gxnor_port import check as kit_check
from gxnor_port import report as kit_report
from gxnor_port import schema as kit_schema
from gxnor_port import npzfile
from text_sink import TextSink

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'examples', 'numpy_port'))
import port as numpy_port        # noqa: E402  (the example is a script, not a package)

V1, V2 = [os.path.join(ROOT, 'results', 'golden', v) for v in ('v1', 'v2')]
BIASES = ('conv1.b', 'conv2.b', 'dense3.b', 'dense4.b')


def _need(folder):
    if not os.path.exists(os.path.join(folder, kit_schema.SCHEMA_FILE)):
        pytest.skip('no committed goldens in %s (make golden)' % folder)
    return folder


def _port(folder, out, **options):
    numpy_port.run(folder, out, stream=TextSink(), **options)
    return out


def _check(out, folder):
    """(exit status, results, report) as ``python -m gxnor_port check`` would give them."""
    results, notes = kit_check.check_port(out, folder)
    report = kit_report.format_report(results, notes, out, folder)
    return (1 if kit_report.overall(results)[0] == 'FAIL' else 0), results, report


@pytest.fixture(scope='module')
def v2_port(tmpdir_factory):
    """The example port's outputs for every file of v2 (made once)."""
    return _port(_need(V2), str(tmpdir_factory.mktemp('numpy-port-v2')))


@pytest.mark.parametrize('version', ['v1', 'v2'])
def test_the_example_port_passes_every_check(tmpdir, version, request):
    folder = _need({'v1': V1, 'v2': V2}[version])
    out = request.getfixturevalue('v2_port') if version == 'v2' else _port(folder, str(tmpdir))
    sink = TextSink()
    assert kit_check.run(out, folder, stream=sink) == 0, sink.getvalue()
    status, results, report = _check(out, folder)
    checks = [name for name in results if name != 'curves']
    assert all(results[name].status == 'PASS' for name in checks), report
    if version == 'v2':
        assert [n for n in checks if n.startswith('train_step')] == [
            'train_step.step1.pool_one', 'train_step.step2.pool_one',
            'train_step.step1.pool_all', 'train_step.step2.pool_all']
        # complete: the step-2 Adam moments are in the schema now
        assert len(results['train_step.step2.pool_one'].comparisons) == \
            len(results['train_step.step1.pool_one'].comparisons)
        assert 'not in the schema' not in report


def test_bias_spread_of_correct_ports_is_inside_the_measured_value(tmpdir):
    """A float32 backward pass with the other Adam constants: still a complete pass, and its
    biases after step 2 within golden_train_step.BIAS_SPREAD, the number docs/porting.md reports."""
    folder = _need(V2)
    schema = kit_schema.load_schema(folder)
    other = {'float32': 'python', 'python': 'float32'}[
        schema['files']['train_step.npz']['cases']['pool_one']['adam_constants']]
    out = _port(folder, str(tmpdir), only=['train_step'], backward='float32',
                adam_constants=other)
    status, results, report = _check(out, folder)
    assert status == 0 and all(results[c].status == 'PASS' for c in results
                               if c.startswith('train_step')), report
    expected = kit_schema.read_golden(folder, 'train_step.npz')
    ported = npzfile.read_npz(os.path.join(out, 'train_step.npz'))
    spread, smallest_atol = 0.0, np.inf
    for case in kit_schema.TRAIN_RULES:
        for b in BIASES:
            name = '%s/step2/state/%s' % (case, b)
            spread = max(spread, np.abs(ported[name].astype(np.float64) - expected[name]).max())
            smallest_atol = min(smallest_atol, schema['files']['train_step.npz']['arrays'][
                name]['compare']['atol'])
    assert spread <= golden_train_step.BIAS_SPREAD
    assert smallest_atol >= 10 * golden_train_step.BIAS_SPREAD


def test_a_port_that_never_updates_its_biases_fails_step2_naming_them(tmpdir, v2_port):
    folder = _need(V2)
    out = str(tmpdir)
    arrays = npzfile.read_npz(os.path.join(v2_port, 'train_step.npz'))
    for case in kit_schema.TRAIN_RULES:
        for b in BIASES:
            arrays['%s/step2/state/%s' % (case, b)] = arrays['%s/step1/state/%s' % (case, b)]
    np.savez(os.path.join(out, 'train_step.npz'), **arrays)
    status, results, report = _check(out, folder)
    assert status == 1
    for case in kit_schema.TRAIN_RULES:
        assert results['train_step.step1.%s' % case].status == 'PASS'
        step2 = results['train_step.step2.%s' % case]
        assert step2.status == 'FAIL'
        assert step2.lead().name == '%s/step2/state/conv1.b' % case
        assert sorted(c.name.split('/')[-1] for c in step2.failures) == sorted(BIASES)
        assert any('the biases conv1.b, conv2.b, dense3.b, dense4.b did not move' in hint
                   for hint in step2.hints), report


def test_the_other_pool_rule_fails_with_the_pool_hint(tmpdir):
    folder = _need(V2)
    out = _port(folder, str(tmpdir), only=['train_step'], pool_grad='all')
    status, results, report = _check(out, folder)
    assert status == 1
    assert results['train_step.step1.pool_all'].status == 'PASS'
    failing = results['train_step.step1.pool_one']
    assert failing.status == 'FAIL'
    # first divergence: a gradient upstream of a pool, the forward pass matches
    assert failing.lead().name.startswith('pool_one/step1/grad/conv2.'), report
    assert not any('/layer/' in c.name for c in failing.failures)
    assert any('tied maxima in 2x2 pool windows' in hint for hint in failing.hints)


def _released_left_to_right(x, r):
    """round(hs(2(x - r)) + hs(2(x + r)) - 1) in float32, left to right (N = 1)."""
    f = np.float32
    hs = lambda z: np.clip((z + f(1)) / f(2), f(0), f(1))
    inner = (hs(f(2) * (x - f(r))) + hs(f(2) * (x + f(r)))) - f(1)
    return (np.sign(inner) * np.floor(np.abs(inner) + f(0.5))).astype(f)


def test_evaluation_order_points_are_advisory(tmpdir, v2_port):
    """At x = nextafter(1, 0) the released formula left to right gives 1, Theano's compiled
    order 0 (the golden): v2 keeps such points in the advisory set only."""
    folder = _need(V2)
    schema = kit_schema.load_schema(folder)
    arrays = kit_schema.read_golden(folder, 'activation.npz')
    edge = arrays['rectangular_r1_a0.5_N1/x_f32edge']
    below_one = np.nextafter(np.float32(1), np.float32(0))
    assert below_one in edge and below_one not in arrays['rectangular_r1_a0.5_N1/x']
    assert _released_left_to_right(np.array([below_one]), 1.0)[0] == 1
    assert arrays['rectangular_r1_a0.5_N1/forward_f32edge'][list(edge).index(below_one)] == 0
    out = str(tmpdir)
    ported = npzfile.read_npz(os.path.join(v2_port, 'activation.npz'))
    changed = 0
    for case, p in schema['files']['activation.npz']['cases'].items():
        if p['N'] == 1:
            for suffix in ('', '_f32edge'):
                if case + '/x' + suffix in arrays:
                    ported[case + '/forward' + suffix] = _released_left_to_right(
                        arrays[case + '/x' + suffix], p['r'])
                    changed += 1
    np.savez(os.path.join(out, 'activation.npz'), **ported)
    status, results, report = _check(out, folder)
    assert changed >= 8
    assert status == 0, report
    assert results['activation.forward'].status == 'PASS'
    assert results['activation.float32_edges'].status == 'WARN'
