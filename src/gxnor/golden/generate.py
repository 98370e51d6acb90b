"""Writing a golden folder (``generate``) and replaying one through this code as if it
were a port (``replay``): which file each builder makes, the schema around them, the
rule that a golden version is never rewritten."""
from __future__ import absolute_import, division, print_function

import json
import os
import sys
from collections import OrderedDict

import numpy as np

from gxnor_port.curves import curve_envelope, curves_schema
from gxnor_port.schema import (CHECKS, CURVES_FILE, FORMAT, SCHEMA_FILE, SCHEMA_MD, VERSION,
                               load_schema, read_golden, read_schema_if_any)
from gxnor_port.schema_markdown import render_schema_markdown

from .base import write_json, write_npz, write_text
from .curves import generate_curves
from .primitives import (build_activation, build_adam, build_batchnorm, build_dst,
                         build_snap, compute_activation, compute_adam, compute_batchnorm,
                         compute_dst, compute_snap)
from .train_step import build_train_step, compute_train_step

__all__ = ['generate', 'replay', 'BUILDERS', 'COMPUTE']

BUILDERS = OrderedDict([('activation.npz', build_activation), ('snap.npz', build_snap),
                        ('dst.npz', build_dst), ('batchnorm.npz', build_batchnorm),
                        ('adam.npz', build_adam), ('train_step.npz', build_train_step)])


def _versions():
    import lasagne
    import theano
    return OrderedDict([('python', '%d.%d' % sys.version_info[:2]), ('numpy', np.__version__),
                        ('theano', theano.__version__), ('lasagne', lasagne.__version__),
                        ('floatX', theano.config.floatX)])


def _conventions():
    return OrderedDict([
        ('names', 'Array names are <case>/<field> (slashes are part of the name: '
                  'np.load(f)[\'rectangular_r1_a0.5_N1/x\']). A port writes its outputs under '
                  'the same file and array names into its own folder (any subset: a check '
                  'with arrays missing is PARTIAL, not PASS and not a failure); inputs it '
                  'copies are ignored.'),
        ('same_as', 'An array whose schema entry has same_as is identical to that other array '
                    'of the same file and stored only under its name (read it from there, '
                    'or use gxnor.golden.read_golden).'),
        ('writing', 'np.savez(os.path.join(port_dir, \'dst.npz\'), **outputs) with outputs a '
                    'dict name -> array; any float dtype is accepted and compared in float64.'),
        ('compare', 'exact: equal values (after casting to float64). close: '
                    '|port - golden| <= atol + rtol |golden| elementwise. Shapes must match '
                    '(up to length-1 axes).'),
        ('float32', 'Goldens are float32 computations. Float inputs are float32; compute in '
                    'float32 where the notes say the break points depend on it.')])


def generate(out_dir, curves_data_dir=None, curves_epochs=3, curves_seeds=(1, 2, 3),
             keep_curves=True, stream=None, only=None):
    """Write the golden folder. Returns the schema (a dict)."""
    import theano
    stream = stream or sys.stdout
    if theano.config.floatX != 'float32':
        raise RuntimeError('goldens are float32: run with THEANO_FLAGS=floatX=float32')
    if not os.path.isdir(out_dir):
        os.makedirs(out_dir)
    old_schema = read_schema_if_any(out_dir)
    if old_schema and old_schema.get('version') != VERSION:
        raise ValueError('%s holds goldens v%s; this code writes v%d, and a golden version '
                         'is never rewritten: choose another folder (e.g. results/golden/v%d)'
                         % (out_dir, old_schema.get('version'), VERSION, VERSION))
    # The curves first: a data problem stops before any file is written.
    records = None
    if curves_data_dir:
        records = generate_curves(curves_data_dir, curves_epochs, curves_seeds, stream=stream)
    schema = OrderedDict([('format', FORMAT), ('version', VERSION), ('generator',
                          OrderedDict([('module', 'gxnor.golden'), ('versions', _versions())])),
                          ('conventions', _conventions()), ('files', OrderedDict()),
                          ('checks', OrderedDict(
                              (name, OrderedDict([('order', index), ('advisory', advisory),
                                                  ('covers', covers)]))
                              for index, (name, (advisory, covers)) in enumerate(
                                  CHECKS.items())))])
    for filename, build in BUILDERS.items():
        if only and filename.split('.')[0] not in only:
            kept = (old_schema or {}).get('files', {}).get(filename)
            if kept and os.path.exists(os.path.join(out_dir, filename)):
                schema['files'][filename] = kept      # not rebuilt this time
            continue
        stream.write('golden: %s\n' % filename)
        stream.flush()
        gf = build()
        write_npz(os.path.join(out_dir, filename), gf.arrays)
        schema['files'][filename] = gf.schema()
    curves_path = os.path.join(out_dir, CURVES_FILE)
    if records is not None:
        arrays = curve_envelope(records)
        write_npz(curves_path, arrays)
        schema['curves'] = curves_schema(arrays, source='MNIST (gxnor.datasets.load_mnist)')
    elif keep_curves and os.path.exists(curves_path) and old_schema and \
            old_schema.get('curves', {}).get('generated'):
        schema['curves'] = old_schema['curves']
        stream.write('golden: kept the existing %s (no --curves-data-dir)\n' % CURVES_FILE)
    else:
        if os.path.exists(curves_path):
            os.remove(curves_path)
        schema['curves'] = OrderedDict([
            ('generated', False),
            ('note', 'not generated: needs real MNIST (--curves-data-dir; `make golden` passes '
                     'it when the data is present) and about a minute per epoch and seed')])
    write_json(os.path.join(out_dir, SCHEMA_FILE), schema)
    text = render_schema_markdown(json.loads(json.dumps(schema, sort_keys=True),
                                             object_pairs_hook=OrderedDict))
    write_text(os.path.join(out_dir, SCHEMA_MD), text)
    return schema


COMPUTE = OrderedDict([('activation.npz', compute_activation), ('snap.npz', compute_snap),
                       ('dst.npz', compute_dst), ('batchnorm.npz', compute_batchnorm),
                       ('adam.npz', compute_adam), ('train_step.npz', compute_train_step)])


def replay(golden_dir, out_dir, only=None, stream=None, kernels=None):
    """Recompute every golden output from the golden inputs with this code (a 'port');
    ``kernels`` ('fast' or 'theano', default: the configuration's) for the training step."""
    stream = stream or sys.stdout
    schema = load_schema(golden_dir)
    if not os.path.isdir(out_dir):
        os.makedirs(out_dir)
    for filename, entry in schema['files'].items():
        if only and filename.split('.')[0] not in only:
            continue
        stream.write('replay: %s\n' % filename)
        stream.flush()
        arrays = read_golden(golden_dir, filename, entry)
        inputs = OrderedDict((n, a) for n, a in arrays.items()
                             if entry['arrays'].get(n, {}).get('role') == 'input')
        if filename == 'train_step.npz':
            # step 2 starts from the golden state after step 1, as a port should
            inputs.update((n, a) for n, a in arrays.items()
                          if n.startswith('step1/state/') or '/step1/state/' in n)
        if filename == 'train_step.npz':
            outputs = compute_train_step(entry['cases'], inputs, kernels=kernels)
        else:
            outputs = COMPUTE[filename](entry['cases'], inputs)
        write_npz(os.path.join(out_dir, filename), outputs)
