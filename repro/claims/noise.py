"""Sec. 3.3.2 (Figs. 4, 5): accuracy under additive uniform noise U[-s, s]."""

from __future__ import annotations

import numpy as np

from repro.claims import tolerances as tol
from repro.claims.core import NotMeasured, Outcome, claim, need
from repro.results import Results, ae_name

_NOISE_TOL = f"a rise of at most {tol.NOISE_RISE} between consecutive levels counts as falling (binomial noise near chance)"


def _curves(results: Results, setting: str) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Noise curves of each classifier alone ("none"), with A_S ("A_S") or with its own AE ("A_i")."""
    if not results.noise:
        raise NotMeasured("no noise sweep in the results")
    levels = np.asarray(results.noise["levels"], dtype=float)
    top1 = results.noise["top1"]
    if setting == "A_i":
        table = {c: top1[ae_name(c)][c] for c in results.classifiers if c in top1.get(ae_name(c), {})}
    else:
        table = top1.get(setting, {})
    if not table:
        raise NotMeasured(f"no noise curves for {setting!r}")
    return levels, {c: np.asarray(v, dtype=float) for c, v in table.items()}


@claim("noise.falls", "3.3.2", "the accuracy of each classifier falls as the noise level s grows",
       "all five classifiers (Fig. 4)", tolerance=_NOISE_TOL, resamplable=False)
def falls(results: Results) -> Outcome:
    levels, alone = _curves(results, "none")
    bad = [c for c, acc in alone.items() if np.max(np.diff(acc)) > tol.NOISE_RISE or acc[-1] >= acc[0]]
    largest = max(float(np.max(np.diff(acc))) for acc in alone.values())
    return Outcome(not bad, f"falls for {len(alone) - len(bad)} of {len(alone)}" + (f" (not: {', '.join(bad)})" if bad else "")
                   + f"; largest rise {largest:+.4f}", largest)


@claim("noise.as_worse", "3.3.2", "A_S∘i is below i at every noise level", "all classifiers, all levels (Fig. 5)",
       resamplable=False)
def as_worse(results: Results) -> Outcome:
    levels, alone = _curves(results, "none")
    _, with_as = _curves(results, "A_S")
    margins = {c: float(np.min(alone[c] - with_as[c])) for c in alone if c in with_as}
    bad = [c for c, m in margins.items() if m <= 0]
    return Outcome(not bad, "smallest margin " + ", ".join(f"{c} {m:+.4f}" for c, m in margins.items()), min(margins.values()))


@claim("noise.ai_above", "3.3.2", "A_i∘i is above i at every noise level (the fine-tuned AEs denoise)",
       "all classifiers, all levels (Fig. 5)", resamplable=False)
def ai_above(results: Results) -> Outcome:
    levels, alone = _curves(results, "none")
    _, with_ai = _curves(results, "A_i")
    margins = {c: float(np.min(with_ai[c] - alone[c])) for c in alone if c in with_ai}
    bad = [c for c, m in margins.items() if m <= 0]
    return Outcome(not bad, "smallest margin " + ", ".join(f"{c} {m:+.4f}" for c, m in margins.items()), min(margins.values()))


@claim("noise.alexnet_lenet", "3.3.2",
       "at s = 0.3 AlexNet falls below LeNet-5 on raw inputs, but A_A∘A stays above LeNet-5",
       "A < L at s = 0.3; A_A∘A > L", resamplable=False)
def alexnet_lenet(results: Results) -> Outcome:
    need(results, "A", "L")
    levels, alone = _curves(results, "none")
    _, with_ai = _curves(results, "A_i")
    k = int(np.argmin(np.abs(levels - 0.3)))
    if abs(levels[k] - 0.3) > 1e-6:
        raise NotMeasured("the noise sweep has no level s = 0.3")
    a, l, aa = alone["A"][k], alone["L"][k], with_ai["A"][k]
    return Outcome(a < l and aa > l, f"s=0.3: A {a:.4f}, L {l:.4f}, A_A∘A {aa:.4f}", float(l - a))
