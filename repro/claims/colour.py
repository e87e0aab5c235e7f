"""Sec. 3.3.1 (Fig. 3): what the autoencoders do to colour, as LAB statistics (see repro.colour).

Each claim reads the statistics of all five fine-tuned AEs (A_L, A_A, A_V, A_I, A_R; and A_S where
it names it); with fewer it is "not measured" (a ranking among two AEs is a different statement).
"""

from __future__ import annotations

from repro.claims.core import CLASSIFIERS, NotMeasured, Outcome, claim, positive, unmet
from repro.results import PRETRAINED_AE, Results, ae_name

FINE_TUNED_PAPER = tuple(ae_name(c) for c in CLASSIFIERS)  # A_L, A_A, A_V, A_I, A_R


# How each claim's number is read from an AE's entry of results.json's "lab" (keys: repro.colour).
STATISTICS = {
    # Mean CIE76 colour difference to the original per pixel, sqrt(dL^2 + da^2 + db^2): the standard
    # single number for "how much the colours changed" in LAB, the space the paper compares in.
    "total_change": lambda s: s["total_change"],
    # Checkerboard artifacts show in every channel (the paper points at peaks in the a and b
    # histograms), so we take the mean of the three channels' Nyquist power shares.
    "checkerboard_energy": lambda s: sum(s["checkerboard"][c] for c in "Lab") / 3,
    # "Making dark areas brighter and bright areas darker" (Sec. 3.3.1): the dark end of the L
    # distribution (1st percentile) moves up and the bright end (99th percentile) moves down. The
    # range ratio alone cannot tell compression from a shift of the whole range.
    "dark_lift": lambda s: s["L_p01"] - s["L_p01_original"],  # > 0: dark areas brighter
    "bright_drop": lambda s: s["L_p99_original"] - s["L_p99"],  # > 0: bright areas darker
    "mean_a_shift": lambda s: s["mean_shift"]["a"],  # > 0: towards red/magenta (pink)
    "mean_b_shift": lambda s: s["mean_shift"]["b"],  # > 0: towards yellow (less blue)
}


def _stat(results: Results, key: str, aes: tuple[str, ...] = FINE_TUNED_PAPER) -> dict[str, float]:
    """The statistic ``key`` for each AE of ``aes`` (all of them, else NotMeasured)."""
    if not results.lab:
        raise NotMeasured("no LAB statistics in the results")
    values, missing = {}, []
    for ae in aes:
        stats = results.lab.get(ae)
        try:
            values[ae] = float(STATISTICS[key](stats))
        except (KeyError, TypeError, ZeroDivisionError):
            missing.append(ae)
    if missing:
        raise NotMeasured(f"no LAB statistic {key!r} for {', '.join(missing)}")
    return values


def _ranked(values: dict[str, float], reverse: bool = True) -> str:
    return ", ".join(f"{ae} {v:.4g}" for ae, v in sorted(values.items(), key=lambda kv: kv[1], reverse=reverse))


def _smallest(ae: str, values: dict[str, float], what: str) -> Outcome:
    """``ae`` has the smallest value: decided by the gap to the smallest of the others."""
    ours = _ranked(values, reverse=False)
    gap = min(v for k, v in values.items() if k != ae) - values[ae]
    return Outcome(positive(gap, f"the gap between {ae} and the next smallest {what}", ours), ours,
                   quantities={f"next smallest {what} - {ae}'s": gap})


# "Changes introduced by A_V are the smallest among all AEs" (Sec. 3.3.1), read among the fine-tuned
# AEs, the ones the paragraph describes; A_S is the subject of colour.as_least.
@claim("colour.av_smallest", "3.3.1",
       "the changes made by A_V are the smallest among the fine-tuned AEs (mean CIE76 colour difference ΔE to the original)",
       "A_V smallest (Fig. 3)", requires=("separated",))
