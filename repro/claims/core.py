"""The claim registry and verdicts.

A claim is a function of a :class:`repro.results.Results` returning an :class:`Outcome`: whether the
claim holds on those numbers, what we measured, and the named quantities its predicate tests. The
same function runs on the paper's tables (:func:`repro.paper.paper_results`) and on our runs. With
per-image data in the results, :func:`evaluate` re-runs each claim on bootstrap resamples of the
test images, giving a 95% interval for every tested quantity and the share of resamples in which the
claim holds (its support).

Verdicts, decided by :func:`decide`:

- **not measured**: the results lack what the claim speaks about (a missing section, or fewer than
  all five of L, A, V, I, R and the AEs it names); the check raises :class:`NotMeasured`.
- **inconclusive**: the numbers are there but a declared precondition is not met
  (:mod:`repro.claims.preconditions`; the check raises :class:`Inconclusive` with the reason), or the
  bootstrap supports neither the claim nor its negation (tolerances.SUPPORT).
- **holds** / **fails**: decided on the measured numbers and, where there are resamples, in at least
  tolerances.SUPPORT of them.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from typing import Callable, Iterable

import numpy as np

from repro.claims import tolerances as tol
from repro.claims.preconditions import PRECONDITIONS
from repro.grid import CrossGrid
from repro.paper import PAPER_CLASSIFIERS
from repro.results import ALONE, Results, ae_name


VERDICTS = ("holds", "fails", "inconclusive", "not measured")

# The paper's classifiers, C = {L, A, V, I, R} (Sec. 3.3.1): the only ones any claim reads (see paper_view).
CLASSIFIERS = PAPER_CLASSIFIERS


class NotMeasured(Exception):
    """The results lack what a claim needs (no noise sweep, no nMI, fewer than the five classifiers)."""


class Inconclusive(Exception):
    """A claim's declared precondition is not met: the numbers are there but cannot decide it.

    ``reason`` says which precondition and why; ``ours`` (optional) the measured numbers, for the report;
    ``quantities`` (optional) the numbers the precondition or the predicate reads, which still get
    their bootstrap intervals (e.g. how far every pair lies above a threshold).
    """

    def __init__(self, reason: str, ours: str = "", quantities: dict[str, float] | None = None):
        super().__init__(reason)
        self.ours = ours
        self.quantities = quantities

    def tested(self) -> dict[str, float]:
        return {k: float(v) for k, v in (self.quantities or {}).items()}


@dataclass(frozen=True)
class Outcome:
    holds: bool
    ours: str
    value: float | None = None  # headline number; used when ``quantities`` is not given
    detail: str = ""
    # The numbers the predicate tests, by name (e.g. both ends of a range): each gets its own interval.
    quantities: dict[str, float] | None = None

    def tested(self) -> dict[str, float]:
        if self.quantities is not None:
            return {k: float(v) for k, v in self.quantities.items()}
        return {} if self.value is None else {"value": float(self.value)}


@dataclass(frozen=True)
class Claim:
    id: str
    section: str
    statement: str
    paper: str  # the paper's value or statement
    tolerance: str  # which tolerance applies and why
    check: Callable[[Results], Outcome]
    requires: tuple[str, ...] = ("five",)  # ids of repro.claims.preconditions.PRECONDITIONS
    scope: str = "all"  # "all", or "paper tables": a literal check of the paper's printed numbers


@dataclass
class Verdict:
    id: str
    section: str
    statement: str
    paper: str
    ours: str
    tolerance: str
    verdict: str  # one of VERDICTS
    holds: bool | None  # True for "holds", False for "fails", None otherwise
    value: float | None = None  # the first tested quantity (headline)
    interval: tuple[float, float] | None = None  # its 95% interval
    support: float | None = None  # share of bootstrap resamples in which the claim holds
    detail: str = ""
    point: bool | None = None  # the predicate on the measured numbers (None: not decided there)
    quantities: dict[str, float] = field(default_factory=dict)  # every tested quantity
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)  # their 95% intervals
    requires: list[str] = field(default_factory=list)  # the claim's preconditions
    no_interval: str = ""  # why there is no interval, where there is none

    def to_dict(self) -> dict:
        return asdict(self)


CLAIMS: dict[str, Claim] = {}


def claim(id: str, section: str, statement: str, paper: str, tolerance: str = "exact comparison",
          requires: tuple[str, ...] = (), scope: str = "all"):
    """Register a claim check (a decorator). Every claim requires the five classifiers ("five")."""
    requires = ("five", *(r for r in requires if r != "five"))
    unknown = [r for r in requires if r not in PRECONDITIONS]
    if unknown or scope not in ("all", "paper tables"):
        raise ValueError(f"claim {id!r}: unknown precondition(s) {unknown} or scope {scope!r}")

    def register(fn: Callable[[Results], Outcome]) -> Callable[[Results], Outcome]:
        if id in CLAIMS:
            raise ValueError(f"claim {id!r} registered twice")
        CLAIMS[id] = Claim(id, section, statement, paper, tolerance, fn, requires, scope)
        return fn

    return register


# --- helpers shared by the checks -------------------------------------------------------------


def _without(obj, names: frozenset[str]):
    """``obj`` with every dict key in ``names`` removed, at any depth (lists and values kept as they are)."""
    if isinstance(obj, dict):
        return {k: _without(v, names) for k, v in obj.items() if k not in names}
    return obj


def paper_view(results: Results) -> Results:
    """``results`` as the claims see it: only the paper's five classifiers, in the paper's order.

    The one place where extra classifiers (a user's own) are dropped, before any claim runs (and on
    every bootstrap resample): the classifier list keeps L, A, V, I, R, and every key naming another
    classifier or its AE (``X``, ``A_X``) is removed from the measured sections (accuracies, per-image
    data, noise, nMI, LAB), so that no check, however it iterates, can read them or change a verdict.
    """
    extra = [c for c in results.classifiers if c not in CLASSIFIERS]
    if not extra:
        return replace(results, classifiers=[c for c in CLASSIFIERS if c in results.classifiers])
    names = frozenset(extra) | frozenset(ae_name(c) for c in extra)
    return replace(
        results,
        classifiers=[c for c in CLASSIFIERS if c in results.classifiers],
        top1=_without(results.top1, names), top5=_without(results.top5, names),
        per_image=_without(results.per_image, names), noise=_without(results.noise, names),
        nmi=_without(results.nmi, names), lab=_without(results.lab, names),
    )


def is_paper_tables(results: Results) -> bool:
    """The paper's own Table 1 and 2 (repro.paper), not a run at the 'paper' scale."""
    return results.source == "paper" and "table1" in results.raw


