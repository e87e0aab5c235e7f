"""Sec. 3.4: the cross grid acc(A_i∘j), relative rate of change (RRC) and the concept lattices.

RRC uses the default reading of :mod:`repro.grid` (acc(i) = acc(A_i∘i)); the report shows both.
Every claim reads the full 5 x 5 grid of L, A, V, I, R (core.cross_grid).
"""

from __future__ import annotations

import math

import numpy as np

from repro.analysis.lattice import Lattice, build_lattice, context_at, interval_of, stable_intervals
from repro.claims import tolerances as tol
from repro.claims.core import Outcome, claim, cross_grid, fmt, positive, unmet
from repro.grid import CrossGrid
from repro.results import Results


def _rrc(results: Results) -> tuple[CrossGrid, np.ndarray]:
    grid = cross_grid(results)
    row_acc, col_acc = grid.accuracies()
    if min(row_acc.min(), col_acc.min()) <= 0:
        # RRC divides by these: a bootstrap resample of a small test set can draw an accuracy of 0,
        # which run_claim counts as "not computable on this resample" (it was a ReproError that
        # ended the whole report; seen with 6 test images).
        raise ZeroDivisionError(f"RRC divides by an accuracy of 0 ({row_acc.tolist()}, {col_acc.tolist()})")
    return grid, grid.rrc()


def _pair(grid: CrossGrid, ae: str, clf: str) -> tuple[int, int]:
    return grid.aes.index(ae), grid.classifiers.index(clf)


def _others(grid: CrossGrid, r: np.ndarray, ae: str) -> dict[str, float]:
    """RRC(A_ae∘j) for every classifier j other than ``ae``."""
    i = grid.aes.index(ae)
    return {c: float(r[i, j]) for j, c in enumerate(grid.classifiers) if c != ae}


def _off_diagonal(grid: CrossGrid, r: np.ndarray) -> dict[str, float]:
    """RRC(A_i∘j) for i != j, keyed 'A_i∘j'."""
    return {f"A_{a}∘{c}": float(r[i, j]) for i, a in enumerate(grid.aes) for j, c in enumerate(grid.classifiers) if a != c}


def lattice_at(grid: CrossGrid, r: np.ndarray, t: float) -> Lattice:
    return build_lattice(context_at(r, t), grid.classifiers, grid.ae_labels())


def require_two_concepts(lattice: Lattice, where: str, ours: str = "") -> None:
    """Inconclusive ("two_concepts") for a one-concept lattice: it is a chain of nothing."""
    if len(lattice) < 2:
        raise unmet("two_concepts", f"the lattice {where} has one concept (every classifier has the same intent)", ours)


@claim(
    "grid.others_lose",
    "3.4",
    "every classifier loses accuracy with another classifier's AE: acc(A_i∘j) < acc(A_j∘j) for i != j",
    "all 20 off-diagonal pairs",
    requires=("separated",),
)
def others_lose(results: Results) -> Outcome:
    grid = cross_grid(results)
    gains = {}
    for j, clf in enumerate(grid.classifiers):
        own = grid.values[grid.aes.index(clf), j]
        for i, ae in enumerate(grid.aes):
            if ae != clf:
                gains[f"A_{ae}∘{clf}"] = float(grid.values[i, j] - own)
    worst = max(gains, key=gains.get)
    offenders = [f"{k} {v:+.4f}" for k, v in gains.items() if v >= 0]
    ours = ("all pairs lower" if not offenders else "not lower: " + "; ".join(offenders)) + \
        f" (largest gain over own AE {gains[worst]:+.4f}, {worst})"
    # Every pair is lower exactly when the largest gain is < 0: that margin decides the claim.
    return Outcome(positive(-gains[worst], f"the largest gain ({worst})", ours), ours,
                   quantities={"largest acc(A_i∘j) - acc(A_j∘j)": gains[worst]})


