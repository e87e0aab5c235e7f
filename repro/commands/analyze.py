"""``repro analyze GRID.csv``: RRC, stable intervals and concept lattices of a user's own grid (Sec. 3.4)."""

from __future__ import annotations

import argparse
import json
import math
import sys



def _thresholds(text: str) -> list[float]:
    try:
        values = [float(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--thresholds: {text!r} is not a comma-separated list of numbers") from None
    if not values or not all(math.isfinite(v) for v in values):
        raise argparse.ArgumentTypeError(f"--thresholds: {text!r} names no finite threshold")
    return list(dict.fromkeys(values))  # a threshold given twice is analysed once; order kept


def threshold_label(t: float) -> str:
    """The shortest text that reads back as exactly ``t`` (the key in --json, the heading, the figure name).

    ``f"{t:g}"`` keeps 6 digits, so 0.3999999 and 0.4000001 both became "0.4" and one replaced the
    other; Python's ``repr`` is the shortest round-tripping text, used where ``:g`` is not exact.

    >>> threshold_label(0.1), threshold_label(1.0), threshold_label(0.3999999), threshold_label(0.4000001)
    ('0.1', '1', '0.3999999', '0.4000001')
    """
    short = f"{t:g}"
    return short if float(short) == t else repr(t)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("analyze", help="RRC, stable intervals and concept lattices of a cross-accuracy grid",
                       description=__doc__)
    p.add_argument("grid", metavar="GRID.csv", help="header 'ae,<classifier>,...'; one row per AE, named after its classifier")
    p.add_argument("--acc", metavar="ACC.csv", help="'classifier,accuracy' lines; needed by --reading classifier_alone")
    p.add_argument("--reading", default=None, help="RRC reading: ae_diagonal (default: acc(i) = acc(A_i∘i)) or classifier_alone")
    p.add_argument("--thresholds", type=_thresholds, default=[0.1, 0.2, 0.8, 0.9], help="comma-separated t values (default 0.1,0.2,0.8,0.9)")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout instead of tables")
    p.add_argument("--out", metavar="DIR", help="also write the figures (sorted RRC, one lattice per threshold) here")
    p.set_defaults(func=run)


def analyze(grid, thresholds: list[float], reading: str) -> dict:
    """The analysis of one grid as plain data (what --json prints)."""
    from repro.analysis.lattice import build_lattice, context_at, stable_intervals
    from repro.sections import json_interval

    r = grid.rrc(reading)
    result = {
        "reading": reading,
        "aes": grid.ae_labels(),
        "classifiers": list(grid.classifiers),
        "rrc": {ae: {c: round(float(r[i, j]), 6) for j, c in enumerate(grid.classifiers)} for i, ae in enumerate(grid.ae_labels())},
        "intervals": [json_interval(lo, hi) for lo, hi in stable_intervals(r)],
        "thresholds": {},
    }
    for t in thresholds:
        lattice = build_lattice(context_at(r, t), grid.classifiers, grid.ae_labels())
        result["thresholds"][threshold_label(t)] = {
            "concepts": [{"extent": list(c.extent), "intent": list(c.intent)} for c in lattice.concepts],
            "edges": [list(e) for e in lattice.edges],
            "chain": bool(lattice.is_chain),
        }
    return result


def run(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    from repro.grid import DEFAULT_READING, read_accuracies, read_grid
    from repro.sections import fmt_interval

    acc = read_accuracies(args.acc) if args.acc else None
    grid = read_grid(args.grid, acc, args.acc)
    reading = args.reading or DEFAULT_READING
    if args.out:
        from repro.paths import ensure_writable_dir

        out = ensure_writable_dir(args.out, "--out")  # before any figure is drawn
    result = analyze(grid, args.thresholds, reading)
    if args.out:
        from repro.figures import lattice_figures, rrc_figure

        rrc_figure(grid, out, reading)
        lattice_figures(grid, {threshold_label(t): t for t in args.thresholds}, out, reading)
    if args.json:
        json.dump(result, sys.stdout, indent=2, ensure_ascii=False)
        print()
        return 0
    rows = [[ae, *(f"{v:.3f}" for v in row.values())] for ae, row in result["rrc"].items()]
    print(f"RRC(A_i∘j) = acc(A_i∘j) / min(acc(i), acc(j)), reading '{reading}'\n")
    print(tabulate(rows, headers=["AE \\ classifier", *grid.classifiers], disable_numparse=True))
    print("\nStable intervals (each low < t <= high gives one context):")
    print("  " + ", ".join(fmt_interval(*(math.inf * (-1 if k == 0 else 1) if v is None else v for k, v in enumerate(iv)))
                           for iv in result["intervals"]))
    for t, info in result["thresholds"].items():
        print(f"\nt = {t}: {len(info['concepts'])} concepts, {'a chain' if info['chain'] else 'not a chain'}")
        print(tabulate([[", ".join(c["extent"]) or "-", ", ".join(c["intent"]) or "-"] for c in info["concepts"]],
                       headers=["extent (classifiers)", "intent (AEs)"]))
    if args.out:
        print(f"\nfigures written to {args.out}")
    return 0