def need(results: Results, *classifiers: str) -> None:
    """NotMeasured unless every named classifier (default: all five) is in the results."""
    missing = [c for c in (classifiers or CLASSIFIERS) if c not in results.classifiers]
    if missing:
        raise NotMeasured(f"no results for classifier(s) {', '.join(missing)} (the claims need all five of "
                          f"{', '.join(CLASSIFIERS)})")


def cross_grid(results: Results) -> CrossGrid:
    """The five fine-tuned AEs x five classifiers grid of a Results, with the classifiers' own accuracies."""
    need(results)
    missing = [f"{ae_name(a)}∘{c}" for a in CLASSIFIERS for c in CLASSIFIERS if c not in results.top1.get(ae_name(a), {})]
    if missing:
        raise NotMeasured(f"the cross grid lacks {', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}")
    values = np.array([[results.top1[ae_name(a)][c] for c in CLASSIFIERS] for a in CLASSIFIERS])
    alone = {c: v for c, v in results.top1.get(ALONE, {}).items() if c in CLASSIFIERS}
    return CrossGrid(CLASSIFIERS, CLASSIFIERS, values, alone)


def unmet(precondition: str, detail: str, ours: str = "", quantities: dict[str, float] | None = None) -> Inconclusive:
    """The exception a check raises when a declared precondition is not met (see preconditions.py).

    >>> str(unmet("two_concepts", "one concept at t = 0.2"))
    'not decidable: the concept lattice the claim describes has at least two concepts; here one concept at t = 0.2'
    """
    return Inconclusive(f"not decidable: {PRECONDITIONS[precondition].requires}; here {detail}", ours, quantities)


