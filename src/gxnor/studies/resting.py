"""Resting probability and sparsity of a trained network, measured on a data split.

    python -m gxnor resting RUN [--split test] [--data-dir DIR] [--results results]

A gated-XNOR unit multiplies a ternary input by a ternary weight only when both are
non-zero (the gate); every product with a zero factor is skipped. The *resting
probability* of a layer is the share of the products inside its dot products that have
at least one zero factor, counted exactly over every example of the split (test-mode,
deterministic batch norm), with no independence assumption between weights and inputs.

Per weight layer (conv and dense) we report

* the share of zero weights;
* the share of zero inputs (the layer's input: image pixels for the first layer,
  ternary activations after it);
* products: ``examples * outputs * fan_in`` (every multiply-accumulate of the dot
  products, including those that fall on zero padding);
* executed: products whose two factors are both non-zero (the XNOR operations a gated
  unit performs); resting = 1 - executed / products;
* resting excluding padding: the same among products whose input lies inside the image
  (a zero-padded position is a zero input: its product is skipped, and we count it as
  skipped in the main number);
* the independence guess ``1 - (1 - p_w)(1 - p_x)`` for comparison only.

Totals are over all layers and over the bit-level layers (all but the first, whose input
is the real-valued image), weighted by the number of products.

How the count is exact without forming the products: for a dense layer,
``executed = sum_i n_i m_i`` with ``n_i`` the number of examples whose input i is
non-zero and ``m_i`` the number of non-zero weights in row i of W. For a convolution,
``executed = sum_{c,u,v} M[c,u,v] S[c,u,v]`` where ``M[c,u,v]`` counts the filters whose
(flipped, as the convolution applies it) tap (c,u,v) is non-zero and ``S[c,u,v]`` sums,
over all output positions, the number of examples whose (zero-padded) input under that
tap is non-zero; S comes from the per-channel map of non-zero counts summed over the
split. All in int64 (no rounding).
"""
from __future__ import absolute_import, division, print_function

import argparse
import json
import os
import sys

import numpy as np

from ..training.files import atomic_write
from .trained import (TrainedNetworkError, add_run_arguments, data_size, iterate_batches,
                      load_network, open_run)

__all__ = ['dense_product_counts', 'conv_product_counts', 'LayerTally', 'measure_resting',
           'format_markdown', 'write_report', 'main']

REPORT_MD = 'resting.md'
REPORT_JSON = 'resting.json'


# ----------------------------------------------------------------- exact counting

def _dense_counts(input_nonzero_per_feature, examples, W):
    """Counts of a dense layer ``x @ W`` (W: fan_in x units) from per-feature counts."""
    weight_nonzero_per_row = (np.asarray(W) != 0).sum(axis=1).astype(np.int64)
    fan_in, units = W.shape
    executed = int(np.dot(input_nonzero_per_feature.astype(np.int64), weight_nonzero_per_row))
    products = int(examples) * units * fan_in
    return dict(products=products, executed=executed, products_inside=products)


def _padded(nonzero_map, padding):
    (top, bottom), (left, right) = padding
    channels, rows, cols = nonzero_map.shape
    out = np.zeros((channels, rows + top + bottom, cols + left + right), dtype=np.int64)
    out[:, top:top + rows, left:left + cols] = nonzero_map
    return out


def _tap_sums(padded, filter_size, stride, out_rows, out_cols):
    """S[c, u, v] = sum over output positions of padded[c, y*sy + u, x*sx + v]."""
    kh, kw = filter_size
    sy, sx = stride
    sums = np.zeros((padded.shape[0], kh, kw), dtype=np.int64)
    for u in range(kh):
        for v in range(kw):
            window = padded[:, u:u + sy * (out_rows - 1) + 1:sy, v:v + sx * (out_cols - 1) + 1:sx]
            sums[:, u, v] = window.sum(axis=(1, 2))
    return sums


