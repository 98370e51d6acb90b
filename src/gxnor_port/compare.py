"""One port array against one golden array, by the schema's rule: ``exact`` (equal after
casting to float64) or ``close`` (``|port - golden| <= atol + rtol |golden|``
elementwise). Shapes must agree up to length-1 axes; NaN never matches."""
from __future__ import absolute_import, division, print_function

import numpy as np

__all__ = ['Comparison', 'aligned', 'compare_arrays']


class Comparison(object):
    """Outcome of one array: ok, how many elements are off, and the worst one."""

    def __init__(self, name, ok, bad=0, size=0, index=None, golden=None, port=None,
                 deviation=0.0, allowed=0.0, ratio=0.0, problem=None):
        self.name, self.ok, self.bad, self.size = name, ok, bad, size
        self.index, self.golden, self.port = index, golden, port
        self.deviation, self.allowed, self.ratio = deviation, allowed, ratio
        self.problem = problem

    def where(self):
        if self.problem:
            return '%s: %s' % (self.name, self.problem)
        index = '' if self.index is None or self.index == () else \
            '[%s]' % ', '.join(str(int(i)) for i in self.index)
        text = '%s%s golden %s port %s' % (self.name, index, _num(self.golden), _num(self.port))
        if not self.ok:
            text += ' (%d of %d elements off' % (self.bad, self.size)
            if self.allowed:
                text += '; |diff| %s > allowed %s' % (_num(self.deviation), _num(self.allowed))
            text += ')'
        return text


def _num(value):
    if value is None:
        return '-'
    value = float(value)
    if np.isfinite(value) and value == np.floor(value) and abs(value) < 1e9:
        return '%d' % value
    return '%.8g' % value


def aligned(golden, port):
    """Both as float64 of one shape, or a problem string."""
    port = np.asarray(port)
    if port.dtype.kind not in 'biuf':
        return None, None, 'not numeric (dtype %s)' % port.dtype
    golden = np.asarray(golden, dtype=np.float64)
    port = port.astype(np.float64)
    if golden.shape != port.shape:
        squeeze = lambda shape: tuple(s for s in shape if s != 1)
        if squeeze(golden.shape) != squeeze(port.shape):
            return None, None, 'shape %s, golden %s' % (port.shape, golden.shape)
        port = port.reshape(golden.shape)
    return golden, port, None


def compare_arrays(name, golden, port, rule):
    """Compare by ``rule`` (schema: exact, or close with rtol/atol)."""
    golden, port, problem = aligned(golden, port)
    if problem:
        return Comparison(name, False, problem=problem)
    size = golden.size
    if size == 0:
        return Comparison(name, True)
    shape = golden.shape
    golden, port = golden.ravel(), port.ravel()
    deviation = np.abs(port - golden)
    deviation[np.isnan(deviation)] = np.inf
    if rule['rule'] == 'exact':
        bad = ~(port == golden)
        ratio = np.where(bad, np.inf, 0.0)
        allowed = np.zeros_like(golden)
    else:
        allowed = rule['atol'] + rule['rtol'] * np.abs(golden)
        with np.errstate(divide='ignore', invalid='ignore'):
            ratio = np.where(deviation == 0, 0.0, deviation / allowed)
        bad = ~(deviation <= allowed)
    worst = int(np.argmax(np.where(bad, deviation, -1.0))) if bad.any() else \
        int(np.argmax(ratio))
    index = np.unravel_index(worst, shape) if shape else ()
    finite = ratio[np.isfinite(ratio)]
    return Comparison(name, not bad.any(), int(bad.sum()), size, index,
                      golden.flat[worst], port.flat[worst], float(deviation.flat[worst]),
                      float(allowed.flat[worst]),
                      float(finite.max()) if finite.size and not bad.any() else float('inf'))
