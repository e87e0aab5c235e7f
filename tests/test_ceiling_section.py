"""The report's ceiling section reads a diagnostic run (both AE halves fine-tuned) only where it moved:
a diagnostic that kept A_S itself (its best check at 0 images) bounds nothing and is said to."""

from __future__ import annotations

from types import SimpleNamespace

from repro.report import ceiling_section
from repro.results import Results


def _run(top1: dict[str, dict[str, float]], kept: dict[str, int] | None = None) -> Results:
    finetune = {ae: {"best": {"images_seen": n}} for ae, n in (kept or {}).items()}
    return Results(source="cpu", classifiers=["A", "V"], top1=top1, raw={"finetune": finetune})


OURS = _run({"none": {"A": 0.66, "V": 0.76}, "A_S": {"A": 0.60, "V": 0.67},
             "A_A": {"A": 0.64, "V": 0.49}, "A_V": {"A": 0.62, "V": 0.72}})


def _text(ceiling: Results) -> str:
    (section,) = ceiling_section(SimpleNamespace(results=OURS, ceiling=ceiling))
    return section.markdown


def test_a_diagnostic_that_kept_a_s_measures_no_ceiling():
    ceiling = _run({"none": {"A": 0.66, "V": 0.76}, "A_A": {"A": 0.60}, "A_V": {"V": 0.74}}, {"A_A": 0, "A_V": 40_000})
    text = _text(ceiling)
    assert "For A no check of the diagnostic beat A_S" in text and "measures no ceiling" in text
    assert "For V the diagnostic improved on A_S and still stays below i alone" in text
    assert "40,000" in text  # where the diagnostic's kept check was


def test_no_ceiling_run_no_section():
    assert ceiling_section(SimpleNamespace(results=OURS, ceiling=None)) == []
