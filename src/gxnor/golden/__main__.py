"""``python -m gxnor.golden``: see gxnor.golden.command."""
from __future__ import absolute_import, division, print_function

import sys

from gxnor.golden.command import main

sys.exit(main())
