#!/usr/bin/env python
"""Does every pin of requirements.txt still resolve for CPython 2.7 on manylinux?

    python3 tools/check_pins_resolve.py [--requirements requirements.txt]
                                        [--index https://pypi.org/simple]

CI runs this (it needs PyPI; the test suite does not), so a pin that PyPI no longer
serves, or serves only as a yanked file, is caught before a user's build fails. For
each `name==version` it reads the package's file list from PyPI's simple index (the
JSON form of PEP 691, which marks yanked files) and accepts the pin when a file of
that version, not yanked and not excluded by its Requires-Python, is one of: a CPython 2.7 wheel for manylinux x86_64
with the cp27mu ABI (the ABI of Debian/Ubuntu's python2.7 and the python:2.7
images), a pure-Python wheel for Python 2, or a source archive (then built on
install: the C compiler `make doctor` checks). pip would install a yanked file of an
exact pin with only a warning; this check does not accept it. Prints one line per
pin; exit status 1 if any pin fails, 2 on usage errors. The pins of the bootstrap
tools in tools/install-stack.sh (pip, virtualenv) and the name==version pins of
docker/requirements-extra.txt are checked too. Standard library
only; Python 2.7 or 3.
"""
from __future__ import absolute_import, division, print_function

import argparse
import contextlib
import io
import json
import os
import re
import sys

try:
    from urllib.error import HTTPError, URLError
    from urllib.request import Request, urlopen
except ImportError:  # Python 2
    from urllib2 import HTTPError, Request, URLError, urlopen

PIN = re.compile(r'^([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;#]+)\s*$')
WHEEL = re.compile(r'^(?P<name>.+?)-(?P<version>[^-]+)(-\d[^-]*)?-(?P<py>[^-]+)-'
                   r'(?P<abi>[^-]+)-(?P<platform>[^-]+)\.whl$')


def read_pins(path, skip_urls=False):
    pins = []
    with io.open(path, encoding='utf-8') as handle:
        for number, raw in enumerate(handle, 1):
            line = raw.split(' #', 1)[0].strip()
            if not line or line.startswith('#'):
                continue
            if skip_urls and ('://' in line or line.startswith('-e ')):
                continue   # git installs: pinned by commit, checked by check_pins.py
            match = PIN.match(line)
            if not match:
                raise ValueError('%s:%d: %r is not name==version' % (path, number, line))
            pins.append((match.group(1), match.group(2)))
    return pins


def bootstrap_pins(path):
    """The pip and virtualenv pins tools/install-stack.sh bootstraps with."""
    pins = []
    if os.path.isfile(path):
        with io.open(path, encoding='utf-8') as handle:
            for line in handle:
                match = re.match(r'^[A-Z_]+_PIN=(\S+)', line)
                if match and PIN.match(match.group(1)):
                    pins.append(PIN.match(match.group(1)).groups())
    return pins


def classify(filename, packagetype):
    """'cp27mu wheel', 'pure wheel', 'sdist', or None (of no use to CPython 2.7)."""
    if packagetype == 'sdist':
        return 'sdist'
    match = WHEEL.match(filename)
    if not match:
        return None
    pythons = match.group('py').split('.')
    abis = match.group('abi').split('.')
    platforms = match.group('platform').split('.')
    if 'none' in abis and 'any' in platforms and any(p in ('py2', 'py27') for p in pythons):
        return 'pure wheel'
    if 'cp27' in pythons and 'cp27mu' in abis and any(
            p.startswith('manylinux') and p.endswith('_x86_64') for p in platforms):
        return 'cp27mu wheel'
    return None


def _version_key(text):
    return [int(part) for part in re.findall(r'\d+', text)]


