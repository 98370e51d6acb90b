"""A stream for tests that collects what is written (str or unicode, Python 2 and 3)."""
from __future__ import absolute_import, division, print_function


class TextSink(object):
    def __init__(self):
        self.parts = []

    def write(self, text):
        self.parts.append(text)

    def flush(self):
        pass

    def getvalue(self):
        return ''.join(self.parts)
