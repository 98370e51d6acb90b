"""Every named setting's allowed values and default, defined here once (no Theano).

A setting whose value is a name (a pulse shape, a tie rule, ...) is a :class:`Choice`:
its allowed values, the project's default and one line on what it selects. The rest of
the package imports them from here: ``experiments`` to check a configuration (without
loading Theano), the layers and kernels to check their arguments, the command-line tools
for their ``choices``. A low-level function that takes one of these settings either
requires it or defaults to the default here, never to another value.

docs/method.md explains each setting; the numeric hyperparameters (H, m, the learning
rates, ...) are data of the experiments (``gxnor.experiments``).
"""
from __future__ import absolute_import, division, print_function

from collections import OrderedDict, namedtuple

__all__ = ['Choice', 'CHOICES', 'DEFAULTS', 'SETTINGS_BEFORE_THEY_EXISTED', 'check_choice',
           'PULSE_SHAPES', 'ACT_GRAD_MODES', 'RANDOM_SEARCH_MODES', 'AUGMENTATION_MODES',
           'POOL_GRAD_RULES', 'ADAM_CONSTANTS', 'KERNELS',
           'PULSE', 'ACT_GRAD', 'RANDOM_SEARCH', 'AUGMENT', 'POOL_GRAD', 'ADAM', 'KERNEL',
           'RANDOM_SEARCH_ON', 'RANDOM_SEARCH_OFF']

Choice = namedtuple('Choice', 'values default meaning')

CHOICES = OrderedDict([
    ('pulse', Choice(
        ('rectangular', 'triangular', 'gaussian', 'exponential'), 'rectangular',
        "the shape of the pulse that approximates the activation's derivative")),
    ('act_grad', Choice(
        ('released', 'exact'), 'released',
        "the float32 arithmetic of the rectangular window: as the released clips round it "
        "('released'), or |(|x| - r)| <= a ('exact'); they differ at x = -0.49999994")),
    ('random_search', Choice(
        ('released', 'live'), 'released',
        "'released': pure DST on every update, as the released scripts run (their "
        "random-search branch is constant-folded away); 'live': the heuristic made real "
        "(our reconstruction)")),
    ('augment', Choice(
        ('faithful', 'standard'), 'faithful',
        "'faithful': what the released scripts trained on (no augmentation; CIFAR10 and "
        "SVHN make its draws and discard them); 'standard': padded crops and flips")),
    ('pool_grad', Choice(
        ('one', 'all'), 'one',
        "the max-pool gradient's tie rule: to the window's first maximum (cuDNN, on the "
        "platform the authors' README recommends) or to every tied element (Theano 0.8.2 "
        "on a CPU)")),
    ('adam_constants', Choice(
        ('float32', 'python'), 'float32',
        "Adam's 1 - beta as Lasagne 0.2.dev1 computes it ('float32') or Lasagne 0.1 "
        "('python')")),
    ('kernels', Choice(
        ('fast', 'theano'), 'fast',
        "gxnor's CPU kernels (gxnor.kernels) or Theano's own ops only")),
])

DEFAULTS = OrderedDict((name, choice.default) for name, choice in CHOICES.items())

PULSE_SHAPES = CHOICES['pulse'].values
ACT_GRAD_MODES = CHOICES['act_grad'].values
RANDOM_SEARCH_MODES = CHOICES['random_search'].values
AUGMENTATION_MODES = CHOICES['augment'].values
POOL_GRAD_RULES = CHOICES['pool_grad'].values
ADAM_CONSTANTS = CHOICES['adam_constants'].values
KERNELS = CHOICES['kernels'].values

PULSE = DEFAULTS['pulse']
ACT_GRAD = DEFAULTS['act_grad']
RANDOM_SEARCH = DEFAULTS['random_search']
AUGMENT = DEFAULTS['augment']
POOL_GRAD = DEFAULTS['pool_grad']
ADAM = DEFAULTS['adam_constants']
KERNEL = DEFAULTS['kernels']

# Settings added after runs were recorded without them: the behaviour those runs had.
SETTINGS_BEFORE_THEY_EXISTED = {'act_grad': 'exact'}

# The released loop's update_type: random search on (10) or off (200, pure DST).
RANDOM_SEARCH_ON = 10
RANDOM_SEARCH_OFF = 200


def check_choice(name, value, what=None):
    """Raise ValueError unless ``value`` is an allowed value of the setting ``name``.

    The message reads ``<what> must be one of <values>, got <value>``; ``what`` defaults
    to the setting's name.
    """
    values = CHOICES[name].values
    if value not in values:
        raise ValueError("%s must be one of %s, got %r"
                         % (what or name, ', '.join(values), value))
    return value
