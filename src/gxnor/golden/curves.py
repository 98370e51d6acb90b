"""The reference learning curves: the first K epochs of an experiment for several seeds,
run by the project's training loop (schedule unchanged, as STOP_AFTER); their envelope
is gxnor_port.curves.curve_envelope."""
from __future__ import absolute_import, division, print_function

import shutil
import sys
import tempfile
from collections import OrderedDict

__all__ = ['generate_curves']


def generate_curves(data_dir, epochs, seeds, experiment='mnist', dataset=None,
                    architecture=None, overrides=None, stream=None):
    """Run the first ``epochs`` epochs of ``experiment`` for each seed (schedule unchanged,
    as STOP_AFTER) with the project's loop; returns OrderedDict seed -> epoch records."""
    from ..training.orchestration import run_experiment
    from ..datasets import load_dataset
    from ..experiments import configure
    stream = stream or sys.stdout
    if dataset is None:
        dataset = load_dataset(configure(experiment)['dataset'], data_dir)
    workdir = tempfile.mkdtemp(prefix='gxnor-golden-curves-')
    records = OrderedDict()
    try:
        for seed in seeds:
            settings = OrderedDict(overrides or {})
            settings.update([('stop_after', int(epochs)), ('seed', int(seed))])
            stream.write('curves: %s seed %d, %d epochs\n' % (experiment, seed, epochs))
            stream.flush()
            trainer = run_experiment(experiment, settings, run='golden-seed%d' % seed,
                                     results_dir=workdir, architecture=architecture,
                                     dataset=dataset, stream=_Quiet())
            records[int(seed)] = list(trainer.records)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return records


class _Quiet(object):
    def write(self, text):
        pass

    def flush(self):
        pass
