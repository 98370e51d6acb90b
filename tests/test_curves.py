"""gxnor.training.curves: reading epochs.jsonl, the .mat file, the plot, atomic writes."""
from __future__ import absolute_import, division, print_function

import io
import json
import math
import os
import struct

import numpy as np
import pytest
import scipy.io

from gxnor.training import curves, files

HYPER = dict(batch_size=100, num_epochs=3, lr_start=0.1, lr_fin=0.0001, H=1.0, N=1, m=3,
             act_r=1.0, act_a=0.5, act_N=1, pulse='rect', seed=1)


def record(epoch, valid, test, loss=None):
    return {'epoch': epoch, 'lr': 0.0 if epoch == 0 else 0.1 * 0.1 ** (epoch - 1),
            'train_loss': 2.0 / (epoch + 1) if loss is None else loss,
            'valid_loss': 0.5 + valid / 100, 'valid_error': valid,
            'test_loss': 0.6 + test / 100, 'test_error': test,
            'update_type': 1, 'seconds': 1.5}


RECORDS = [record(0, 90.0, 91.0), record(1, 5.0, 4.0), record(2, 2.0, 3.0),
           record(3, 2.5, 1.5)]


def write_lines(run_dir, text):
    with io.open(os.path.join(run_dir, curves.EPOCHS_FILE), 'w', encoding='utf-8') as f:
        f.write(text)


def jsonl(records):
    return u''.join(json.dumps(r) + u'\n' for r in records)


def leftovers(folder):
    return [n for n in os.listdir(folder) if n.endswith('.tmp') or n.startswith('.')]


# ------------------------------------------------------------------ read_epochs
def test_read_epochs_round_trip(tmpdir):
    write_lines(str(tmpdir), jsonl(RECORDS))
    assert curves.read_epochs(str(tmpdir)) == RECORDS


def test_truncated_last_line_is_dropped(tmpdir):
    text = jsonl(RECORDS[:3]) + json.dumps(RECORDS[3])[:25]  # killed mid-write
    write_lines(str(tmpdir), text)
    assert curves.read_epochs(str(tmpdir)) == RECORDS[:3]


def test_truncated_multibyte_last_line_is_dropped(tmpdir):
    with open(os.path.join(str(tmpdir), curves.EPOCHS_FILE), 'wb') as f:
        f.write(jsonl(RECORDS[:2]).encode('utf-8') + b'{"epoch": 2, "note": "\xc3')
    assert [r['epoch'] for r in curves.read_epochs(str(tmpdir))] == [0, 1]


def test_corrupt_middle_line_raises_naming_file_and_line(tmpdir):
    lines = jsonl(RECORDS).splitlines(True)
    lines[1] = lines[1][:20] + u'\n'
    write_lines(str(tmpdir), u''.join(lines))
    with pytest.raises(ValueError) as info:
        curves.read_epochs(str(tmpdir))
    message = str(info.value)
    assert 'epochs.jsonl' in message and 'line 2' in message


def test_line_without_integer_epoch_raises(tmpdir):
    write_lines(str(tmpdir), jsonl(RECORDS[:1]) + u'{"epoch": "1"}\n' + jsonl(RECORDS[2:]))
    with pytest.raises(ValueError) as info:
        curves.read_epochs(str(tmpdir))
    assert 'line 2' in str(info.value)
    write_lines(str(tmpdir), u'[1, 2]\n' + jsonl(RECORDS))
    with pytest.raises(ValueError) as info:
        curves.read_epochs(str(tmpdir))
    assert 'line 1' in str(info.value)


def test_blank_lines_and_repeated_epochs(tmpdir):
    again = dict(RECORDS[2], test_error=7.0)
    write_lines(str(tmpdir), jsonl(RECORDS[:3]) + u'\n' + jsonl([again, RECORDS[3]]))
    got = curves.read_epochs(str(tmpdir))
    assert [r['epoch'] for r in got] == [0, 1, 2, 3]
    assert got[2]['test_error'] == 7.0  # the later line (a resumed run) wins


# ------------------------------------------------------------------ best epochs
def test_best_epochs():
    best = curves.best_epochs(RECORDS)
    assert best == dict(best_test_error=1.5, best_test_epoch=3, best_valid_error=2.0,
                        best_valid_epoch=2, test_error_at_best_valid=3.0)


def test_best_epochs_ties_take_the_latest_and_skip_nan():
    # ties as in the training loop (gxnor.training.schedule.BestEpochs compares with <=)
    recs = [record(0, float('nan'), 50.0), record(1, 4.0, 2.0), record(2, 4.0, 2.0),
            record(3, 9.0, float('nan')), record(4, float('nan'), 1.0)]
    recs[2]['test_error'] = 2.5
    recs[1]['test_error'] = recs[3]['test_error'] = float('nan')
    best = curves.best_epochs(recs)
    assert (best['best_test_error'], best['best_test_epoch']) == (1.0, 4)
    assert (best['best_valid_error'], best['best_valid_epoch']) == (4.0, 2)
    assert best['test_error_at_best_valid'] == 2.5
    tie = [record(0, 3.0, 2.0), record(1, 3.0, 2.0), record(2, 5.0, 9.0)]
    best = curves.best_epochs(tie)
    assert (best['best_test_epoch'], best['best_valid_epoch']) == (1, 1)
    assert curves.best_epochs([])['best_test_epoch'] is None


# ------------------------------------------------------------------ .mat
def test_mat_name_encodes_hyperparameters():
    # decay = (1e-4 / 0.1) ** (1/3) = 0.1
    assert (curves.mat_name(HYPER)
            == 'curves_H1_N1_LR0.1_decay0.1_batch100_epochs3_th3.mat')
    other = dict(HYPER, lr_start=0.003, lr_fin=3e-07, num_epochs=4000, batch_size=10000,
                 H=0.5, N=2, m=1.5)
    # (1e-4) ** (1/4000) = exp(-9.21034 / 4000) = 0.9976998...
    assert (curves.mat_name(other)
            == 'curves_H0.5_N2_LR0.003_decay0.9977_batch10000_epochs4000_th1.5.mat')


