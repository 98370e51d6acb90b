"""Where data files are looked for: the default data folder and the search list."""
from __future__ import absolute_import, division, print_function

import os

from .errors import DataError

#: Environment variable overriding the default data folder.
DATA_DIR_ENV = 'GXNOR_DATA_DIR'
#: Pylearn2's data root (the released scripts read their data from there).
PYLEARN2_ENV = 'PYLEARN2_DATA_PATH'


def default_data_dir():
    """$GXNOR_DATA_DIR if set, else the repository's ``datasets/`` folder."""
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        return os.path.abspath(os.path.expanduser(env))
    here = os.path.dirname(os.path.abspath(__file__))
    # src/gxnor/datasets -> src/gxnor -> src -> repository root
    return os.path.normpath(os.path.join(here, '..', '..', '..', 'datasets'))


def resolve_data_dir(data_dir):
    """The folder to search: ``data_dir`` itself, or the default when None."""
    if data_dir is None:
        return default_data_dir()
    return os.path.abspath(os.path.expanduser(data_dir))


def candidate_dirs(root, local_subdirs, pylearn2_subdir):
    """The search list, in order, as ``(label, path or None, why_unusable)``.

    ``local_subdirs`` are joined to ``root`` ('' means ``root`` itself);
    ``pylearn2_subdir`` is joined to every entry of $PYLEARN2_DATA_PATH.
    """
    out = []
    for sub in local_subdirs:
        path = os.path.join(root, sub) if sub else root
        out.append((path, path, None))
    label = '$%s/%s' % (PYLEARN2_ENV, pylearn2_subdir)
    value = os.environ.get(PYLEARN2_ENV, '')
    entries = [e for e in value.split(os.pathsep) if e]
    if not entries:
        out.append((label, None, '%s is not set' % PYLEARN2_ENV))
    for entry in entries:
        path = os.path.join(os.path.abspath(os.path.expanduser(entry)),
                            pylearn2_subdir)
        out.append(('%s = %s' % (label, path), path, None))
    return out


def locate(what, candidates, names, suffixes=('',), fix=''):
    """Find the first candidate folder that holds every file in ``names``.

    Each name may carry any of ``suffixes`` (tried in order, e.g. ``('', '.gz')``).
    Returns ``(folder, {name: path})``. Raises DataError listing every folder
    searched, what each one lacked, the expected file names and ``fix``.
    """
    report = []
    for label, path, why in candidates:
        if path is None:
            report.append('  %s  (skipped: %s)' % (label, why))
            continue
        if not os.path.isdir(path):
            report.append('  %s  (no such folder)' % label)
            continue
        found, missing = {}, []
        for name in names:
            for suffix in suffixes:
                full = os.path.join(path, name + suffix)
                if os.path.isfile(full):
                    found[name] = full
                    break
            else:
                missing.append(name)
        if not missing:
            return path, found
        report.append('  %s  (missing: %s)' % (label, ', '.join(missing)))
    optional = [s for s in suffixes if s]
    note = (' (each may also be %s)' % ' or '.join('<name>' + s for s in optional)
            if optional else '')
    raise DataError(
        '%s files not found. Searched, in order:\n%s\n'
        'Expected these files together in one folder%s:\n  %s\n%s'
        % (what, '\n'.join(report), note, '\n  '.join(names), fix))