@claim(
    "grid.weaker_pairs",
    "3.4",
    "some pairs keep about the accuracy of the weaker model: acc(A_i∘j) ≈ min(acc(i), acc(j)), and not every pair",
    "several off-diagonal pairs (e.g. A_V∘I, A_V∘R, A_R∘I)",
    tolerance=f"'about' = RRC >= {tol.ABOUT_WEAKER_RRC} (the paper's highest threshold in Fig. 7)",
    requires=("singles_out",),
)
def weaker_pairs(results: Results) -> Outcome:
    off = _off_diagonal(*_rrc(results))
    pairs = [k for k, v in off.items() if v >= tol.ABOUT_WEAKER_RRC]
    ours = f"{len(pairs)} of {len(off)} pairs: {', '.join(pairs) or 'none'}"
    largest, smallest = max(off.values()), min(off.values())
    # "Some pairs" holds exactly when the largest off-diagonal RRC reaches the threshold; the smallest
    # is the precondition's number (not every pair).
    quantities = {"largest off-diagonal RRC": largest, "smallest off-diagonal RRC": smallest}
    if smallest >= tol.ABOUT_WEAKER_RRC:
        raise unmet("singles_out", f"every off-diagonal pair keeps RRC >= {tol.ABOUT_WEAKER_RRC} (smallest {smallest:.3f})",
                    ours, quantities)
    return Outcome(largest >= tol.ABOUT_WEAKER_RRC, ours, quantities=quantities)


@claim(
    "rrc.av_lifts_r_and_i",
    "3.4",
    "A_V's signal makes R and I perform better than V itself: acc(A_V∘R) and acc(A_V∘I) > acc(A_V∘V)",
    "0.7300 and 0.7400 > 0.7163",
    requires=("separated",),
)
def av_lifts(results: Results) -> Outcome:
    grid = cross_grid(results)
    v = grid.values[_pair(grid, "V", "V")]
    r = grid.values[_pair(grid, "V", "R")]
    i = grid.values[_pair(grid, "V", "I")]
    ours = f"R {fmt(r)}, I {fmt(i)} vs V {fmt(v)}"
    return Outcome(positive(float(min(r, i) - v), "the smaller lift", ours), ours,
                   quantities={"acc(A_V∘R) - acc(A_V∘V)": float(r - v), "acc(A_V∘I) - acc(A_V∘V)": float(i - v)})


@claim(
    "rrc.ai_below_065",
    "3.4",
    "with A_I, no classifier other than I reaches 0.65 of its accuracy: RRC(A_I∘j) < 0.65 for j != I",
    "max 0.636 (A_I∘V)",
    requires=("singles_out",),
)
def ai_below(results: Results) -> Outcome:
    grid, r = _rrc(results)
    others = _others(grid, r, "I")
    top = max(others, key=others.get)
    ours = f"max RRC {others[top]:.3f} (A_I∘{top})"
    quantities = {"largest RRC(A_I∘j), j != I": others[top]}
    if not any(v >= 0.65 for ae in grid.aes if ae != "I" for v in _others(grid, r, ae).values()):
        raise unmet("singles_out", "no other AE lets any other classifier reach 0.65 either", ours, quantities)
    return Outcome(others[top] < 0.65, ours, quantities=quantities)


# The paper: "VGG stands out as the classifier making the most exhaustive use of the input signal. The
# AE fine-tuned on VGG preserves a signal that makes all other classifiers keep a performance of 80% and
# higher" (Sec. 3.4). It does not rank the other AEs, so only "A_V highest" is checked (an
# earlier version added "A_A lowest", derived from Table 2, which the text does not say).
@claim(
    "rrc.best_and_worst_ae",
    "3.4",
    "the AE that keeps the other classifiers highest (mean off-diagonal RRC) is A_V",
    "A_V highest (Fig. 7: A_V keeps all >= 80%)",
    requires=("separated",),
)
def best_worst(results: Results) -> Outcome:
    grid, r = _rrc(results)
    means = {f"A_{a}": float(np.mean(list(_others(grid, r, a).values()))) for a in grid.aes}
    ours = "mean off-diagonal RRC: " + ", ".join(f"{k} {v:.3f}" for k, v in sorted(means.items(), key=lambda kv: -kv[1]))
    # With interchangeable AEs (every classifier gets the same accuracy from every other classifier's AE)
    # the means still differ, through the normalisation by min(acc(i), acc(j)) alone: no AE keeps more.
    foreign = [np.delete(grid.values[:, j], grid.aes.index(c)) for j, c in enumerate(grid.classifiers)]
    if all(np.ptp(col) <= tol.TIE for col in foreign):
        raise unmet("separated", "every classifier gets the same accuracy from every other classifier's AE", ours)
    lead = means["A_V"] - max(v for k, v in means.items() if k != "A_V")
    return Outcome(positive(lead, "A_V's lead", ours), ours, quantities={"A_V's mean - the next highest": lead})


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
        t = (lo_paper + hi_paper) / 2
        low, high = interval_of(stable_intervals(r), t)
        ours = f"t = {t:.3f} lies in ({low:.4f}, {high:.4f}]"
        if not (math.isfinite(low) and math.isfinite(high)):
            raise unmet("bounded_interval", ours, ours)
        printed = _two_dp_range(low, high)
        holds = printed == (lo_paper, hi_paper)
        return Outcome(holds, f"({low:.4f}, {high:.4f}] = [{printed[0]:.2f}, {printed[1]:.2f}] at two decimals",
                       quantities={"lower end": low, "upper end": high})

    return check