def positive(margin: float, what: str, ours: str = "") -> bool:
    """``margin > 0`` for a comparison of two measured numbers; a tie raises Inconclusive ("separated").

    >>> positive(0.01, "x - y"), positive(-0.01, "x - y")
    (True, False)
    """
    if abs(margin) <= tol.TIE:
        raise unmet("separated", f"{what} is tied ({margin:+.2g})", ours)
    return margin > 0


def fmt(x: float, digits: int = 4) -> str:
    return f"{x:.{digits}f}"


# --- evaluation and bootstrap -----------------------------------------------------------------


def run_claim(c: Claim, results: Results, resample: bool = False) -> Outcome | NotMeasured | Inconclusive:
    """One claim on one Results: its Outcome, or the NotMeasured / Inconclusive it raised."""
    if c.scope == "paper tables" and not is_paper_tables(results):
        return NotMeasured("a literal check of numbers printed in the paper, run on the paper's own tables; a measured "
                           "grid is judged by the structural claims (fca.chain_on_widest, fca.only_ai_changes)")
    try:
        return c.check(results)
    except (NotMeasured, Inconclusive) as why:
        return why
    except (ZeroDivisionError, FloatingPointError) as err:
        if not resample:
            raise
        return Inconclusive(f"not computable on this resample ({err})")


def why_no_interval(c: Claim, results: Results, resamples: int) -> str:
    """Why a claim decided on the measured numbers has no bootstrap interval and support."""
    if is_paper_tables(results):
        return "the paper's tables are printed numbers: there are no per-image data to resample"
    if resamples <= 0:
        return "the report was built without resampling (resamples = 0)"
    if not (results.per_image and results.n_test):
        return "results.json holds no per-image data (written before they were stored)"
    return "no resample could be evaluated"


