"""Sec. 3.4: the cross grid acc(A_i∘j), relative rate of change (RRC) and the concept lattices.

RRC uses the default reading of :mod:`repro.grid` (acc(i) = acc(A_i∘i)); the report shows both.
"""

from __future__ import annotations

import math

import numpy as np

from repro.analysis.lattice import build_lattice, context_at, interval_of, stable_intervals
from repro.claims import tolerances as tol
from repro.claims.core import NotMeasured, Outcome, claim, cross_grid, fmt, need
from repro.grid import CrossGrid
from repro.results import Results


def _rrc(results: Results) -> tuple[CrossGrid, np.ndarray]:
    grid = cross_grid(results)
    return grid, grid.rrc()


def _others(grid: CrossGrid, r: np.ndarray, ae: str) -> dict[str, float]:
    """RRC(A_ae∘j) for every classifier j other than ``ae``."""
    i = _pair(grid, ae, ae)[0]
    return {c: float(r[i, j]) for j, c in enumerate(grid.classifiers) if c != ae}


def _pair(grid: CrossGrid, ae: str, clf: str) -> tuple[int, int]:
    if ae not in grid.aes or clf not in grid.classifiers:
        raise NotMeasured(f"no A_{ae}∘{clf} in the grid")
    return grid.aes.index(ae), grid.classifiers.index(clf)


@claim(
    "grid.others_lose",
    "3.4",
    "every classifier loses accuracy with another classifier's AE: acc(A_i∘j) < acc(A_j∘j) for i != j",
    "all 20 off-diagonal pairs",
)
def others_lose(results: Results) -> Outcome:
    grid = cross_grid(results)
    worst = -math.inf
    offenders = []
    for j, clf in enumerate(grid.classifiers):
        if clf not in grid.aes:
            continue
        own = grid.values[grid.aes.index(clf), j]
        for i, ae in enumerate(grid.aes):
            if ae != clf:
                gain = grid.values[i, j] - own
                worst = max(worst, gain)
                if gain >= 0:
                    offenders.append(f"A_{ae}∘{clf} {grid.values[i, j]:.4f} >= {own:.4f}")
    ours = "all pairs lower" if not offenders else "; ".join(offenders)
    return Outcome(not offenders, f"{ours} (largest gain over own AE {worst:+.4f})", worst)


@claim(
    "grid.weaker_pairs",
    "3.4",
    "some pairs keep about the accuracy of the weaker model: acc(A_i∘j) ≈ min(acc(i), acc(j))",
    "several off-diagonal pairs (e.g. A_V∘I, A_V∘R, A_R∘I)",
    tolerance=f"'about' = RRC >= {tol.ABOUT_WEAKER_RRC} (the paper's highest threshold in Fig. 7)",
)
def weaker_pairs(results: Results) -> Outcome:
    grid, r = _rrc(results)
    pairs = [f"A_{a}∘{c}" for i, a in enumerate(grid.aes) for j, c in enumerate(grid.classifiers)
             if a != c and r[i, j] >= tol.ABOUT_WEAKER_RRC]
    return Outcome(bool(pairs), f"{len(pairs)} pairs: {', '.join(pairs) or 'none'}", float(len(pairs)))


@claim(
    "rrc.av_lifts_r_and_i",
    "3.4",
    "A_V's signal makes R and I perform better than V itself: acc(A_V∘R) and acc(A_V∘I) > acc(A_V∘V)",
    "0.7300 and 0.7400 > 0.7163",
)
def av_lifts(results: Results) -> Outcome:
    need(results, "V", "R", "I")
    grid = cross_grid(results)
    v = grid.values[_pair(grid, "V", "V")]
    r = grid.values[_pair(grid, "V", "R")]
    i = grid.values[_pair(grid, "V", "I")]
    return Outcome(r > v and i > v, f"R {fmt(r)}, I {fmt(i)} vs V {fmt(v)}", float(min(r, i) - v))


