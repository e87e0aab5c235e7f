"""The claim registry and verdicts.

A claim is a function of a :class:`repro.results.Results` returning an :class:`Outcome`: whether the
claim holds on those numbers, what we measured, and a headline value. The same function runs on the
paper's tables (:func:`repro.paper.paper_results`) and on our runs. With per-image correctness in the
results, :func:`evaluate` re-runs each accuracy-based claim on bootstrap resamples of the test images,
giving a 95% interval for the headline value and the share of resamples in which the claim holds.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Callable, Iterable

import numpy as np

from repro.claims import tolerances as tol
from repro.grid import CrossGrid
from repro.results import ALONE, Results, ae_name


class NotMeasured(Exception):
    """The results lack what a claim needs (no noise sweep, no nMI, no classifier of that name)."""


@dataclass(frozen=True)
class Outcome:
    holds: bool
    ours: str
    value: float | None = None  # headline number, bootstrapped when per-image data exists
    detail: str = ""


@dataclass(frozen=True)
class Claim:
    id: str
    section: str
    statement: str
    paper: str  # the paper's value or statement
    tolerance: str  # which tolerance applies and why
    check: Callable[[Results], Outcome]
    resamplable: bool = True  # depends only on top-1 accuracies, so bootstrap applies


@dataclass
class Verdict:
    id: str
    section: str
    statement: str
    paper: str
    ours: str
    tolerance: str
    verdict: str  # "holds", "holds (within uncertainty)", "fails", "fails (within uncertainty)", "not measured"
    holds: bool | None
    value: float | None = None
    interval: tuple[float, float] | None = None
    support: float | None = None  # share of bootstrap resamples in which the claim holds
    detail: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


CLAIMS: dict[str, Claim] = {}


def claim(id: str, section: str, statement: str, paper: str, tolerance: str = "exact comparison", resamplable: bool = True):
    """Register a claim check (a decorator)."""

    def register(fn: Callable[[Results], Outcome]) -> Callable[[Results], Outcome]:
        if id in CLAIMS:
            raise ValueError(f"claim {id!r} registered twice")
        CLAIMS[id] = Claim(id, section, statement, paper, tolerance, fn, resamplable)
        return fn

    return register


# --- helpers shared by the checks -------------------------------------------------------------


def need(results: Results, *classifiers: str) -> None:
    missing = [c for c in classifiers if c not in results.classifiers]
    if missing:
        raise NotMeasured(f"no results for classifier(s) {', '.join(missing)}")


def cross_grid(results: Results) -> CrossGrid:
    """The fine-tuned AEs' grid of a Results, with the classifiers' own accuracies attached."""
    aes = tuple(c for c in results.classifiers if ae_name(c) in results.top1)
    if len(aes) < 2 or len(results.classifiers) < 2:
        raise NotMeasured("the cross grid needs at least two classifiers with their fine-tuned AEs")
    values = np.array([[results.top1[ae_name(a)][c] for c in results.classifiers] for a in aes])
    return CrossGrid(aes, tuple(results.classifiers), values, dict(results.top1.get(ALONE, {})))


def fmt(x: float, digits: int = 4) -> str:
    return f"{x:.{digits}f}"


# --- evaluation and bootstrap -----------------------------------------------------------------


def _resampled(results: Results, weights: np.ndarray) -> Results:
    """A copy of ``results`` whose top-1 accuracies are recomputed on resampled test images."""
    n = weights.sum()
    top1 = {ae: dict(row) for ae, row in results.top1.items()}
    for ae, row in (results.per_image or {}).items():
        for clf, correct in row.items():
            top1.setdefault(ae, {})[clf] = float(weights @ correct) / n
    return replace(results, top1=top1)


def _bootstrap_weights(n: int, resamples: int, seed: int) -> Iterable[np.ndarray]:
    rng = np.random.default_rng(seed)
    for _ in range(resamples):
        yield np.bincount(rng.integers(0, n, size=n), minlength=n).astype(float)


def evaluate(
    results: Results,
    claims: Iterable[Claim] | None = None,
    resamples: int = tol.BOOTSTRAP_RESAMPLES,
    seed: int = tol.BOOTSTRAP_SEED,
) -> list[Verdict]:
    """Run every claim on ``results``; bootstrap over test images when per-image data exists."""
    claims = list(CLAIMS.values()) if claims is None else list(claims)
    verdicts: dict[str, Verdict] = {}
    for c in claims:
        try:
            out = c.check(results)
        except NotMeasured as why:
            verdicts[c.id] = Verdict(c.id, c.section, c.statement, c.paper, "not measured", c.tolerance,
                                     "not measured", None, detail=str(why))
            continue
        holds = bool(out.holds)  # checks may return numpy booleans and floats; the report is JSON
        value = None if out.value is None else float(out.value)
        verdicts[c.id] = Verdict(c.id, c.section, c.statement, c.paper, out.ours, c.tolerance,
                                 "holds" if holds else "fails", holds, value, detail=out.detail)

    boot = [c for c in claims if c.resamplable and verdicts[c.id].holds is not None]
    if results.per_image and results.n_test and resamples > 0 and boot:
        held = {c.id: 0 for c in boot}
        values: dict[str, list[float]] = {c.id: [] for c in boot}
        for w in _bootstrap_weights(results.n_test, resamples, seed):
            sample = _resampled(results, w)
            for c in boot:
                try:
                    out = c.check(sample)
                except (NotMeasured, ZeroDivisionError, FloatingPointError):
                    continue
                held[c.id] += bool(out.holds)
                if out.value is not None and math.isfinite(out.value):
                    values[c.id].append(out.value)
        alpha = (1 - tol.BOOTSTRAP_LEVEL) / 2
        for c in boot:
            v = verdicts[c.id]
            v.support = held[c.id] / resamples
            if values[c.id]:
                lo, hi = np.quantile(values[c.id], [alpha, 1 - alpha])
                v.interval = (float(lo), float(hi))
            agreeing = v.support if v.holds else 1 - v.support
            if agreeing < tol.SUPPORT:
                v.verdict += " (within uncertainty)"
    return [verdicts[c.id] for c in claims]
