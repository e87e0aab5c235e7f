"""The claims report's building blocks: a :class:`Section`, the :class:`ReportContext` every section
reads, and the number and table formatting they share. :mod:`repro.report` assembles the report from
section builders; :mod:`repro.your_classifiers` is one of them, kept in its own module."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tabulate import tabulate

from repro.claims import Verdict
from repro.grid import CrossGrid
from repro.results import ALONE, PRETRAINED_AE, Results, ae_name


def fmt_interval(low: float, high: float) -> str:
    lo = "-inf" if low == -math.inf else f"{low:.4f}"
    hi = "inf" if high == math.inf else f"{high:.4f}"
    return f"({lo}, {hi}]"


def json_interval(low: float, high: float) -> list[float | None]:
    return [None if low == -math.inf else round(low, 6), None if high == math.inf else round(high, 6)]


# --- tables -----------------------------------------------------------------------------------


def pct(x: float | None) -> str:
    return "" if x is None else f"{100 * x:.2f}"


def table1_rows(results: Results, paper: Results | None) -> list[list[str]]:
    rows = []
    for clf in results.classifiers:
        for setting, label in ((ALONE, clf), (PRETRAINED_AE, f"A_S∘{clf}"), (ae_name(clf), f"A_{clf}∘{clf}")):
            ours = results.top1.get(setting, {}).get(clf)
            ours5 = results.top5.get(setting, {}).get(clf)
            base = results.top1.get(ALONE, {}).get(clf)
            p = paper.top1.get(setting, {}).get(clf) if paper and clf in paper.classifiers else None
            diff = "" if setting == ALONE or ours is None or base is None else f"{100 * (ours - base):+.2f}"
            rows.append([label, pct(ours), diff, pct(ours5), pct(p)])
    return rows


def grid_rows(grid: CrossGrid, values: np.ndarray | None = None, digits: int = 4) -> list[list[str]]:
    values = grid.values if values is None else values
    return [[f"A_{a}"] + [f"{v:.{digits}f}" for v in values[i]] for i, a in enumerate(grid.aes)]


def md_table(headers: list[str], rows: list[list[Any]]) -> str:
    return tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True)


@dataclass
class Section:
    heading: str
    markdown: str
    html: str | None = None  # its own HTML; None: rendered from the markdown


@dataclass
class ReportContext:
    results: Results
    paper: Results | None
    out: Path
    verdicts: list[Verdict]
    consistency: list[Verdict]
    is_paper: bool
    grid: CrossGrid | None = None
    figures: dict[str, str] = field(default_factory=dict)  # name -> file name under figures/
    payload: dict[str, Any] = field(default_factory=dict)  # extra entries of claims.json
    previous: dict[str, Any] | None = None  # claims.json of the same scale under an earlier protocol
    ceiling: Results | None = None  # a diagnostic run with both halves of the AE fine-tuned
    widths: list[dict[str, Any]] = field(default_factory=list)  # ceiling.json records: A_S at other widths
    width_runs: list[Results] = field(default_factory=list)  # runs fine-tuned from an A_S of another width
    replicates: dict[str, Any] | None = None  # {"names", "per_run"}: results is their pooled ReplicateResults
    instrument: dict[str, str] = field(default_factory=dict)  # claim id -> what the instrument allows it
    calibration: list[dict[str, Any]] = field(default_factory=list)  # `repro calibrate` records (docs/instrument.md)

    @property
    def figdir(self) -> Path:
        return self.out / "figures"