# A literal check of the printed endpoints, which belong to the paper's ImageNet grid: run on the
# paper's own tables. A re-measured grid is judged by the structural form of the same sentence
# (fca.chain_on_widest: two wide constant-context intervals, each a chain; fca.only_ai_changes:
# between them only A_I's column changes).
claim(
    "fca.interval_low",
    "3.4",
    "any t in [0.17, 0.52] gives the same formal context (and none beyond)",
    "[0.17, 0.52]",
    tolerance="the interval's 2-decimal thresholds equal the paper's (printed precision)",
    requires=("bounded_interval",),
    scope="paper tables",
)(_interval_claim(0.17, 0.52))

claim(
    "fca.interval_high",
    "3.4",
    "any t in [0.66, 0.84] gives the same formal context (and none beyond)",
    "[0.66, 0.84]",
    tolerance="the interval's 2-decimal thresholds equal the paper's (printed precision)",
    requires=("bounded_interval",),
    scope="paper tables",
)(_interval_claim(0.66, 0.84))


@claim(
    "fca.chain_middle",
    "3.4",
    "for t between 0.2 and 0.8 the concept lattice is a chain (a total order)",
    "chain at every t in [0.2, 0.8]",
    requires=("two_concepts",),
)
def chain_middle(results: Results) -> Outcome:
    grid, r = _rrc(results)
    not_chain, trivial, checked = [], [], 0
    for low, high in stable_intervals(r):
        if high < 0.2 or low >= 0.8:
            continue
        t = min(max(0.2, np.nextafter(low, np.inf)), high) if high != math.inf else max(low, 0.2)
        lattice = lattice_at(grid, r, t)
        checked += 1
        if not lattice.is_chain:
            not_chain.append(f"({low:.3f}, {high:.3f}]")
        elif len(lattice) < 2:
            trivial.append(f"({low:.3f}, {high:.3f}]")
    ours = f"{checked} contexts in [0.2, 0.8]; " + (f"not a chain on {', '.join(not_chain)}" if not_chain else "all chains") + \
        (f"; one concept on {', '.join(trivial)}" if trivial else "")
    if not not_chain and trivial:  # a non-chain decides the claim; one-concept lattices decide nothing
        raise unmet("two_concepts", f"on {', '.join(trivial)}", ours)
    return Outcome(not not_chain, ours)


def middle_intervals(r: np.ndarray) -> list[tuple[float, float]]:
    """Stable intervals inside (0, 1]: the thresholds at which 'keeps x% of the weaker accuracy' reads."""
    return [(lo, hi) for lo, hi in stable_intervals(r) if lo > -math.inf and hi <= 1.0]


def widest_intervals(r: np.ndarray, ours: str = "") -> list[tuple[float, float]]:
    """The two widest stable intervals inside (0, 1], in increasing t: the paper's [0.17, 0.52] and
    [0.66, 0.84] on its Table 2 (Sec. 3.4: t = 0.2 and 0.8 "lay in between the largest gaps")."""
    middle = middle_intervals(r)
    if len(middle) < 2:
        raise unmet("two_intervals", f"{len(middle)} stable interval(s) of t inside (0, 1]", ours)
    return sorted(sorted(middle, key=lambda iv: iv[1] - iv[0], reverse=True)[:2])


