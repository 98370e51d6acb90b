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
