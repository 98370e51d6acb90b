"""``python -m gxnor_port check PORT [--golden DIR] [--require-complete]``."""
from __future__ import absolute_import, division, print_function

import sys

from gxnor_port.command import main

sys.exit(main())