@claim(
    "rrc.ai_below_065",
    "3.4",
    "with A_I, no classifier other than I reaches 0.65 of its accuracy: RRC(A_I∘j) < 0.65 for j != I",
    "max 0.636 (A_I∘V)",
)
def ai_below(results: Results) -> Outcome:
    need(results, "I")
    others = _others(*_rrc(results), "I")
    top = max(others, key=others.get)
    return Outcome(others[top] < 0.65, f"max RRC {others[top]:.3f} (A_I∘{top})", float(others[top]))


@claim(
    "rrc.best_and_worst_ae",
    "3.4",
    "the AE that keeps the other classifiers highest (mean off-diagonal RRC) is A_V; the lowest is A_A",
    "A_V highest (Fig. 7: A_V keeps all >= 80%); A_A lowest (derived from Table 2)",
)
def best_worst(results: Results) -> Outcome:
    need(results, "V", "A")
    grid, r = _rrc(results)
    means = {a: float(np.mean(list(_others(grid, r, a).values()))) for a in grid.aes if a in grid.classifiers}
    best, worst = max(means, key=means.get), min(means, key=means.get)
    ours = f"highest A_{best} ({means[best]:.3f}), lowest A_{worst} ({means[worst]:.3f})"
    return Outcome(best == "V" and worst == "A", ours, means.get("V"))


def _two_dp_range(low: float, high: float) -> tuple[float, float]:
    """The printed (2-decimal) thresholds t with low < t <= high, as the paper quotes them.

    >>> _two_dp_range(0.1648, 0.52497)
    (0.17, 0.52)
    """
    first = math.floor(low * 100 + 1e-9) / 100 + 0.01
    last = math.floor(high * 100 + 1e-9) / 100
    return round(first, 2), round(last, 2)


def _interval_claim(lo_paper: float, hi_paper: float):
    def check(results: Results) -> Outcome:
        _, r = _rrc(results)
        low, high = interval_of(stable_intervals(r), (lo_paper + hi_paper) / 2)
        if not (math.isfinite(low) and math.isfinite(high)):
            return Outcome(False, f"t = {(lo_paper + hi_paper) / 2:.3f} lies in ({low:.4f}, {high:.4f}]", low)
        printed = _two_dp_range(low, high)
        holds = printed == (lo_paper, hi_paper)
        return Outcome(holds, f"({low:.4f}, {high:.4f}] = [{printed[0]:.2f}, {printed[1]:.2f}] at two decimals", low)

    return check


claim(
    "fca.interval_low",
    "3.4",
    "any t in [0.17, 0.52] gives the same formal context (and none beyond)",
    "[0.17, 0.52]",
    tolerance="the interval's 2-decimal thresholds equal the paper's (printed precision)",
)(_interval_claim(0.17, 0.52))

claim(
    "fca.interval_high",
    "3.4",
    "any t in [0.66, 0.84] gives the same formal context (and none beyond)",
    "[0.66, 0.84]",
    tolerance="the interval's 2-decimal thresholds equal the paper's (printed precision)",
)(_interval_claim(0.66, 0.84))


@claim(
    "fca.chain_middle",
    "3.4",
    "for t between 0.2 and 0.8 the concept lattice is a chain (a total order)",
    "chain at every t in [0.2, 0.8]",
)
def chain_middle(results: Results) -> Outcome:
    grid, r = _rrc(results)
    not_chain = []
    checked = 0
    for low, high in stable_intervals(r):
        if high < 0.2 or low >= 0.8:
            continue
        t = min(max(0.2, np.nextafter(low, np.inf)), high) if high != math.inf else max(low, 0.2)
        lattice = build_lattice(context_at(r, t), grid.classifiers, grid.ae_labels())
        checked += 1
        if not lattice.is_chain:
            not_chain.append(f"({low:.3f}, {high:.3f}]")
    ours = f"{checked} contexts in [0.2, 0.8]; " + ("all chains" if not not_chain else f"not a chain on {', '.join(not_chain)}")
    return Outcome(not not_chain, ours, float(len(not_chain)))


