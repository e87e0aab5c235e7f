"""Sec. 3.3.2 (Figs. 4, 5): accuracy under additive uniform noise U[-s, s].

Every claim reads the curves of all five classifiers (alone, with A_S, with their own A_i).

Levels near chance. At strong noise every curve sinks to chance (1/K for K classes) and the
differences between two curves there are sampling noise. No level is dropped: with per-image noise
data the bootstrap makes such a level's comparison undecidable (support below 95%), which leaves a
claim inconclusive, never passes or fails it on its own; without them (older results) each level's
difference is taken as measured, and an exact tie is inconclusive ("separated").
"""

from __future__ import annotations

import numpy as np

from repro.claims import tolerances as tol
from repro.claims.core import CLASSIFIERS, NotMeasured, Outcome, claim, need, positive
from repro.results import Results, ae_name

_NOISE_TOL = f"a rise of at most {tol.NOISE_RISE} between consecutive levels counts as falling (binomial noise near chance)"


def _curves(results: Results, setting: str) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Noise curves of the five classifiers alone ("none"), with A_S ("A_S") or with their own AE ("A_i")."""
    need(results)
    if not results.noise:
        raise NotMeasured("no noise sweep in the results")
    levels = np.asarray(results.noise["levels"], dtype=float)
    top1 = results.noise["top1"]
    table, missing = {}, []
    for c in CLASSIFIERS:
        curve = top1.get(ae_name(c) if setting == "A_i" else setting, {}).get(c)
        if curve is None:
            missing.append(c)
        else:
            table[c] = np.asarray(curve, dtype=float)
    if missing:
        raise NotMeasured(f"no noise curves for {setting!r} of {', '.join(missing)}")
    return levels, table


def _noisy(levels: np.ndarray) -> np.ndarray:
    """The levels with noise (s > 0). s = 0 is Table 1's comparison (clean images), which the table1
    claims decide; Sec. 3.3.2's statements are about what happens once noise is added."""
    mask = levels > 0
    if not mask.any():
        raise NotMeasured("the noise sweep has no level s > 0")
    return mask


def _margins(d: dict[str, float]) -> str:
    return ", ".join(f"{c} {m:+.4f}" for c, m in d.items())


@claim("noise.falls", "3.3.2", "the accuracy of each classifier falls as the noise level s grows",
       "all five classifiers (Fig. 4)", tolerance=_NOISE_TOL)
def falls(results: Results) -> Outcome:
    levels, alone = _curves(results, "none")
    bad = [c for c, acc in alone.items() if np.max(np.diff(acc)) > tol.NOISE_RISE or acc[-1] >= acc[0]]
    largest = max(float(np.max(np.diff(acc))) for acc in alone.values())
    total = min(float(acc[0] - acc[-1]) for acc in alone.values())
    ours = (f"falls for {len(alone) - len(bad)} of {len(alone)}" + (f" (not: {', '.join(bad)})" if bad else "")
            + f"; largest rise {largest:+.4f}; smallest fall from first to last level {total:+.4f}")
    return Outcome(not bad, ours, quantities={"largest rise between consecutive levels": largest,
                                              "smallest fall from the first to the last level": total})


@claim("noise.as_worse", "3.3.2", "A_S∘i is below i at every noise level", "all classifiers, all levels (Fig. 5)",
       requires=("separated",))
def as_worse(results: Results) -> Outcome:
    # All levels, s = 0 included: "using reconstructions from A_S worsens performance even more", in
    # line with Table 1's A_S∘i below i.
    levels, alone = _curves(results, "none")
    _, with_as = _curves(results, "A_S")
    margins = {c: float(np.min(alone[c] - with_as[c])) for c in CLASSIFIERS}
    ours = "smallest margin i - A_S∘i over levels: " + _margins(margins)
    smallest = min(margins.values())
    return Outcome(positive(smallest, "the smallest margin", ours), ours, quantities={"smallest i - A_S∘i": smallest})


@claim("noise.ai_above", "3.3.2", "A_i∘i is above i at every noise level s > 0 (the fine-tuned AEs denoise)",
       "all classifiers, all levels (Fig. 5)", requires=("separated",))
def ai_above(results: Results) -> Outcome:
    levels, alone = _curves(results, "none")
    _, with_ai = _curves(results, "A_i")
    noisy = _noisy(levels)
    margins = {c: float(np.min((with_ai[c] - alone[c])[noisy])) for c in CLASSIFIERS}
    ours = "smallest margin A_i∘i - i over s > 0: " + _margins(margins)
    smallest = min(margins.values())
    return Outcome(positive(smallest, "the smallest margin", ours), ours, quantities={"smallest A_i∘i - i (s > 0)": smallest})


@claim("noise.alexnet_lenet", "3.3.2",
       "at s = 0.3 AlexNet falls below LeNet-5 on raw inputs, but A_A∘A stays above LeNet-5",
       "A < L at s = 0.3; A_A∘A > L", requires=("separated",))
def alexnet_lenet(results: Results) -> Outcome:
    levels, alone = _curves(results, "none")
    _, with_ai = _curves(results, "A_i")
    k = int(np.argmin(np.abs(levels - 0.3)))
    if abs(levels[k] - 0.3) > 1e-6:
        raise NotMeasured("the noise sweep has no level s = 0.3")
    a, l, aa = alone["A"][k], alone["L"][k], with_ai["A"][k]
    ours = f"s=0.3: A {a:.4f}, L {l:.4f}, A_A∘A {aa:.4f}"
    below, above = float(l - a), float(aa - l)
    holds = positive(min(below, above), "the smaller margin", ours)
    return Outcome(holds, ours, quantities={"L - A at s = 0.3": below, "A_A∘A - L at s = 0.3": above})


# "The most pronounced difference can be seen with AlexNet" (Sec. 3.3.2), after "A_i∘i present higher
# accuracies for all levels of noise": the difference between A_i∘i and i, summarised over the noisy
# levels by its mean (the area between the two curves per unit of s, on an even grid of levels).
@claim("noise.alexnet_gain", "3.3.2",
       "the gain of A_i∘i over i under noise (mean over levels s > 0) is largest for AlexNet",
       "AlexNet: the most pronounced difference (Fig. 5)", requires=("separated",))
def alexnet_gain(results: Results) -> Outcome:
    levels, alone = _curves(results, "none")
    _, with_ai = _curves(results, "A_i")
    noisy = _noisy(levels)
    gain = {c: float(np.mean((with_ai[c] - alone[c])[noisy])) for c in CLASSIFIERS}
    ours = "mean A_i∘i - i over s > 0: " + _margins(gain)
    lead = gain["A"] - max(v for c, v in gain.items() if c != "A")
    return Outcome(positive(lead, "AlexNet's lead", ours), ours, quantities={"A's gain - the next largest": lead})
