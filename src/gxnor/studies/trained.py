"""A trained network, rebuilt from its run folder, and the layer structure the analyses read.

``load_network(run_dir)`` rebuilds the net of ``results/runs/<run>/config.json`` with
``models.build_network`` and sets its parameters from ``checkpoint.npz`` (the checkpoint
of the LAST finished epoch). The checkpoint stores the run's shared variables in a fixed
order, first ``lasagne.layers.get_all_params(output_layer)`` (W, b, beta, gamma, mean,
inv_std per layer), then the optimiser's state; each is checked by name and shape against
the checkpoint's signature before anything is set. An in-memory network (an output layer)
is accepted as well, for tests and notebooks.

``network_stages(output_layer)`` cuts a net into stages, one per weight layer:

    weight layer (conv or dense) -> [max-pool] -> batch norm -> [activation]

and records what the resting-probability count and the bit-level inference need: the
input and output shapes, fan-in, and for convolutions stride, zero padding and whether
the filters are flipped (Lasagne 0.1 / Theano's ``conv2d`` compute a true convolution).
Layers are recognised by what they carry (duck typing), so a faster drop-in pooling
layer with ``pool_size``/``stride`` attributes (or a pooling class name) is understood.
"""
from __future__ import absolute_import, division, print_function

import io
import json
import os

import lasagne
import numpy as np

from ..training.checkpoint import CheckpointError
from ..settings import DEFAULTS, SETTINGS_BEFORE_THEY_EXISTED

__all__ = ['TrainedNetworkError', 'TrainedNetwork', 'Stage', 'load_network', 'load_split',
           'network_stages', 'resolve_run_dir', 'iterate_batches', 'data_size', 'conv_padding',
           'add_run_arguments', 'open_run']

CONFIG_FILE = 'config.json'
CHECKPOINT_FILE = 'checkpoint.npz'


class TrainedNetworkError(CheckpointError):
    """A run folder or network that cannot be analysed; the message says what to do."""


# --------------------------------------------------------------------- layer roles

def _is_weight_layer(layer):
    return hasattr(layer, 'W') and (hasattr(layer, 'num_filters') or hasattr(layer, 'num_units'))


def _is_pool_layer(layer):
    return hasattr(layer, 'pool_size') or 'pool' in type(layer).__name__.lower()


def _is_batch_norm(layer):
    return all(hasattr(layer, name) for name in ('beta', 'gamma', 'mean', 'inv_std'))


def _is_activation(layer):
    return hasattr(layer, 'r') and hasattr(layer, 'N') and not _is_weight_layer(layer)


def _pair(value):
    if isinstance(value, (tuple, list)):
        return tuple(int(v) for v in value)
    return (int(value), int(value))


