from __future__ import absolute_import, division, print_function

import sys

from gxnor.cli import main

sys.exit(main())
