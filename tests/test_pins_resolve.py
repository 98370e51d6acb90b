"""tools/check_pins_resolve.py (CI, against PyPI): which files make a pin installable on
CPython 2.7 manylinux, decided offline here from PEP 691 file lists."""
from __future__ import absolute_import, division, print_function

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                'tools'))
import check_pins_resolve as resolve  # noqa: E402


def entry(filename, yanked=False, requires=None):
    return {'filename': filename, 'yanked': yanked, 'requires-python': requires}


@pytest.mark.parametrize('version,files,ok,text', [
    ('1.11.1', [entry('numpy-1.11.1-cp27-cp27mu-manylinux1_x86_64.whl'),
                entry('numpy-1.11.1.tar.gz')], True, 'cp27mu wheel'),
    ('1.16.0', [entry('six-1.16.0-py2.py3-none-any.whl')], True, 'pure wheel'),
    ('0.8.2', [entry('Theano-0.8.2.tar.gz')], True, 'sdist'),
    ('1.0', [entry('x-1.0-cp27-cp27m-manylinux1_x86_64.whl')], False, 'no file'),  # narrow
    ('1.0', [entry('x-1.0-py3-none-any.whl')], False, 'no file'),
    ('1.0', [entry('x-1.0-cp27-cp27mu-macosx_10_9_x86_64.whl')], False, 'no file'),
    ('1.0', [entry('x-1.0.tar.gz', yanked='broken')], False, 'only yanked'),
    ('1.0', [entry('x-1.0.tar.gz', requires='>=3.6')], False, 'no file'),
    ('1.0', [entry('x-1.0.tar.gz', requires='>=2.7, !=3.0.*, !=3.1.*')], True, 'sdist'),
    ('1.0', [entry('x-1.1-py2.py3-none-any.whl')], False, 'no file'),          # other version
])
def test_verdict(version, files, ok, text):
    got_ok, got_text = resolve.verdict(files, version)
    assert got_ok == ok and text in got_text


def test_requires_python():
    assert resolve.allows_python('>=2.7, !=3.0.*') and resolve.allows_python(None)
    assert not resolve.allows_python('>=3.5') and not resolve.allows_python('<2.7')
    assert not resolve.allows_python('!=2.7.*') and resolve.allows_python('~=2.7')


def test_pins_are_read_from_all_three_places(tmpdir):
    requirements = tmpdir.join('r.txt')
    requirements.write('# comment\nnumpy==1.11.1\nsix==1.16.0  # why\n')
    extra = tmpdir.join('e.txt')
    extra.write('git+https://github.com/x/y.git@%s#egg=y\n-e git+https://h/p.git@%s#egg=p\n'
                'PyYAML==5.4.1\n' % ('a' * 40, 'b' * 40))
    assert resolve.read_pins(str(requirements)) == [('numpy', '1.11.1'), ('six', '1.16.0')]
    assert resolve.read_pins(str(extra), skip_urls=True) == [('PyYAML', '5.4.1')]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    bootstrap = dict(resolve.bootstrap_pins(os.path.join(root, 'tools', 'install-stack.sh')))
    assert set(bootstrap) == set(['virtualenv', 'pip'])
