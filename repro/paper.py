"""The paper's own tables (Table 1, Table 2) as a :class:`repro.results.Results`.

The numbers live as CSV files in ``paper_claims/data/`` of the repository (the place the claims
suite keeps its data); this module reads them so that every claim check runs on the paper's numbers
exactly as on ours.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from repro.errors import ReproError
from repro.grid import CrossGrid, read_accuracies, read_csv_rows, read_grid
from repro.results import ALONE, PRETRAINED_AE, Results, ae_name
from repro.vocabulary import PAPER_CLASSIFIERS


def paper_data_dir() -> Path:
    """``$REPRO_PAPER_DATA`` or ``paper_claims/data`` beside the package in a checkout."""
    env = os.environ.get("REPRO_PAPER_DATA")
    path = Path(env) if env else Path(__file__).resolve().parents[1] / "paper_claims" / "data"
    if not (path / "table1.csv").is_file() or not (path / "table2.csv").is_file():
        raise ReproError(
            f"{path}: the paper's tables (table1.csv, table2.csv) are not there; run from a checkout of "
            "the repository or set REPRO_PAPER_DATA to its paper_claims/data folder"
        )
    return path


@dataclass(frozen=True)
class Table1Row:
    classifier: str
    setting: str  # "none", "A_S" or "A_i"
    top1: float  # percent, as printed
    top1_diff: float | None
    top5: float
    top5_diff: float | None


TABLE1_HEADER = ("classifier", "setting", "top1", "top1_diff", "top5", "top5_diff")
ACC_HEADER = ("classifier", "accuracy")


def read_table1(path: str | Path) -> list[Table1Row]:
    """Table 1 as ``paper_claims/data/table1.csv`` prints it: header ``classifier,setting,top1,...``, percents.

    The one reader of that layout: the paper's results, the consistency claims and ``repro analyze --acc``
    all use it. A missing or unreadable file, a wrong header or a bad line is a one-line :class:`ReproError`.
    """
    path = Path(path)
    rows = read_csv_rows(path)  # the grid's CSV reader: one-line errors for a missing, empty or unreadable file
    header = tuple(h.lower() for h in rows[0])
    if header != TABLE1_HEADER:
        raise ReproError(f"{path}:1: header must be {','.join(TABLE1_HEADER)!r}, found {','.join(rows[0])!r}")
    out = []
    for lineno, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise ReproError(f"{path}:{lineno}: bad Table 1 line (expected {len(header)} fields, found {len(row)})")
        rec = dict(zip(header, row))
        try:
            out.append(
                Table1Row(
                    rec["classifier"],
                    rec["setting"],
                    float(rec["top1"]),
                    float(rec["top1_diff"]) if rec["top1_diff"] else None,
                    float(rec["top5"]),
                    float(rec["top5_diff"]) if rec["top5_diff"] else None,
                )
            )
        except ValueError as err:
            raise ReproError(f"{path}:{lineno}: bad Table 1 line ({err})") from None
    return out


def alone_accuracies(rows: list[Table1Row], where: str | Path = "Table 1") -> dict[str, float]:
    """Each classifier's accuracy alone: the top-1 of its row with setting ``none``, percent -> fraction.

    The percent is divided by 100 in decimal, so that 71.35 gives the same float as a hand-typed 0.7135
    (71.35 / 100 in binary floating point is 0.7134999999999999).

    >>> rows = [Table1Row("V", "none", 71.35, None, 90.5, None), Table1Row("V", "A_S", 67.59, -3.76, 87.95, -2.55)]
    >>> alone_accuracies(rows)
    {'V': 0.7135}
    >>> alone_accuracies(rows[1:], "t1.csv")
    Traceback (most recent call last):
    repro.errors.ReproError: t1.csv: no row with setting 'none' (the classifier alone)
    """
    acc: dict[str, float] = {}
    for row in rows:
        if row.setting != ALONE:
            continue
        if row.classifier in acc:
            raise ReproError(f"{where}: classifier {row.classifier!r} has two rows with setting {ALONE!r}")
        if not 0.0 <= row.top1 <= 100.0:  # also rejects nan
            raise ReproError(f"{where}: top-1 {row.top1} of {row.classifier!r} is outside [0, 100] (Table 1 gives percents)")
        acc[row.classifier] = float(Decimal(repr(row.top1)) / 100)
    if not acc:
        raise ReproError(f"{where}: no row with setting {ALONE!r} (the classifier alone)")
    return acc


def accuracy_layout(header: list[str]) -> str | None:
    """Which accuracy-file layout a header line names: ``"accuracy"``, ``"table1"`` or None (case ignored).

    >>> accuracy_layout(["classifier", "accuracy"]), accuracy_layout(["Classifier", "setting", "top1", "top1_diff", "top5", "top5_diff"])
    ('accuracy', 'table1')
    >>> accuracy_layout(["classifier", "top1"]) is None
    True
    """
    names = tuple(h.strip().lower() for h in header)
    return {ACC_HEADER: "accuracy", TABLE1_HEADER: "table1"}.get(names)


def read_accuracy_file(path: str | Path) -> dict[str, float]:
    """Each classifier's own accuracy (a fraction) from either layout, told apart by the header line.

    - ``classifier,accuracy``: fractions, read by :func:`repro.grid.read_accuracies`;
    - Table 1's ``classifier,setting,top1,top1_diff,top5,top5_diff`` (``paper_claims/data/table1.csv``):
      the top-1 of each classifier's ``none`` row, in percent, read by :func:`read_table1`.
    """
    path = Path(path)
    header = read_csv_rows(path)[0]
    layout = accuracy_layout(header)
    if layout == "accuracy":
        return read_accuracies(path)
    if layout == "table1":
        return alone_accuracies(read_table1(path), path)
    raise ReproError(
        f"{path}:1: header must be {','.join(ACC_HEADER)!r} (fractions) or {','.join(TABLE1_HEADER)!r} "
        f"(Table 1, top-1 in percent), found {','.join(header)!r}"
    )


def paper_table2(data_dir: Path | None = None) -> CrossGrid:
    return read_grid((data_dir or paper_data_dir()) / "table2.csv")


def paper_results(data_dir: Path | None = None) -> Results:
    """Table 1 (alone, A_S∘i, A_i∘i; top-1 and top-5) and Table 2 (the top-1 grid) as one Results.

    Where the two tables give A_i∘i twice (Table 1 in percent, Table 2's diagonal), ``top1`` holds
    Table 2's value, since the grid claims are read from it; Table 1's is kept in ``raw["table1"]``
    and the consistency claim compares the two.
    """
    data_dir = data_dir or paper_data_dir()
    table1 = read_table1(data_dir / "table1.csv")
    grid = paper_table2(data_dir)
    top1: dict[str, dict[str, float]] = {ALONE: {}, PRETRAINED_AE: {}}
    top5: dict[str, dict[str, float]] = {ALONE: {}, PRETRAINED_AE: {}}
    for row in table1:
        key = ae_name(row.classifier) if row.setting == "A_i" else row.setting
        top1.setdefault(key, {})[row.classifier] = row.top1 / 100
        top5.setdefault(key, {})[row.classifier] = row.top5 / 100
    for i, source in enumerate(grid.aes):
        for j, clf in enumerate(grid.classifiers):
            top1.setdefault(ae_name(source), {})[clf] = float(grid.values[i, j])
    return Results(
        source="paper",
        classifiers=list(PAPER_CLASSIFIERS),
        top1=top1,
        top5=top5,
        raw={"table1": [row.__dict__ for row in table1], "scale": "paper (ImageNet, CVPR 2018)"},
    )
