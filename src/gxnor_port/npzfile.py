"""Golden files on disk: .npz archives and JSON, read back and written deterministically.

The writers make bytes that depend only on the arrays (members in sorted name order,
fixed timestamps and attributes, deflate compression) and JSON with sorted keys, so the
same goldens regenerate byte for byte. ``npz_bytes`` / ``json_bytes`` give the bytes (the
golden generator writes them atomically); ``write_npz`` / ``write_json`` write a file.
"""
from __future__ import absolute_import, division, print_function

import io
import json
import zipfile
from collections import OrderedDict

import numpy as np

__all__ = ['ZIP_DATE', 'npz_bytes', 'json_bytes', 'read_npz', 'write_npz', 'write_json',
           'UnreadableFile']

ZIP_DATE = (1980, 1, 1, 0, 0, 0)


class UnreadableFile(IOError):
    """A file that exists but cannot be read as what it should be (truncated, not an
    .npz, ...): the input is unusable (exit status 2 of the checker)."""


def npz_bytes(arrays):
    """The .npz of ``arrays`` (name -> array) that ``np.load`` reads, as bytes."""
    handle = io.BytesIO()
    archive = zipfile.ZipFile(handle, 'w', zipfile.ZIP_DEFLATED)
    try:
        for name in sorted(arrays):
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.asarray(arrays[name], order='C'),
                                      allow_pickle=False)
            info = zipfile.ZipInfo(name + '.npy', date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            archive.writestr(info, buffer.getvalue())
    finally:
        archive.close()
    return handle.getvalue()


def json_bytes(value):
    """JSON with sorted keys, one-space indent, a final newline, UTF-8."""
    text = json.dumps(value, sort_keys=True, indent=1, separators=(',', ': ')) + '\n'
    return text.encode('utf-8')


def read_npz(path):
    """All arrays of an .npz as an OrderedDict (sorted by name); UnreadableFile when the
    file exists but is not a readable .npz (IOError as usual when it does not exist)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return OrderedDict((name, data[name]) for name in sorted(data.files))
    except (IOError, OSError):
        raise
    except Exception as error:    # BadZipfile, ValueError, EOFError, zlib.error, ...
        raise UnreadableFile('%s: cannot read (%s: %s)' % (path, type(error).__name__, error))


def _write(path, data):
    with open(path, 'wb') as handle:
        handle.write(data)
    return path


def write_npz(path, arrays):
    """Write ``arrays`` (name -> array) as a deterministic .npz (see npz_bytes)."""
    return _write(path, npz_bytes(arrays))


def write_json(path, value):
    return _write(path, json_bytes(value))
