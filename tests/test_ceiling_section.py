"""The report's ceiling section reads a diagnostic run (both AE halves fine-tuned) only where it moved:
a diagnostic that kept A_S itself (its best check at 0 images) bounds nothing and is said to."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

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


# --- A_S against its width (repro ceiling) ---------------------------------------------------------

def _width_record(width: float, through: dict[str, float], alone: dict[str, float] | None = None) -> dict:
    alone = alone or {"A": 0.66, "V": 0.76}
    return {"ae_width": width, "classifiers": list(alone), "pretrain": {"val_mse": 0.003},
            "test": {"n": 100, "mse": 0.004, "top1": {"none": alone, "A_S": through}}}


def test_width_rows_are_the_records_numbers_in_width_order():
    from repro.report import width_section

    ctx = SimpleNamespace(results=OURS, widths=[_width_record(1.0, {"A": 0.63, "V": 0.71}),
                                                _width_record(0.5, {"A": 0.60, "V": 0.67})], width_runs=[])
    (section,) = width_section(ctx)
    lines = section.markdown.splitlines()
    rows = [line for line in lines if line.startswith("| A_S at width") or line.startswith("| i alone")]
    assert [r.split("|")[1].strip() for r in rows] == ["i alone", "A_S at width 0.5", "A_S at width 1"]
    assert "63.00" in rows[2] and "71.00" in rows[2] and "60.00" in rows[1]
    assert width_section(SimpleNamespace(results=OURS, widths=[], width_runs=[])) == []


def test_a_width_record_of_other_classifiers_is_refused(tmp_path):
    import json


    from repro.ceiling import CEILING_FILE, read_ceiling
    from repro.errors import ReproError

    (tmp_path / CEILING_FILE).write_text(json.dumps(_width_record(1.0, {"A": 0.6, "V": 0.7}, {"A": 0.5, "V": 0.76})))
    with pytest.raises(ReproError, match="other classifiers or test images.*A 0.5000 vs 0.6600"):
        read_ceiling(tmp_path, OURS)
    (tmp_path / CEILING_FILE).write_text(json.dumps(_width_record(1.0, {"A": 0.6, "V": 0.7})))
    assert read_ceiling(tmp_path, OURS)["ae_width"] == 1.0
    (tmp_path / CEILING_FILE).write_text("{}")
    with pytest.raises(ReproError, match="not a record written by `repro ceiling`"):
        read_ceiling(tmp_path, OURS)
    with pytest.raises(ReproError, match="no ceiling.json there"):
        read_ceiling(tmp_path / "elsewhere", OURS)


@pytest.mark.slow
def test_repro_ceiling_measures_the_classifier_as_its_stage_did(tmp_path):
    """End to end at the smoke scale: i alone in ceiling.json is the classifier stage's own test top-1
    (the same images, the same model), and the record names A_S's width."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run([sys.executable, "-m", "repro.cli", "ceiling", "--scale", "smoke", "--classifiers", "L",
                    "--out", str(tmp_path), "--no-progress"], cwd=root, env=env, check=True, capture_output=True)
    record = json.loads((tmp_path / "ceiling.json").read_text())
    (done,) = (tmp_path / "ckpt" / "classifiers" / "L").glob("*/done.json")
    assert record["test"]["top1"]["none"]["L"] == json.loads(done.read_text())["summary"]["top1"]
    assert record["ae_width"] == 0.125 and record["test"]["n"] == 256
    assert 0.0 <= record["test"]["top1"]["A_S"]["L"] <= 1.0 and record["test"]["mse"] > 0
    other = subprocess.run([sys.executable, "-m", "repro.cli", "ceiling", "--scale", "smoke", "--classifiers", "L",
                            "--out", str(tmp_path), "--set", "ae.width=0.25", "--no-progress"], cwd=root, env=env,
                           capture_output=True, text=True)
    assert other.returncode == 2 and "another configuration (ae.width 0.125 -> 0.25)" in other.stderr


def test_the_gap_a_wider_a_s_closes_is_measured_against_this_runs_width():
    from repro.report import width_section

    ours = Results(source="cpu", classifiers=["A", "V"], top1=OURS.top1,
                   raw={"provenance": {"config": {"ae": {"width": 0.5}}}})
    ctx = SimpleNamespace(results=ours, widths=[_width_record(0.5, {"A": 0.60, "V": 0.67}),
                                                _width_record(1.0, {"A": 0.63, "V": 0.76})], width_runs=[])
    (section,) = width_section(ctx)
    closed = next(line for line in section.markdown.splitlines() if line.startswith("| gap closed by width 1"))
    assert "50%" in closed and "100%" in closed  # A: 3 of 6 points; V: all 9
    assert "A_i∘i stays below i alone for A, V" in section.markdown  # 0.64 < 0.66 and 0.72 < 0.76


