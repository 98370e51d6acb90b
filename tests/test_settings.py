"""Each named setting defined once (gxnor.settings), used as defined, checkable without Theano."""
from __future__ import absolute_import, division, print_function

import inspect
import os
import subprocess
import sys

import pytest

from gxnor import settings
from gxnor.experiments import EXPERIMENTS, HYPERPARAMETERS, ConfigError, configure

SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'src')

# Imports gxnor.experiments (and the other Theano-free modules) with theano and lasagne
# made unimportable; prints what was loaded.
_BLOCKED = r"""from __future__ import print_function
import sys

class Block(object):
    def find_module(self, name, path=None):
        return self if name.split('.')[0] in ('theano', 'lasagne') else None

    def load_module(self, name):
        raise ImportError('blocked by the test: ' + name)

sys.meta_path.insert(0, Block())
import gxnor.experiments, gxnor.training.schedule, gxnor.settings, gxnor.studies.sweeps
config = gxnor.experiments.configure('mnist', {'pool_grad': 'all'})
print(config['pool_grad'], config['kernels'])
print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in ('theano', 'lasagne'))))
"""


def test_checking_a_config_imports_no_theano():
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get('PYTHONPATH', ''))
    process = subprocess.Popen([sys.executable, '-c', _BLOCKED], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = process.communicate()
    assert process.returncode == 0, err.decode('utf-8', 'replace')
    lines = out.decode('utf-8').splitlines()
    assert lines[0] == 'all fast'
    assert lines[1:] in ([], [''])


def test_every_default_is_allowed_and_the_experiments_use_them():
    for name, choice in settings.CHOICES.items():
        assert choice.default in choice.values, name
        assert len(set(choice.values)) == len(choice.values), name
        for experiment in EXPERIMENTS:
            assert configure(experiment)[name] == choice.default, (experiment, name)


@pytest.mark.parametrize('name', list(settings.CHOICES))
def test_configure_accepts_exactly_the_allowed_values(name):
    for value in settings.CHOICES[name].values:
        assert configure('mnist', {name: value})[name] == value
    with pytest.raises(ConfigError, match='%s must be one of %s'
                       % (name, ', '.join(settings.CHOICES[name].values))):
        configure('mnist', {name: 'no-such-value'})
    assert name in HYPERPARAMETERS


def test_check_choice_names_the_setting_and_the_allowed_values():
    assert settings.check_choice('pool_grad', 'all') == 'all'
    with pytest.raises(ValueError, match=r"pool_grad must be one of one, all, got 'first'"):
        settings.check_choice('pool_grad', 'first')
    with pytest.raises(ValueError, match=r"adam constants must be one of float32, python"):
        settings.check_choice('adam_constants', 'float64', 'adam constants')


def test_augmentations_are_the_allowed_modes():
    from gxnor.datasets import AUGMENTATIONS
    assert set(AUGMENTATIONS) == set(settings.AUGMENTATION_MODES)


def _default(function, argument):
    spec = inspect.getargspec(function)
    return dict(zip(spec.args[::-1], (spec.defaults or ())[::-1]))[argument]


def test_low_level_functions_default_to_the_projects_defaults():
    """A direct call of a kernel, a layer or a graph gets the project's rule, never another."""
    from gxnor import discretization, graphs, kernels, layers, models, pooling, updates
    one = settings.DEFAULTS
    pool = [kernels.max_pool_2x2, kernels.conv_pool_2x2, kernels.fuse_bias_pool,
            pooling.theano_max_pool_2x2, models.build_network,
            layers.MaxPool2x2Layer.__init__]
    for function in pool:
        assert _default(function, 'pool_grad') == one['pool_grad'], function
    for op in (kernels.MaxPool2x2(), kernels.MaxPool2x2Grad(), kernels.ConvPool2x2(),
               kernels.Corr2dValid()):
        assert op.pool_grad == one['pool_grad'], op
    for function in (models.build_network, graphs.TrainingGraph.__init__,
                     layers.DiscreteConv2DLayer.__init__,
                     layers.DiscreteActivationLayer.__init__, layers.MaxPool2x2Layer.__init__,
                     kernels.compile_mode):
        assert _default(function, 'kernels') == one['kernels'], function
    for function in (models.build_network, layers.DiscreteActivationLayer.__init__,
                     discretization.pulse_derivative, discretization.discretize_activation,
                     discretization.ternary_activation, discretization.PulseGradient.__init__):
        assert _default(function, 'act_grad') == one['act_grad'], function
    assert _default(models.build_network, 'pulse_shape') == one['pulse']
    assert _default(discretization.pulse_derivative, 'shape') == one['pulse']
    assert _default(graphs.TrainingGraph.__init__, 'adam_constants') == one['adam_constants']
    assert _default(updates.adam, 'constants') == one['adam_constants']
    assert _default(updates.GXNORUpdates.__init__, 'random_search') == one['random_search']
    assert _default(graphs.TrainingGraph.__init__, 'random_search') == one['random_search']
