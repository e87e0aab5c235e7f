"""Sec. 3.5 (Figs. 8, 9): how much of the input's information each AE keeps (normalised MI)."""

from __future__ import annotations

from scipy.stats import kendalltau

from repro.claims.core import NotMeasured, Outcome, claim
from repro.results import PRETRAINED_AE, Results

PAPER_ORDER = ("A_V", "A_I", "A_L", "A_R", "A_A")


def _table(results: Results, kind: str) -> dict[str, dict[str, float]]:
    if not results.nmi or kind not in results.nmi:
        raise NotMeasured(f"no {kind}-nMI in the results")
    return results.nmi[kind]


def _order_claim(kind: str):
    def check(results: Results) -> Outcome:
        table = _table(results, kind)
        parts, taus, same = [], [], True
        for variant, values in table.items():
            present = [ae for ae in PAPER_ORDER if ae in values]
            if len(present) < 2:
                raise NotMeasured("fewer than two fine-tuned AEs with nMI")
            ours = sorted(present, key=lambda ae: -values[ae])
            tau = kendalltau([present.index(a) for a in ours], range(len(ours))).statistic
            taus.append(tau)
            same &= ours == present
            parts.append(f"{variant}: {' > '.join(ours)} (tau {tau:+.2f})")
        return Outcome(same, "; ".join(parts), min(taus))

    return check


for _kind in ("intra", "inter"):
    claim(
        f"nmi.order_{_kind}",
        "3.5",
        f"{_kind}-nMI orders the fine-tuned AEs A_V > A_I > A_L > A_R > A_A, for every nMI variant",
        " > ".join(PAPER_ORDER),
        tolerance="exact order; Kendall's tau against the paper's order reported",
        resamplable=False,
    )(_order_claim(_kind))


@claim("nmi.as_most", "3.5", "A_S preserves the most: highest intra-nMI, for every nMI variant",
       "A_S highest (Fig. 9)", resamplable=False)
def as_most(results: Results) -> Outcome:
    table = _table(results, "intra")
    losers = []
    for variant, values in table.items():
        if PRETRAINED_AE not in values:
            raise NotMeasured("no nMI for A_S")
        best = max(values, key=values.get)
        if best != PRETRAINED_AE:
            losers.append(f"{variant}: {best}")
    first = next(iter(table.values()))
    return Outcome(not losers, f"A_S {first[PRETRAINED_AE]:.3f}" + (f"; beaten in {', '.join(losers)}" if losers else " (highest)"),
                   first[PRETRAINED_AE])


@claim("nmi.aa_ar_inter", "3.5",
       "A_A and A_R have comparatively high inter-nMI: the two highest inter/intra ratios among the fine-tuned AEs",
       "A_A and A_R (Fig. 9)", tolerance="'comparatively' read as the ratio inter-nMI / intra-nMI (our reading)",
       resamplable=False)
def aa_ar(results: Results) -> Outcome:
    intra, inter = _table(results, "intra"), _table(results, "inter")
    variant = "arithmetic" if "arithmetic" in intra else next(iter(intra))
    ratios = {ae: inter[variant][ae] / intra[variant][ae] for ae in PAPER_ORDER
              if ae in intra[variant] and ae in inter[variant] and intra[variant][ae] > 0}
    if len(ratios) < 3:
        raise NotMeasured("fewer than three fine-tuned AEs with nMI")
    top2 = sorted(ratios, key=lambda ae: -ratios[ae])[:2]
    return Outcome(set(top2) == {"A_A", "A_R"},
                   f"{variant}: " + ", ".join(f"{ae} {ratios[ae]:.3f}" for ae in sorted(ratios, key=lambda ae: -ratios[ae])),
                   ratios.get("A_A"))
