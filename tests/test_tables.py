"""gxnor.training.tables: results/README.md from synthetic run folders."""
from __future__ import absolute_import, division, print_function

import io
import json
import os
import shutil

import pytest

from gxnor.training import tables

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAPER_JSON = os.path.join(ROOT, 'results', 'paper_numbers.json')


def summary(**changes):
    s = {'experiment': 'mnist', 'run': 'x', 'dataset': 'mnist', 'epochs_run': 4000,
         'epochs_planned': 4000, 'finished': True, 'stopped_after': None,
         'best_test_error': 0.71, 'best_test_epoch': 3012, 'best_valid_error': 0.6,
         'best_valid_epoch': 2500, 'test_error_at_best_valid': 0.83,
         'final_test_error': 0.9, 'wall_seconds': 3 * 3600 + 5 * 60 + 20,
         'seconds_per_epoch': 2.78, 'machine': 'box-1', 'commit': '0123456789abcdef',
         'command': 'make mnist', 'updated': '2024-01-01T00:00:00'}
    s.update(changes)
    return s


def write(path, text):
    folder = os.path.dirname(path)
    if not os.path.isdir(folder):
        os.makedirs(folder)
    with io.open(path, 'w', encoding='utf-8') as f:
        f.write(u'%s' % text)


def add_run(results, name, summ=None, config=None, plot=True, raw_summary=None,
            subdir='runs'):
    folder = os.path.join(results, subdir, name)
    if raw_summary is not None:
        write(os.path.join(folder, 'summary.json'), raw_summary)
    elif summ is not None:
        write(os.path.join(folder, 'summary.json'), json.dumps(summ))
    write(os.path.join(folder, 'config.json'),
          json.dumps(config if config is not None else {'dataset': 'mnist', 'run': name}))
    if plot:
        write(os.path.join(folder, 'curves.png'), 'png')
    return folder


@pytest.fixture
def results(tmpdir):
    folder = str(tmpdir.join('results'))
    os.makedirs(folder)
    shutil.copy(PAPER_JSON, folder)
    return folder


def readme(results):
    path = tables.write_tables(results)
    assert path == os.path.join(results, 'README.md')
    with io.open(path, encoding='utf-8') as f:
        return f.read()


def table_rows(text, heading):
    """The body rows of the table under ``## heading``."""
    section = text.split('## %s\n' % heading, 1)[1].split('\n## ', 1)[0]
    return [l for l in section.splitlines() if l.startswith('| ') and not l.startswith('| run')]


# ------------------------------------------------------------------ paper numbers
def test_paper_numbers_file():
    with io.open(PAPER_JSON, encoding='utf-8') as f:
        data = json.load(f)
    main = dict((e['dataset'], e) for e in data['entries'] if e['sweep'] is None)
    assert dict((k, v['accuracy']) for k, v in main.items()) == {
        'mnist': 99.32, 'cifar10': 92.50, 'svhn': 97.37}
    for entry in main.values():
        assert entry['verified'] is False
        assert entry['source'].startswith("recalled from the paper's comparison table")
    assert set(tables.load_paper_numbers(PAPER_JSON)) == {'mnist', 'cifar10', 'svhn'}


def test_paper_error_cell():
    assert tables.paper_error_cell({'accuracy': 99.32, 'verified': False}) == '0.68 (to verify)'
    assert tables.paper_error_cell({'accuracy': 92.5, 'verified': True}) == '7.50'
    assert tables.paper_error_cell(None) == 'n/a'


