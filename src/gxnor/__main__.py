"""``python -m gxnor PROGRAM ...``: every gxnor program, in a prepared process."""
from __future__ import absolute_import, division, print_function

import sys

# The process settings first: NumPy and Theano read them when they load.
from gxnor import process

process.prepare()

from gxnor.cli import main  # noqa: E402

sys.exit(main())
