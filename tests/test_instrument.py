"""What a run's instrument can decide (repro.claims.instrument, docs/instrument.md): which claims it marks,
from which numbers, and how the report shows the mark beside the verdict."""

from __future__ import annotations

import pytest

from repro.claims import instrument
from repro.claims.instrument import NEEDS_RECOVERY, limits, notes
from repro.report import instrument_paragraph, summary_headers, summary_rows
from repro.results import ALONE, PRETRAINED_AE, Results, ae_name
from repro.vocabulary import PAPER_CLASSIFIERS


def run(alone: float, through_as: float, own: float, *, source: str = "cpu", **overrides: float) -> Results:
    """Every classifier at the same numbers, but those named in ``overrides`` (key -> own A_i∘i)."""
    top1 = {ALONE: {k: alone for k in PAPER_CLASSIFIERS}, PRETRAINED_AE: {k: through_as for k in PAPER_CLASSIFIERS}}
    for k in PAPER_CLASSIFIERS:
        top1[ae_name(k)] = {k: overrides.get(k, own)}
    return Results(source=source, classifiers=list(PAPER_CLASSIFIERS), top1=top1)


def test_a_costly_a_s_whose_fine_tuning_stays_below_i_marks_the_recovery_claims():
    r = run(0.70, 0.60, 0.68)
    assert [x.key for x in limits(r)] == list(PAPER_CLASSIFIERS)
    got = notes(r)
    assert set(got) == set(NEEDS_RECOVERY)
    assert "V: A_S costs 10.00 points, best A_V∘V 68.00% (decoder) < V alone 70.00%" in got["noise.ai_above"]


def test_the_paper_regime_marks_nothing():
    assert notes(run(0.70, 0.67, 0.68)) == {}  # a cost of 3 points: within the paper's band
    assert notes(run(0.70, 0.60, 0.71)) == {}  # fine-tuning gives i back


def test_one_limited_classifier_is_enough_and_is_named():
    r = run(0.70, 0.60, 0.71, V=0.65)
    assert [x.key for x in limits(r)] == ["V"]
    assert set(notes(r)) == set(NEEDS_RECOVERY)


def test_a_ceiling_diagnostic_that_reaches_i_lifts_the_limit():
    r = run(0.70, 0.60, 0.71, V=0.65)
    both = run(0.70, 0.60, 0.66, V=0.70)
    assert limits(r, both) == []
    below = run(0.70, 0.60, 0.66, V=0.67)
    (v,) = limits(r, below)
    assert v.best_ai == 0.67 and v.best_from == "both halves"


def test_missing_numbers_say_nothing():
    r = run(0.70, 0.60, 0.68)
    del r.top1[ae_name("V")]
    assert "V" not in [x.key for x in limits(r)]


def test_a_scale_chosen_by_the_rule_shows_a_s_cost_as_calibrated(monkeypatch):
    monkeypatch.setitem(instrument.CHOSEN_BY_RULE, "gpu", "w1.0-s64")
    got = notes(run(0.70, 0.67, 0.71, source="gpu"))
    assert list(got) == ["table1.as_drop_range"] and got["table1.as_drop_range"].startswith("calibrated: ")
    assert "calibrated: this scale's A_S setting (w1.0-s64)" in got["table1.as_drop_range"]
    assert "table1.as_drop_range: this scale's A_S setting" in instrument_paragraph(got)


def test_the_summary_has_the_column_only_where_something_is_marked():
    from repro.claims import evaluate

    r = run(0.70, 0.60, 0.68)
    verdicts = evaluate(r, resamples=0)
    marked = notes(r)
    assert summary_headers({}) == ["claim", "section", "verdict", "support", "ours"]
    assert summary_headers(marked)[3] == "instrument"
    rows = {row[0]: row for row in summary_rows(verdicts, marked)}
    assert rows["table1.ai_recovers"][3] == "beyond this instrument" and rows["table1.as_below"][3] == ""
    assert all(len(row) == 5 for row in summary_rows(verdicts, {}))
    text = instrument_paragraph(marked)
    assert text.startswith("**What this instrument can decide**") and "not whether the paper's claim holds" in text
    assert instrument_paragraph({}) == ""


@pytest.mark.parametrize("cid", sorted(NEEDS_RECOVERY))
def test_every_marked_claim_exists(cid):
    from repro.claims import CLAIMS

    assert cid in CLAIMS
