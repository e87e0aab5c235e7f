"""Checks of the paper against itself: where its tables or text disagree, both numbers are shown."""

from __future__ import annotations

from repro.claims import tolerances as tol
from repro.claims.core import Verdict
from repro.paper import Table1Row, paper_table2, read_table1, paper_data_dir


def table1_differences(rows: list[Table1Row]) -> list[Verdict]:
    """Each printed 'diff' of Table 1 equals the row's accuracy minus the classifier's own."""
    alone = {r.classifier: r for r in rows if r.setting == "none"}
    out = []
    for r in rows:
        if r.setting == "none":
            continue
        for metric in ("top1", "top5"):
            printed = getattr(r, f"{metric}_diff")
            actual = getattr(r, metric) - getattr(alone[r.classifier], metric)
            ok = printed is not None and abs(printed - actual) <= 0.005 + 1e-9
            label = "A_S" if r.setting == "A_S" else f"A_{r.classifier}"
            out.append(Verdict(
                f"paper.table1_diff.{label}∘{r.classifier}.{metric}", "3.3.1",
                f"Table 1's printed {metric} difference of {label}∘{r.classifier} equals its accuracy minus {r.classifier}'s",
                f"{printed:+.2f}", f"{actual:+.2f}", "printed precision (0.005 points)",
                "holds" if ok else "fails", ok))
    return out


def table1_vs_table2(rows: list[Table1Row], grid) -> list[Verdict]:
    """Table 1's A_i∘i top-1 (percent) equals Table 2's diagonal (fraction)."""
    out = []
    for r in rows:
        if r.setting != "A_i":
            continue
        diag = float(grid.values[grid.aes.index(r.classifier), grid.classifiers.index(r.classifier)])
        ok = abs(r.top1 / 100 - diag) <= tol.PRINTED_PERCENT_2DP + 1e-12
        out.append(Verdict(
            f"paper.table1_vs_table2.A_{r.classifier}", "3.3.1 / 3.4",
            f"Table 1's top-1 of A_{r.classifier}∘{r.classifier} equals Table 2's diagonal",
            f"Table 1: {r.top1:.2f}%", f"Table 2: {diag:.4f}", "printed precision",
            "holds" if ok else "fails", ok))
    return out


def paper_consistency(data_dir=None) -> list[Verdict]:
    data_dir = data_dir or paper_data_dir()
    rows = read_table1(data_dir / "table1.csv")
    return table1_differences(rows) + table1_vs_table2(rows, paper_table2(data_dir))
