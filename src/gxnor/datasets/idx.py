"""Reader for IDX files (the MNIST format), plain or gzipped.

Header (big-endian): magic = 0x0000 TT DD (TT = 0x08 for unsigned bytes,
DD = number of dimensions), then DD uint32 sizes, then the payload row-major.
"""
from __future__ import absolute_import, division, print_function

import gzip
import struct
import zlib

import numpy as np

from .errors import DataError

IMAGES_MAGIC = 0x00000803   # ubyte, 3-D: (count, rows, cols)
LABELS_MAGIC = 0x00000801   # ubyte, 1-D: (count,)
GZIP_MAGIC = b'\x1f\x8b'


def read_file_bytes(path, hint=''):
    """The file's content; gzip is detected by content (magic 1f 8b), not name."""
    try:
        with open(path, 'rb') as f:
            head = f.read(2)
        if head == GZIP_MAGIC:
            with gzip.GzipFile(path, 'rb') as f:
                return f.read()
        with open(path, 'rb') as f:
            return f.read()
    except (IOError, OSError, EOFError, struct.error, zlib.error) as e:
        raise DataError('%s: cannot read (corrupt or truncated gzip file?): %s. %s'
                        % (path, e, hint))


def read_idx(path, magic, hint=''):
    """uint8 array of the IDX file at ``path``, whose magic must be ``magic``.

    Checks the magic number and that the payload holds exactly the number of
    bytes the header announces (catches truncated and padded files). The
    returned array is a read-only view of the file's bytes.
    """
    data = read_file_bytes(path, hint)
    ndim = magic & 0xff
    header = 4 + 4 * ndim
    if len(data) < 4:
        raise DataError('%s: file is truncated (%d bytes, not even an IDX magic '
                        'number). %s' % (path, len(data), hint))
    (found,) = struct.unpack('>I', data[:4])
    if found != magic:
        raise DataError(
            '%s: wrong IDX magic number 0x%08X, expected 0x%08X (%s). The file is '
            'not the expected MNIST file (swapped images/labels, an HTML error page '
            'saved under this name, or corrupt). %s'
            % (path, found, magic, 'images' if magic == IMAGES_MAGIC else
               'labels' if magic == LABELS_MAGIC else 'IDX', hint))
    if len(data) < header:
        raise DataError('%s: file is truncated inside the IDX header (%d bytes). %s'
                        % (path, len(data), hint))
    dims = struct.unpack('>%dI' % ndim, data[4:header])
    expected = int(np.prod(dims, dtype=np.int64))
    actual = len(data) - header
    if actual != expected:
        raise DataError(
            '%s: file is %s: the header announces dims %s = %d bytes of data but the '
            'file holds %d. %s' % (path, 'truncated' if actual < expected else
                                   'longer than its header says (corrupt)',
                                   'x'.join(str(d) for d in dims), expected, actual,
                                   hint))
    return np.frombuffer(data, dtype=np.uint8, count=expected,
                         offset=header).reshape(dims)
