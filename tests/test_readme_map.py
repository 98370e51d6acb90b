"""README's map of the code (the layout and the concept-to-code table) names files that exist."""
from __future__ import absolute_import, division, print_function

import io
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PLACES = ['', 'src', 'src/gxnor', 'src/gxnor/kernels', 'src/gxnor/golden', 'src/gxnor/training',
          'src/gxnor/studies', 'src/gxnor/process', 'src/gxnor_port', 'tests']


def _section(text, title):
    start = text.index('## ' + title)
    end = text.find('\n## ', start + 3)
    return text[start:end if end >= 0 else None]


def test_every_file_the_map_names_exists():
    with io.open(os.path.join(ROOT, 'README.md'), encoding='utf-8') as handle:
        text = handle.read()
    names = set()
    for title in ('How the code is laid out', 'Where each piece of the paper lives'):
        for token in re.findall(r'`([^`\s]+)`', _section(text, title)):
            if re.match(r'^[\w./-]+(\.py|\.c|\.toml|\.json|\.sh|/)$', token) \
                    and not token.startswith('.'):
                names.add(token)
    assert len(names) > 40
    missing = [name for name in sorted(names)
               if not any(os.path.exists(os.path.join(ROOT, place, name)) for place in PLACES)]
    assert missing == []
