"""The paper's own tables (Table 1, Table 2) as a :class:`repro.results.Results`.

The numbers live as CSV files in ``paper_claims/data/`` of the repository (the place the claims
suite keeps its data); this module reads them so that every claim check runs on the paper's numbers
exactly as on ours.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

from repro.errors import ReproError
from repro.grid import CrossGrid, read_grid
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


def read_table1(path: Path) -> list[Table1Row]:
    rows = []
    with path.open(newline="") as fh:
        for lineno, rec in enumerate(csv.DictReader(fh), start=2):
            try:
                rows.append(
                    Table1Row(
                        rec["classifier"],
                        rec["setting"],
                        float(rec["top1"]),
                        float(rec["top1_diff"]) if rec["top1_diff"] else None,
                        float(rec["top5"]),
                        float(rec["top5_diff"]) if rec["top5_diff"] else None,
                    )
                )
            except (KeyError, ValueError) as err:
                raise ReproError(f"{path}:{lineno}: bad Table 1 line ({err})") from None
    return rows


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
