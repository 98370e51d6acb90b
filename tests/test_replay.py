"""The printout and the comparison of make replay-released / check-reproduction (the
training itself runs in those targets and in CI, not here: 3 real MNIST epochs)."""
from __future__ import absolute_import, division, print_function

import json

import numpy as np
import theano

from gxnor.training import replay
from text_sink import TextSink


def _record(epoch, lr, loss, released):
    return dict(epoch=epoch, lr=lr, train_loss=loss, seconds=1.5, released=released)


def test_figures_print_as_the_released_script_prints_them():
    assert replay.released_str(float(np.float32(0.8982)) / 1 * 100) == '89.8199975491'
    assert replay.released_str(0.0) == '0'
    assert replay.released_str(0.1 * (1e-6 ** (1 / 4000.0))) == '0.0996552080135'
    out = TextSink()
    printer = replay.EpochPrinter(4000, out)
    printer.batch(1, np.float32(1.9844077825546265))
    printer.epoch(_record(0, 0.0, 1.89744277, dict(valid_loss=41.3107299805, valid_error=
                                                   float(np.float32(0.8982)) * 100,
                                                   test_loss=1.0, test_error=2.5)))
    lines = out.getvalue().splitlines()
    assert lines[0] == '  batch 1 loss 1.9844077825546265'
    assert lines[1] == 'Epoch 1 of 4000 took 1.5s'
    assert lines[3] == '  training loss:                 1.89744277'
    assert lines[5] == '  validation error rate:         89.8199975491%'
    assert printer.epochs[0]['batch_losses'] == ['1.9844077825546265']


def _trace():
    with open(replay.TRACE) as handle:
        return json.load(handle)


def test_the_trace_compares_identical_with_itself_and_names_a_difference():
    trace = _trace()
    lines, identical = replay.compare(trace['epochs'], trace)
    assert identical and lines[0].startswith('epoch 1: identical (5/5 batch losses, 5/5')
    changed = json.loads(json.dumps(trace['epochs']))
    changed[1]['batch_losses'][2] = '0.7399588823318482'
    changed[1]['test_error'] = '45.5799996854'
    lines, identical = replay.compare(changed, trace)
    assert not identical
    assert lines[1].startswith('epoch 2: DIFFERENT (4/5 batch losses, 4/5 figures identical; '
                               'first different batch: 3)')
    assert '  test_error: ours 45.5799996854, reference 45.5799996853' in lines[2]
    assert lines[3] == ('  batch 3 loss: ours 0.7399588823318482, reference '
                        '0.7399588823318481')


def test_weights_checksum_sees_one_changed_bit():
    a = theano.shared(np.float32([1, 2, 3]), name='W')
    b = theano.shared(np.zeros((2, 2), np.float32), name='b')
    before = replay.weights_sha256([a, b])
    value = a.get_value()
    value.view(np.uint32)[1] ^= 1
    a.set_value(value)
    assert replay.weights_sha256([a, b]) != before
    reference = dict(epochs=[], weights_sha256=before)
    lines, identical = replay.compare([dict(weights_sha256=replay.weights_sha256([a, b]))],
                                      reference)
    assert not identical and 'DIFFERENT' in lines[-1]


def test_committed_references_are_complete():
    trace = _trace()
    # the spec's printout: epochs 1-3 (released-trace.md), 1-12 (released-dumps/README.md)
    assert [e['epoch'] for e in trace['epochs']] == list(range(1, 13))
    assert all(len(e['batch_losses']) == 5 for e in trace['epochs'])
    # epoch 10, batch 4: where the replay left the released script before act_grad
    assert trace['epochs'][9]['batch_losses'][3] == '0.05242729187011719'
    with open(replay.REPRODUCTION) as handle:
        ours = json.load(handle)
    assert len(ours['epochs']) == replay.REPRODUCTION_EPOCHS
    assert len(ours['epochs'][-1]['weights_sha256']) == 64
    # the LR = 0 epoch sees the same forward pass in both: same initial weights, shuffle
    assert ours['epochs'][0]['batch_losses'] == trace['epochs'][0]['batch_losses']
