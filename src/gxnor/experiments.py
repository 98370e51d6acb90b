"""Every experiment of the reproduction, with the released hyperparameters, as data.

Read an entry like the paper's setup table. ``configure(name, overrides)`` returns a
validated copy with overrides applied (strings from the command line are parsed). The
named settings' allowed values and defaults come from :mod:`gxnor.settings`; checking a
configuration imports neither Theano nor Lasagne.
"""
from __future__ import absolute_import, division, print_function

import math
from collections import OrderedDict

from .settings import CHOICES, DEFAULTS, SETTINGS_BEFORE_THEY_EXISTED

__all__ = ['EXPERIMENTS', 'HYPERPARAMETERS', 'SETTINGS_BEFORE_THEY_EXISTED', 'configure',
           'ConfigError']

try:
    STRING_TYPES = (basestring,)  # Python 2: JSON gives unicode, argv gives str
except NameError:
    STRING_TYPES = (str,)


class ConfigError(ValueError):
    """An impossible or unknown setting; the message names it and says what is allowed."""


# ------------------------------------------------------------------ the experiments

MNIST = OrderedDict([
    ('dataset', 'mnist'), ('architecture', 'mnist'),
    ('batch_size', 10000), ('num_epochs', 4000),
    ('lr_start', 0.1), ('lr_fin', 1e-7), ('lr_steps', ()),
    ('discrete', True), ('H', 1.0), ('N', 1), ('m', 3.0),          # weights in Z_1 = {-1, 0, 1}
    ('act_r', 1.0), ('act_a', 0.5), ('act_N', 1), ('pulse', DEFAULTS['pulse']),
    ('bn_epsilon', 1e-4), ('bn_alpha', 0.1),
    ('seed', 1234), ('patience', 15), ('random_search', DEFAULTS['random_search']),
    ('c_prob', 0.8), ('augment', DEFAULTS['augment']), ('stop_after', None),
    # Platform semantics (docs/method.md, gxnor.settings): max-pool ties as on the paper's
    # cuDNN ('one'), Adam's 1 - beta as Lasagne 0.2.dev1 computes it ('float32'), gxnor's
    # fast CPU kernels; the activation's window rounded as the released clips round it.
    ('pool_grad', DEFAULTS['pool_grad']), ('adam_constants', DEFAULTS['adam_constants']),
    ('kernels', DEFAULTS['kernels']), ('act_grad', DEFAULTS['act_grad']),
])

# lr_steps: in the released script since 2018-05-25, after publication; whether the
# paper's CIFAR10 run used them is unknown (docs/method.md, row 7; lr_steps=none without).
CIFAR10 = OrderedDict(MNIST, **{
    'dataset': 'cifar10', 'architecture': 'cifar10',
    'batch_size': 1000, 'num_epochs': 2000,
    'lr_start': 0.01, 'lr_fin': 3e-5, 'lr_steps': ((1000, 0.1), (1600, 0.1)),
    'patience': 10, 'c_prob': 0.85,
})

# No SVHN script was released: the CIFAR10 recipe on a half-width net (our choice).
# 598k training images are 13x CIFAR10's 45k, so 200 epochs make about as many updates
# (120k) as 2000 CIFAR10 epochs at batch 1000 (90k); the decay spans the 200 epochs.
SVHN = OrderedDict(CIFAR10, **{
    'dataset': 'svhn', 'architecture': 'svhn',
    'num_epochs': 200, 'lr_steps': ((100, 0.1), (160, 0.1)),
})

EXPERIMENTS = OrderedDict([('mnist', MNIST), ('cifar10', CIFAR10), ('svhn', SVHN)])


# ------------------------------------------------------------- parsing and checks

def _positive_int(value):
    return value > 0


def _parse_bool(text):
    lowered = text.strip().lower()
    if lowered in ('1', 'true', 'yes', 'on'):
        return True
    if lowered in ('0', 'false', 'no', 'off'):
        return False
    raise ValueError("not a boolean")


def _parse_optional(parse):
    def parse_or_none(text):
        return None if text.strip().lower() in ('none', '') else parse(text)
    return parse_or_none


def _parse_steps(text):
    """``"1000:0.1,1600:0.1"`` -> ((1000, 0.1), (1600, 0.1)); ``""``/``none`` -> ()."""
    if text.strip().lower() in ('', 'none'):
        return ()
    steps = []
    for item in text.split(','):
        epoch, factor = item.split(':')
        steps.append((int(epoch), float(factor)))
    return tuple(steps)


def _finite(value):
    return not (math.isinf(value) or math.isnan(value))


def _choice(name):
    values = CHOICES[name].values
    return (str, lambda v: v in values, 'one of ' + ', '.join(values))


