"""The report: one CheckResult per check (PASS, PARTIAL n/m, FAIL, WARN, not provided,
SKIP), its line with the lead failure and the hints, and the overall RESULT line."""
from __future__ import absolute_import, division, print_function

__all__ = ['CheckResult', 'format_report', 'overall']


class CheckResult(object):
    """One line of the report: a check (primitive) and how the port did on it.

    ``order`` (optional) lists the check's arrays in the documented debugging order (the
    training steps: forward, loss, gradients, new state, deterministic pass); a failing
    check then leads with its FIRST divergence in that order, otherwise with its worst.
    """

    def __init__(self, check, advisory=False):
        self.check = check
        self.advisory = advisory
        self.comparisons = []
        self.missing = []
        self.hints = []
        self.note = None
        self.order = None

    @property
    def failures(self):
        return [c for c in self.comparisons if not c.ok]

    @property
    def complete(self):
        """Every array of the check was provided."""
        return not self.missing

    @property
    def status(self):
        """PASS, PARTIAL n/m, FAIL, WARN (advisory), 'not provided' or SKIP."""
        if not self.comparisons:
            return 'not provided' if self.note is None else 'SKIP'
        if self.failures:
            return 'WARN' if self.advisory else 'FAIL'
        if self.missing:
            return 'PARTIAL %d/%d' % (len(self.comparisons),
                                      len(self.comparisons) + len(self.missing))
        return 'PASS'

    @property
    def failed(self):
        return self.status == 'FAIL'

    def worst(self):
        return max(self.failures, key=lambda c: (c.problem is not None, c.ratio, c.deviation))

    def first(self):
        """The first failing array in ``order`` (None without an order or outside it)."""
        if not self.order:
            return None
        failing = dict((c.name, c) for c in self.failures)
        for name in self.order:
            if name in failing:
                return failing[name]
        return None

    def lead(self):
        """The failure the report line leads with: the first divergence, else the worst."""
        return self.first() or self.worst()

    def summary(self):
        if not self.comparisons:
            if self.note:
                return self.note
            if self.check == 'curves':
                return 'no training log (epochs*.jsonl, epochs*.csv)'
            return '%d arrays in the schema' % len(self.missing)
        failures = self.failures
        provided = '%d/%d arrays' % (len(self.comparisons),
                                     len(self.comparisons) + len(self.missing))
        if not failures:
            ratios = [c.ratio for c in self.comparisons if c.ratio]
            worst = ('; worst %.2g of tolerance' % max(ratios)) if ratios else '; identical'
            text = provided + ' match' + worst
            if self.missing:
                text += '; %d not provided (e.g. %s)' % (
                    len(self.missing), ', '.join(self.missing[:2]))
            return text
        first = self.first()
        if first is not None:
            return '%s, %d differ; first divergence %s' % (provided, len(failures),
                                                          first.where())
        return '%s, %d differ; worst %s' % (provided, len(failures), self.worst().where())


STATUS_WIDTH, CHECK_WIDTH = 14, 27


def _line(status, check, text):
    return '%-*s %-*s %s' % (STATUS_WIDTH, status, CHECK_WIDTH, check, text)


def format_report(results, notes, port_dir, golden_dir):
    lines = ['conformance of %s against %s' % (port_dir, golden_dir)]
    for name, result in results.items():
        status = result.status
        lines.append(_line(status, name, result.summary()))
        if status in ('FAIL', 'WARN'):
            lead = result.lead()
            others = [c for c in result.failures if c is not lead]
            if result.first() is not None:      # the next divergences, in order
                position = dict((n, i) for i, n in enumerate(result.order))
                others.sort(key=lambda c: position.get(c.name, len(position)))
            else:
                others.sort(key=lambda c: -c.ratio)
            for comparison in others[:3]:
                lines.append(_line('', '', '  also %s' % comparison.where()))
            if len(others) > 3:
                lines.append(_line('', '', '  ... and %d more arrays' % (len(others) - 3)))
            for hint in result.hints:
                lines.append(_line('', '', '  hint: %s' % hint))
            if status == 'FAIL' and not result.hints:
                lines.append(_line('', '', '  hint: no known mistake fits; see docs/porting.md'))
    for note in notes:
        lines.append('note: ' + note)
    lines.append('RESULT: ' + overall(results)[1])
    return '\n'.join(lines)


def overall(results):
    """(word, text): FAIL when a check failed, PASS when every check was provided in full
    and matched (advisory warnings allowed), PARTIAL otherwise."""
    failed = [name for name, r in results.items() if r.failed]
    if failed:
        return 'FAIL', 'FAIL (%s)' % ', '.join(failed)
    compared = sum(len(r.comparisons) for r in results.values())
    incomplete = [name for name, r in results.items()
                  if not r.comparisons or (r.missing and not r.failures)]
    if incomplete:
        return 'PARTIAL', ('PARTIAL (%d arrays compared, no failure; incomplete or not '
                           'provided: %s)' % (compared, ', '.join(incomplete)))
    return 'PASS', 'PASS (%d arrays compared: every check provided in full)' % compared