@claim(
    "fca.only_ai_changes",
    "3.4",
    "between the contexts at t in [0.17, 0.52] and t in [0.66, 0.84] the only element that changes is A_I",
    "only A_I",
)
def only_ai(results: Results) -> Outcome:
    grid, r = _rrc(results)
    before, after = context_at(r, 0.3), context_at(r, 0.75)
    changed = [grid.ae_labels()[m] for m in range(len(grid.aes)) if (before[:, m] != after[:, m]).any()]
    changed_objects = [grid.classifiers[g] for g in range(len(grid.classifiers)) if (before[g] != after[g]).any()]
    ours = f"AEs changed: {', '.join(changed) or 'none'} (classifiers: {', '.join(changed_objects) or 'none'})"
    return Outcome(changed == ["A_I"], ours, float(len(changed)))


@claim(
    "fca.t01_ar",
    "3.4",
    "t = 0.1: A_R's signal does not let V or L reach 10%: RRC(A_R∘V) < 0.1 and RRC(A_R∘L) < 0.1",
    "A_R∘V 0.099, A_R∘L 0.047",
)
def t01(results: Results) -> Outcome:
    need(results, "R", "V", "L")
    grid, r = _rrc(results)
    v, l = r[_pair(grid, "R", "V")], r[_pair(grid, "R", "L")]
    return Outcome(v < 0.1 and l < 0.1, f"A_R∘V {v:.3f}, A_R∘L {l:.3f}", float(max(v, l)))


@claim(
    "fca.t09_av_r",
    "3.4",
    "t = 0.9: A_V lets R keep at least 90%: RRC(A_V∘R) >= 0.9",
    "1.019",
)
def t09(results: Results) -> Outcome:
    need(results, "V", "R")
    grid, r = _rrc(results)
    v = r[_pair(grid, "V", "R")]
    return Outcome(v >= 0.9, f"{v:.3f}", float(v))


@claim(
    "fca.av_keeps_80",
    "3.4",
    "A_V keeps every other classifier at 80% or more: RRC(A_V∘j) >= 0.8",
    "min 0.841 (A_V∘L)",
)
def av_80(results: Results) -> Outcome:
    need(results, "V")
    others = _others(*_rrc(results), "V")
    low = min(others, key=others.get)
    return Outcome(others[low] >= 0.8, f"min {others[low]:.3f} (A_V∘{low})", float(others[low]))


def middle_intervals(r: np.ndarray) -> list[tuple[float, float]]:
    """Stable intervals inside (0, 1]: the thresholds at which 'keeps x% of the weaker accuracy' reads."""
    return [(lo, hi) for lo, hi in stable_intervals(r) if lo > -math.inf and hi <= 1.0]


@claim(
    "fca.chain_on_widest",
    "3.4",
    "the lattices on the two widest intervals of t inside (0, 1] are chains (the paper's two intervals)",
    "chains on [0.17, 0.52] and [0.66, 0.84]",
)
def chain_on_widest(results: Results) -> Outcome:
    grid, r = _rrc(results)
    middle = middle_intervals(r)
    if len(middle) < 2:
        raise NotMeasured("fewer than two stable intervals of t inside (0, 1]")
    widest = sorted(sorted(middle, key=lambda iv: iv[1] - iv[0], reverse=True)[:2])
    chains = [build_lattice(context_at(r, hi), grid.classifiers, grid.ae_labels()).is_chain for _, hi in widest]
    ours = "; ".join(f"({lo:.3f}, {hi:.3f}] {'chain' if c else 'not a chain'}" for (lo, hi), c in zip(widest, chains))
    return Outcome(all(chains), ours, float(widest[0][1] - widest[0][0]))
