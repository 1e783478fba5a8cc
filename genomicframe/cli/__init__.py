"""The ``genomicframe`` (alias ``gf``) command line.

Each subcommand lives in its own module under :mod:`genomicframe.cli` with two
functions: ``add_parser(subparsers)`` (cheap: argparse only) and ``run(args)``,
which imports what it needs.  Heavy libraries (pyarrow, numpy) load only when a
command needs them, so ``genomicframe --version`` starts fast.
"""
from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys

from .._version import __version__

#: subcommand name -> module, in --help order
COMMANDS = {
    "bgzip": "genomicframe.cli.bgzip",
    "index": "genomicframe.cli.index",
    "fetch": "genomicframe.cli.fetch",
    "demo": "genomicframe.cli.demo",
    "view": "genomicframe.cli.view",
    "schema": "genomicframe.cli.schema",
    "convert": "genomicframe.cli.convert",
    "stats": "genomicframe.cli.stats",
}


class CliError(Exception):
    """A user error found by a command: printed as one line, exit status 1."""


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The command-line parser; with ``only``, with that subcommand alone (a command
    then imports only its own module, which keeps start-up short)."""
    parser = argparse.ArgumentParser(
        prog="genomicframe",
        description="Genomics files as Apache Arrow data: convert, query, index, fetch, bgzip.",
    )
    parser.add_argument("--version", action="version", version=f"genomicframe {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in COMMANDS.items():
        if only is None or name == only:
            importlib.import_module(module).add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``genomicframe`` and ``gf`` commands; returns the exit status."""
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `| head` ends us quietly
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv in (["--version"], ["-V"]):
        print(f"genomicframe {__version__}")
        return 0
    parser = build_parser(argv[0] if argv and argv[0] in COMMANDS else None)
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help(sys.stderr)
        return 2
    from ..errors import GenomicFrameError

    prog = f"genomicframe {args.command}"
    try:
        return int(args.func(args) or 0)
    except (GenomicFrameError, CliError) as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 1
    except FileNotFoundError as exc:
        print(f"{prog}: error: {exc.filename or ''}: no such file", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # the reader went away (e.g. `| head`): be quiet, like a killed process
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except OSError:
            pass
        return 141
    except (IsADirectoryError, PermissionError) as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
