"""What the data must show before a claim can be decided, declared once with the reasons.

Declared before any new results were seen, like the tolerances beside them
(:mod:`repro.claims.tolerances`); none names a claim's outcome. A claim lists the preconditions it
depends on (``requires=`` in :func:`repro.claims.core.claim`); its check raises
:class:`repro.claims.core.NotMeasured` when the results lack what it speaks about ("five") and
:class:`repro.claims.core.Inconclusive` when the numbers are there but cannot decide it (all others).
The report prints each claim's preconditions beside its verdict.

Only the five classifiers of the paper are read: ``C = {L, A, V, I, R}`` (Sec. 3.3.1). Extra
classifiers in a results file (a user's own, a later feature) are dropped in one place,
:func:`repro.claims.core.paper_view`, before any claim runs, so they can never change a verdict.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Precondition:
    id: str
    requires: str  # what the data must show
    reason: str  # why a claim cannot be decided without it
    verdict: str  # the verdict when it is not met


PRECONDITIONS: dict[str, Precondition] = {
    p.id: p
    for p in (
        Precondition(
            "five",
            "all five classifiers L, A, V, I, R, and every autoencoder and measurement the claim names for them",
            "the paper's statements quantify over C = {L, A, V, I, R}: 'every classifier', 'the highest AE' or "
            "'the only element that changes' over a subset is a different statement (over A_A and A_R alone, "
            "'the two highest' names both of them whatever they look like)",
            "not measured",
        ),
        Precondition(
            "separated",
            "the values a comparison or an ordering rests on are not tied",
            "a tie is no order: 'X above Y' and 'X below Y' are equally wrong about equal numbers. Ties are exact "
            "(tolerances.TIE, float rounding); whether a non-tied difference is beyond its uncertainty is the "
            "bootstrap's to say (support rule)",
            "inconclusive",
        ),
        Precondition(
            "above_chance",
            "every nMI value a comparison or ordering reads lies above its chance level (chance-corrected nMI > 0: "
            "the pair's nMI minus that of the same pair with one image's pixels shuffled, repro.analysis.nmi)",
            "at or below the chance level an nMI measures how the two images' histograms fill the joint histogram "
            "(the plug-in estimate's bias), not information they share; ranking such values ranks that bias",
            "inconclusive",
        ),
        Precondition(
            "two_concepts",
            "the concept lattice the claim describes has at least two concepts",
            "a one-concept lattice (every classifier has the same intent: nothing separates them at that t) is a "
            "chain and a total order of nothing; any statement about a lattice's shape or order holds for it by "
            "construction (all([]) is True)",
            "inconclusive",
        ),
        Precondition(
            "singles_out",
            "where a claim says one AE (or some pairs) keeps a classifier's accuracy above a threshold, or does not, "
            "some other AE (some other pair) must do otherwise",
            "a property that every AE (every pair) shares says nothing about the one the paper names: a grid whose "
            "every RRC exceeds 0.9 makes 'A_V keeps R at 90%' true of every AE, and the paper's point, that A_V is "
            "special, is not tested",
            "inconclusive",
        ),
        Precondition(
            "two_intervals",
            "at least two stable intervals of t inside (0, 1] (intervals between two distinct RRC values)",
            "the paper's two intervals are the widest ranges of t over which the context stays the same; a grid "
            "with fewer has no second range to compare, which is a fact about the data, not a missing measurement",
            "inconclusive",
        ),
        Precondition(
            "bounded_interval",
            "the stable interval containing the paper's threshold is bounded by two RRC values inside (0, 1]",
            "an interval that reaches -inf (no RRC below it) has no lower end to compare with a printed one",
            "inconclusive",
        ),
        Precondition(
            "power",
            "a claim of no correlation needs enough classifiers that the exact test could reject independence "
            "for a rank order that is not perfect",
            "with five classifiers, only a perfect rank order is significant at 5% (Spearman, exact two-sided "
            "p = 2/120 = 0.017; one swap already gives 0.083), so 'no correlation' cannot be told from 'too few "
            "classifiers to see one'; a perfect rank order still decides it (fails)",
            "inconclusive",
        ),
    )
}


def describe(ids: tuple[str, ...] | list[str]) -> str:
    """One line naming what each precondition requires.

    >>> describe(["two_concepts"])
    'the concept lattice the claim describes has at least two concepts'
    """
    return "; ".join(PRECONDITIONS[i].requires for i in ids)
