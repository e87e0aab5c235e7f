"""The ``repro`` command line: one sub-command per module in :mod:`repro.commands`.

Each command module exposes ``register(subparsers)``, which adds its parser and sets
``func`` to a callable taking the parsed namespace and returning an exit code. Command
modules import heavy dependencies (torch) inside their functions so that ``repro --help``
stays fast. ``python -m repro`` runs the same (:mod:`repro.__main__`).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from repro import __version__
from repro.errors import ReproError, os_error_in

# Order is the order shown by ``repro --help``.
COMMAND_MODULES = (
    "repro.commands.analyze",
    "repro.commands.calibrate",
    "repro.commands.ceiling",
    "repro.commands.gallery",
    "repro.commands.models",
    "repro.commands.pipeline",
    "repro.commands.report",
)


def version() -> str:
    """The installed distribution's version; ``repro.__version__`` when run from a checkout that was never
    installed (no distribution metadata to read)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version("repro")
    except PackageNotFoundError:
        return __version__


def plain_text(text: str) -> str:
    """Help text without the reStructuredText markup of the docstrings it is taken from: literals
    (double backticks), roles such as :mod:`x`, and single backticks keep only what they enclose.

    >>> plain_text("``repro run``: see :mod:`repro.cli` and `repro report`")
    'repro run: see repro.cli and repro report'
    """
    import re

    text = re.sub(r":[a-z]+:`([^`]*)`", r"\1", text)
    text = re.sub(r"``([^`]*)``", r"\1", text)
    return re.sub(r"`([^`]*)`", r"\1", text)


class PlainHelpParser(argparse.ArgumentParser):
    """An ArgumentParser whose --help is plain text (:func:`plain_text`): command modules describe
    themselves with their module docstrings, written for developers (issue 24, item 8). Every
    sub-command's parser is of this class too (argparse gives sub-parsers their parent's class)."""

    def format_help(self) -> str:
        return plain_text(super().format_help())


def build_parser() -> argparse.ArgumentParser:
    parser = PlainHelpParser(
        prog="repro",
        description="Reproduce 'What do Deep Networks Like to See?' (Palacio et al., CVPR 2018).",
    )
    parser.add_argument("--version", action="version", version=f"repro {version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except BrokenPipeError:
        # The reader went away (`repro analyze g.csv --json | head`): that is not an error of ours, so no
        # message. As Python's documentation of SIGPIPE recommends, point stdout at devnull so that the
        # interpreter's final flush does not raise again, and exit 1 as Python itself does on EPIPE.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


def _main(argv: list[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe surfaces here, inside main's handler, not at interpreter exit
        return code
    except ReproError as err:
        print(f"repro {args.command}: error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        raise
    except OSError as err:
        # An OSError that names its file is about the user's files or disk (full, gone, protected), not a
        # bug: one line naming the file. Without a file name it is unexpected, so the traceback stays,
        # unless it says the disk cannot be written (a write no `repro.errors.writing` guards).
        if err.filename is None and not _unwritable(err):
            raise
        print(f"repro {args.command}: error: {_where(err, args)}: {err.strerror or err}", file=sys.stderr)
        return 2
    except RuntimeError as err:
        # torch.save to a file that fails to write: "[enforce fail at inline_container.cc] unexpected pos",
        # the OSError only in its chain (the writes repro.errors.writing guards never get here)
        cause = os_error_in(err)
        if cause is None or not _unwritable(cause):
            raise
        print(f"repro {args.command}: error: {_where(cause, args)}: {cause.strerror or cause}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"repro {args.command}: interrupted; finished stages are kept and a rerun resumes", file=sys.stderr)
        return 130


def _unwritable(err: OSError) -> bool:
    """The disk is full, read-only or protected: the user's to fix, not a bug."""
    import errno

    return err.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM)


def _where(err: OSError, args: argparse.Namespace) -> str:
    """The file an OSError names, else the command's output folder."""
    if err.filename is not None:
        return str(err.filename)
    out = getattr(args, "out", None)
    return f"writing into {out}" if out else "writing a file"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