@claim(
    "fca.only_ai_changes",
    "3.4",
    "between the contexts of the two widest intervals of t inside (0, 1] (the paper's [0.17, 0.52] and [0.66, 0.84]) "
    "the only element that changes is A_I",
    "only A_I",
    requires=("two_intervals",),
)
def only_ai(results: Results) -> Outcome:
    # Structural: the paper's two intervals are its grid's two widest; an earlier version
    # compared t = 0.3 and 0.75 literally, which on a grid without context changes there compares a
    # context with itself.
    grid, r = _rrc(results)
    (_, hi1), (_, hi2) = widest_intervals(r)
    before, after = context_at(r, hi1), context_at(r, hi2)
    changed = [grid.ae_labels()[m] for m in range(len(grid.aes)) if (before[:, m] != after[:, m]).any()]
    changed_objects = [grid.classifiers[g] for g in range(len(grid.classifiers)) if (before[g] != after[g]).any()]
    ours = f"t = {hi1:.3f} -> {hi2:.3f}: AEs changed: {', '.join(changed) or 'none'} (classifiers: {', '.join(changed_objects) or 'none'})"
    return Outcome(changed == ["A_I"], ours)


@claim(
    "fca.t01_ar",
    "3.4",
    "t = 0.1: A_R's signal does not let V or L reach 10%: RRC(A_R∘V) < 0.1 and RRC(A_R∘L) < 0.1",
    "A_R∘V 0.099, A_R∘L 0.047",
    requires=("singles_out",),
)
def t01(results: Results) -> Outcome:
    grid, r = _rrc(results)
    v, l = float(r[_pair(grid, "R", "V")]), float(r[_pair(grid, "R", "L")])
    ours = f"A_R∘V {v:.3f}, A_R∘L {l:.3f}"
    quantities = {"RRC(A_R∘V)": v, "RRC(A_R∘L)": l}
    for clf in ("V", "L"):
        if not any(r[_pair(grid, ae, clf)] >= 0.1 for ae in grid.aes if ae not in ("R", clf)):
            raise unmet("singles_out", f"no other AE lets {clf} reach 0.1 either", ours, quantities)
    return Outcome(v < 0.1 and l < 0.1, ours, quantities=quantities)


@claim(
    "fca.t09_av_r",
    "3.4",
    "t = 0.9: A_V lets R keep at least 90%: RRC(A_V∘R) >= 0.9",
    "1.019",
    requires=("singles_out",),
)
def t09(results: Results) -> Outcome:
    grid, r = _rrc(results)
    v = float(r[_pair(grid, "V", "R")])
    others = {f"A_{ae}∘R": float(r[_pair(grid, ae, "R")]) for ae in grid.aes if ae not in ("V", "R")}
    ours = f"{v:.3f} (others: {', '.join(f'{k} {x:.3f}' for k, x in others.items())})"
    quantities = {"RRC(A_V∘R)": v, "smallest RRC(A_i∘R), i != V, R": min(others.values())}
    if min(others.values()) >= 0.9:
        raise unmet("singles_out", "every other AE lets R keep at least 90% too", ours, quantities)
    return Outcome(v >= 0.9, ours, quantities=quantities)


@claim(
    "fca.av_keeps_80",
    "3.4",
    "A_V keeps every other classifier at 80% or more: RRC(A_V∘j) >= 0.8",
    "min 0.841 (A_V∘L)",
    requires=("singles_out",),
)
def av_80(results: Results) -> Outcome:
    grid, r = _rrc(results)
    others = _others(grid, r, "V")
    low = min(others, key=others.get)
    ours = f"min {others[low]:.3f} (A_V∘{low})"
    # The precondition's number: the lowest RRC that any other AE gives any other classifier.
    floor = min(min(_others(grid, r, ae).values()) for ae in grid.aes if ae != "V")
    quantities = {"smallest RRC(A_V∘j), j != V": others[low], "smallest RRC(A_i∘j), i != V, j != i": floor}
    if floor >= 0.8:
        raise unmet("singles_out", "every other AE keeps every other classifier at 80% or more too", ours, quantities)
    return Outcome(others[low] >= 0.8, ours, quantities=quantities)


