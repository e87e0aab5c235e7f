"""repro analyze GRID.csv: RRC, stable intervals and concept lattices of a
cross-accuracy grid (the paper's Sec. 3.4), yours or the paper's own.

GRID.csv holds acc(A_i∘j): header ae,<classifier>,... then one row per
autoencoder, named after the classifier it was fine-tuned on
(paper_claims/data/table2.csv is the paper's Table 2).

The RRC reading classifier_alone also needs each classifier's own accuracy
(--acc), in either layout, told apart by the header line:
  classifier,accuracy                                 fractions, e.g. V,0.7135
  classifier,setting,top1,top1_diff,top5,top5_diff    Table 1: the top-1 (in
      percent) of each classifier's row with setting none, as in
      paper_claims/data/table1.csv

With --out DIR the command also writes what it prints into DIR: rrc.csv (the
RRC table), analysis.txt (the tables as printed), analysis.json (the object
that --json prints), and the figures.
"""

from __future__ import annotations

import argparse
import json
import math
import sys


OUT_FILES = ("rrc.csv", "analysis.txt", "analysis.json")  # what --out writes beside the figures


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
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("grid", metavar="GRID.csv", help="header 'ae,<classifier>,...'; one row per AE, named after its classifier")
    p.add_argument("--acc", metavar="ACC.csv",
                   help="each classifier's own accuracy, needed by --reading classifier_alone: 'classifier,accuracy' "
                        "lines (fractions) or Table 1's layout 'classifier,setting,top1,top1_diff,top5,top5_diff' "
                        "(the row with setting none, top-1 in percent), e.g. paper_claims/data/table1.csv")
    p.add_argument("--reading", default=None, help="RRC reading: ae_diagonal (default: acc(i) = acc(A_i∘i)) or classifier_alone")
    p.add_argument("--thresholds", type=_thresholds, default=[0.1, 0.2, 0.8, 0.9], help="comma-separated t values (default 0.1,0.2,0.8,0.9)")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout instead of tables")
    p.add_argument("--out", metavar="DIR",
                   help="also write into DIR what the command prints (rrc.csv: the RRC table; analysis.txt: the tables; "
                        "analysis.json: the --json object) and the figures (rrc_sorted.png, one lattice_t<t>.png per threshold)")
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


def rrc_csv(result: dict) -> str:
    """The RRC table of :func:`analyze`'s result as CSV, laid out like the grid it came from (--out's rrc.csv).

    >>> print(rrc_csv({"classifiers": ["X", "Y"], "rrc": {"A_X": {"X": 1.0, "Y": 0.4}, "A_Y": {"X": 0.8, "Y": 1.0}}}), end="")
    ae,X,Y
    A_X,1.0,0.4
    A_Y,0.8,1.0
    """
    import csv
    import io

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["ae", *result["classifiers"]])
    for ae, row in result["rrc"].items():
        writer.writerow([ae, *(repr(row[c]) for c in result["classifiers"])])
    return buf.getvalue()


def render_text(result: dict) -> str:
    """What the command prints without --json (and --out's analysis.txt): the RRC table, the stable
    intervals and one concept table per threshold."""
    from tabulate import tabulate

    from repro.sections import fmt_interval

    lines = [f"RRC(A_i∘j) = acc(A_i∘j) / min(acc(i), acc(j)), reading '{result['reading']}'", ""]
    rows = [[ae, *(f"{row[c]:.3f}" for c in result["classifiers"])] for ae, row in result["rrc"].items()]
    lines.append(tabulate(rows, headers=["AE \\ classifier", *result["classifiers"]], disable_numparse=True))
    lines += ["", "Stable intervals (each low < t <= high gives one context):"]
    lines.append("  " + ", ".join(fmt_interval(-math.inf if lo is None else lo, math.inf if hi is None else hi)
                                  for lo, hi in result["intervals"]))
    for t, info in result["thresholds"].items():
        lines += ["", f"t = {t}: {len(info['concepts'])} concepts, {'a chain' if info['chain'] else 'not a chain'}"]
        lines.append(tabulate([[", ".join(c["extent"]) or "-", ", ".join(c["intent"]) or "-"] for c in info["concepts"]],
                              headers=["extent (classifiers)", "intent (AEs)"]))
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    from repro.grid import DEFAULT_READING, read_grid
    from repro.paper import read_accuracy_file

    acc = read_accuracy_file(args.acc) if args.acc else None
    grid = read_grid(args.grid, acc, args.acc)
    reading = args.reading or DEFAULT_READING
    if args.out:
        from repro.paths import ensure_writable_dir

        out = ensure_writable_dir(args.out, "--out")  # before any figure is drawn
    result = analyze(grid, args.thresholds, reading)
    text = render_text(result)
    json_text = json.dumps(result, indent=2, ensure_ascii=False) + "\n"
    written: list[str] = []
    if args.out:
        from repro.figures import lattice_figures, rrc_figure
        from repro.paths import write_text_atomic

        for name, content in zip(OUT_FILES, (rrc_csv(result), text, json_text)):
            write_text_atomic(out / name, content)
            written.append(name)
        written.append(rrc_figure(grid, out, reading))
        written += lattice_figures(grid, {threshold_label(t): t for t in args.thresholds}, out, reading).values()
    sys.stdout.write(json_text if args.json else text)
    if args.out:
        note = f"wrote {len(written)} files to {out}: {', '.join(written)}"
        if args.json:
            print(note, file=sys.stderr)  # stdout stays one JSON object
        else:
            print(f"\n{note}")
    return 0
