"""Atomic file writes: a reader (or a killed run) sees the old file or the new one, never
half; and folders made when missing."""
from __future__ import absolute_import, division, print_function

import errno
import os
import tempfile

__all__ = ['atomic_write', 'make_folder']


def make_folder(path):
    """Make the folder ``path`` (and its parents) unless it exists; another process
    making it at the same moment is no error."""
    if os.path.isdir(path):
        return
    try:
        os.makedirs(path)
    except OSError as error:
        if error.errno != errno.EEXIST:
            raise


def atomic_write(path, write, mode='wb'):
    """Write ``path`` all at once: ``write(fileobj)`` fills a temporary file in the
    same folder, which is then renamed to ``path`` (replacing it). On any error
    the temporary file is removed and ``path`` is left as it was."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix='.%s.' % os.path.basename(path), suffix='.tmp',
                               dir=folder)
    try:
        with os.fdopen(fd, mode) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it 0600; the result is an ordinary file
        os.rename(tmp, path)
    except BaseException:
        try:
            os.remove(tmp)
        except OSError:
            pass
        raise
    return path
