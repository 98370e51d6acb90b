"""A run says what it compiles, where Theano caches it and how long it took (the first
use on a machine compiles for minutes, silently before issue #12); gxnor.training.warm compiles
ahead of time (the images run it at build time)."""
from __future__ import absolute_import, division, print_function

import re

import theano

from gxnor import cli
from gxnor.training import warm
from test_runs import SETTINGS, TINY, _dataset


class _Capture(object):
    def __init__(self):
        self.text = ''

    def write(self, text):
        self.text += text

    def flush(self):
        pass


def test_a_run_reports_the_compilation_and_its_time(tmpdir):
    stream = _Capture()
    cli.run_experiment('mnist', dict(SETTINGS, stop_after=1), results_dir=str(tmpdir),
                       architecture=TINY, dataset=_dataset(), stream=stream, run='r')
    lines = stream.text.splitlines()
    compiling = [i for i, line in enumerate(lines) if 'compiling its Theano functions' in line]
    compiled = [i for i, line in enumerate(lines) if re.match(r'^r: compiled in \d+ s$', line)]
    assert len(compiling) == 1 and len(compiled) == 1 and compiling[0] < compiled[0]
    assert theano.config.compiledir in lines[compiling[0]]
    assert compiled[0] < [i for i, line in enumerate(lines) if line.startswith('Epoch 0 ')][0]


def test_warm_refuses_an_unknown_experiment(capsys):
    assert warm.main(['imagenet']) == 2
    assert capsys.readouterr()[1].startswith('error: unknown experiment(s) imagenet')
