"""What a run's instrument can decide (docs/instrument.md, declared before any run it reads).

Every claim is read through A_S and its fine-tuned copies. A claim that needs A_i∘i to reach i cannot be
decided by an instrument that cannot give i's accuracy back: its verdict then says what the scale
measured, not whether the paper's claim holds. The verdict rules are unchanged; this is a statement
beside them. A run's instrument is **beyond** such a claim when, for one of the five classifiers, A_S's
test cost exceeds the paper's largest (3.76 points, Table 1) and no A_i∘i measured on that A_S (the run's
own decoder fine-tuning, or a both-halves ceiling diagnostic given to the report) reaches i alone.

Where a scale's setting was chosen by the calibration rule, ``table1.as_drop_range`` (A_S's own cost) is
the calibration's target there, not evidence (:data:`CHOSEN_BY_RULE`).
"""

from __future__ import annotations

from dataclasses import dataclass

from repro.calibration import is_candidate
from repro.results import ALONE, PRETRAINED_AE, Results, ae_name
from repro.vocabulary import PAPER_CLASSIFIERS

PAPER_LARGEST_COST = 3.76  # Table 1: the largest A_S cost the paper reports (VGG-16-BN: 71.35 -> 67.59), in points
# The claims that need A_i∘i to reach i, and why (docs/instrument.md; no other check reads A_i∘i against i
# alone as a bound it must reach).
NEEDS_RECOVERY = {
    "table1.ai_recovers": "needs A_i∘i >= i for every classifier",
    "table1.ai_surpasses_most": "needs A_i∘i > i for most classifiers",
    "noise.ai_above": "needs A_i∘i > i at every noise level s > 0, at small s the same comparison",
}
# Scales whose A_S setting the calibration rule chose (docs/instrument.md): scale -> the candidate's id. A
# run of that scale is marked only when its recorded A_S setting is the candidate's (an earlier protocol of
# the scale, or a run given other --set options, was not chosen by the rule).
# cpu: rule 3 chose w0.5-s32-plateau (docs/instrument.md, "The cpu scale's protocol changes"); gpu: rule 2
# chose w1.0-s32 (no candidate qualifies; the smallest largest cost within the budget, repro.config.gpu).
CHOSEN_BY_RULE: dict[str, str] = {"cpu": "w0.5-s32-plateau", "gpu": "w1.0-s32"}


@dataclass(frozen=True)
class Limit:
    """Classifier ``key``: what A_S costs it and the best A_i∘i measured on that A_S, in top-1 (fractions)."""

    key: str
    alone: float
    through_as: float
    best_ai: float
    best_from: str  # "decoder" (the run's own A_i) or "both halves" (the ceiling diagnostic)

    @property
    def cost_points(self) -> float:
        return 100 * (self.alone - self.through_as)

    def text(self) -> str:
        """
        >>> Limit("V", 0.80, 0.71, 0.77, "decoder").text()
        'V: A_S costs 9.00 points, best A_V∘V 77.00% (decoder) < V alone 80.00%'
        """
        return (f"{self.key}: A_S costs {self.cost_points:.2f} points, best {ae_name(self.key)}∘{self.key} "
                f"{100 * self.best_ai:.2f}% ({self.best_from}) < {self.key} alone {100 * self.alone:.2f}%")


def limits(results: Results, ceiling: Results | None = None) -> list[Limit]:
    """The classifiers for which this run's instrument cannot give i's accuracy back (module doc), in the
    paper's order; empty when a number it needs is missing (nothing can be said)."""
    alone, through = results.top1.get(ALONE, {}), results.top1.get(PRETRAINED_AE, {})
    out = []
    for k in PAPER_CLASSIFIERS:
        a = ae_name(k)
        if k not in alone or k not in through or k not in results.top1.get(a, {}):
            continue
        candidates = [(results.top1[a][k], "decoder")]
        if ceiling is not None and k in ceiling.top1.get(a, {}):
            candidates.append((ceiling.top1[a][k], "both halves"))
        best, source = max(candidates)
        if 100 * (alone[k] - through[k]) > PAPER_LARGEST_COST + 1e-9 and best < alone[k]:
            out.append(Limit(k, alone[k], through[k], best, source))
    return out


def notes(results: Results, ceiling: Results | None = None) -> dict[str, str]:
    """Claim id -> what this run's instrument allows it, for the claims it concerns: "beyond this instrument"
    with the numbers, or "calibrated" for A_S's own cost where the scale's setting was chosen by the rule."""
    out = {}
    found = limits(results, ceiling)
    if found:
        numbers = "; ".join(x.text() for x in found)
        for cid, why in NEEDS_RECOVERY.items():
            out[cid] = f"beyond this instrument: it {why}, and {numbers}"
    if chosen_by_rule(results):
        out["table1.as_drop_range"] = (f"calibrated: this scale's A_S setting ({CHOSEN_BY_RULE[results.source]}) was chosen "
                                       "by the calibration rule on this cost (docs/instrument.md), so it is not evidence")
    return out


def chosen_by_rule(results: Results) -> bool:
    """Whether this run's A_S setting is the one the calibration rule chose for its scale (:data:`CHOSEN_BY_RULE`),
    read from the configuration its results record."""
    candidate = CHOSEN_BY_RULE.get(results.source)
    return candidate is not None and is_candidate(results.recorded_config, candidate)
