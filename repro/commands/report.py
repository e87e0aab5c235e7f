"""``repro report``: rebuild the claims report from a run's results.json, without rerunning anything.

It writes into --out, so it takes the folder's lock (repro.folder_lock): not while a run writes there."""

from __future__ import annotations

import argparse
from pathlib import Path

from repro.errors import ReproError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="rebuild claims.md/json/html from results.json", description=__doc__)
    p.add_argument("folder", nargs="?", metavar="DIR", help="the run folder holding results.json (the report is "
                   "written there); the same as --out DIR")
    p.add_argument("--out", metavar="DIR", help="the run folder holding results.json (the report is written there)")
    p.add_argument("--paper", action="store_true", help="report on the paper's own tables instead (writes to --out)")
    p.add_argument("--runs", nargs="+", metavar="DIR",
                   help="several run folders of one configuration but for the seed (training-seed replicates): one "
                        "report of their means with seed-and-image bootstrap intervals, and replicates.md (repro.replicates)")
    p.add_argument("--previous", metavar="DIR", help="a folder holding the claims.json of the same scale under an "
                   "earlier protocol: its verdicts are shown beside this run's")
    p.add_argument("--ceiling", metavar="DIR", help="a run folder of the same scale whose AEs fine-tuned both halves "
                   "(--trainable both): the report states how much of A_S's loss any fine-tuning can win back")
    p.add_argument("--widths", nargs="+", metavar="DIR", help="folders written by repro ceiling for A_S at other "
                   "widths, measured against this run's classifiers: the report shows A_S's quality against its width")
    p.add_argument("--width-runs", nargs="+", metavar="DIR", help="run folders fine-tuned from an A_S of another "
                   "width against this run's classifiers (shown with --widths): what the method makes of the wider A_S")
    p.add_argument("--calibration", metavar="DIR", help="a folder whose sub-folders hold repro calibrate records "
                   "(artifacts/instrument): the report shows the instrument's calibration and the declared rule's choice")
    p.add_argument("--resamples", type=int, metavar="N", help="with --runs: bootstrap resamples (default: "
                   "repro.claims.tolerances.BOOTSTRAP_RESAMPLES)")
    p.add_argument("--wait", action="store_true",
                   help="when another repro command is writing into --out, wait for it to finish instead of stopping")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from repro.folder_lock import hold
    from repro.paper import paper_results
    from repro.paths import ensure_writable_dir
    from repro.results import Results

    out = Path(_folder(args))
    if getattr(args, "runs", None):
        return _run_replicates(args, out)
    if out.exists() and not out.is_dir():
        raise ReproError(f"--out {out}: is a file; give the run folder that holds results.json")
    paper = paper_results()
    results = paper if args.paper else Results.from_json(out / "results.json")  # validated against its schema
    ensure_writable_dir(out, "--out")  # before the claims are evaluated, not after
    with hold(out, wait=getattr(args, "wait", False), label="repro report"):  # one writing command per folder
        if not args.paper:  # read again under the lock: a run may have written it while this one waited
            results = Results.from_json(out / "results.json")
        return _write_report(args, out, paper, results)


def _write_report(args: argparse.Namespace, out: Path, paper, results) -> int:
    from repro.calibration import read_all
    from repro.ceiling import read_ceiling, read_ceiling_run, read_width_run
    from repro.report import build_report, outcome_line

    widths = [read_ceiling(d, results) for d in args.widths or []]
    if args.width_runs and not widths:
        raise ReproError("--width-runs: give the A_S records beside them with --widths (the section reads both)")
    width_runs = [read_width_run(d, results) for d in args.width_runs or []]
    payload = build_report(results, out, paper=paper, previous=_previous(args.previous),
                           ceiling=read_ceiling_run(args.ceiling, results) if args.ceiling else None,
                           widths=widths, width_runs=width_runs,
                           calibration=_calibration(args.calibration, read_all))
    print(f"{out / 'claims.md'}: {outcome_line(payload, results)}")
    return 0


def _folder(args: argparse.Namespace) -> str:
    """The run folder, given as ``repro report DIR`` or ``--out DIR`` (both: the same one)."""
    if args.folder and args.out and Path(args.folder) != Path(args.out):
        raise ReproError(f"{args.folder} and --out {args.out}: two folders; give the run folder once")
    if not (args.folder or args.out):
        raise ReproError("give the run folder that holds results.json: repro report DIR (or --out DIR)")
    return args.folder or args.out


def _calibration(folder: str | None, read_all) -> list[dict] | None:
    """``--calibration DIR``: its records, an error naming the option."""
    if not folder:
        return None
    try:
        return read_all(folder)
    except ReproError as err:
        raise ReproError(f"--calibration {err}") from None


def _previous(folder: str | None) -> dict | None:
    """The claims.json in ``folder`` (labelled by the folder's name and its README's first line, if any)."""
    if not folder:
        return None
    import json

    path = Path(folder) / "claims.json"
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise ReproError(f"--previous {folder}: no claims.json there") from None
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ReproError(f"--previous {folder}: {path} is not a readable claims.json ({err})") from None
    if not isinstance(data, dict) or not isinstance(data.get("claims"), list):
        raise ReproError(f"--previous {folder}: {path} holds no list of claims")
    readme = Path(folder) / "README.md"
    note = readme.read_text().strip().splitlines()[0].lstrip("# ") if readme.is_file() else ""
    return {**data, "label": Path(folder).name, "note": note}


def _run_replicates(args: argparse.Namespace, out: Path) -> int:
    """``--runs``: one report from several seeds' runs (repro.replicates)."""
    from repro.folder_lock import hold
    from repro.replicates import replicate_results
    from repro.results import Results

    if args.paper:
        raise ReproError("--runs and --paper: choose one (the paper's tables have no replicates)")
    if out.exists() and not out.is_dir():
        raise ReproError(f"--out {out}: is a file; give the folder the replicates report goes to")
    names = [str(d) for d in args.runs]
    runs = [Results.from_json(Path(d) / "results.json") for d in args.runs]
    results = replicate_results(runs, names)  # ReproError unless they differ only in a seed
    if args.resamples is not None and args.resamples < 0:
        raise ReproError(f"--resamples {args.resamples}: expected a number >= 0")
    with hold(out, wait=getattr(args, "wait", False), label="repro report"):  # creates it; one writer at a time
        return _write_replicates(args, out, runs, names, results)


def _write_replicates(args: argparse.Namespace, out: Path, runs: list, names: list[str], results) -> int:
    from repro.paper import paper_results
    from repro.replicates import replicate_verdicts, write_replicates
    from repro.report import build_report

    per_run = replicate_verdicts(runs, args.resamples)
    payload = build_report(results, out, paper=paper_results(), title=f"Claims report: {results.source}",
                           resamples=args.resamples, replicates={"names": names, "per_run": per_run})
    path = write_replicates(out, results, names, per_run, payload["claims"])
    verdicts = [c["verdict"] for c in payload["claims"]]
    print(f"{out / 'claims.md'}: {sum(v == 'holds' for v in verdicts)} of {len(verdicts)} claims hold on the mean of "
          f"{len(runs)} runs; per-run verdicts in {path}")
    return 0
