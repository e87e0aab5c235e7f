"""``repro report``: rebuild the claims report from a run's results.json, without rerunning anything."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="rebuild claims.md/json/html from results.json", description=__doc__)
    p.add_argument("--out", required=True, metavar="DIR", help="the run folder holding results.json (the report is written there)")
    p.add_argument("--paper", action="store_true", help="report on the paper's own tables instead (writes to --out)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from repro.paper import paper_results
    from repro.report import build_report
    from repro.results import Results

    out = Path(args.out)
    paper = paper_results()
    results = paper if args.paper else Results.from_json(out / "results.json")
    payload = build_report(results, out, paper=paper)
    verdicts = [c["verdict"] for c in payload["claims"]]
    held = sum(v.startswith("holds") for v in verdicts)
    print(f"{out / 'claims.md'}: {held} of {len(verdicts)} claims hold ({sum(v == 'not measured' for v in verdicts)} not measured)")
    return 0