# ------------------------------------------------------------------ tables
def test_full_table(results):
    add_run(results, 'b-full', summary(run='b-full'),
            config={'dataset': 'mnist', 'run': 'b-full', 'hyperparameters': {'pool_grad': 'one'}})
    add_run(results, 'a-quick', summary(run='a-quick', epochs_run=30, stopped_after=30,
                                        best_test_error=2.5, best_test_epoch=29,
                                        test_error_at_best_valid=3.0, best_valid_epoch=28,
                                        wall_seconds=59.4, seconds_per_epoch=1.98,
                                        commit='fedcba9876543210-dirty'), plot=False)
    add_run(results, 'c-run', summary(dataset='cifar10', epochs_run=12, epochs_planned=500,
                                      finished=False, best_test_error=20.125,
                                      best_test_epoch=11, test_error_at_best_valid=21.0,
                                      best_valid_epoch=10),
            config={'dataset': 'cifar10'})
    text = readme(results)

    assert text.startswith('# Results\n')
    assert 'best test' in text and 'test @ best valid' in text
    assert text.index('## MNIST') < text.index('## CIFAR10')
    assert '## SVHN' not in text and 'Skipped' not in text

    mnist = table_rows(text, 'MNIST')
    assert mnist == [
        '| a-quick | 0.68 (to verify) | 2.50 (29) | 3.00 (28) | '
        '30 of 4000 epochs (STOP_AFTER) | all (before the setting) | 0:01, 2.0 s/epoch | '
        'box-1 | fedcba9 (dirty) | '
        '[summary](runs/a-quick/summary.json) |',
        '| b-full | 0.68 (to verify) | 0.71 (3012) | 0.83 (2500) | 4000 / 4000 | one | '
        '3:05, 2.8 s/epoch | box-1 | 0123456 | '
        '[curves](runs/b-full/curves.png), [summary](runs/b-full/summary.json) |']
    cifar = table_rows(text, 'CIFAR10')
    assert len(cifar) == 1
    cells = [c.strip() for c in cifar[0].split('|')[1:-1]]
    assert cells[:5] == ['c-run', '7.50 (to verify)', '20.12 (11)', '21.00 (10)',
                         '12 of 500 epochs (unfinished)']
    assert len(cells) == len(tables.HEADER)


def test_shipped_runs_come_from_reference_and_are_marked(results):
    add_run(results, 'mnist-quick', summary(run='mnist-quick', best_test_error=1.77),
            subdir='reference')
    add_run(results, 'mnist-quick', summary(run='mnist-quick', best_test_error=1.5))
    rows = table_rows(readme(results), 'MNIST')
    assert len(rows) == 2
    mine, shipped = rows
    assert mine.startswith('| mnist-quick | ') and '| 1.50 (3012) |' in mine
    assert '(runs/mnist-quick/summary.json)' in mine
    assert shipped.startswith('| mnist-quick (shipped) | ') and '| 1.77 (3012) |' in shipped
    assert '(reference/mnist-quick/curves.png)' in shipped


def test_dataset_and_machine_from_config(results):
    s = summary()
    del s['dataset'], s['machine']
    add_run(results, 'r', s, config={'dataset': 'svhn', 'machine': 'gpu-7'})
    rows = table_rows(readme(results), 'SVHN')
    assert len(rows) == 1 and '| 2.63 (to verify) |' in rows[0] and '| gpu-7 |' in rows[0]


def test_run_before_its_first_epoch(results):
    inf = float('inf')  # what the training loop's tracker holds before any epoch
    add_run(results, 'r', summary(epochs_run=0, finished=False, best_test_error=inf,
                                  best_test_epoch=None, best_valid_error=inf,
                                  best_valid_epoch=None, test_error_at_best_valid=None))
    row = table_rows(readme(results), 'MNIST')[0]
    assert '| n/a | n/a | 0 of 4000 epochs (unfinished) |' in row


def test_corrupt_summaries_are_skipped_with_a_warning(results):
    good = add_run(results, 'good', summary())
    broken = add_run(results, 'broken', raw_summary='{"dataset": "mnist", "epochs_')
    add_run(results, 'partial', {'dataset': 'mnist', 'epochs_run': 3})
    add_run(results, 'listy', raw_summary='[1, 2]')
    add_run(results, 'badtype', summary(best_test_error='0.7'))
    add_run(results, 'starting')  # config.json only: no epoch finished yet
    text = readme(results)
    assert [r.split(' | ')[0] for r in table_rows(text, 'MNIST')] == ['| good']
    assert '- runs/broken: summary.json unreadable: ' in text
    assert '- runs/partial: summary.json unreadable: missing ' in text
    assert 'best_test_error' in text.split('runs/partial:')[1].splitlines()[0]
    assert '- runs/listy: summary.json unreadable: not a JSON object' in text
    assert '- runs/badtype: summary.json unreadable: "best_test_error" is not a number' in text
    assert '- runs/starting: no summary.json yet' in text
    # nothing deleted or rewritten
    with io.open(os.path.join(broken, 'summary.json'), encoding='utf-8') as f:
        assert f.read() == '{"dataset": "mnist", "epochs_'
    assert sorted(os.listdir(good)) == ['config.json', 'curves.png', 'summary.json']


