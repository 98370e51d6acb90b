"""The full-length run's report: figures read from the epoch log, milestones, chunks."""
from __future__ import absolute_import, division, print_function

import json

from gxnor.training import longrun


def _records(errors):
    return [dict(epoch=e, test_error=t, valid_error=v, seconds=10.0 + e,
                 activation_sparsity=0.5) for e, (t, v) in enumerate(errors)]


def test_best_figures_milestones_and_quoted_column():
    errors = [(90.0, 90.0)] + [(5.0, 6.0)] * 29 + [(1.5, 1.9)] + [(1.2, 1.7)] * 69 + \
        [(1.4, 1.6)] * 20
    records = _records(errors)       # epochs 0..119
    text = longrun.report(records, [], 'mnist-full')
    assert '**120 of 4000 epochs so far**' in text
    # best test error 1.20 %, its LAST epoch (ties go to the later epoch): 99
    assert '| best test error (released metric) | 1.20 % at epoch 99 |' in text
    # best valid 1.60 % from epoch 101 on, ties to the later: epoch 119, test 1.40 %
    assert '| test error at the best validation epoch | 1.40 % (epoch 119, valid 1.60 %) |' \
        in text
    assert '| 30 | 1.50 % | 1.50 % | 1.90 % | 50.0 % | - |' in text
    assert '| 100 | 1.40 % | 1.20 % | 1.60 % | 50.0 % | - |' in text
    assert '| 200 |' not in text     # not reached
    assert 'median 69.5 s per epoch (10.0-129.0 s)' in text


def test_the_halves_end_at_epochs_1999_and_3999():
    records = _records([(1.0, 1.0)] * 1999 + [(0.7, 0.9)])       # epochs 0..1999
    text = longrun.report(records, [], 'r')
    assert '**2000 of 4000 epochs so far** (0-based epochs 0-1999;' in text
    assert '| 1999 (2000 epochs done) | 0.70 % | 0.70 % | 0.90 % | 50.0 % | 0.68 % ' \
        '(epoch 1532) |' in text
    assert '| 2000 |' not in text and '3999 (4000' not in text


def test_quoted_figures_appear_once_their_epoch_is_reached():
    records = _records([(1.0, 1.0)] * 201)
    text = longrun.report(records, [], 'r')
    assert '| 200 | 1.00 % | 1.00 % | 1.00 % | 50.0 % | 0.83 % (about epoch 190) |' in text


def test_chunks_and_unusable_folders(tmpdir):
    run = tmpdir.mkdir('mnist-full')
    assert longrun.main([str(run), '--out', str(tmpdir)]) == 2
    run.join('epochs.jsonl').write(''.join(json.dumps(r) + '\n' for r in _records([(2.0, 2.0)] * 3)))
    sessions = [dict(event='start', after_epoch=-1, commit='0123456789abcdef', machine='vm A',
                     time='T1'),
                dict(event='stopped', after_epoch=1),
                dict(event='resume', after_epoch=1, commit='fedcba9876543210', machine='vm B',
                     time='T2')]
    run.join('sessions.jsonl').write(''.join(json.dumps(s) + '\n' for s in sessions))
    assert longrun.main([str(run), '--out', str(tmpdir)]) == 0
    text = tmpdir.join('mnist-full.md').read()
    assert '| 1 | T1 | 0 | `0123456789` | vm A |' in text
    assert '| 2 | T2 | 2 | `fedcba9876` | vm B |' in text
    assert tmpdir.join('mnist-full.png').size() > 1000


def _checkpoint(last_epoch):
    return dict(last_epoch=last_epoch, epochs_done=last_epoch + 1, path='run/checkpoint.npz')


RESTING = dict(examples=10000, split='test', checkpoint=_checkpoint(2), layers=[
    dict(layer='conv1 32@5x5', bit_level=False, zero_weights=0.285, zero_inputs=0.0,
         resting=0.285),
    dict(layer='dense4 10', bit_level=True, zero_weights=0.3227, zero_inputs=0.431,
         resting=0.6146)],
    total=dict(resting=0.5962), total_bit_level=dict(resting=0.6339))
INFER = dict(examples=10000, split='test', checkpoint=_checkpoint(2), identical=True,
             agree=10000, float_error=0.94, bitwise_error=0.94, xnor_ops=13935598317,
             dense_products=38062080000, xnor_ops_per_example=1393559.8,
             dense_products_per_example=3806208.0)
CHECK = dict(checked='T3', commit='abcdef0123456789', machine='vm C', passed=True,
             checkpoints=[dict(revision='1111111111aa', checkpoint_epochs=2, history_differs=[],
                               next_epoch=dict(epoch=2, differs=[])),
                          dict(revision='2222222222bb', checkpoint_epochs=3, history_differs=[],
                               next_epoch=None)])


def test_trained_network_and_resume_check_sections():
    records = _records([(2.0, 2.0)] * 3)
    text = longrun.report(records, [], 'r', dict(resting=RESTING, gxnor_infer=INFER,
                                                 resume_check=CHECK, checkpoint_bytes=6.04e6))
    assert 'Checkpoint: 6.0 MB (compressed)' in text
    assert 'over the 10000 examples of the test split, on the checkpoint after epoch 2.' in text
    assert '| conv1 32@5x5 (float input) | 28.50 % | 0.00 % | 28.50 % |' in text
    assert '| dense4 10 | 32.27 % | 43.10 % | 61.46 % |' in text
    assert '| **bit-level layers** | | | **63.39 %** |' in text
    assert 'are **identical** to the float Theano pass for 10000 of 10000 examples' in text
    assert 'performed 1393560 XNOR operations per example, 36.6 % of the 3806208' in text
    assert 'Result: **all equal**' in text
    assert '| `1111111111` | 2 | equal | epoch 2: equal |' in text
    assert '| `2222222222` | 3 | equal | not logged yet |' in text
    assert 'not the latest' not in text


def test_stale_or_failing_extras_are_flagged(tmpdir):
    records = _records([(2.0, 2.0)] * 5)      # the log has gone on to epoch 4
    infer = dict(INFER, identical=False, agree=9999)
    check = dict(CHECK, passed=False, checkpoints=[dict(
        CHECK['checkpoints'][0], next_epoch=dict(epoch=2, differs=['train_loss']))])
    text = longrun.report(records, [], 'r', dict(resting=RESTING, gxnor_infer=infer,
                                                 resume_check=check))
    assert text.count('(**not the latest**: the log goes to epoch 4;') == 2
    assert '**NOT identical** to the float Theano pass for 9999 of 10000' in text
    assert 'Result: **DIFFERENCES**' in text and 'DIFFERENT (train_loss)' in text
    # read_extras: only the files present, and the checkpoint's size
    run = tmpdir.mkdir('run')
    run.join('resting.json').write(json.dumps(RESTING))
    run.join('checkpoint.npz').write('x' * 100)
    extras = longrun.read_extras(str(run))
    assert sorted(extras) == ['checkpoint_bytes', 'resting'] and extras['checkpoint_bytes'] == 100