def _width_run(width: float, top1: dict[str, dict[str, float]]) -> Results:
    return Results(source="cpu", classifiers=sorted(top1["none"]), top1=top1,
                   raw={"provenance": {"config": {"ae": {"width": width}}}})


def test_a_run_fine_tuned_from_a_wider_a_s_adds_its_row_and_reading():
    from repro.report import width_section

    ours = Results(source="cpu", classifiers=["A", "V"], top1=OURS.top1,
                   raw={"provenance": {"config": {"ae": {"width": 0.5}}}})
    wide = _width_run(1.0, {"none": {"A": 0.66}, "A_S": {"A": 0.63}, "A_A": {"A": 0.67}})
    ctx = SimpleNamespace(results=ours, widths=[_width_record(0.5, {"A": 0.60, "V": 0.67}),
                                                _width_record(1.0, {"A": 0.63, "V": 0.71})], width_runs=[wide])
    (section,) = width_section(ctx)
    row = next(line for line in section.markdown.splitlines() if line.startswith("| A_i∘i from width 1 (decoder)"))
    cells = [c.strip() for c in row.split("|")[1:-1]]
    assert cells[-2:] == ["67.00", ""]  # A measured there, V not
    assert "from A_S at width 1, A_i∘i reaches i alone for A." in section.markdown
    below = _width_run(1.0, {"none": {"A": 0.66}, "A_S": {"A": 0.63}, "A_A": {"A": 0.65}})
    (section,) = width_section(SimpleNamespace(results=ours, widths=ctx.widths, width_runs=[below]))
    assert "from A_S at width 1, A_i∘i stays below i alone for A." in section.markdown


def test_a_width_run_of_other_classifiers_or_no_width_is_refused(tmp_path):
    from repro.ceiling import check_width_run, read_width_run
    from repro.errors import ReproError

    with pytest.raises(ReproError, match="--width-runs .*no results.json there"):
        read_width_run(tmp_path, OURS)
    with pytest.raises(ReproError, match="other classifiers or test images.*A 0.5000 vs 0.6600"):
        check_width_run(_width_run(1.0, {"none": {"A": 0.5}, "A_A": {"A": 0.45}}), OURS, tmp_path)
    with pytest.raises(ReproError, match="no classifier in common"):
        check_width_run(_width_run(1.0, {"none": {"R": 0.7}, "A_R": {"R": 0.65}}), OURS, tmp_path)
    with pytest.raises(ReproError, match="records no ae.width"):
        check_width_run(Results(source="cpu", classifiers=["A"], top1={"none": {"A": 0.66}}), OURS, tmp_path)
    run = _width_run(1.0, {"none": {"A": 0.66}, "A_A": {"A": 0.65}})
    assert check_width_run(run, OURS, tmp_path) is run


def test_a_ceiling_of_another_a_s_is_refused(tmp_path):
    """The ceiling brackets what fine-tuning wins back of this run's A_S; a diagnostic of another A_S (an
    earlier protocol's) or of other classifiers is refused, naming the first difference."""
    import json

    from repro.ceiling import read_ceiling_run
    from repro.errors import ReproError

    with pytest.raises(ReproError, match="--ceiling .*no results.json there"):
        read_ceiling_run(tmp_path, OURS)
    committed = Path(__file__).resolve().parents[1] / "artifacts"
    if not (committed / "cpu-ceiling" / "results.json").is_file():
        pytest.skip("no committed ceiling run")
    theirs = json.loads((committed / "cpu-ceiling" / "results.json").read_text())
    ours = Results.from_json(committed / "cpu-ceiling" / "results.json")
    assert read_ceiling_run(committed / "cpu-ceiling", ours).top1 == ours.top1
    other_as = json.loads(json.dumps(theirs))
    key = next(iter(other_as["accuracy"]["top1"]["A_S"]))
    other_as["accuracy"]["top1"]["A_S"][key] += 0.01
    (tmp_path / "results.json").write_text(json.dumps(other_as))
    for f in (committed / "cpu-ceiling").glob("per_image-*"):
        (tmp_path / f.name).write_bytes(f.read_bytes())
    with pytest.raises(ReproError, match=f"fine-tuned another A_S than this run's \\(A_S∘{key} "):
        read_ceiling_run(tmp_path, ours)
