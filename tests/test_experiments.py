"""Experiment definitions and the validation of every override."""
from __future__ import absolute_import, division, print_function

import pytest

from gxnor.experiments import EXPERIMENTS, ConfigError, configure, parse_overrides


def test_released_mnist_hyperparameters():
    c = configure('mnist')
    assert (c['batch_size'], c['num_epochs'], c['lr_start'], c['lr_fin']) == (10000, 4000, 0.1, 1e-7)
    assert (c['H'], c['N'], c['m'], c['bn_epsilon'], c['bn_alpha']) == (1.0, 1, 3.0, 1e-4, 0.1)
    assert (c['seed'], c['patience'], c['c_prob'], c['lr_steps']) == (1234, 15, 0.8, ())
    assert (c['act_r'], c['act_a'], c['act_N'], c['pulse']) == (1.0, 0.5, 1, 'rectangular')


def test_released_cifar10_hyperparameters():
    c = configure('cifar10')
    assert (c['batch_size'], c['num_epochs'], c['lr_start'], c['lr_fin']) == (1000, 2000, 0.01, 3e-5)
    assert c['lr_steps'] == ((1000, 0.1), (1600, 0.1))
    assert (c['patience'], c['c_prob'], c['augment']) == (10, 0.85, 'faithful')


def test_overrides_from_strings_are_parsed():
    c = configure('mnist', parse_overrides(['H=0.5', 'N=2', 'm=none', 'act_N=none',
                                            'discrete=false', 'lr_steps=10:0.5,20:0.1']))
    assert (c['H'], c['N'], c['m'], c['act_N'], c['discrete']) == (0.5, 2, None, None, False)
    assert c['lr_steps'] == ((10, 0.5), (20, 0.1))
    assert EXPERIMENTS['mnist']['H'] == 1.0  # the definition itself is untouched


@pytest.mark.parametrize('setting,word', [
    ('batch_size=0', 'batch_size'), ('batch_size=ten', 'batch_size'), ('N=-1', 'N'),
    ('H=0', 'H'), ('m=0', 'm'), ('act_a=-0.5', 'act_a'), ('act_N=0', 'act_N'),
    ('pulse=square', 'pulse'), ('bn_alpha=2', 'bn_alpha'), ('c_prob=1.5', 'c_prob'),
    ('random_search=always', 'random_search'), ('augment=heavy', 'augment'),
    ('num_epochs=0', 'num_epochs'), ('lr_start=nan', 'lr_start'), ('lr_steps=10', 'lr_steps'),
    ('discrete=maybe', 'discrete')])
def test_impossible_values_name_the_setting(setting, word):
    with pytest.raises(ConfigError) as info:
        configure('mnist', parse_overrides([setting]))
    assert str(info.value).startswith(word + '=')
    assert 'must be' in str(info.value)


def test_unknown_setting_and_experiment_and_syntax():
    with pytest.raises(ConfigError) as info:
        configure('mnist', {'learning_rate': '0.1'})
    assert "'learning_rate'" in str(info.value) and 'lr_start' in str(info.value)
    with pytest.raises(ConfigError) as info:
        configure('imagenet')
    assert 'mnist, cifar10, svhn' in str(info.value)
    with pytest.raises(ConfigError):
        parse_overrides(['H'])


def test_cross_checks():
    with pytest.raises(ConfigError) as info:
        configure('mnist', {'lr_fin': 1.0})
    assert 'lr_fin' in str(info.value)
    with pytest.raises(ConfigError) as info:
        configure('mnist', {'num_epochs': 10, 'stop_after': 20})
    assert 'stop_after=20' in str(info.value)


def test_the_papers_platform_is_the_default_everywhere():
    """pool_grad=one (cuDNN's one-element tie rule), Lasagne 0.2.dev1's float32 Adam
    constants and the fast kernels, for every experiment and so for every sweep point."""
    from gxnor.experiments import EXPERIMENTS, configure
    for name in EXPERIMENTS:
        config = configure(name)
        assert (config['pool_grad'], config['adam_constants'], config['kernels']) == \
            ('one', 'float32', 'fast')
    assert configure('mnist', {'pool_grad': 'all'})['pool_grad'] == 'all'
    with pytest.raises(ConfigError, match='pool_grad must be one of one, all'):
        configure('mnist', {'pool_grad': 'first'})
    with pytest.raises(ConfigError, match='kernels must be one of fast, theano'):
        configure('mnist', {'kernels': 'cuda'})


def test_the_released_window_arithmetic_is_the_default_everywhere():
    from gxnor.experiments import EXPERIMENTS, SETTINGS_BEFORE_THEY_EXISTED, configure
    assert set(configure(name)['act_grad'] for name in EXPERIMENTS) == {'released'}
    assert configure('mnist', {'act_grad': 'exact'})['act_grad'] == 'exact'
    with pytest.raises(ConfigError, match='act_grad must be one of released, exact'):
        configure('mnist', {'act_grad': 'autodiff'})
    # runs recorded before the setting existed computed the exact window
    assert SETTINGS_BEFORE_THEY_EXISTED == {'act_grad': 'exact'}
