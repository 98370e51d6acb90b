"""The command line of the kit (``python -m gxnor_port``, or ``gxnor-port`` when
installed with pip):

    check PORT [--golden DIR] [--require-complete] [--curves ENVELOPE.npz]
        compare a port's outputs (and training logs) with the goldens; exit status 0
        nothing failed (RESULT: PASS or PARTIAL), 1 a check failed, 2 the input cannot be
        used (a folder or file missing, truncated or unreadable; bad arguments);
    envelope --out ENVELOPE.npz LOG [LOG ...]
        a curves envelope from our own runs' epochs.jsonl logs (a longer reference for
        ``check --curves``).
"""
from __future__ import absolute_import, division, print_function

import argparse
import sys

from .check import DEFAULT_GOLDEN, EXIT_UNUSABLE, run
from .curves import envelope_from_logs
from .npzfile import write_npz

__all__ = ['main']


def _parser():
    parser = argparse.ArgumentParser(
        prog='python -m gxnor_port',
        description='The GXNOR-Net porter\'s kit: check a port against the golden vectors.')
    commands = parser.add_subparsers(dest='command')
    check = commands.add_parser(
        'check', help='compare a port\'s outputs with the goldens',
        description='Compare a port\'s outputs with the goldens. Exit status: 0 nothing '
                    'failed (RESULT: PASS or PARTIAL), 1 a check failed, 2 the folders '
                    'cannot be used (or bad arguments).')
    check.add_argument('port', help='folder with the port\'s .npz files and/or its '
                                    'training log (epochs*.jsonl, epochs*.csv)')
    check.add_argument('--golden', default=DEFAULT_GOLDEN,
                       help='golden folder (default %s)' % DEFAULT_GOLDEN)
    check.add_argument('--require-complete', action='store_true',
                       help='exit 1 unless every check was provided in full and passed')
    check.add_argument('--curves', metavar='ENVELOPE.npz',
                       help='the learning-curve envelope to use instead of the golden '
                            'folder\'s curves.npz (e.g. one made by `envelope`)')
    envelope = commands.add_parser(
        'envelope', help='a curves envelope from runs\' epochs.jsonl logs',
        description='Write a curves envelope (the curves.npz format) from our own runs\' '
                    'logs, one run per log, for `check --curves`.')
    envelope.add_argument('logs', nargs='+', metavar='LOG')
    envelope.add_argument('--out', required=True, metavar='ENVELOPE.npz')
    return parser


def main(argv=None):
    parser = _parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv:      # Python 3's argparse lets a missing command through, 2.7's exits
        parser.print_usage(sys.stderr)
        sys.stderr.write('error: a command is required (check or envelope)\n')
        return EXIT_UNUSABLE
    args = parser.parse_args(argv)
    try:
        if args.command == 'envelope':
            write_npz(args.out, envelope_from_logs(args.logs))
            print('envelope of %d run(s) written to %s' % (len(args.logs), args.out))
            return 0
        return run(args.port, args.golden, require_complete=args.require_complete,
                   curves=args.curves)
    except (IOError, OSError) as error:
        sys.stderr.write('error: %s\n' % error)
        return EXIT_UNUSABLE


if __name__ == '__main__':
    sys.exit(main())