@claim(
    "fca.chain_on_widest",
    "3.4",
    "the lattices on the two widest intervals of t inside (0, 1] are chains (the paper's two intervals)",
    "chains on [0.17, 0.52] and [0.66, 0.84]",
    requires=("two_intervals", "two_concepts"),
)
def chain_on_widest(results: Results) -> Outcome:
    grid, r = _rrc(results)
    widest = widest_intervals(r)
    lattices = [lattice_at(grid, r, hi) for _, hi in widest]
    ours = "; ".join(f"({lo:.3f}, {hi:.3f}] {len(lat)} concepts, {'a chain' if lat.is_chain else 'not a chain'}"
                     for (lo, hi), lat in zip(widest, lattices))
    if all(lat.is_chain for lat in lattices):  # a non-chain decides the claim; a one-concept lattice does not
        for (lo, hi), lat in zip(widest, lattices):
            require_two_concepts(lat, f"on ({lo:.3f}, {hi:.3f}]", ours)
    return Outcome(all(lat.is_chain for lat in lattices), ours)


# Fig. 6 and Fig. 7b: the six pairs below t = 0.2, the threshold the paper places in the largest gap
# of its sorted RRC values (read from Table 2: A_A∘V 0.017, A_R∘L 0.047, A_A∘L 0.061, A_R∘V 0.099,
# A_L∘V 0.119, A_A∘R 0.165; the next one is A_I∘L at 0.525).
COLLAPSING = ("A_A∘V", "A_R∘L", "A_A∘L", "A_R∘V", "A_L∘V", "A_A∘R")


@claim(
    "rrc.collapsing_pairs",
    "3.4",
    "the pairs that collapse (RRC < 0.2) are A_A∘V, A_R∘L, A_A∘L, A_R∘V, A_L∘V and A_A∘R, and no other",
    "those six (Fig. 6, Fig. 7b)",
)
def collapsing(results: Results) -> Outcome:
    off = _off_diagonal(*_rrc(results))
    below = [k for k, v in sorted(off.items(), key=lambda kv: kv[1]) if v < 0.2]
    ours = f"RRC < 0.2: {', '.join(f'{k} {off[k]:.3f}' for k in below) or 'none'}"
    largest_six = max(off[k] for k in COLLAPSING)
    smallest_rest = min(v for k, v in off.items() if k not in COLLAPSING)
    return Outcome(largest_six < 0.2 <= smallest_rest, ours,
                   quantities={"largest RRC of the six": largest_six, "smallest RRC of the other 14": smallest_rest})


# "For Inception, we see that it shares up to 50% of the signal that the other classifiers are picking
# up on. However, the remaining half of the signal used by all other networks appears to be completely
# different" (Sec. 3.4). Read as: with A_I every other classifier keeps about half of its accuracy, at
# least 0.5 (A_I is in every classifier's intent for t <= 0.5) and below the 0.65 by which the same
# section says no other classifier "performed well" with A_I.
@claim(
    "rrc.ai_shares_half",
    "3.4",
    "Inception's AE shares up to 50% of the signal the others use: 0.5 <= RRC(A_I∘j) < 0.65 for every j != I",
    "RRC(A_I∘j) 0.525 to 0.636",
)
def ai_shares_half(results: Results) -> Outcome:
    grid, r = _rrc(results)
    others = _others(grid, r, "I")
    lo, hi = min(others.values()), max(others.values())
    ours = ", ".join(f"A_I∘{c} {v:.3f}" for c, v in others.items())
    return Outcome(lo >= 0.5 and hi < 0.65, ours,
                   quantities={"smallest RRC(A_I∘j), j != I": lo, "largest RRC(A_I∘j), j != I": hi})


# "All networks extract features based on a common portion of the input signal but said portion can be
# as small as 10%" (Sec. 3.4): at t = 0.1 (Fig. 7a) the top concept's intent, the AEs whose signal lets
# every classifier keep at least 10%, is not empty.
@claim(
    "fca.common_portion_t01",
    "3.4",
    "at t = 0.1 the top concept's intent is not empty: some AE lets every classifier keep at least 10%",
    "{A_L, A_V, A_I} (Fig. 7a)",
    requires=("two_concepts",),
)
def common_portion(results: Results) -> Outcome:
    grid, r = _rrc(results)
    lattice = lattice_at(grid, r, 0.1)
    top = lattice.concepts[lattice.top].intent
    ours = f"top intent at t = 0.1: {{{', '.join(top)}}}"
    require_two_concepts(lattice, "at t = 0.1", ours)
    best = float(np.max(np.min(r, axis=1)))  # the intent is non-empty exactly when some AE's smallest RRC >= 0.1
    return Outcome(bool(top), ours, quantities={"largest over AEs of the smallest RRC(A_i∘j)": best})