def av_smallest(results: Results) -> Outcome:
    return _smallest("A_V", _stat(results, "total_change"), "ΔE")


# "Taking into account that the difference between x and A_S(x) is quite small" (Sec. 3.3.1, about
# Table 1): A_S, trained only to reconstruct, changes the image less than any fine-tuned AE.
@claim("colour.as_least", "3.3.1",
       "A_S changes the image least: its mean CIE76 colour difference ΔE to the original is below every fine-tuned AE's",
       "the difference between x and A_S(x) is quite small (Fig. 3)", requires=("separated",))
def as_least(results: Results) -> Outcome:
    return _smallest(PRETRAINED_AE, _stat(results, "total_change", (PRETRAINED_AE, *FINE_TUNED_PAPER)), "ΔE")


@claim("colour.checkerboard", "3.3.1",
       "A_A and A_R show checkerboard artifacts: the two highest checkerboard energies among the fine-tuned AEs",
       "A_A and A_R (Fig. 3, peaks in the A and B histograms)", requires=("separated",))
def checkerboard(results: Results) -> Outcome:
    energy = _stat(results, "checkerboard_energy")
    ours = _ranked(energy)
    gap = min(energy["A_A"], energy["A_R"]) - max(v for k, v in energy.items() if k not in ("A_A", "A_R"))
    return Outcome(positive(gap, "the gap between A_A, A_R and the rest", ours), ours,
                   quantities={"lower of A_A, A_R - highest other energy": gap})


@claim("colour.luminance_range", "3.3.1",
       "A_R and A_I compress the luminance range, making dark areas brighter and bright areas darker: the 1st "
       "percentile of L rises and the 99th falls against the originals'",
       "A_R and A_I compressed (Fig. 3)", requires=("singles_out",))
def luminance(results: Results) -> Outcome:
    aes = (PRETRAINED_AE, *FINE_TUNED_PAPER)
    lift, drop = _stat(results, "dark_lift", aes), _stat(results, "bright_drop", aes)
    compresses = {ae: lift[ae] > 0 and drop[ae] > 0 for ae in aes}
    ours = "; ".join(f"{ae} dark {lift[ae]:+.2f}, bright {-drop[ae]:+.2f}" for ae in aes) + " (L percentile shifts)"
    quantities = {f"{ae} {name}": d[ae] for ae in ("A_R", "A_I") for name, d in (("dark lift", lift), ("bright drop", drop))}
    if all(compresses[ae] for ae in aes if ae not in ("A_R", "A_I")):
        raise unmet("singles_out", "every other AE compresses the luminance range too", ours, quantities)
    return Outcome(all(v > 0 for v in quantities.values()), ours, quantities=quantities)


def _largest_positive_shift(ae: str, statistic: str, channel: str):
    """The claim that ``ae`` shifts a colour channel most, and in the positive direction."""

    def check(results: Results) -> Outcome:
        shift = _stat(results, statistic)
        ours = _ranked(shift)
        lead = shift[ae] - max(v for k, v in shift.items() if k != ae)
        holds = positive(lead, f"{ae}'s lead in {channel} shift", ours) and shift[ae] > 0
        return Outcome(holds, ours, quantities={f"{ae} mean {channel} shift": shift[ae],
                                                f"{ae} - next largest {channel} shift": lead})

    return check


claim("colour.ai_b_shift", "3.3.1",
      "A_I shifts B towards yellow (lack of blue): the largest positive mean b shift among the fine-tuned AEs",
      "A_I yellow/brown tint (Fig. 3)", requires=("separated",))(_largest_positive_shift("A_I", "mean_b_shift", "b"))

claim("colour.aa_pink", "3.3.1",
      "A_A gives a pink hue: the largest positive mean a shift (towards magenta) among the fine-tuned AEs",
      "A_A pink (Fig. 3)", requires=("separated",))(_largest_positive_shift("A_A", "mean_a_shift", "a"))