# name -> (parser for strings, check, what is allowed)
HYPERPARAMETERS = OrderedDict([
    ('dataset', (str, lambda v: v in EXPERIMENTS, 'one of mnist, cifar10, svhn')),
    ('architecture', (str, lambda v: v in EXPERIMENTS, 'one of mnist, cifar10, svhn')),
    ('batch_size', (int, _positive_int, 'an integer > 0')),
    ('num_epochs', (int, _positive_int, 'an integer > 0 (epoch 0, at LR 0, counts)')),
    ('lr_start', (float, lambda v: v > 0 and _finite(v), 'a number > 0')),
    ('lr_fin', (float, lambda v: v > 0 and _finite(v), 'a number > 0')),
    ('lr_steps', (_parse_steps, lambda v: all(e > 0 and f > 0 for e, f in v),
                  'a list like 1000:0.1,1600:0.1 (epoch:factor, epoch > 0, factor > 0)')),
    ('discrete', (_parse_bool, lambda v: v in (True, False), 'true or false')),
    ('H', (float, lambda v: v > 0 and _finite(v), 'a number > 0')),
    ('N', (int, lambda v: v >= 0, 'an integer >= 0 (0 = binary weights)')),
    ('m', (_parse_optional(float), lambda v: v is None or (v > 0 and _finite(v)),
           'a number > 0, or none for p = |v|/L')),
    ('act_r', (float, lambda v: v >= 0 and _finite(v), 'a number >= 0')),
    ('act_a', (float, lambda v: v > 0 and _finite(v), 'a number > 0')),
    ('act_N', (_parse_optional(int), lambda v: v is None or v >= 1,
               'an integer >= 1, or none for full-precision activations')),
    ('pulse', _choice('pulse')),
    ('bn_epsilon', (float, lambda v: v > 0 and _finite(v), 'a number > 0')),
    ('bn_alpha', (float, lambda v: 0 < v <= 1, 'a number in (0, 1]')),
    ('seed', (int, lambda v: 0 <= v < 2 ** 32, 'an integer in [0, 2^32)')),
    ('patience', (int, lambda v: v >= 0, 'an integer >= 0')),
    ('random_search', _choice('random_search')),
    ('c_prob', (float, lambda v: 0 <= v <= 1, 'a number in [0, 1]')),
    ('augment', _choice('augment')),
    ('stop_after', (_parse_optional(int), lambda v: v is None or v > 0,
                    'an integer > 0, or none')),
    ('pool_grad', _choice('pool_grad')),
    ('adam_constants', _choice('adam_constants')),
    ('kernels', _choice('kernels')),
    ('act_grad', _choice('act_grad')),
])


def _coerce(name, value):
    parse, check, allowed = HYPERPARAMETERS[name]
    if isinstance(value, STRING_TYPES):
        try:
            value = parse(str(value))
        except (ValueError, TypeError):
            raise ConfigError("%s=%r is not valid: %s must be %s" % (name, value, name, allowed))
    elif name == 'lr_steps':
        value = tuple((int(e), float(f)) for e, f in value)
    elif parse in (int, float) and not isinstance(value, bool):
        if parse is int and isinstance(value, float) and value != int(value):
            raise ConfigError("%s=%r is not valid: %s must be %s" % (name, value, name, allowed))
        value = parse(value)
    try:
        valid = check(value)
    except TypeError:
        valid = False
    if not valid:
        raise ConfigError("%s=%r is not valid: %s must be %s" % (name, value, name, allowed))
    return value


def configure(experiment, overrides=None):
    """The experiment's hyperparameters with ``overrides`` (dict) applied and validated."""
    if experiment not in EXPERIMENTS:
        raise ConfigError("unknown experiment %r; choose one of %s"
                          % (experiment, ', '.join(EXPERIMENTS)))
    config = OrderedDict(EXPERIMENTS[experiment])
    for name, value in (overrides or {}).items():
        if name not in HYPERPARAMETERS:
            raise ConfigError("unknown setting %r; known settings: %s"
                              % (name, ', '.join(HYPERPARAMETERS)))
        config[name] = value
    for name in HYPERPARAMETERS:
        config[name] = _coerce(name, config[name])
    if config['lr_fin'] > config['lr_start']:
        raise ConfigError("lr_fin=%g is above lr_start=%g: the schedule decays from lr_start "
                          "to lr_fin" % (config['lr_fin'], config['lr_start']))
    if config['stop_after'] is not None and config['stop_after'] > config['num_epochs']:
        raise ConfigError("stop_after=%d is beyond num_epochs=%d; use EPOCHS to lengthen the "
                          "schedule" % (config['stop_after'], config['num_epochs']))
    return config


def parse_overrides(items):
    """``['H=0.5', 'm=none']`` -> OrderedDict; each item must be ``name=value``."""
    overrides = OrderedDict()
    for item in items:
        if '=' not in item:
            raise ConfigError("setting %r must be written name=value" % (item,))
        name, value = item.split('=', 1)
        overrides[name.strip()] = value.strip()
    return overrides
