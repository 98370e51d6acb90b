"""Gated-XNOR inference: a trained ternary network run with bit operations and integers.

    python -m gxnor bitwise RUN [--split test] [--data-dir DIR] [--results results]

What is bit-level and what is not
---------------------------------
The first layer sees the real-valued image, so its dot product is a float32 sum whose
rounding depends on the convolution code: we do NOT quantise the image. Layer 1 (its
conv, pool, batch norm and ternary activation) is computed by the network's own Theano
graph (deterministic pass), exactly as in the float forward pass. From layer 2 on every
input and weight is in {-1, 0, 1} and inference uses integers only:

* a ternary tensor is two bit planes, packed into uint64 words along the dot-product
  axis: ``nonzero`` (x != 0) and ``negative`` (x < 0);
* a product ``x*w`` is executed only when both are non-zero: ``gate = nz_x & nz_w``;
  its sign is ``xnor = ~(neg_x ^ neg_w)``; the dot product is
  ``popcount(gate & xnor) - popcount(gate & ~xnor)``, and ``popcount(gate)`` is the
  number of XNOR operations actually performed (against fan_in per output for a dense
  unit);
* convolutions are dot products over im2col patches (zero padding = non-zero bit 0, so
  padded taps are never executed), with the filters flipped as Theano's conv2d does;
* max-pooling acts on the integer sums s (the float path pools ``s + b``, and
  ``fl(s + b)`` is non-decreasing in s, so ``max fl(s_i + b) = fl(max s_i + b)``);
* batch norm + ternary activation become per-channel integer thresholds on s (below);
* the last layer (dense + batch norm, no activation) maps each integer s to the rank of
  its float32 batch-norm output in a per-class table; argmax of the ranks (first index on
  ties, like Theano's argmax) is the prediction.

Folding batch norm and the activation into thresholds, exactly
--------------------------------------------------------------
Analytically, ``y = (s + b - mean) * gamma * inv_std + beta`` and the activation is +1
for ``y >= r``, -1 for ``y <= -r``, 0 otherwise, so the output is a monotone step
function of the integer s: non-decreasing if ``gamma * inv_std > 0``, non-increasing if
it is negative (the comparisons flip), constant if it is zero. The float path evaluates
y in float32 (Theano's fused loop: ``(((s + b) - mean) * gamma * inv_std) + beta``,
possibly with a fused multiply-add), and each rounding step is monotone too, so it is
still such a step function, but its switch points can differ from the exact ones by
float32 rounding. We therefore tabulate the stage's own compiled Theano graph (bias add,
pool, batch norm, activation, deterministic) at every feasible integer
``s in [-fan_in, fan_in]`` and read the switch points off the table:

    a(s) = d * ([s >= t_low] + [s >= t_high] - 1),   d = +1 or -1 per channel

(``t = fan_in + 1`` means "never"; constant channels are covered). The table is checked
to be monotone and reproduced by the thresholds; ``threshold_diagnostics`` counts the
channels whose switch points differ from a float64 evaluation.

Pooling with thresholds: pooling s first with MAX, then thresholding, is what the float
path computes, whatever the sign of the scale. Thresholding first is equivalent only
with max-pooling of the ternary outputs for non-decreasing channels and MIN-pooling for
non-increasing ones (``threshold_then_pool``; tested).
"""
from __future__ import absolute_import, division, print_function

import argparse
import json
import os
import sys
import time

import numpy as np

from ..training.files import atomic_write
from .bitplanes import (apply_thresholds, conv_patches, fold_thresholds, gated_xnor_dot,
                        max_pool, pack_ternary, pool_length, ternary_activation_table)
from .trained import (TrainedNetworkError, add_run_arguments, iterate_batches, load_network,
                      open_run)

__all__ = ['stage_table', 'batch_norm_float64', 'BitLayer', 'GatedXnorNetwork',
           'run_inference', 'format_summary', 'main']

REPORT_JSON = 'gxnor_infer.json'


# ----------------------------------------------------- the stage's own float graph

def _bias_free_core(expression, bias):
    """The dot/conv result inside ``nonlinearity(core + b)`` of a weight layer."""
    import theano
    if bias is None:
        return expression
    node = expression.owner
    if node is None or len(node.inputs) != 2 or 'add' not in str(node.op).lower():
        raise TrainedNetworkError("cannot find the bias addition in the weight layer's "
                                  "output (%s)" % (node.op if node else expression))
    free = [v for v in node.inputs if bias not in theano.gof.graph.inputs([v])]
    if len(free) != 1:
        raise TrainedNetworkError("cannot separate the weight layer's dot product from its bias")
    return free[0]