def test_mat_name_needs_the_hyperparameters():
    hyper = dict(HYPER)
    del hyper['batch_size']
    with pytest.raises(ValueError) as info:
        curves.mat_name(hyper)
    assert 'batch_size' in str(info.value)
    # m = None is the linear transition probability (p = |v|/L), named as such
    assert curves.mat_name(dict(HYPER, m=None)).endswith('_thnone.mat')
    with pytest.raises(ValueError):
        curves.mat_name(dict(HYPER, lr_start=0.0))


def test_write_mat_round_trips(tmpdir):
    recs = [dict(r) for r in RECORDS]
    del recs[1]['valid_loss']  # missing -> NaN
    path = curves.write_mat(str(tmpdir), recs, HYPER)
    assert os.path.basename(path) == curves.mat_name(HYPER)
    assert os.path.dirname(path) == str(tmpdir)
    data = scipy.io.loadmat(path)
    for key in curves.MAT_VARIABLES:
        got = np.asarray(data[key], dtype=np.float64).ravel()
        want = np.array([r.get(key, np.nan) for r in recs], dtype=np.float64)
        assert got.shape == (len(recs),)
        np.testing.assert_array_equal(got, want)
    assert math.isnan(data['valid_loss'].ravel()[1])
    assert leftovers(str(tmpdir)) == []


def test_write_mat_overwrites(tmpdir):
    curves.write_mat(str(tmpdir), RECORDS[:2], HYPER)
    path = curves.write_mat(str(tmpdir), RECORDS, HYPER)
    assert scipy.io.loadmat(path)['epoch'].size == len(RECORDS)
    assert sorted(os.listdir(str(tmpdir))) == [curves.mat_name(HYPER)]


# ------------------------------------------------------------------ plot
def png_size(path):
    with open(path, 'rb') as f:
        head = f.read(24)
    assert head[:8] == b'\x89PNG\r\n\x1a\n'
    assert head[12:16] == b'IHDR'
    return struct.unpack('>II', head[16:24])


def test_write_plot_is_a_png(tmpdir):
    path = curves.write_plot(str(tmpdir), RECORDS, 'mnist / test')
    assert path == os.path.join(str(tmpdir), 'curves.png')
    assert png_size(path) == (800, 750)
    assert os.path.getsize(path) > 10000
    assert leftovers(str(tmpdir)) == []


def test_write_plot_without_records_or_with_zero_errors(tmpdir):
    path = curves.write_plot(str(tmpdir), [], 'empty')
    assert png_size(path) == (800, 750)
    zero = [record(0, 0.0, 0.0, loss=0.0), record(1, 0.0, 1.0, loss=-1.0)]
    assert png_size(curves.write_plot(str(tmpdir), zero, 'zero')) == (800, 750)


def test_plot_does_not_need_a_display(tmpdir, monkeypatch):
    monkeypatch.delenv('DISPLAY', raising=False)
    curves.write_plot(str(tmpdir), RECORDS, 't')
    import matplotlib
    assert matplotlib.get_backend().lower() == 'agg'


# ------------------------------------------------------------------ atomic writes
def test_failed_atomic_write_leaves_old_file_and_no_temp(tmpdir):
    path = os.path.join(str(tmpdir), 'x.txt')
    files.atomic_write(path, lambda f: f.write(b'old'))

    def boom(f):
        f.write(b'half')
        raise RuntimeError('disk full')
    with pytest.raises(RuntimeError):
        files.atomic_write(path, boom)
    with open(path, 'rb') as f:
        assert f.read() == b'old'
    assert os.listdir(str(tmpdir)) == ['x.txt']
    assert os.stat(path).st_mode & 0o777 == 0o644


# ------------------------------------------------------------------ from disk
def make_run(folder, records=RECORDS, hyper=HYPER, dataset='mnist', run='r1'):
    if not os.path.isdir(folder):
        os.makedirs(folder)
    with io.open(os.path.join(folder, 'config.json'), 'w', encoding='utf-8') as f:
        f.write(u'%s' % json.dumps({'experiment': dataset, 'run': run, 'dataset': dataset,
                                    'hyperparameters': hyper}))
    write_lines(folder, jsonl(records))
    return folder


def test_update_run_artifacts(tmpdir):
    run_dir = make_run(str(tmpdir.join('r1')))
    with open(os.path.join(run_dir, curves.EPOCHS_FILE), 'ab') as f:
        f.write(b'{"epoch": 4, "lr"')  # a run killed mid-line
    paths = curves.update_run_artifacts(run_dir)
    assert paths['mat'] == os.path.join(run_dir, curves.mat_name(HYPER))
    assert scipy.io.loadmat(paths['mat'])['test_error'].ravel().tolist() == [
        r['test_error'] for r in RECORDS]
    png_size(paths['png'])
    assert sorted(os.listdir(run_dir)) == sorted(
        ['config.json', 'epochs.jsonl', 'curves.png', curves.mat_name(HYPER)])
    assert curves.main([run_dir]) == 0


def test_update_run_artifacts_without_hyperparameters(tmpdir):
    run_dir = make_run(str(tmpdir.join('r1')))
    with open(os.path.join(run_dir, 'config.json'), 'w') as f:
        f.write('{"dataset": "mnist"}')
    with pytest.raises(ValueError) as info:
        curves.update_run_artifacts(run_dir)
    assert 'hyperparameters' in str(info.value)
    assert curves.main([run_dir]) == 1