def conv_padding(layer):
    """``((top, bottom), (left, right))`` zero padding of a Lasagne-style conv layer."""
    kh, kw = _pair(layer.filter_size)
    pad = layer.pad
    if pad == 'valid':
        return ((0, 0), (0, 0))
    if pad == 'full':
        return ((kh - 1, kh - 1), (kw - 1, kw - 1))
    if pad == 'same':
        return ((kh // 2, (kh - 1) // 2), (kw // 2, (kw - 1) // 2))
    ph, pw = _pair(pad)
    return ((ph, ph), (pw, pw))


def _pool_geometry(layer):
    """(pool_size, stride, ignore_border) of a max-pooling layer; errors for others."""
    mode = getattr(layer, 'mode', 'max')
    name = type(layer).__name__.lower()
    if mode != 'max' or 'average' in name or 'mean' in name:
        raise TrainedNetworkError("pooling layer %s (mode %r) is not a max-pool; only max-"
                                  "pooling is supported" % (type(layer).__name__, mode))
    if getattr(layer, 'pool_size', None) is not None:
        size = _pair(layer.pool_size)
    elif '2x2' in name:                    # e.g. layers.MaxPool2x2Layer
        size = (2, 2)
    else:  # a pool class without attributes: the smallest factor that gives its shape
        size = []
        for axis in (2, 3):
            length, out = layer.input_shape[axis], layer.output_shape[axis]
            factors = [k for k in range(2, length + 1) if length // k == out]
            if not factors:
                raise TrainedNetworkError("cannot tell the pool size of %s (%s -> %s)"
                                          % (type(layer).__name__, layer.input_shape,
                                             layer.output_shape))
            size.append(factors[0])
        size = tuple(size)
    stride = _pair(getattr(layer, 'stride', None) or size)
    if any(_pair(getattr(layer, 'pad', 0) or 0)):
        raise TrainedNetworkError("padded pooling (%s pad=%r) is not supported"
                                  % (type(layer).__name__, layer.pad))
    return size, stride, bool(getattr(layer, 'ignore_border', True))


class Stage(object):
    """One weight layer with the pool / batch norm / activation layers that follow it.

    Attributes: ``index`` (0-based), ``weight``, ``pool``, ``bn``, ``activation`` (layers
    or None), ``kind`` ('conv' or 'dense'), ``input_shape`` (per example, as the layer
    sees it: (C, H, W) for conv, the incoming shape for dense), ``fan_in`` (inputs per
    dot product), ``out_shape`` (per example, before pooling), ``channels``; for conv also
    ``filter_size``, ``stride``, ``padding`` ((top, bottom), (left, right)), ``flip``;
    ``pool_size``, ``pool_stride``, ``pool_ignore_border`` when pooled; ``last``.
    """

    def __init__(self, index, weight):
        self.index = index
        self.weight = weight
        self.pool = None
        self.bn = None
        self.activation = None
        self.last = False
        self.input_shape = tuple(weight.input_shape[1:])
        self.out_shape = tuple(weight.output_shape[1:])
        if hasattr(weight, 'num_filters'):
            self.kind = 'conv'
            self.channels = int(weight.num_filters)
            self.filter_size = _pair(weight.filter_size)
            self.stride = _pair(weight.stride)
            self.padding = conv_padding(weight)
            # Lasagne 0.1 always convolves (flips the filters); Lasagne 0.2 says so.
            self.flip = bool(getattr(weight, 'flip_filters', True))
            self.fan_in = int(self.input_shape[0] * self.filter_size[0] * self.filter_size[1])
            if getattr(weight, 'untie_biases', False):
                raise TrainedNetworkError("conv layers with untied biases are not supported")
        else:
            self.kind = 'dense'
            self.channels = int(weight.num_units)
            self.fan_in = int(np.prod(self.input_shape))

    @property
    def name(self):
        if self.kind == 'conv':
            return 'conv%d %d@%dx%d' % (self.index + 1, self.channels, self.filter_size[0],
                                       self.filter_size[1])
        return 'dense%d %d' % (self.index + 1, self.channels)

    @property
    def output_layer(self):
        """The stage's last layer (activation, or batch norm for the last stage)."""
        return self.activation or self.bn or self.pool or self.weight

    @property
    def products_per_example(self):
        """Products (multiply-accumulates) in the stage's dot products, per example."""
        return int(np.prod(self.out_shape)) * self.fan_in


def network_stages(output_layer):
    """Cut a chain of layers into Stages; TrainedNetworkError for anything else."""
    layers = lasagne.layers.get_all_layers(output_layer)
    stages = []
    for previous, layer in zip(layers, layers[1:]):
        if getattr(layer, 'input_layer', None) is not previous:
            raise TrainedNetworkError("the network is not a simple chain of layers at %s"
                                      % type(layer).__name__)
        stage = stages[-1] if stages else None
        if _is_weight_layer(layer):
            stages.append(Stage(len(stages), layer))
        elif stage is None:
            raise TrainedNetworkError("layer %s comes before the first weight layer"
                                      % type(layer).__name__)
        elif _is_batch_norm(layer) and stage.bn is None and stage.activation is None:
            stage.bn = layer
        elif _is_activation(layer) and stage.bn is not None and stage.activation is None:
            stage.activation = layer
        elif (_is_pool_layer(layer) and stage.kind == 'conv' and stage.pool is None
              and stage.bn is None):
            stage.pool = layer
            stage.pool_size, stage.pool_stride, stage.pool_ignore_border = _pool_geometry(layer)
        else:
            raise TrainedNetworkError(
                "unexpected layer %s after %s; a stage must be weight layer -> [max-pool] -> "
                "batch norm -> [activation]" % (type(layer).__name__, stage.name))
    if not stages:
        raise TrainedNetworkError("the network has no weight layer")
    for stage in stages:
        if stage.bn is None:
            raise TrainedNetworkError("%s has no batch norm layer" % stage.name)
    stages[-1].last = True
    return stages


# ------------------------------------------------------------------ the network

class TrainedNetwork(object):
    """An output layer with what is known about it.

    ``output_layer``, ``input_var`` (the InputLayer's variable), ``stages``,
    ``run_dir`` / ``config`` (the run's hyperparameters) / ``dataset`` (its name) when
    loaded from a run folder, and ``checkpoint`` (epochs done and the last recorded test
    error, for a sanity check against the reloaded network).
    """

    def __init__(self, output_layer, run_dir=None, config=None, checkpoint=None):
        self.output_layer = output_layer
        input_layer = lasagne.layers.get_all_layers(output_layer)[0]
        self.input_var = input_layer.input_var
        self.input_shape = tuple(input_layer.shape[1:])
        self.stages = network_stages(output_layer)
        self.run_dir = run_dir
        self.config = dict(config or {})
        self.dataset = self.config.get('dataset')
        self.checkpoint = dict(checkpoint or {})

    @property
    def name(self):
        if self.run_dir:
            return os.path.basename(os.path.normpath(self.run_dir))
        return 'in-memory network'


def resolve_run_dir(run, results='results'):
    """A run folder given as a path, or as a name under ``<results>/runs`` (the user's
    runs) or, failing that, ``<results>/reference`` (the runs shipped as examples)."""
    if not run:
        raise TrainedNetworkError("no run folder given (make ... RUN=<run folder or name>)")
    if os.path.isdir(run):
        return run
    candidates = [os.path.join(results, sub, run) for sub in ('runs', 'reference')]
    for candidate in candidates:
        if os.path.isdir(candidate):
            return candidate
    raise TrainedNetworkError("no run folder %s (nor %s); give a folder under %s/runs/ that "
                              "a training run wrote" % (run, ' nor '.join(candidates), results))


def _read_config(run_dir):
    path = os.path.join(run_dir, CONFIG_FILE)
    try:
        with io.open(path, encoding='utf-8') as handle:
            config = json.load(handle)
    except (IOError, OSError, ValueError) as error:
        raise TrainedNetworkError("cannot read %s (%s); is %s a run folder written by "
                                  "`python -m gxnor run`?" % (path, error, run_dir))
    hyper = config.get('hyperparameters')
    if not isinstance(hyper, dict):
        raise TrainedNetworkError("%s has no 'hyperparameters'; it was not written by "
                                  "`python -m gxnor run`" % path)
    return hyper


def _with_settings(hyper):
    """A run's hyperparameters with the named settings it was recorded without: what those
    runs did where that is recorded (gxnor.settings.SETTINGS_BEFORE_THEY_EXISTED), else
    the project's default. The analyses use the forward pass only, which neither the
    max-pool tie rule nor the activation's gradient window changes."""
    full = dict(DEFAULTS)
    full.update(SETTINGS_BEFORE_THEY_EXISTED)
    full.update(hyper)
    return full


def _build(hyper, architecture, input_shape, input_var):
    from ..models import INPUT_SHAPES, network_from_config
    dataset = hyper.get('dataset')
    if input_shape is None:
        if dataset not in INPUT_SHAPES:
            raise TrainedNetworkError("the run's dataset %r has no known input shape; pass "
                                      "input_shape" % (dataset,))
        input_shape = INPUT_SHAPES[dataset]
    saved_rng = lasagne.random.get_rng()
    # Building draws initial weights from Lasagne's RNG (numpy's global one by default);
    # use a private one so that loading a network leaves the caller's random state alone.
    lasagne.random.set_rng(np.random.RandomState(0))
    try:
        return network_from_config(_with_settings(hyper), input_var, architecture,
                                   input_shape=input_shape)
    except KeyError as error:
        raise TrainedNetworkError("config.json lacks the hyperparameter %s" % error)
    finally:
        lasagne.random.set_rng(saved_rng)


def _restore_parameters(output_layer, path):
    if not os.path.isfile(path):
        raise TrainedNetworkError(
            "no %s in %s: the run has not finished an epoch yet, or this is not a run "
            "folder. Train (e.g. `make mnist-quick`) or name another run"
            % (CHECKPOINT_FILE, os.path.dirname(path) or '.'))
    params = lasagne.layers.get_all_params(output_layer)
    try:
        with np.load(path) as archive:
            meta = json.loads(archive['meta'].tobytes().decode('utf-8'))
            signature = meta['signature']
            mine = [[p.name or '', list(p.get_value(borrow=True).shape)] for p in params]
            if len(signature) < len(mine):
                raise TrainedNetworkError(
                    "checkpoint %s holds %d variables, the network rebuilt from config.json "
                    "has %d parameters; if the run used a custom architecture, pass it "
                    "(architecture=..., input_shape=...)" % (path, len(signature), len(mine)))
            for index, (expected, found) in enumerate(zip(mine, signature)):
                if list(found) != expected:
                    raise TrainedNetworkError(
                        "checkpoint %s does not match the network rebuilt from config.json: "
                        "variable %d is %s %s in the checkpoint but %s %s in the network. If "
                        "the run used a custom architecture or input shape, pass it "
                        "(architecture=..., input_shape=...); otherwise the folder was "
                        "written by another version of the code"
                        % (path, index, found[0], tuple(found[1]), expected[0],
                           tuple(expected[1])))
            values = [archive['var%04d' % index] for index in range(len(params))]
            loop = meta.get('loop_state') or {}
    except TrainedNetworkError:
        raise
    except (IOError, OSError, KeyError, ValueError, TypeError) as error:
        raise TrainedNetworkError("cannot read checkpoint %s (%s); it is damaged or not a "
                                  "gxnor checkpoint" % (path, error))
    for param, value in zip(params, values):
        param.set_value(np.asarray(value, dtype=param.dtype))
    records = loop.get('records') or []
    last = records[-1] if records else {}
    return dict(path=path, epochs_done=len(records), last_epoch=last.get('epoch'),
                last_test_error=last.get('test_error'), last_valid_error=last.get('valid_error'))


def load_network(source, architecture=None, input_shape=None, input_var=None):
    """A TrainedNetwork from a run folder (path) or an in-memory output layer.

    ``architecture`` / ``input_shape`` override the run's (a run trained on a custom
    architecture list, as the tests do, records only the experiment's name).
    """
    if isinstance(source, TrainedNetwork):
        return source
    if isinstance(source, lasagne.layers.Layer):
        return TrainedNetwork(source)
    run_dir = str(source)
    if not os.path.isdir(run_dir):
        raise TrainedNetworkError("run folder %s does not exist" % run_dir)
    hyper = _read_config(run_dir)
    if input_var is None:
        import theano.tensor as T
        input_var = T.tensor4('inputs')
    output_layer = _build(hyper, architecture, input_shape, input_var)
    info = _restore_parameters(output_layer, os.path.join(run_dir, CHECKPOINT_FILE))
    return TrainedNetwork(output_layer, run_dir=run_dir, config=hyper, checkpoint=info)


def load_split(network, split='test', data_dir=None):
    """The ``split`` ('train', 'valid', 'test') of the run's data set."""
    from ..datasets import load_dataset
    if not network.dataset:
        raise TrainedNetworkError("the network does not name its data set; pass the data")
    if split not in ('train', 'valid', 'test'):
        raise TrainedNetworkError("unknown split %r; choose train, valid or test" % (split,))
    return getattr(load_dataset(network.dataset, data_dir), split)


def iterate_batches(data, batch_size):
    """Yield ``(start, x, labels)`` over a Split, an ``(x, labels)`` pair or an array x.

    x is float32 (scaled as training saw it); labels may be None.
    """
    if hasattr(data, 'batch') and hasattr(data, '__len__'):
        count = len(data)
        for start in range(0, count, batch_size):
            x, labels = data.batch(slice(start, start + batch_size))
            yield start, x, labels
        return
    if isinstance(data, tuple):
        x_all, labels_all = data
    else:
        x_all, labels_all = data, None
    x_all = np.asarray(x_all, dtype=np.float32)
    for start in range(0, len(x_all), batch_size):
        labels = None if labels_all is None else np.asarray(labels_all[start:start + batch_size])
        yield start, x_all[start:start + batch_size], labels


def data_size(data):
    """Number of examples in a Split, an (x, labels) pair or an array."""
    if isinstance(data, tuple):
        return len(data[0])
    return len(data)


def add_run_arguments(parser):
    """The options of every tool over a trained run (resting, bitwise)."""
    parser.add_argument('run', help='run folder, or its name under RESULTS/runs')
    parser.add_argument('--results', default='results', help='results folder (default: results)')
    parser.add_argument('--split', default='test', choices=('train', 'valid', 'test'))
    parser.add_argument('--data-dir', help='folder with the data set (default: datasets/)')
    parser.add_argument('--batch-size', type=int, default=500)
    return parser


def open_run(args):
    """``(run_dir, network, split)`` for the options of :func:`add_run_arguments`."""
    run_dir = resolve_run_dir(args.run, args.results)
    network = load_network(run_dir)
    return run_dir, network, load_split(network, args.split, args.data_dir)
