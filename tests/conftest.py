"""Test set-up: find the package, give Theano the project's flags when run bare, and prepare
the process as every gxnor program does (gxnor.process: CPU pins, speed settings)."""
from __future__ import absolute_import, division, print_function

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'src'))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

if 'THEANO_FLAGS' not in os.environ:  # `make test` sets them; plain `pytest` gets the same
    os.environ['THEANO_FLAGS'] = ('floatX=float32,blas.ldflags=-lopenblas,base_compiledir=%s'
                                  % os.path.join(ROOT, 'build', 'theano'))

# Before any test module imports NumPy or Theano, as `python -m gxnor` does.
from gxnor import process  # noqa: E402

process.prepare()