def allows_python(requires, version=(2, 7, 18)):
    """Does a Requires-Python specifier (e.g. '>=2.7, !=3.0.*') admit this version?"""
    if not requires:
        return True
    for spec in requires.split(','):
        spec = spec.strip()
        match = re.match(r'^(~=|===|==|!=|<=|>=|<|>)\s*([0-9][0-9.*]*)$', spec)
        if not match:
            continue   # a specifier we cannot read does not exclude
        op, text = match.groups()
        if text.endswith('.*'):
            prefix = _version_key(text[:-2])
            same = list(version[:len(prefix)]) == prefix
            if (op == '==' and not same) or (op == '!=' and same):
                return False
            continue
        want = _version_key(text)
        have = list(version[:max(len(want), 1)])
        want = want + [0] * (len(have) - len(want))
        ok = {'==': have == want, '===': have == want, '!=': have != want,
              '>=': have >= want, '>': have > want, '<=': have <= want,
              '<': have < want, '~=': have >= want and have[:len(want) - 1] ==
              want[:len(want) - 1]}[op]
        if not ok:
            return False
    return True


def file_version(filename):
    """The version part of a wheel or sdist file name (None if not one of those)."""
    match = WHEEL.match(filename)
    if match:
        return match.group('version')
    for ending in ('.tar.gz', '.tar.bz2', '.zip', '.tgz'):
        if filename.endswith(ending):
            return filename[:-len(ending)].rsplit('-', 1)[-1]
    return None


def verdict(files, version):
    """(ok, text) for one pin, from the package's file list (PEP 691 'files')."""
    usable, yanked = [], []
    for entry in files:
        filename = entry.get('filename', '')
        if file_version(filename) != version:
            continue
        packagetype = 'sdist' if not filename.endswith('.whl') else 'bdist_wheel'
        kind = classify(filename, packagetype)
        if kind is None or not allows_python(entry.get('requires-python')):
            continue
        (yanked if entry.get('yanked') else usable).append(kind)
    if usable:
        best = [k for k in ('cp27mu wheel', 'pure wheel', 'sdist') if k in usable][0]
        return True, best
    if yanked:
        return False, 'only yanked files for CPython 2.7 (%s)' % ', '.join(sorted(set(yanked)))
    return False, ('no file of this version for CPython 2.7 on manylinux x86_64 (no cp27mu '
                   'or py2 wheel, no sdist)')


def fetch(index, name):
    """(the package's PEP 691 file list, None) or (None, the reason)."""
    url = '%s/%s/' % (index.rstrip('/'), re.sub(r'[-_.]+', '-', name).lower())
    request = Request(url, headers={'Accept': 'application/vnd.pypi.simple.v1+json'})
    try:
        with contextlib.closing(urlopen(request, timeout=60)) as response:
            return json.loads(response.read().decode('utf-8')).get('files', []), None
    except HTTPError as error:
        if error.code == 404:
            return None, 'PyPI has no project %s' % name
        return None, '%s: HTTP %s' % (url, error.code)
    except (URLError, IOError, OSError, ValueError) as error:
        return None, '%s: %s' % (url, error)


def main(argv=None):
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--requirements', default=os.path.join(here, 'requirements.txt'))
    parser.add_argument('--index', default=os.environ.get('GXNOR_PYPI_SIMPLE',
                                                          'https://pypi.org/simple'))
    args = parser.parse_args(argv)
    try:
        pins = read_pins(args.requirements) + bootstrap_pins(
            os.path.join(here, 'tools', 'install-stack.sh'))
        extra = os.path.join(here, 'docker', 'requirements-extra.txt')
        if os.path.isfile(extra):
            pins += read_pins(extra, skip_urls=True)
    except (IOError, ValueError) as error:
        print('error: %s' % error, file=sys.stderr)
        return 2
    failed = 0
    for name, version in pins:
        files, problem = fetch(args.index, name)
        ok, text = (False, problem) if files is None else verdict(files, version)
        failed += not ok
        print('%s %s==%s: %s' % ('ok  ' if ok else 'FAIL', name, version, text))
    if failed:
        print('error: %d pin(s) of %s do not resolve for CPython 2.7; change them before '
              'a user\'s build fails' % (failed, args.requirements), file=sys.stderr)
        return 1
    print('all %d pins resolve for CPython 2.7 (manylinux x86_64, cp27mu)' % len(pins))
    return 0


if __name__ == '__main__':
    sys.exit(main())
