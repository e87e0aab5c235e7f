"""Sec. 3.5 (Figs. 8, 9): how much of the input's information each AE keeps (normalised MI).

The claims read the **chance-corrected** nMI (``results.nmi["corrected"]``): each pair's nMI minus
the nMI of the same pair with one image's pixels shuffled (repro.analysis.nmi, "The chance
baseline"). The raw value sits on a floor set by histogram occupancy alone: at 64 levels on 32x32x3
images independent noise pairs score 0.173 and unrelated CIFAR-10 images 0.148, which is where the
cpu run's raw inter-nMI of every AE lies (0.139 to 0.148), so an ordering of raw values can rank the
floor rather than the shared content. Results written before the baseline was measured have no
corrected values: the claims are "not measured" there and say so.

Each claim reads all five fine-tuned AEs (and A_S where it names it); the orderings are decided by
their smallest margin (positive: holds), whose bootstrap interval the report gives.
"""

from __future__ import annotations

import functools

from scipy.stats import kendalltau

from repro.claims.core import CLASSIFIERS, NotMeasured, Outcome, claim, need, positive, unmet
from repro.results import PRETRAINED_AE, Results, ae_name

PAPER_ORDER = ("A_V", "A_I", "A_L", "A_R", "A_A")
FINE_TUNED = tuple(ae_name(c) for c in CLASSIFIERS)


def corrected_nmi(results: Results, kind: str, names: tuple[str, ...] = FINE_TUNED) -> dict[str, dict[str, float]]:
    """``{variant: {name: chance-corrected nMI}}`` of ``kind`` ("intra" or "inter") for every name
    of ``names`` (all of them, else NotMeasured). Also for other claims that read nMI (e.g. the nMI
    order against the lattice), so that none reads the raw values."""
    need(results)
    if not results.nmi or kind not in results.nmi:
        raise NotMeasured(f"no {kind}-nMI in the results")
    table = (results.nmi.get("corrected") or {}).get(kind)
    if not table:
        raise NotMeasured(f"no chance-corrected {kind}-nMI (results.json written before the baseline was measured); "
                          "raw nMI at this size measures histogram occupancy (repro.analysis.nmi)")
    out = {}
    for variant, values in table.items():
        missing = [n for n in names if n not in values]
        if missing:
            raise NotMeasured(f"no {variant} {kind}-nMI for {', '.join(missing)}")
        out[variant] = {n: float(values[n]) for n in names}
    return out


def _above_chance(table: dict[str, dict[str, float]], kind: str, ours: str, quantities: dict[str, float]) -> None:
    """Inconclusive unless every value the claim compares lies above its chance baseline."""
    at_floor = sorted({f"{n} ({variant} {v:+.4f})" for variant, values in table.items() for n, v in values.items() if v <= 0})
    if at_floor:
        raise unmet("above_chance", f"{kind}-nMI at or below its chance level for {', '.join(at_floor[:3])}", ours, quantities)


@functools.lru_cache(maxsize=None)
def _tau(ranks: tuple[int, ...]) -> float:
    """Kendall's tau of ``ranks`` (a permutation of the paper's order) against the paper's order.

    Remembered: the bootstrap asks for it 8,000 times (two claims, their nMI variants, 1,000 resamples)
    with at most 120 different permutations, and scipy's kendalltau spends most of a call checking its
    arguments (measured under cProfile beside a training job: 5.3 s of a smoke report's 18 s of claims).

    >>> [f"{_tau(r):+.2f}" for r in ((0, 1, 2, 3, 4), (1, 0, 2, 3, 4), (4, 3, 2, 1, 0))]
    ['+1.00', '+0.80', '-1.00']
    """
    return float(kendalltau(ranks, range(len(ranks))).statistic)


