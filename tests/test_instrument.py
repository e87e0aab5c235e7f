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


def configured(r: Results, width: float, side: int, epochs: int, lr_cuts: int | None = None) -> Results:
    r.raw = {"provenance": {"config": {"ae": {"width": width}, "data": {"image_size": side},
                                       "pretrain": {"epochs": epochs, "lr_cuts": lr_cuts}}}}
    return r


def test_a_scale_chosen_by_the_rule_shows_a_s_cost_as_calibrated(monkeypatch):
    monkeypatch.setitem(instrument.CHOSEN_BY_RULE, "gpu", "w1.0-s64")
    got = notes(configured(run(0.70, 0.67, 0.71, source="gpu"), 1.0, 64, 1))
    assert list(got) == ["table1.as_drop_range"] and got["table1.as_drop_range"].startswith("calibrated: ")
    assert "calibrated: this scale's A_S setting (w1.0-s64)" in got["table1.as_drop_range"]
    assert "table1.as_drop_range: this scale's A_S setting" in instrument_paragraph(got)


def test_only_the_chosen_setting_is_calibrated(monkeypatch):
    """An earlier protocol of a chosen scale, or a run of it with another A_S, was not chosen by the rule."""
    monkeypatch.setitem(instrument.CHOSEN_BY_RULE, "cpu", "w0.5-s32-plateau")
    assert "table1.as_drop_range" in notes(configured(run(0.70, 0.67, 0.71), 0.5, 32, 10, 2))
    assert notes(configured(run(0.70, 0.67, 0.71), 0.5, 32, 1)) == {}  # one epoch: the earlier protocol
    assert notes(configured(run(0.70, 0.67, 0.71), 1.0, 32, 10, 2)) == {}  # another width
    assert notes(run(0.70, 0.67, 0.71)) == {}  # no configuration recorded


def test_candidate_settings_are_the_committed_records():
    """calibration.CANDIDATE_SETTINGS names what scripts/calibrate.sh ran for each committed record."""
    from pathlib import Path

    from repro.calibration import CANDIDATE_SETTINGS, CANDIDATES, read_calibration

    assert set(CANDIDATE_SETTINGS) == set(CANDIDATES)
    root = Path(__file__).resolve().parents[1] / "artifacts" / "instrument"
    found = [c for c in CANDIDATES if (root / c / "calibration.json").is_file()]
    if not found:
        pytest.skip("no committed calibration records")
    for c in found:
        setting = read_calibration(root / c)["setting"]
        assert {k: setting[k] for k in CANDIDATE_SETTINGS[c]} == CANDIDATE_SETTINGS[c], c


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
