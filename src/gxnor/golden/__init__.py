"""The golden generator: runs THIS code (Theano, Python 2.7) on chosen inputs and writes
the outputs for ports to match.

``python -m gxnor.golden --out results/golden/v2`` writes one ``.npz`` per primitive,
``schema.json`` and ``SCHEMA.md``; every output is computed by calling the project's own
functions (discretization, dst, layers, updates, models, graphs): the goldens describe
the code under test, not a second implementation of it. The format, the reading of the
files and the checker are the NumPy-only kit ``gxnor_port``; this package holds what needs
Theano:

* primitives -- activation.npz, snap.npz, dst.npz, batchnorm.npz, adam.npz;
* mnist_step -- the MNIST net and its training function with the DST draws given;
* train_step -- train_step.npz: two updates per max-pool gradient rule, the batch search,
  the tolerances;
* curves -- the reference learning curves (the training loop, first K epochs per seed);
* generate -- the golden folder (``generate``) and this code as a port (``replay``);
* base -- what they share (float helpers, rule texts, atomic writing);
* command -- the command line.

Writing is deterministic: the same code regenerates byte-identical files. A folder holding
another golden version is never rewritten; v1 (results/golden/v1) was made with pool_grad
all and Lasagne 0.1's Adam constants and is replayed with them.

``python -m gxnor.golden --replay results/golden/v2 --out DIR`` runs this code as if it were
a port (``python -m gxnor_port check DIR`` then compares it); under
``THEANO_FLAGS=floatX=float64`` that is a float64 port, ``--kernels theano`` computes the
training step with Theano's own ops.
"""
from __future__ import absolute_import, division, print_function


def read_golden(*args, **kwargs):
    """The kit's gxnor_port.schema.read_golden, which the goldens' own text (schema.json,
    SCHEMA.md) names as gxnor.golden.read_golden. Imported when called: ``python -m
    gxnor.golden`` imports this package before it prepares the process, so nothing here
    may load NumPy."""
    from gxnor_port.schema import read_golden as read
    return read(*args, **kwargs)