def _conv_counts(nonzero_map, examples, W, stride, padding, flip):
    """Counts of a convolution from the input's non-zero counts summed over examples."""
    W = np.asarray(W)
    filters, channels, kh, kw = W.shape
    rows, cols = nonzero_map.shape[1:]
    (top, bottom), (left, right) = padding
    out_rows = (rows + top + bottom - kh) // stride[0] + 1
    out_cols = (cols + left + right - kw) // stride[1] + 1
    taps = W != 0
    if flip:
        taps = taps[:, :, ::-1, ::-1]
    weight_taps = taps.sum(axis=0).astype(np.int64)               # (C, kh, kw)
    input_taps = _tap_sums(_padded(nonzero_map, padding), (kh, kw), stride, out_rows, out_cols)
    inside = np.full(nonzero_map.shape, int(examples), dtype=np.int64)
    inside_taps = _tap_sums(_padded(inside, padding), (kh, kw), stride, out_rows, out_cols)
    executed = int((weight_taps * input_taps).sum())
    products = int(examples) * filters * out_rows * out_cols * channels * kh * kw
    return dict(products=products, executed=executed,
                products_inside=int(filters * inside_taps.sum()),
                out_shape=(filters, out_rows, out_cols))


def dense_product_counts(x, W):
    """Exact product counts of ``x.reshape(n, -1) @ W`` for a batch x: dict with
    ``products``, ``executed`` (both factors non-zero), ``products_inside``."""
    x = np.asarray(x)
    nonzero = (x.reshape(len(x), -1) != 0).sum(axis=0)
    return _dense_counts(nonzero, len(x), np.asarray(W))


def conv_product_counts(x, W, stride=(1, 1), padding=((0, 0), (0, 0)), flip=True):
    """Exact product counts of the convolution of x (n, C, H, W) with W (F, C, kh, kw)
    (zero ``padding`` ((top, bottom), (left, right)), ``flip`` = true convolution)."""
    x = np.asarray(x)
    nonzero = (x != 0).sum(axis=0)
    return _conv_counts(nonzero, len(x), W, stride, padding, flip)


class LayerTally(object):
    """Accumulates one weight layer's input statistics over batches, then counts."""

    def __init__(self, stage):
        self.stage = stage
        self.examples = 0
        self.input_elements = 0
        self.input_zeros = 0
        if stage.kind == 'conv':
            self.nonzero = np.zeros(stage.input_shape, dtype=np.int64)
        else:
            self.nonzero = np.zeros(stage.fan_in, dtype=np.int64)

    def add(self, x):
        """Add a batch of the layer's inputs (n, ...)."""
        x = np.asarray(x)
        nonzero = x != 0
        self.examples += len(x)
        self.input_elements += nonzero.size
        self.input_zeros += nonzero.size - int(np.count_nonzero(nonzero))
        if self.stage.kind == 'conv':
            self.nonzero += nonzero.sum(axis=0)
        else:
            self.nonzero += nonzero.reshape(len(x), -1).sum(axis=0)

    def result(self):
        stage = self.stage
        W = stage.weight.W.get_value()
        if stage.kind == 'conv':
            counts = _conv_counts(self.nonzero, self.examples, W, stage.stride, stage.padding,
                                  stage.flip)
            if counts.pop('out_shape') != stage.out_shape:
                raise TrainedNetworkError("%s: computed output shape differs from the layer's "
                                          "%s" % (stage.name, stage.out_shape))
        else:
            counts = _dense_counts(self.nonzero, self.examples, W)
        zero_weights = float(np.mean(W == 0))
        zero_inputs = self.input_zeros / max(1, self.input_elements)
        products = counts['products']
        executed = counts['executed']
        inside = counts['products_inside']
        return dict(
            layer=stage.name, index=stage.index, kind=stage.kind, bit_level=stage.index > 0,
            weights=int(W.size), zero_weights=zero_weights,
            input_elements=int(self.input_elements), zero_inputs=zero_inputs,
            examples=int(self.examples), fan_in=stage.fan_in,
            products=products, executed=executed, skipped=products - executed,
            resting=1.0 - executed / products if products else 0.0,
            products_inside=inside,
            resting_excluding_padding=1.0 - executed / inside if inside else 0.0,
            independence_guess=1.0 - (1.0 - zero_weights) * (1.0 - zero_inputs))


def _total(rows):
    products = sum(r['products'] for r in rows)
    executed = sum(r['executed'] for r in rows)
    inside = sum(r['products_inside'] for r in rows)
    return dict(layers=[r['layer'] for r in rows], products=products, executed=executed,
                skipped=products - executed,
                resting=1.0 - executed / products if products else None,
                products_inside=inside,
                resting_excluding_padding=1.0 - executed / inside if inside else None)


def _layer_input_function(network):
    """Theano function x -> inputs of the weight layers 2.. (deterministic pass)."""
    import lasagne
    import theano
    later = [stage.weight.input_layer for stage in network.stages[1:]]
    if not later:
        return lambda x: []
    outputs = lasagne.layers.get_output(later, deterministic=True)
    return theano.function([network.input_var], outputs)