def test_no_runs(results):
    text = readme(results)
    assert 'No runs yet' in text
    assert '`make mnist`' in text and '`make mnist-quick`' in text
    assert '## MNIST' not in text
    os.makedirs(os.path.join(results, 'runs'))
    assert readme(results) == text


def test_a_results_folder_not_made_yet_is_made(tmpdir):
    # `make mnist RUN=<path> RESULTS=<new folder>`: the run lives elsewhere, the table
    # still needs its folder
    folder = str(tmpdir.join('new', 'results'))
    path = tables.write_tables(folder)
    assert path == os.path.join(folder, 'README.md')
    with io.open(path, encoding='utf-8') as handle:
        assert 'No runs yet' in handle.read()


def test_unreadable_paper_numbers(results):
    write(os.path.join(results, 'paper_numbers.json'), '{oops')
    add_run(results, 'r', summary())
    text = readme(results)
    assert '- paper_numbers.json unreadable: ' in text
    assert table_rows(text, 'MNIST')[0].startswith('| r | n/a | 0.71 (3012) |')


def test_verified_paper_number_loses_the_mark(results):
    path = os.path.join(results, 'paper_numbers.json')
    with io.open(path, encoding='utf-8') as f:
        data = json.load(f)
    for e in data['entries']:
        e['verified'] = True
    data['entries'].append({'dataset': 'mnist', 'method': 'GXNOR-Net', 'sweep': 'm',
                            'setting': {'m': 5}, 'accuracy': 50.0, 'verified': True})
    write(path, json.dumps(data))
    add_run(results, 'r', summary())
    row = table_rows(readme(results), 'MNIST')[0]
    assert row.startswith('| r | 0.68 | 0.71 (3012) |')  # the sweep entry is not used


def test_epochs_and_time_cells():
    assert tables.epochs_cell(summary(epochs_run=120, finished=True)) == \
        '120 of 4000 epochs (stopped early)'
    # STOP_AFTER equal to the schedule's length: a complete run
    assert tables.epochs_cell(summary(stopped_after=4000)) == '4000 / 4000'
    assert tables.epochs_cell(summary(epochs_run=7, stopped_after=30, finished=False)) == \
        '7 of 4000 epochs (unfinished)'
    assert tables.best_cell(float('inf'), None) == 'n/a'
    assert tables.time_cell({'wall_seconds': 36000 + 59 * 60 + 31}) == '11:00'
    # STOP_AFTER equal to the schedule's length: a complete run
    assert tables.epochs_cell(summary(stopped_after=4000)) == '4000 / 4000'
    assert tables.epochs_cell(summary(epochs_run=7, stopped_after=30, finished=False)) == \
        '7 of 4000 epochs (unfinished)'
    assert tables.best_cell(float('inf'), None) == 'n/a'
    assert tables.time_cell({}) == 'n/a'
    assert tables.commit_cell(None) == 'n/a'


def test_atomic_and_idempotent(results):
    add_run(results, 'r|1', summary())
    first = readme(results)
    assert '| r\\|1 |' in first and '(runs/r%7C1/summary.json)' in first
    assert readme(results) == first
    names = os.listdir(results)
    assert sorted(names) == ['README.md', 'paper_numbers.json', 'runs']
    assert not [n for n in os.listdir(os.path.join(results, 'runs', 'r|1'))
                if n.endswith('.tmp')]


def test_main(results, capsys):
    add_run(results, 'broken', raw_summary='nope')
    assert tables.main(['--results', results]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == os.path.join(results, 'README.md')
    assert 'runs/broken: summary.json unreadable' in err


def test_a_shipped_long_run_links_its_own_report(results):
    add_run(results, 'mnist-full', summary(run='mnist-full'), subdir='reference')
    add_run(results, 'mnist-quick', summary(run='mnist-quick'), subdir='reference')
    add_run(results, 'mine', summary(run='mine'))
    write(os.path.join(results, 'mnist-full.md'), '# report')
    write(os.path.join(results, 'mine.md'), '# not a shipped run')
    section = readme(results).split('## MNIST\n', 1)[1]
    assert section.count('as it grows') == 1
    assert '[mnist-full.md](mnist-full.md)' in section