def decide(c: Claim, point: Outcome | NotMeasured | Inconclusive, samples: list, no_interval: str) -> Verdict:
    """The verdict of claim ``c`` from its outcome on the measured numbers and on the resamples.

    "holds" needs the claim to hold on the measured numbers and in >= tolerances.SUPPORT of the
    resamples; "fails" needs it to fail on both counts (the symmetric rule); otherwise
    "inconclusive". A resample in which a precondition is not met counts towards neither. Where a
    precondition is not met on the measured numbers the verdict is "inconclusive" whatever the
    resamples say; they still give the intervals of the numbers the check read.
    """
    common = dict(id=c.id, section=c.section, statement=c.statement, paper=c.paper, tolerance=c.tolerance,
                  requires=list(c.requires))
    if isinstance(point, NotMeasured):
        return Verdict(ours="not measured", verdict="not measured", holds=None, detail=str(point),
                       no_interval="not measured", **common)
    quantities = point.tested()
    undecided_point = isinstance(point, Inconclusive)
    held = None if undecided_point else bool(point.holds)  # checks may return numpy booleans; the report is JSON
    detail = str(point) if undecided_point else point.detail
    intervals: dict[str, tuple[float, float]] = {}
    support = None
    if undecided_point:
        verdict = "inconclusive"
    elif not samples:
        verdict = "holds" if held else "fails"
    if samples:
        n = len(samples)
        n_held = sum(isinstance(s, Outcome) and bool(s.holds) for s in samples)
        n_failed = sum(isinstance(s, Outcome) and not s.holds for s in samples)
        support = n_held / n
        alpha = (1 - tol.BOOTSTRAP_LEVEL) / 2
        for name in quantities:
            vals = [v for s in samples if not isinstance(s, NotMeasured) and math.isfinite(v := s.tested().get(name, math.nan))]
            if vals:
                lo, hi = np.quantile(vals, [alpha, 1 - alpha])
                intervals[name] = (float(lo), float(hi))
        if not undecided_point:
            if held and n_held >= tol.SUPPORT * n:
                verdict = "holds"
            elif not held and n_failed >= tol.SUPPORT * n:
                verdict = "fails"
            else:
                verdict = "inconclusive"
                why = f"{'holds' if held else 'fails'} on the measured numbers, but holds in {n_held / n:.0%} and fails in " \
                      f"{n_failed / n:.0%} of {n} resamples (either needs >= {tol.SUPPORT:.0%})"
                undecided = Counter(str(s) for s in samples if not isinstance(s, Outcome))
                if undecided:
                    reason, _ = undecided.most_common(1)[0]
                    why += f"; undecidable in {sum(undecided.values())} ({reason})"
                detail = f"{why}. {detail}".strip() if detail else why
    if intervals:
        no_interval = ""
    elif not quantities and undecided_point:
        no_interval = "a precondition is not met on the measured numbers"
    elif not quantities:
        no_interval = ("a structural predicate: no single number decides it" +
                       ("; the support is the share of resamples in which it holds" if samples else ""))
    first = next(iter(quantities), None)
    return Verdict(ours=point.ours or "not decidable", verdict=verdict, holds={"holds": True, "fails": False}.get(verdict),
                   value=None if first is None else quantities[first], interval=intervals.get(first) if first else None,
                   support=support, detail=detail, point=held, quantities=quantities, intervals=intervals,
                   no_interval=no_interval, **common)


def evaluate(
    results: Results,
    claims: Iterable[Claim] | None = None,
    resamples: int = tol.BOOTSTRAP_RESAMPLES,
    seed: int = tol.BOOTSTRAP_SEED,
) -> list[Verdict]:
    """Run every claim on ``results``; bootstrap over test images when per-image data exists."""
    claims = list(CLAIMS.values()) if claims is None else list(claims)
    view = paper_view(results)
    point = {c.id: run_claim(c, view) for c in claims}
    # Claims decided on the measured numbers, and undecided ones whose numbers still get intervals.
    # Every claim is resampled (Results.bootstrap recomputes accuracies, noise curves, nMI and LAB
    # statistics from the per-image values under one set of weights: a paired bootstrap).
    boot = [c for c in claims if not isinstance(p := point[c.id], NotMeasured)
            and (isinstance(p, Outcome) or p.tested())]
    samples: dict[str, list] = {c.id: [] for c in boot}
    if resamples > 0 and boot:
        for resampled in results.bootstrap(resamples, seed):  # nothing without per-image values
            sample = paper_view(resampled)
            for c in boot:
                samples[c.id].append(run_claim(c, sample, resample=True))
    # A claim that reads a section without per-image values (a schema-1 file) is not measured on any
    # resample, which leaves out that section: no interval, and the file's reason rather than the claim's.
    by_reason: dict[str, list[str]] = {}
    for section, why in results.resample_gaps().items():
        by_reason.setdefault(why, []).append(section)
    gaps = "; ".join(f"{', '.join(sections)}: {why}" for why, sections in by_reason.items())
    no_interval = {}
    for c in boot:
        if samples[c.id] and all(isinstance(x, NotMeasured) for x in samples[c.id]):
            no_interval[c.id] = f"no per-image values for what it reads ({gaps or samples[c.id][0]})"
            samples[c.id] = []
    return [decide(c, point[c.id], samples.get(c.id, []), no_interval.get(c.id) or why_no_interval(c, results, resamples))
            for c in claims]
