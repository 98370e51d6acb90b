"""SCHEMA.md: the schema of a golden folder for people (one table per file, array names
folded into patterns with <case>, <k>, <layer>, ...)."""
from __future__ import absolute_import, division, print_function

import json
from collections import OrderedDict

from .schema import CURVES_FILE, PRIMITIVE_FILES

__all__ = ['render_schema_markdown']


def _rule_text(compare):
    if compare is None:
        return ''
    if compare['rule'] == 'exact':
        return 'exact'
    return 'rtol %g, atol %g' % (compare['rtol'], compare['atol'])


def render_schema_markdown(schema):
    """SCHEMA.md: the schema for people (patterns with <case>, <k>, <layer>, ...)."""
    lines = ['# Golden vectors v%d (generated; do not edit)' % schema['version'], '',
             'Made by `python -m gxnor.golden` (`make golden`) with %s. '
             'Check a port with `make check-port PORT=<folder>`; how to port: '
             '`docs/porting.md`.' % ', '.join('%s %s' % kv for kv in
                                              sorted(schema['generator']['versions'].items())),
             '']
    for key in sorted(schema['conventions']):
        lines.append('* **%s**: %s' % (key, schema['conventions'][key]))
    lines.append('')
    for filename in PRIMITIVE_FILES:
        entry = schema['files'].get(filename)
        if entry is None:
            continue
        lines.extend(['## `%s` (%s)' % (filename, entry['primitive']), '', entry['description'],
                      ''])
        for note in entry['notes']:
            lines.extend(['* ' + note])
        if entry['notes']:
            lines.append('')
        if entry['cases']:
            lines.append('Cases: ' + '; '.join(
                '`%s` (%s)' % (case, ', '.join('%s=%s' % (k, json.dumps(v, sort_keys=True))
                                               for k, v in sorted(params.items())
                                               if not isinstance(v, dict)
                                               and len(json.dumps(v)) <= 40))
                for case, params in entry['cases'].items()))
            lines.append('')
        lines.extend(['| array | role | shape | dtype | compare | meaning |',
                      '| --- | --- | --- | --- | --- | --- |'])
        seen = OrderedDict()
        for name, array in entry['arrays'].items():
            pattern = array['pattern']
            if pattern in seen:
                seen[pattern][1] += 1
                if seen[pattern][0]['shape'] != array['shape']:
                    seen[pattern][2] = True
                rules = seen[pattern][3]
                text = _rule_text(array.get('compare'))
                if text not in rules:
                    rules.append(text)
                continue
            seen[pattern] = [array, 1, False, [_rule_text(array.get('compare'))]]
        shared = OrderedDict()
        for name, array in entry['arrays'].items():
            if array.get('same_as'):
                shared[array['pattern']] = shared.get(array['pattern'], 0) + 1
        for pattern, (array, count, varies, rules) in seen.items():
            shape = 'varies' if varies else '(%s)' % ', '.join(str(s) for s in array['shape'])
            rule = ' / '.join(rules) if len(rules) <= 2 else \
                'per array (%d rules, see schema.json)' % len(rules)
            lines.append('| `%s`%s%s | %s | %s | %s | %s | %s |' % (
                pattern, ' x%d' % count if count > 1 else '',
                ' (%d same_as)' % shared[pattern] if pattern in shared else '', array['role'],
                shape,
                array['dtype'], rule, array['meaning'].replace('|', '\\|')))
        lines.append('')
    curves = schema.get('curves', {})
    lines.extend(['## `%s` (curves)' % CURVES_FILE, ''])
    if curves.get('generated'):
        lines.append('%s, %d epochs, seeds %s; %s. %s. Port file: %s.' % (
            curves['experiment'], curves['epochs'], ', '.join(str(s) for s in curves['seeds']),
            curves['schedule'], curves['margin'], curves['port_file']))
    else:
        lines.append(curves.get('note', 'not generated'))
    lines.append('')
    return '\n'.join(lines)
