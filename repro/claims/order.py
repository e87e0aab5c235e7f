"""The order the paper reads from its lattices: which total order the chains have (Sec. 3.4), how it
aligns with the nMI order (Sec. 3.5), and that it correlates neither with accuracy nor with size
(Abstract, Sec. 4).

In a concept lattice a classifier's intent is the set of AEs whose signal lets it keep at least t of
the weaker model's accuracy (RRC >= t), and an AE's extent the set of classifiers it does that for.
A classifier with a small intent needs its own AE's signal ("the most exhaustive use of the input
signal", V in the paper); an AE with a large extent keeps a signal that every classifier can use.
"""

from __future__ import annotations

import functools
import itertools

import numpy as np
from scipy.stats import rankdata

from repro.claims import tolerances as tol
from repro.claims.core import CLASSIFIERS, NotMeasured, Outcome, claim, is_paper_tables, need, positive, unmet
from repro.claims.cross import _rrc, lattice_at, require_two_concepts
from repro.results import ALONE, Results
from repro.claims.nmi import corrected_nmi

# The chains of Fig. 7b (t = 0.2) and Fig. 7c (t = 0.8), read from the lattices that Table 2 gives
# (the analysis report draws them): classifiers from the smallest intent to the largest, AEs from the
# largest extent to the smallest; names in one tuple share a concept.
PAPER_CHAINS = {
    0.2: {"classifiers": (("V",), ("L",), ("R",), ("A", "I")),
          "aes": (("A_V", "A_I"), ("A_L",), ("A_R",), ("A_A",))},
    0.8: {"classifiers": (("V",), ("L",), ("R",), ("A",), ("I",)),
          "aes": (("A_V",), ("A_L",), ("A_R",), ("A_A",), ("A_I",))},
}


def _chain_text(levels: tuple[tuple[str, ...], ...], sep: str) -> str:
    return f" {sep} ".join(" = ".join(level) for level in levels)


def _strict_pairs(levels: tuple[tuple[str, ...], ...]) -> list[tuple[str, str]]:
    """Pairs (x, y) with x on an earlier level than y: the pairs a chain orders strictly."""
    return [(x, y) for a, b in itertools.combinations(range(len(levels)), 2) for x in levels[a] for y in levels[b]]


def _order_claim(t: float):
    chain = PAPER_CHAINS[t]

    def check(results: Results) -> Outcome:
        grid, r = _rrc(results)
        lattice = lattice_at(grid, r, t)
        intent = {c: {ae for ae, m in zip(grid.ae_labels(), r[:, j] >= t) if m} for j, c in enumerate(grid.classifiers)}
        extent = {ae: {c for c, m in zip(grid.classifiers, r[i] >= t) if m} for i, ae in enumerate(grid.ae_labels())}
        ours = ("intents: " + "; ".join(f"{c} {len(intent[c])}" for c in grid.classifiers)
                + " | extents: " + "; ".join(f"{ae} {len(extent[ae])}" for ae in grid.ae_labels()))
        require_two_concepts(lattice, f"at t = {t}", ours)
        # Every pair the paper's chain orders strictly must be ordered the same way (strict inclusion);
        # pairs the paper puts in one concept may fall either way.
        wrong = [f"{x} !< {y}" for x, y in _strict_pairs(chain["classifiers"]) if not intent[x] < intent[y]]
        wrong += [f"{x} !> {y}" for x, y in _strict_pairs(chain["aes"]) if not extent[x] > extent[y]]
        ours += f"; {'a chain' if lattice.is_chain else 'not a chain'}" + (f"; out of order: {', '.join(wrong)}" if wrong else "")
        return Outcome(not wrong, ours)

    return check


for _t, _fig in ((0.2, "7b"), (0.8, "7c")):
    claim(
        f"fca.order_t0{int(_t * 10)}",
        "3.4",
        f"at t = {_t} the chain orders the classifiers {_chain_text(PAPER_CHAINS[_t]['classifiers'], '<')} (by intent) "
        f"and the AEs {_chain_text(PAPER_CHAINS[_t]['aes'], '>')} (by extent)",
        f"Fig. {_fig}, as Table 2 gives it",
        tolerance="every pair the paper's chain orders strictly is ordered the same way; ties of the paper's may fall either way",
        requires=("two_concepts",),
    )(_order_claim(_t))


# --- Sec. 3.5: the nMI order against the lattice of Fig. 7b ------------------------------------

PAPER_NMI_ORDER = ("A_V", "A_I", "A_L", "A_R", "A_A")  # Sec. 3.5, "regardless of the variant of nMI"


