"""The ``repro`` command line: one sub-command per module in :mod:`repro.commands`.

Each command module exposes ``register(subparsers)``, which adds its parser and sets
``func`` to a callable taking the parsed namespace and returning an exit code. Command
modules import heavy dependencies (torch) inside their functions so that ``repro --help``
stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from repro.errors import ReproError

# Order is the order shown by ``repro --help``.
COMMAND_MODULES = (
    "repro.commands.analyze",
    "repro.commands.models",
    "repro.commands.pipeline",
    "repro.commands.report",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="repro",
        description="Reproduce 'What do Deep Networks Like to See?' (Palacio et al., CVPR 2018).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ReproError as err:
        print(f"repro {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"repro {args.command}: interrupted; finished stages are kept and a rerun resumes", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