def stage_table(stage, values):
    """The stage's float path (deterministic) at given integer dot-product results.

    Builds the stage's own graph from the weight layer's output on: ``core + b``, the
    pool, batch norm and activation layers, with the convolution / matrix product
    ``core`` replaced by a variable that holds ``values[k]`` for every channel and
    position. Returns (len(values), channels) float32.
    """
    import lasagne
    import theano
    import theano.tensor as T
    weight = stage.weight
    if weight.nonlinearity is not lasagne.nonlinearities.identity:
        raise TrainedNetworkError("%s has a nonlinearity of its own; expected identity"
                                  % stage.name)
    dummy = T.TensorType(theano.config.floatX, (False,) * (1 + len(stage.input_shape)))('x')
    expression = weight.get_output_for(dummy)
    core = _bias_free_core(expression, weight.b)
    grid = core.type('s')
    replaced = theano.clone(expression, replace={core: grid})
    output = lasagne.layers.get_output(stage.output_layer, inputs={weight: replaced},
                                       deterministic=True)
    function = theano.function([grid], output)
    values = np.asarray(values, dtype=np.float32)
    per_row = int(np.prod(stage.out_shape))
    chunk = max(1, (1 << 22) // per_row)
    rows = []
    for start in range(0, len(values), chunk):
        part = values[start:start + chunk]
        filled = np.empty((len(part),) + stage.out_shape, dtype=np.float32)
        filled[...] = part.reshape((-1,) + (1,) * len(stage.out_shape))
        out = np.asarray(function(filled))
        if out.ndim == 4:
            flat = out.reshape(out.shape[0], out.shape[1], -1)
            if not np.all(flat == flat[:, :, :1]):
                raise TrainedNetworkError("%s: positions with equal inputs gave different "
                                          "outputs" % stage.name)
            out = flat[:, :, 0]
        rows.append(out)
    return np.concatenate(rows, axis=0)


def batch_norm_float64(stage, sums):
    """The stage's bias + batch norm in float64 at integer sums (..., F) (for reports:
    how far float32 rounding moves switch points or changes the last argmax)."""
    bn = stage.bn
    bias = stage.weight.b.get_value().astype(np.float64) if stage.weight.b is not None else 0.0
    scale = bn.gamma.get_value().astype(np.float64) * bn.inv_std.get_value().astype(np.float64)
    return ((np.asarray(sums, np.float64) + bias - bn.mean.get_value().astype(np.float64))
            * scale + bn.beta.get_value().astype(np.float64))


# --------------------------------------------------------------- the bit layers

def _check_conv_geometry(stage):
    """The conv / pool output shapes our numpy code gives must be the layers' own."""
    _, rows, cols = stage.input_shape
    (top, bottom), (left, right) = stage.padding
    out = (stage.channels, (rows + top + bottom - stage.filter_size[0]) // stage.stride[0] + 1,
           (cols + left + right - stage.filter_size[1]) // stage.stride[1] + 1)
    if out != stage.out_shape:
        raise TrainedNetworkError("%s: expected output %s, the layer says %s"
                                  % (stage.name, out, stage.out_shape))
    if stage.pool is not None:
        pooled = (stage.channels,) + tuple(
            pool_length(out[1 + i], stage.pool_size[i], stage.pool_stride[i],
                         stage.pool_ignore_border) for i in (0, 1))
        if pooled != tuple(stage.pool.output_shape[1:]):
            raise TrainedNetworkError("%s: pooling %s gives %s, the pool layer says %s"
                                      % (stage.name, stage.pool_size, pooled,
                                         tuple(stage.pool.output_shape[1:])))


class BitLayer(object):
    """One stage from layer 2 on: packed ternary weights and integer thresholds.

    ``forward(x)`` takes the ternary input (int8, (B, C, H, W) or (B, ...)) and returns
    ``(output, executed, products, s)``: ternary int8 activations (hidden stages) or the
    predicted classes (the final stage), the XNOR operations performed, the dense count
    and the integer pre-activations. ``final`` defaults to ``stage.last``.
    """

    def __init__(self, stage, final=None):
        self.stage = stage
        self.final = stage.last if final is None else bool(final)
        W = stage.weight.W.get_value()
        if not np.all(np.in1d(W.ravel(), (-1.0, 0.0, 1.0))):
            raise TrainedNetworkError(
                "%s: weights are not all in {-1, 0, 1} (values %s...); bit-level inference "
                "needs ternary weights (H=1, N=1, discrete=true)"
                % (stage.name, np.unique(W)[:6].tolist()))
        if stage.kind == 'conv':
            _check_conv_geometry(stage)
            if stage.flip:
                W = W[:, :, ::-1, ::-1]
            rows = W.reshape(stage.channels, -1)
        else:
            rows = W.T
        self.weights = pack_ternary(rows.astype(np.int8))
        self.grid = np.arange(-stage.fan_in, stage.fan_in + 1, dtype=np.int64)
        table = stage_table(stage, self.grid)
        bn = stage.bn
        self.scale = bn.gamma.get_value() * bn.inv_std.get_value()   # float32, for reports
        if self.final:
            if stage.kind != 'dense':
                raise TrainedNetworkError("the last layer must be dense for argmax outputs")
            self.table = table
            _, ranks = np.unique(table, return_inverse=True)
            self.ranks = ranks.reshape(table.shape).astype(np.int64)
        else:
            activation = stage.activation
            if getattr(activation, 'N', None) != 1:
                raise TrainedNetworkError(
                    "%s: activation has N=%r; bit-level inference needs ternary activations "
                    "(act_N=1)" % (stage.name, getattr(activation, 'N', None)))
            try:
                self.direction, self.t_low, self.t_high = fold_thresholds(self.grid, table)
            except ValueError as error:
                raise TrainedNetworkError("%s: %s" % (stage.name, error))
            self.constant = np.all(table == table[:1], axis=0)
            rebuilt = apply_thresholds(self.grid[:, None], self.direction, self.t_low,
                                       self.t_high)
            if not np.array_equal(rebuilt, table.astype(np.int8)):
                raise TrainedNetworkError("%s: thresholds do not reproduce the float table"
                                          % stage.name)

    # The integer pre-activation (after pooling), int64 (B, F[, OH, OW]).
    def integer_sums(self, x):
        stage = self.stage
        x = np.asarray(x)
        if stage.kind == 'conv':
            patches, (rows, cols) = conv_patches(x, stage.filter_size, stage.stride,
                                                 stage.padding)
            dot, executed = gated_xnor_dot(pack_ternary(patches), self.weights)
            s = dot.reshape(len(x), rows, cols, -1).transpose(0, 3, 1, 2)
            if stage.pool is not None:
                s = max_pool(np.ascontiguousarray(s), stage.pool_size, stage.pool_stride,
                             stage.pool_ignore_border)
        else:
            dot, executed = gated_xnor_dot(pack_ternary(x.reshape(len(x), -1)), self.weights)
            s = dot
        return s, int(executed.sum()), len(x) * stage.products_per_example

    def forward(self, x):
        s, executed, products = self.integer_sums(x)
        if self.final:
            ranks = self.ranks[s + self.stage.fan_in, np.arange(s.shape[1])]
            return np.argmax(ranks, axis=1), executed, products, s
        return (apply_thresholds(s, self.direction, self.t_low, self.t_high), executed,
                products, s)

    def diagnostics(self):
        """Channel counts: negative / zero scale, constant outputs, and (hidden stages)
        switch points that differ from a float64 evaluation of batch norm."""
        info = dict(layer=self.stage.name, channels=self.stage.channels,
                    fan_in=self.stage.fan_in,
                    negative_scale=int(np.sum(self.scale < 0)),
                    zero_scale=int(np.sum(self.scale == 0)))
        if self.final:
            return info
        info['constant_output'] = int(np.sum(self.constant))
        exact = ternary_activation_table(batch_norm_float64(self.stage, self.grid[:, None]),
                                         float(self.stage.activation.r))
        try:
            fold = fold_thresholds(self.grid, exact)
            moved = np.any(np.vstack(fold) != np.vstack([self.direction, self.t_low,
                                                          self.t_high]), axis=0)
            info['switch_points_moved_by_float32'] = int(moved.sum())
        except ValueError:
            info['switch_points_moved_by_float32'] = None
        return info


class GatedXnorNetwork(object):
    """A trained ternary network exported for gated-XNOR inference.

    ``float_pass(x)`` runs the network's Theano graph (deterministic) and returns the
    hidden activations (float32, one per stage but the last), the float outputs and the
    predictions; ``bit_pass(first_activation)`` runs layers 2.. with bit operations.
    """

    def __init__(self, network):
        import lasagne
        import theano
        import theano.tensor as T
        self.network = load_network(network)
        stages = self.network.stages
        if len(stages) < 2:
            raise TrainedNetworkError("the network has one weight layer only; its input is the "
                                      "real-valued image, so nothing would be bit-level")
        for stage in stages[:-1]:
            if getattr(stage.activation, 'N', None) != 1:
                raise TrainedNetworkError(
                    "%s: activation N=%r; bit-level inference needs ternary activations "
                    "(act_N=1)" % (stage.name, getattr(stage.activation, 'N', None)))
        self.layers = [BitLayer(stage) for stage in stages[1:]]
        hidden = lasagne.layers.get_output([s.activation for s in stages[:-1]],
                                           deterministic=True)
        output = lasagne.layers.get_output(self.network.output_layer, deterministic=True)
        self._float = theano.function([self.network.input_var],
                                      hidden + [output, T.argmax(output, axis=1)])

    def float_pass(self, x):
        values = self._float(x)
        return values[:-2], values[-2], values[-1]

    def bit_pass(self, first_activation):
        """Returns (predictions, hidden ternary activations of layers 2.., per-layer
        (executed, products), last layer's integer sums)."""
        x = np.asarray(first_activation).astype(np.int8)
        hidden = []
        counts = []
        for layer in self.layers:
            x, executed, products, s = layer.forward(x)
            counts.append((executed, products))
            if not layer.final:
                hidden.append(x)
        return x, hidden, counts, s


def run_inference(network, data, batch_size=500, stream=None, max_listed=50):
    """Both passes over every example of ``data``; a JSON-able result dict."""
    started = time.time()
    engine = network if isinstance(network, GatedXnorNetwork) else GatedXnorNetwork(network)
    export_seconds = time.time() - started
    stages = engine.network.stages
    executed = np.zeros(len(engine.layers), dtype=np.int64)
    products = np.zeros(len(engine.layers), dtype=np.int64)
    mismatched = np.zeros(len(engine.layers) - 1, dtype=np.int64)
    compared = np.zeros(len(engine.layers) - 1, dtype=np.int64)
    disagreements = []
    float64_differs = []
    total = agree = float_errors = bit_errors = 0
    labelled = True
    float_seconds = bit_seconds = 0.0
    for start, x, labels in iterate_batches(data, batch_size):
        tick = time.time()
        hidden_float, outputs, float_pred = engine.float_pass(x)
        float_seconds += time.time() - tick
        tick = time.time()
        bit_pred, hidden_bits, counts, sums = engine.bit_pass(hidden_float[0])
        bit_seconds += time.time() - tick
        for index, (done, dense) in enumerate(counts):
            executed[index] += done
            products[index] += dense
        for index, (f, b) in enumerate(zip(hidden_float[1:], hidden_bits)):
            mismatched[index] += int(np.sum(f.astype(np.int8) != b))
            compared[index] += b.size
        same = bit_pred == float_pred
        agree += int(same.sum())
        total += len(x)
        labelled = labelled and labels is not None
        if labels is not None:
            float_errors += int(np.sum(float_pred != labels))
            bit_errors += int(np.sum(bit_pred != labels))
        for i in np.flatnonzero(~same):
            item = dict(index=int(start + i), float=int(float_pred[i]), bitwise=int(bit_pred[i]),
                        float_outputs=[float(v) for v in outputs[i]])
            if len(disagreements) < max_listed:
                disagreements.append(item)
            if stream is not None:
                stream.write("disagreement at example %d: float path %d, gated XNOR %d\n"
                             % (item['index'], item['float'], item['bitwise']))
        exact = np.argmax(batch_norm_float64(stages[-1], sums), axis=1)
        for i in np.flatnonzero(exact != bit_pred):
            if len(float64_differs) < max_listed:
                float64_differs.append(dict(index=int(start + i), float32=int(bit_pred[i]),
                                            float64=int(exact[i])))
    layers = []
    for index, layer in enumerate(engine.layers):
        row = layer.diagnostics()
        row.update(xnor_ops=int(executed[index]), dense_products=int(products[index]),
                   executed_share=float(executed[index]) / max(1, products[index]))
        if index < len(mismatched):
            row.update(activation_mismatches=int(mismatched[index]),
                       activations_compared=int(compared[index]))
        layers.append(row)
    first = stages[0]
    result = dict(
        run=engine.network.name, examples=total, agree=agree, identical=agree == total,
        disagreements=disagreements, disagreement_count=total - agree,
        float_error=100.0 * float_errors / total if total and labelled else None,
        bitwise_error=100.0 * bit_errors / total if total and labelled else None,
        xnor_ops=int(executed.sum()), dense_products=int(products.sum()),
        xnor_ops_per_example=float(executed.sum()) / max(1, total),
        dense_products_per_example=float(products.sum()) / max(1, total),
        first_layer=dict(layer=first.name, float_products=int(total * first.products_per_example),
                         note='real-valued image input: computed by the float Theano graph'),
        layers=layers,
        float64_argmax_differs=float64_differs,
        seconds=dict(export=round(export_seconds, 2), float_pass=round(float_seconds, 2),
                     bit_pass=round(bit_seconds, 2)))
    return result


# ----------------------------------------------------------------------- command

def format_summary(result):
    lines = ['%s: %d examples; gated-XNOR predictions identical to the float Theano pass for '
             '%d / %d (%s)' % (result['run'], result['examples'], result['agree'],
                              result['examples'], 'all' if result['identical'] else
                              '%d differ' % result['disagreement_count'])]
    if result.get('float_error') is not None:
        lines.append('error: float path %.2f%%, gated XNOR %.2f%%'
                     % (result['float_error'], result['bitwise_error']))
    checkpoint = result.get('checkpoint') or {}
    if checkpoint.get('last_epoch') is not None:
        lines.append('checkpoint: after epoch %d (training recorded test error %s%%)'
                     % (checkpoint['last_epoch'], checkpoint.get('last_test_error')))
    lines.append('layer 1 (%s): float input, %d float multiply-accumulates'
                 % (result['first_layer']['layer'], result['first_layer']['float_products']))
    for row in result['layers']:
        extra = ''
        if 'activation_mismatches' in row:
            extra = '; activations differing from the float path: %d of %d' % (
                row['activation_mismatches'], row['activations_compared'])
        lines.append('%s: XNOR ops %d of %d dense (%.2f%%)%s'
                     % (row['layer'], row['xnor_ops'], row['dense_products'],
                        100.0 * row['executed_share'], extra))
    lines.append('bit-level layers: %d XNOR ops performed vs %d dense products (%.2f%%); '
                 '%.0f vs %.0f per example'
                 % (result['xnor_ops'], result['dense_products'],
                    100.0 * result['xnor_ops'] / max(1, result['dense_products']),
                    result['xnor_ops_per_example'], result['dense_products_per_example']))
    if result['float64_argmax_differs']:
        lines.append('note: %d predictions would change if the last batch norm were evaluated '
                     'in float64 instead of float32 (near ties)'
                     % len(result['float64_argmax_differs']))
    return '\n'.join(lines) + '\n'


def _parser():
    parser = argparse.ArgumentParser(
        prog='python -m gxnor bitwise',
        description='Bit-level gated-XNOR inference of a trained ternary run, compared with '
                    'the float Theano forward pass.')
    return add_run_arguments(parser)


def main(argv=None):
    """Exit status 0 when every prediction agrees, 1 when some differ, 2 on bad input."""
    args = _parser().parse_args(argv)
    from ..datasets import DataError
    try:
        run_dir, network, split = open_run(args)
        result = run_inference(network, split, args.batch_size, stream=sys.stdout)
    except (TrainedNetworkError, DataError) as error:
        sys.stderr.write("error: %s\n" % error)
        return 2
    result.update(split=args.split, run_dir=run_dir, checkpoint=network.checkpoint)
    data = (json.dumps(result, indent=2, sort_keys=True) + '\n').encode('utf-8')
    path = os.path.join(run_dir, REPORT_JSON)
    atomic_write(path, lambda handle: handle.write(data))
    sys.stdout.write(format_summary(result))
    sys.stdout.write("wrote %s\n" % path)
    return 0 if result['identical'] else 1