def _intra_nmi(results: Results) -> dict[str, dict[str, float]]:
    """Chance-corrected intra-nMI of the five fine-tuned AEs per variant (repro.claims.nmi, the values
    every nMI claim reads); for the paper's tables, its stated order.

    The paper prints its nMI only as bars (Fig. 9) and the order in the text; on its own tables the
    order stands in for the numbers (5 > 4 > ... for A_V > A_I > ...).
    """

    if is_paper_tables(results) and not results.nmi:
        return {"the paper's stated order": {ae: float(len(PAPER_NMI_ORDER) - k) for k, ae in enumerate(PAPER_NMI_ORDER)}}
    return corrected_nmi(results, "intra")


@claim(
    "nmi.aligns_with_lattice",
    "3.5",
    "the nMI order of the fine-tuned AEs aligns with the AEs' order in the lattice at t = 0.2 (Fig. 7b): an AE whose "
    "extent strictly contains another's has the higher intra-nMI, for every nMI variant",
    "A_V > A_I > A_L > A_R > A_A, aligned with Fig. 7b",
    tolerance="pairs of AEs in one concept of the lattice may have either order; chance-corrected intra-nMI",
    requires=("two_concepts", "above_chance", "separated"),
)
def aligns_with_lattice(results: Results) -> Outcome:
    grid, r = _rrc(results)
    lattice = lattice_at(grid, r, 0.2)
    extent = {ae: {c for c, m in zip(grid.classifiers, r[i] >= 0.2) if m} for i, ae in enumerate(grid.ae_labels())}
    table = _intra_nmi(results)
    ours = "extents at t = 0.2: " + ", ".join(f"{ae} {len(e)}" for ae, e in extent.items())
    require_two_concepts(lattice, "at t = 0.2", ours)
    pairs = [(x, y) for x in extent for y in extent if extent[x] > extent[y]]
    margins = {f"{variant}: {x} - {y}": v[x] - v[y] for variant, v in table.items() for x, y in pairs}
    for variant, v in table.items():
        ours += f"; {variant}: " + " > ".join(sorted(v, key=lambda ae: -v[ae]))
    worst = min(margins, key=margins.get)
    quantities = {"smallest nMI margin of a lattice-ordered pair": margins[worst]}
    at_floor = sorted(f"{ae} ({variant})" for variant, v in table.items() for ae, x in v.items() if x <= 0)
    if at_floor:
        raise unmet("above_chance", f"intra-nMI at or below its chance level for {', '.join(at_floor[:3])}", ours, quantities)
    return Outcome(positive(margins[worst], worst, ours), ours, quantities=quantities)


# --- Abstract, Sec. 4: no correlation with accuracy or size -----------------------------------

# Parameter counts for the paper's tables. A, V, I, R: torchvision's published counts
# (torchvision.models.*_Weights.IMAGENET1K_V1.meta["num_params"], torchvision 0.29: AlexNet_Weights,
# VGG16_BN_Weights, Inception_V3_Weights, ResNet50_Weights), the pre-trained models the paper used.
# L: the paper trained its own LeNet-5 "modified for 224x224" and gives no count; ours at 224x224 with
# 1,000 classes (repro.models.classifiers.LeNet5, every layer kept, the first FC layer widened).
PAPER_PARAMETERS = {"L": 5_491_436, "A": 61_100_840, "V": 138_365_992, "I": 27_161_264, "R": 25_557_032}


def signal_score(results: Results) -> dict[str, float]:
    """How much of a classifier's accuracy the other classifiers' AEs keep: the mean RRC(A_i∘j) over i != j.

    High: the others' signal suffices (the classifier uses a common portion); low: it needs its own
    AE's signal. On the paper's Table 2 it orders the classifiers as the chain of Fig. 7c (V < L < R < A < I).
    """
    grid, r = _rrc(results)
    return {c: float(np.mean([r[i, j] for i in range(len(grid.aes)) if grid.aes[i] != c])) for j, c in enumerate(grid.classifiers)}


@functools.lru_cache(maxsize=8)
def _permutations(n: int) -> np.ndarray:
    return np.array(list(itertools.permutations(range(n))))


def _rank_corr(rx: np.ndarray, ry: np.ndarray) -> np.ndarray:
    """Pearson correlation of rank vectors: ``rx`` (n,) against each row of ``ry`` (..., n)."""
    a = rx - rx.mean()
    b = ry - ry.mean(axis=-1, keepdims=True)
    return (b @ a) / np.sqrt((a @ a) * (b * b).sum(axis=-1))


