"""The one exception the data package raises for bad or missing data files."""
from __future__ import absolute_import, division, print_function


class DataError(Exception):
    """A data file is missing, malformed or inconsistent.

    The message always says what is wrong, which file (or folders) it concerns
    and what to do about it (which files to put where, or which command to run).
    """
