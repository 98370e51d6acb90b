#!/usr/bin/env python
"""Build-time check of an image's Python environment (run with its python).

    verify_env.py REQUIREMENTS [EXTRA_REQUIREMENTS]

Every `name==version` of REQUIREMENTS must be installed at exactly that
version, unless EXTRA_REQUIREMENTS replaces that package by a git commit (the
images replace PyPI's Lasagne 0.1 by Lasagne 0.2.dev1 from GitHub); the
`name==version` lines of EXTRA_REQUIREMENTS must be installed as pinned too.
Then the stack is imported, so a broken install fails the image build rather
than the first experiment. Python 2.7 and 3 compatible.
"""
from __future__ import absolute_import, division, print_function

import io
import re
import sys

import pkg_resources

PIN = re.compile(r'^([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;#]+)')
EGG = re.compile(r'[#&]egg=([A-Za-z0-9][A-Za-z0-9._-]*)')


def norm(name):
    return re.sub(r'[-_.]+', '-', name).lower()


def read(path):
    pins, vcs = {}, {}
    with io.open(path, encoding='utf-8') as f:
        for raw in f:
            line = raw.split(' #')[0].strip()
            if not line or line.startswith('#'):
                continue
            m = PIN.match(line)
            if m:
                pins[norm(m.group(1))] = (m.group(1), m.group(2))
                continue
            e = EGG.search(line)
            if e and 'git+' in line:
                vcs[norm(e.group(1))] = e.group(1)
    return pins, vcs


def installed(name):
    try:
        return pkg_resources.get_distribution(name).version
    except pkg_resources.DistributionNotFound:
        return None


def lasagne_broadcast_problem():
    """The released MNIST script's DST update of conv1.W (32, 1, 5, 5) fails on a
    Lasagne that makes size-1 parameter axes broadcastable (Lasagne PR #715, from
    2016-06-30 on): the update's type then differs from the parameter's. None if the
    installed Lasagne keeps every axis non-broadcastable, else the reason."""
    import numpy
    import lasagne
    param = lasagne.utils.create_param(numpy.zeros((32, 1, 5, 5), 'float32'),
                                       (32, 1, 5, 5), name='W')
    if any(param.broadcastable):
        return ('lasagne %s makes size-1 parameter axes broadcastable %r: the released '
                'MNIST script cannot update conv1.W (32, 1, 5, 5). Pin a Lasagne commit '
                'from before 2016-06-30 in docker/requirements-extra.txt'
                % (lasagne.__version__, param.broadcastable))
    return None


def lasagne_adam_problem():
    """The authors' Lasagne 0.2.dev1 computes Adam's `one - beta1` and `one - beta2` in
    float32 (Lasagne's change of 2016-04-26): after one step from zero with gradient 1
    the moments are 1 - 0.9f = 0.100000024f and 1 - 0.999f = 0.0009999871f, not Lasagne
    0.1's 0.1f and 0.001f. Our default adam_constants=float32 is that arithmetic. None
    if the installed Lasagne has it, else the reason."""
    import numpy
    import theano
    import theano.tensor as T
    import lasagne
    param = theano.shared(numpy.zeros(1, 'float32'))
    grad = T.vector('g')
    updates = lasagne.updates.adam([grad], [param], learning_rate=0.1)
    moments = [var for var in updates if var is not param and var.ndim == 1]
    theano.function([grad], [], updates=updates)(numpy.ones(1, 'float32'))
    got = sorted(float(m.get_value()[0]) for m in moments)
    want = sorted(float(numpy.float32(1) - numpy.float32(b)) for b in (0.9, 0.999))
    if got != want:
        return ('lasagne %s: one Adam step from zero gives the moments %r, not the '
                'float32 arithmetic %r of the authors\' Lasagne 0.2.dev1 (from 2016-04-26 '
                'on). Pin Lasagne a3d44a7 in docker/requirements-extra.txt'
                % (lasagne.__version__, got, want))
    return None


def main(argv):
    if len(argv) not in (2, 3):
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    pins, _ = read(argv[1])
    extra_pins, replaced = read(argv[2]) if len(argv) == 3 else ({}, {})
    problems = []
    for key, (name, want) in sorted(pins.items()):
        if key in replaced:
            continue
        have = installed(name)
        if have != want:
            problems.append('%s: requirements.txt pins %s, installed %s'
                            % (name, want, have))
    for key, (name, want) in sorted(extra_pins.items()):
        have = installed(name)
        if have != want:
            problems.append('%s: %s pins %s, installed %s'
                            % (name, argv[2], want, have))
    for key, name in sorted(replaced.items()):
        have = installed(name)
        if have is None:
            problems.append('%s: the git install of %s is missing' % (name, argv[2]))
        elif key in pins and have == pins[key][1]:
            problems.append('%s: still %s from requirements.txt; the git install '
                            'of %s did not replace it' % (name, have, argv[2]))
        else:
            print('verify_env: %s %s (from git, replaces requirements.txt %s)'
                  % (name, have, pins.get(key, ('', 'nothing'))[1]))
    if problems:
        print('verify_env: FAILED\n  ' + '\n  '.join(problems), file=sys.stderr)
        return 1

    import matplotlib
    matplotlib.use('Agg')
    import numpy
    import scipy
    import theano
    import lasagne
    modules = [numpy, scipy, theano, lasagne, matplotlib]
    if 'pylearn2' in replaced:
        import pylearn2
        import pylearn2.datasets.cifar10  # noqa: F401 (the loader the authors used)
        modules.append(pylearn2)
    checks = [lasagne_broadcast_problem]
    if 'lasagne' in replaced:    # the git Lasagne 0.2.dev1 of the images
        checks.append(lasagne_adam_problem)
    for check in checks:
        problem = check()
        if problem:
            print('verify_env: FAILED\n  ' + problem, file=sys.stderr)
            return 1
    print('verify_env: OK, Python %s; %s' % (
        sys.version.split()[0],
        ', '.join('%s %s' % (m.__name__, getattr(m, '__version__', '?'))
                  for m in modules)))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