def spearman(x: list[float], y: list[float]) -> float:
    """Spearman's rho (average ranks for ties), as scipy.stats.spearmanr gives it.

    >>> spearman([1, 2, 3], [3, 1, 2])
    -0.5
    """
    return float(_rank_corr(rankdata(x), rankdata(y)))


def exact_spearman_p(x: list[float], y: list[float]) -> float:
    """Two-sided p-value of Spearman's rho over every permutation of ``y`` (exact; n! permutations, small n).

    >>> round(exact_spearman_p([1, 2, 3, 4, 5], [1, 2, 3, 4, 5]), 4)
    0.0167
    """
    rx, ry = rankdata(x), rankdata(y)
    observed = abs(float(_rank_corr(rx, ry)))
    every = np.abs(_rank_corr(rx, ry[_permutations(len(ry))]))
    return float(np.mean(every >= observed - 1e-12))


@functools.lru_cache(maxsize=8)
def _has_power(n: int) -> bool:
    """Whether the exact test at n can reject independence for a rank order short of perfect.

    >>> _has_power(5), _has_power(6)
    (False, True)
    """
    ranks = list(range(n))
    one_swap = ranks[:-2] + [ranks[-1], ranks[-2]]
    return exact_spearman_p(ranks, one_swap) < tol.CORRELATION_LEVEL


def _size(results: Results) -> dict[str, float]:
    if is_paper_tables(results):
        return {c: float(PAPER_PARAMETERS[c]) for c in CLASSIFIERS}
    training = results.raw.get("classifier_training") or {}
    missing = [c for c in CLASSIFIERS if not isinstance(training.get(c), dict) or "parameters" not in training[c]]
    if missing:
        raise NotMeasured(f"no parameter count for {', '.join(missing)} (results.json classifier_training)")
    return {c: float(training[c]["parameters"]) for c in CLASSIFIERS}


def _accuracy(results: Results) -> dict[str, float]:
    need(results)
    alone = results.top1.get(ALONE, {})
    missing = [c for c in CLASSIFIERS if c not in alone]
    if missing:
        raise NotMeasured(f"no accuracy of {', '.join(missing)} alone")
    return {c: float(alone[c]) for c in CLASSIFIERS}


def _no_correlation(what: str, read):
    def check(results: Results) -> Outcome:
        score, other = signal_score(results), read(results)
        x, y = [score[c] for c in CLASSIFIERS], [other[c] for c in CLASSIFIERS]
        if np.ptp(x) <= tol.TIE or np.ptp(y) <= tol.TIE:  # constant: no ranks to correlate
            raise unmet("separated", f"the {'signal scores' if np.ptp(x) <= tol.TIE else what} are all tied")
        rho, p = spearman(x, y), exact_spearman_p(x, y)
        ours = (f"Spearman rho {rho:+.2f} (exact p = {p:.3f}, n = {len(x)}); signal score "
                + ", ".join(f"{c} {score[c]:.3f}" for c in CLASSIFIERS) + f"; {what} " + ", ".join(f"{c} {other[c]:.4g}" for c in CLASSIFIERS))
        if p < tol.CORRELATION_LEVEL:
            return Outcome(False, ours, quantities={"Spearman rho": rho})
        if not _has_power(len(x)):
            raise unmet("power", f"n = {len(x)}: only a perfect rank order is significant (rho {rho:+.2f}, p = {p:.3f})",
                        ours, {"Spearman rho": rho})
        return Outcome(True, ours, quantities={"Spearman rho": rho})

    return check


claim(
    "signal.no_corr_accuracy",
    "4",
    "what a classifier uses (mean RRC other classifiers' AEs keep for it) does not correlate with its accuracy",
    "\"does not correlate with classification accuracy\" (Abstract, Sec. 4)",
    tolerance=f"no significant Spearman rank correlation (exact two-sided test, {tol.CORRELATION_LEVEL:.0%})",
    requires=("power", "separated"),
)(_no_correlation("top-1 alone", _accuracy))

claim(
    "signal.no_corr_size",
    "4",
    "what a classifier uses (mean RRC other classifiers' AEs keep for it) does not correlate with its parameter count",
    "\"does not correlate with ... network size\" (Abstract, Sec. 4)",
    tolerance=f"no significant Spearman rank correlation (exact two-sided test, {tol.CORRELATION_LEVEL:.0%}); paper: "
              "torchvision's published parameter counts (L: ours at 224x224)",
    requires=("power", "separated"),
)(_no_correlation("parameters", _size))
