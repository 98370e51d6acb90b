"""``python -m gxnor.golden``: see gxnor.golden.command (also ``python -m gxnor golden``)."""
from __future__ import absolute_import, division, print_function

import sys

# The process settings first: NumPy and Theano read them when they load.
from gxnor import process

process.prepare()

from gxnor.golden.command import main  # noqa: E402

sys.exit(main())
