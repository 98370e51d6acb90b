"""gxnor_port: the porter's kit of GXNOR-Net -- the golden files, their schema and the
conformance checker, with NumPy alone (Python 2.7 and 3.8+).

``python -m gxnor_port check PORT [--golden results/golden/v2]`` compares a port's
outputs with the goldens (exit status 0 nothing failed, 1 a check failed, 2 unusable
input). The modules, one job each:

* npzfile -- reading and (deterministically) writing .npz and JSON files;
* schema -- the golden format: file names, checks, comparison rules, the schema file,
  reading a golden file, the order of a training step's arrays;
* schema_markdown -- SCHEMA.md, the schema for people;
* compare -- one port array against one golden array by its rule;
* mistakes -- the catalogue of porting mistakes: small NumPy models that re-enact each,
  and the hint that names it;
* diagnosis -- which catalogued mistake explains a failing check;
* curves -- the learning-curve envelope and the check of a port's training log;
* check -- the whole check of a port folder, and its exit status;
* report -- the report's lines and its overall result;
* command -- the command line.

Nothing here imports Theano, Lasagne or the training code (package ``gxnor``); the
generator of the goldens, which runs the Theano implementation, is ``gxnor.golden``.
"""
from __future__ import absolute_import, division, print_function

__version__ = '2.0.0'