def measure_resting(network, data, batch_size=500):
    """Per-layer and total counts over every example of ``data`` (a Split, an
    ``(x, labels)`` pair or an array x); ``network`` a TrainedNetwork or output layer."""
    network = load_network(network)
    tallies = [LayerTally(stage) for stage in network.stages]
    inputs_of = _layer_input_function(network)
    for _, x, _ in iterate_batches(data, batch_size):
        tallies[0].add(x)
        for tally, values in zip(tallies[1:], inputs_of(x)):
            tally.add(values)
    rows = [tally.result() for tally in tallies]
    return dict(run=network.name, examples=int(data_size(data)), layers=rows,
                total=_total(rows), total_bit_level=_total([r for r in rows if r['bit_level']]),
                padding='zero-padded positions count as zero inputs (their products are '
                        'skipped); resting_excluding_padding leaves them out')


# -------------------------------------------------------------------------- report

def _pct(value):
    return '-' if value is None else '%.2f%%' % (100.0 * value)


def format_markdown(result, title=None):
    """The result as a Markdown table (per layer, then the totals)."""
    lines = ['# Resting probability of %s' % (title or result['run']), '',
             'Measured over %d examples of the %s split, deterministic batch norm. A product '
             'w*x of a dot product *rests* (is skipped by a gated-XNOR unit) when w = 0 or '
             'x = 0; resting = skipped / all products, counted exactly. Zero-padded inputs '
             'count as zeros; the "excl. padding" column leaves those products out. The '
             'independence guess 1-(1-p_w)(1-p_x) is shown for comparison only.'
             % (result['examples'], result.get('split', 'given')), '']
    checkpoint = result.get('checkpoint') or {}
    if checkpoint.get('last_epoch') is not None:
        lines += ['Network: the checkpoint after epoch %d (training recorded test error %s%%).'
                  % (checkpoint['last_epoch'], checkpoint.get('last_test_error')), '']
    lines += ['| layer | zero weights | zero inputs | products / example | executed / example '
              '| resting | resting excl. padding | independence guess |',
              '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |']
    n = max(1, result['examples'])
    for row in result['layers']:
        lines.append('| %s%s | %s | %s | %d | %.1f | %s | %s | %s |' % (
            row['layer'], '' if row['bit_level'] else ' (float input)',
            _pct(row['zero_weights']), _pct(row['zero_inputs']), row['products'] // n,
            row['executed'] / n, _pct(row['resting']), _pct(row['resting_excluding_padding']),
            _pct(row['independence_guess'])))
    for label, total in (('all layers', result['total']),
                         ('bit-level layers (2..)', result['total_bit_level'])):
        lines.append('| **%s** | | | %d | %.1f | **%s** | %s | |' % (
            label, total['products'] // n, total['executed'] / n, _pct(total['resting']),
            _pct(total['resting_excluding_padding'])))
    return '\n'.join(lines) + '\n'


def write_report(run_dir, result):
    """Write ``resting.md`` and ``resting.json`` into the run folder (atomically)."""
    text = format_markdown(result).encode('utf-8')
    data = (json.dumps(result, indent=2, sort_keys=True) + '\n').encode('utf-8')
    atomic_write(os.path.join(run_dir, REPORT_MD), lambda handle: handle.write(text))
    atomic_write(os.path.join(run_dir, REPORT_JSON), lambda handle: handle.write(data))
    return os.path.join(run_dir, REPORT_MD), os.path.join(run_dir, REPORT_JSON)


def _parser():
    parser = argparse.ArgumentParser(
        prog='python -m gxnor resting',
        description='Resting probability (share of skipped products) of a trained run.')
    return add_run_arguments(parser)


def main(argv=None):
    args = _parser().parse_args(argv)
    from ..datasets import DataError
    try:
        run_dir, network, split = open_run(args)
        result = measure_resting(network, split, args.batch_size)
    except (TrainedNetworkError, DataError) as error:
        sys.stderr.write("error: %s\n" % error)
        return 2
    result['split'] = args.split
    result['run_dir'] = run_dir
    result['checkpoint'] = network.checkpoint
    paths = write_report(run_dir, result)
    sys.stdout.write(format_markdown(result))
    sys.stdout.write("wrote %s and %s\n" % paths)
    return 0
