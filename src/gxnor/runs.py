"""Kept for gxnor.bench only, which imports cpu_count from here and is being changed for
issue 23: the run folders are gxnor.training.runs. Remove once bench imports from there."""
from __future__ import absolute_import, division, print_function

from .training.runs import cpu_count  # noqa: F401