def _order_claim(kind: str):
    def check(results: Results) -> Outcome:
        table = corrected_nmi(results, kind)
        parts, margins = [], {}
        for variant, values in table.items():
            ours = sorted(PAPER_ORDER, key=lambda ae: -values[ae])
            tau = _tau(tuple(PAPER_ORDER.index(a) for a in ours))
            parts.append(f"{variant}: {' > '.join(ours)} (tau {tau:+.2f})")
            for a, b in zip(PAPER_ORDER, PAPER_ORDER[1:]):
                margins[f"{variant}: {a} - {b}"] = values[a] - values[b]
        ours = "; ".join(parts) + " (chance-corrected)"
        worst = min(margins, key=margins.get)
        quantities = {"smallest margin of the paper's order (corrected nMI)": margins[worst]}
        _above_chance(table, kind, ours, quantities)
        return Outcome(positive(margins[worst], worst, ours), ours, quantities=quantities)

    return check


for _kind in ("intra", "inter"):
    claim(
        f"nmi.order_{_kind}",
        "3.5",
        f"{_kind}-nMI orders the fine-tuned AEs A_V > A_I > A_L > A_R > A_A, for every nMI variant (chance-corrected nMI)",
        " > ".join(PAPER_ORDER),
        tolerance="exact order: every neighbour of the paper's order above the next, in every variant; Kendall's "
                  "tau against the paper's order reported",
        requires=("above_chance", "separated"),
    )(_order_claim(_kind))


@claim("nmi.as_most", "3.5", "A_S preserves the most: highest intra-nMI, for every nMI variant (chance-corrected nMI)",
       "A_S highest (Fig. 9)", requires=("above_chance", "separated"))
def as_most(results: Results) -> Outcome:
    table = corrected_nmi(results, "intra", (PRETRAINED_AE, *FINE_TUNED))
    margins = {variant: values[PRETRAINED_AE] - max(v for n, v in values.items() if n != PRETRAINED_AE)
               for variant, values in table.items()}
    worst = min(margins, key=margins.get)
    first = next(iter(table.values()))
    best = {variant: max(values, key=values.get) for variant, values in table.items()}
    ours = f"A_S {first[PRETRAINED_AE]:.4f}; highest: " + ", ".join(f"{v} {b}" for v, b in best.items()) + " (chance-corrected)"
    quantities = {"A_S - highest fine-tuned AE (smallest over variants)": margins[worst]}
    _above_chance(table, "intra", ours, quantities)
    return Outcome(positive(margins[worst], f"{worst}: A_S - the highest other AE", ours), ours, quantities=quantities)


@claim("nmi.aa_ar_inter", "3.5",
       "A_A and A_R have comparatively high inter-nMI: the two highest inter/intra ratios among the fine-tuned AEs "
       "(chance-corrected nMI)",
       "A_A and A_R (Fig. 9)", tolerance="'comparatively' read as the ratio inter-nMI / intra-nMI (our reading)",
       requires=("above_chance", "separated"))
def aa_ar(results: Results) -> Outcome:
    intra, inter = corrected_nmi(results, "intra"), corrected_nmi(results, "inter")
    variant = "arithmetic" if "arithmetic" in intra else next(iter(intra))
    both = {"intra": intra[variant], "inter": inter[variant]}
    ratios = {ae: inter[variant][ae] / intra[variant][ae] if intra[variant][ae] > 0 else float("nan") for ae in FINE_TUNED}
    ours = f"{variant}: " + ", ".join(f"{ae} {ratios[ae]:.3f}" for ae in sorted(ratios, key=lambda ae: -ratios[ae]))
    gap = min(ratios["A_A"], ratios["A_R"]) - max(v for ae, v in ratios.items() if ae not in ("A_A", "A_R"))
    quantities = {"lower of A_A, A_R - highest other inter/intra ratio": gap}
    for kind, values in both.items():
        _above_chance({variant: values}, kind, ours, quantities)
    return Outcome(positive(gap, "the gap between A_A, A_R and the rest", ours), ours, quantities=quantities)
