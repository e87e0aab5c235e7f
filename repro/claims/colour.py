"""Sec. 3.3.1 (Fig. 3): what the fine-tuned AEs do to colour, as LAB statistics (see repro.colour)."""

from __future__ import annotations

from repro.claims.core import NotMeasured, Outcome, claim
from repro.results import Results

FINE_TUNED_PAPER = ("A_L", "A_A", "A_V", "A_I", "A_R")


# How each claim's number is read from an AE's entry of results.json's "lab" (keys: repro.colour).
STATISTICS = {
    "total_change": lambda s: s["total_change"],  # mean CIE76 colour difference to the original
    # Checkerboard artifacts show in every channel (the paper points at peaks in the a and b
    # histograms), so we take the mean of the three channels' Nyquist power shares.
    "checkerboard_energy": lambda s: sum(s["checkerboard"][c] for c in "Lab") / 3,
    "luminance_range_ratio": lambda s: s["L_range"] / s["L_range_original"],  # < 1: compressed
    "mean_a_shift": lambda s: s["mean_shift"]["a"],  # > 0: towards red/magenta (pink)
    "mean_b_shift": lambda s: s["mean_shift"]["b"],  # > 0: towards yellow (less blue)
}


def _stat(results: Results, key: str) -> dict[str, float]:
    """The statistic ``key`` for every fine-tuned AE that has LAB statistics."""
    if not results.lab:
        raise NotMeasured("no LAB statistics in the results")
    values = {}
    for ae, stats in results.lab.items():
        if ae.startswith("A_") and ae != "A_S" and isinstance(stats, dict):
            try:
                values[ae] = float(STATISTICS[key](stats))
            except (KeyError, ZeroDivisionError):
                continue
    if len(values) < 2:
        raise NotMeasured(f"LAB statistic {key!r} for fewer than two fine-tuned AEs")
    return values


def _ranked(values: dict[str, float], reverse: bool = True) -> str:
    return ", ".join(f"{ae} {v:.4g}" for ae, v in sorted(values.items(), key=lambda kv: kv[1], reverse=reverse))


@claim("colour.av_smallest", "3.3.1", "the changes made by A_V are the smallest (mean absolute LAB difference)",
       "A_V smallest (Fig. 3)", resamplable=False)
def av_smallest(results: Results) -> Outcome:
    change = _stat(results, "total_change")
    if "A_V" not in change:
        raise NotMeasured("no LAB statistics for A_V")
    return Outcome(min(change, key=change.get) == "A_V", _ranked(change, reverse=False), change["A_V"])


@claim("colour.checkerboard", "3.3.1",
       "A_A and A_R show checkerboard artifacts: the two highest checkerboard energies among the fine-tuned AEs",
       "A_A and A_R (Fig. 3, peaks in the A and B histograms)", resamplable=False)
def checkerboard(results: Results) -> Outcome:
    energy = _stat(results, "checkerboard_energy")
    top2 = sorted(energy, key=energy.get, reverse=True)[:2]
    return Outcome(set(top2) == {"A_A", "A_R"}, _ranked(energy), energy.get("A_A"))


@claim("colour.luminance_range", "3.3.1",
       "A_R and A_I compress the luminance range (dark brighter, bright darker): their L range is narrower than the originals'",
       "A_R and A_I compressed (Fig. 3)", resamplable=False)
def luminance(results: Results) -> Outcome:
    ratio = _stat(results, "luminance_range_ratio")
    missing = [ae for ae in ("A_R", "A_I") if ae not in ratio]
    if missing:
        raise NotMeasured(f"no luminance range for {', '.join(missing)}")
    return Outcome(ratio["A_R"] < 1 and ratio["A_I"] < 1, "range ratio recon/original: " + _ranked(ratio, reverse=False),
                   max(ratio["A_R"], ratio["A_I"]))


def _largest_positive_shift(ae: str, statistic: str):
    """The claim that ``ae`` shifts a colour channel most, and in the positive direction."""

    def check(results: Results) -> Outcome:
        shift = _stat(results, statistic)
        if ae not in shift:
            raise NotMeasured(f"no LAB statistics for {ae}")
        return Outcome(shift[ae] > 0 and max(shift, key=shift.get) == ae, _ranked(shift), shift[ae])

    return check


claim("colour.ai_b_shift", "3.3.1",
      "A_I shifts B towards yellow (lack of blue): the largest positive mean b shift among the fine-tuned AEs",
      "A_I yellow/brown tint (Fig. 3)", resamplable=False)(_largest_positive_shift("A_I", "mean_b_shift"))

claim("colour.aa_pink", "3.3.1",
      "A_A gives a pink hue: the largest positive mean a shift (towards magenta) among the fine-tuned AEs",
      "A_A pink (Fig. 3)", resamplable=False)(_largest_positive_shift("A_A", "mean_a_shift"))
