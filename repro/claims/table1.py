"""Sec. 3.3.1, Table 1: the pre-trained AE costs accuracy; decoder fine-tuning wins it back."""

from __future__ import annotations

from repro.claims import tolerances as tol
from repro.claims.core import NotMeasured, Outcome, claim
from repro.results import ALONE, PRETRAINED_AE, Results, ae_name


def _accuracy(results: Results, setting: str, clf: str) -> float:
    """Top-1 of ``clf`` alone ("none"), with A_S ("A_S") or with its own fine-tuned AE ("A_i")."""
    ae = ae_name(clf) if setting == "A_i" else setting
    try:
        return results.top1[ae][clf]
    except KeyError:
        raise NotMeasured(f"no top-1 of {clf} with {ae}") from None


def _difference(results: Results, better: str, worse: str) -> dict[str, float]:
    """Top-1 points of setting ``better`` over setting ``worse``, per classifier."""
    return {c: 100 * (_accuracy(results, better, c) - _accuracy(results, worse, c)) for c in results.classifiers}


def _points(d: dict[str, float]) -> str:
    return ", ".join(f"{c} {v:+.2f}" for c, v in d.items())


@claim(
    "table1.as_below",
    "3.3.1",
    "A_S∘i is below i for every classifier (top-1)",
    "all five below, by 1.22 to 3.76 points",
)
def as_below(results: Results) -> Outcome:
    drops = _difference(results, ALONE, PRETRAINED_AE)
    return Outcome(all(v > 0 for v in drops.values()), f"drops (points): {_points(drops)}", min(drops.values()))


@claim(
    "table1.as_drop_range",
    "3.3.1",
    "the A_S baseline lies 1.2 to 3.7 points below the classifiers alone (top-1)",
    "1.2 to 3.7 points",
    tolerance=f"each drop within [1.2, 3.7] up to the printed precision (+-{tol.PRINTED_2DP * 10:.2f} point)",
)
def as_drop_range(results: Results) -> Outcome:
    drops = _difference(results, ALONE, PRETRAINED_AE)
    lo, hi = min(drops.values()), max(drops.values())
    half = tol.PRINTED_2DP * 10  # one printed decimal of a point: 1.2 means [1.15, 1.25)
    holds = lo >= 1.2 - half and hi < 3.7 + half
    return Outcome(holds, f"{lo:.2f} to {hi:.2f} points", hi)


@claim(
    "table1.ai_recovers",
    "3.3.1",
    "fine-tuning makes up for the loss: A_i∘i is above A_S∘i for every classifier (top-1)",
    "all five (e.g. V: 67.59 -> 71.65)",
)
def ai_recovers(results: Results) -> Outcome:
    gains = _difference(results, "A_i", PRETRAINED_AE)
    return Outcome(all(v > 0 for v in gains.values()), f"A_i∘i - A_S∘i (points): {_points(gains)}", min(gains.values()))


@claim(
    "table1.ai_surpasses_most",
    "3.3.1",
    "in most cases A_i∘i surpasses the classifier alone (top-1)",
    "4 of 5 (all but I: -0.41)",
    tolerance=f"'most' = more than {tol.MOST:.0%} of the classifiers",
)
def ai_surpasses_most(results: Results) -> Outcome:
    gains = _difference(results, "A_i", ALONE)
    above = sorted(c for c, v in gains.items() if v > 0)
    share = len(above) / len(gains)
    return Outcome(share > tol.MOST, f"{len(above)} of {len(gains)} ({', '.join(above) or 'none'}); {_points(gains)}", share)
