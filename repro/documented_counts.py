"""Counts of verdicts quoted in the README and docs/, taken from the committed reports (one source).

A sentence in a Markdown file that quotes a report's counts carries them between markers naming the report's
folder, so that they cannot drift from it (issue 24: the README once said "14 hold and 3 do not" where the
report said 19 hold and 4 fail)::

    <!-- counts: artifacts/cpu -->9 of 40 hold, 21 fail, 8 inconclusive, 2 not measured<!-- /counts -->
    <!-- fails: artifacts/analysis -->fca.chain_middle, ...<!-- /fails -->   (and "holds": the claims that hold)

``python -m repro.documented_counts README.md docs/*.md`` rewrites what lies between the markers from each
folder's claims.json; ``--check`` only lists what differs (tests/test_documented_counts.py runs it).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from repro.paths import write_text_atomic
from repro.report import counts_text

MARKER = re.compile(r"<!-- (counts|fails|holds): (\S+) -->(.*?)<!-- /\1 -->", re.S)


def claims_json(folder: Path) -> dict:
    path = folder / "claims.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no claims report (the marker names a folder without claims.json)")
    return json.loads(path.read_text())


def render(kind: str, payload: dict) -> str:
    """What a marker of ``kind`` says about a report.

    >>> p = {"counts": {"holds": 2, "fails": 1, "inconclusive": 0, "not measured": 0},
    ...      "claims": [{"id": "b", "verdict": "fails"}, {"id": "a", "verdict": "holds"}]}
    >>> render("counts", p), render("fails", p), render("holds", p)
    ('2 of 3 hold, 1 fail, 0 inconclusive, 0 not measured', 'b', 'a')
    """
    if kind == "counts":
        return counts_text(payload["counts"])
    return ", ".join(sorted(c["id"] for c in payload["claims"] if c["verdict"] == kind))


def sync(text: str, root: Path) -> str:
    """``text`` with every marker's content rendered from the report it names (paths relative to ``root``).

    >>> sync("no markers here", Path("."))
    'no markers here'
    """
    return MARKER.sub(lambda m: f"<!-- {m[1]}: {m[2]} -->{render(m[1], claims_json(root / m[2]))}<!-- /{m[1]} -->",
                      text)


def markers(text: str) -> list[tuple[str, str, str]]:
    """(kind, folder, content) of every marker in ``text``."""
    return [(m[1], m[2], m[3]) for m in MARKER.finditer(text)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m repro.documented_counts", description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--root", type=Path, default=Path("."), help="the folder the markers' paths start from")
    parser.add_argument("--check", action="store_true", help="list the files whose counts differ; change nothing")
    args = parser.parse_args(argv)
    stale = []
    for path in args.files:
        text = path.read_text()
        new = sync(text, args.root)
        if new != text:
            stale.append(path)
            if not args.check:
                write_text_atomic(path, new)
    for path in stale:
        print(f"{path}: {'counts differ from the reports' if args.check else 'counts rewritten from the reports'}")
    return 1 if stale and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
