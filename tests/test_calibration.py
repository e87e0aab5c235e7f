"""The instrument's calibration (repro.calibration, `repro calibrate`, docs/instrument.md): the cost's paired
interval, the declared rule, the records, and the code paths the candidates add (images at a larger side,
classifiers built for it, pre-training to the plateau rule's own end)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from repro.calibration import (QUALIFY_AT, choose, cost_interval, estimate_gpu_flops, largest_cost, on_the_edge,
                               qualifies, read_calibration, table)
from repro.config import apply_overrides, scale_config, validate
from repro.errors import ReproError
from repro.vocabulary import PAPER_CLASSIFIERS

ROOT = Path(__file__).resolve().parents[1]


def record(costs: dict[str, float], *, rid: str = "x", flops: float = 1e15, ae: int = 1, spread: float = 1.0) -> dict:
    return {"id": rid, "setting": {"ae_width": 0.5, "side": 32}, "macs_per_image": {"AE": ae},
            "heldout": {"n": 2000, "mse": 0.003,
                        "cost": {k: {"points": v, "low": v - spread, "high": v + spread} for k, v in costs.items()}},
            "gpu_estimate": {"flops": flops}}


def five(x: float) -> dict[str, float]:
    return {k: x for k in PAPER_CLASSIFIERS}


# --- the cost and its interval ------------------------------------------------------------------


def test_the_cost_is_the_difference_of_the_two_accuracies_and_its_interval_is_paired():
    rng = np.random.default_rng(1)
    alone = rng.random(2000) < 0.7
    # the same images, a few answers lost: paired, the interval is narrow; the accuracies alone vary far more
    through = alone & (rng.random(2000) > 0.05)
    c = cost_interval(alone, through)
    assert c["points"] == pytest.approx(100 * (alone.mean() - through.mean()))
    assert c["low"] < c["points"] < c["high"] and c["n"] == 2000
    unpaired_half_width = 100 * 1.96 * np.sqrt(2 * 0.7 * 0.3 / 2000)
    assert c["high"] - c["low"] < unpaired_half_width  # pairing removes the images' shared difficulty


def test_the_interval_is_seeded_and_refuses_unequal_vectors():
    a, t = np.ones(50, bool), np.r_[np.ones(40, bool), np.zeros(10, bool)]
    assert cost_interval(a, t) == cost_interval(a, t)
    with pytest.raises(ValueError, match="two equal"):
        cost_interval(a, t[:10])


# --- the rule ------------------------------------------------------------------------------------


def test_the_rule_takes_the_cheapest_qualifying_candidate():
    cheap_bad = record(five(5.0), rid="cheap_bad", flops=1e14)
    good_dear = record(five(3.0), rid="good_dear", flops=4e15, ae=4)
    good_cheap = record({**five(2.0), "I": QUALIFY_AT}, rid="good_cheap", flops=2e15, ae=2)
    chosen, why = choose([cheap_bad, good_dear, good_cheap])
    assert chosen["id"] == "good_cheap" and "cheapest" in why and "3.80" in why


def test_without_a_qualifying_candidate_the_smallest_largest_cost_within_the_budget():
    within = record(five(4.5), rid="within", flops=1e15)
    better_but_too_dear = record(five(4.0), rid="dear", flops=1e20)
    chosen, why = choose([within, better_but_too_dear])
    assert chosen["id"] == "within" and "no candidate qualifies" in why
    assert choose([better_but_too_dear])[0] is None


def test_a_record_without_all_five_neither_qualifies_nor_is_chosen():
    partial = record({"L": 1.0, "A": 1.0}, rid="partial")
    assert not qualifies(partial)
    assert choose([partial])[0] is None


def test_the_edge_is_said_beside_the_point_estimate():
    edge = record({**five(1.0), "V": 3.5}, spread=0.5)
    assert qualifies(edge) and on_the_edge(edge) and largest_cost(edge) == ("V", 3.5)
    assert not on_the_edge(record(five(1.0), spread=0.5))


def test_the_gpu_estimate_counts_every_stage():
    macs = {"AE": 100, "L": 1, "A": 2}
    base = dict(train_images=10, test_images=5, pretrain_epochs=1, classifier_epochs={"L": 1, "A": 1}, finetune_epochs=1)
    flops = estimate_gpu_flops(macs, **base)
    assert estimate_gpu_flops(macs, **{**base, "pretrain_epochs": 2}) - flops == 2 * 3 * 100 * 10
    assert estimate_gpu_flops({**macs, "AE": 200}, **base) > flops


# --- records and the table ----------------------------------------------------------------------


def test_records_are_read_by_folder_and_a_wrong_file_is_named(tmp_path):
    (tmp_path / "w1.0-s32").mkdir()
    (tmp_path / "w1.0-s32" / "calibration.json").write_text(json.dumps(record(five(2.0), rid="ignored") | {"id": "w1"}))
    assert read_calibration(tmp_path / "w1.0-s32")["id"] == "w1"
    with pytest.raises(ReproError, match="no calibration.json there"):
        read_calibration(tmp_path)
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "calibration.json").write_text("{}")
    with pytest.raises(ReproError, match="not a record written by `repro calibrate`"):
        read_calibration(tmp_path / "bad")


def test_the_table_shows_every_cost_with_its_interval_and_the_rules_choice():
    text = table([record(five(2.0), rid="a"), record(five(5.0), rid="b", flops=1e14)])
    assert "2.00 [1.00, 3.00]" in text and "5.00 (L)" in text
    assert "Rule (docs/instrument.md): a: the cheapest candidate" in text
    assert "provisional: not yet measured w0.5-s32, w0.5-s32-plateau" in text  # none of the declared ids
    from repro.calibration import CANDIDATES

    every = [record(five(2.0), rid=c) for c in CANDIDATES]
    assert "provisional" not in table(every)


# --- the candidates' code paths -------------------------------------------------------------------


def test_a_larger_side_of_32_pixel_images_needs_data_resize():
    cfg = scale_config("cpu")
    with pytest.raises(ReproError, match="data.image_size must be at most 32 .* or at most data.resize"):
        validate(apply_overrides(cfg, sets=["data.image_size=64"]))
    validate(apply_overrides(cfg, sets=["data.resize=64", "data.image_size=64", "data.pretrain_size=64"]))


def test_every_stage_sees_the_images_at_the_larger_side():
    from repro.data import eval_transform, pretrain_transform, train_transform

    cfg = apply_overrides(scale_config("cpu"), sets=["data.resize=64", "data.image_size=64", "data.pretrain_size=64"])
    img = torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8)
    for t in (eval_transform(cfg), train_transform(cfg, True), pretrain_transform(cfg, True), pretrain_transform(cfg, False)):
        assert t(img).shape == (3, 64, 64)
    # at 32 nothing is resized: the eval transform is the identity on the values
    assert torch.allclose(eval_transform(scale_config("cpu"))(img), img.float() / 255, atol=1e-6)


@pytest.mark.parametrize("k", PAPER_CLASSIFIERS)
def test_the_zoo_builds_for_a_larger_side_and_is_unchanged_at_32(k):
    from repro.models.classifiers import build_classifier

    torch.manual_seed(0)
    at32 = build_classifier(k, family="cifar", num_classes=10, width=0.5)
    torch.manual_seed(0)
    given32 = build_classifier(k, family="cifar", num_classes=10, width=0.5, input_size=32)
    assert repr(at32) == repr(given32)
    assert all(torch.equal(a, b) for a, b in zip(at32.state_dict().values(), given32.state_dict().values()))
    at64 = build_classifier(k, family="cifar", num_classes=10, width=0.5, input_size=64).eval()
    assert at64.input_size == 64
    assert at64(torch.rand(2, 3, 64, 64)).shape == (2, 10)
    if k != "L":  # LeNet's first FC layer takes the larger map (as at 224); the others keep every parameter
        assert {n: p.shape for n, p in at64.state_dict().items()} == {n: p.shape for n, p in at32.state_dict().items()}


def test_a_larger_side_is_for_the_paper_five_of_the_cifar_family():
    from repro.models.classifiers import get_spec

    with pytest.raises(ReproError, match="input side other than 32 is for the paper's five of the cifar family"):
        get_spec("A").build_raw("imagenet", 10, 1.0, input_size=64)


@pytest.mark.slow
def test_repro_calibrate_at_a_larger_side_and_to_the_plateau(tmp_path):
    """End to end at the smoke scale, the 64-pixel path (classifiers at width 0.5: at the smoke scale's 0.25,
    ResNet's first 1x1 stride-2 projection has 8 input channels, which torch 2.14's oneDNN cannot take
    channels-last at 64 px: it crashes in the backward pass) and pre-training stopped by the plateau rule:
    the record's costs are its accuracies' differences, its classifiers were built for 64, the model file
    says so, and pre-training stopped at the plateau before its cap."""
    out = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "repro.cli", "calibrate", "--scale", "smoke", "--out", str(out), "--no-progress",
           "--classifiers", "L,A,V,I,R", "--set", "classifiers.width=0.5", "--set", "data.resize=64",
           "--set", "data.image_size=64", "--set", "data.pretrain_size=64", "--set", "pretrain.epochs=4",
           "--set", "pretrain.lr_cuts=0", "--set", "pretrain.patience=1", "--set", "pretrain.check_every=64"]
    subprocess.run(cmd, cwd=ROOT, env=env, check=True, capture_output=True)
    r = read_calibration(out)
    top1 = r["heldout"]["top1"]
    for k in PAPER_CLASSIFIERS:
        assert r["heldout"]["cost"][k]["points"] == pytest.approx(100 * (top1["none"][k] - top1["A_S"][k]))
    assert r["setting"]["side"] == 64 and r["heldout"]["n"] == 128
    assert r["pretrain"]["stop_reason"] == "plateau after 0 lr cuts"
    assert r["pretrain"]["images_seen"] < 4 * 512
    (model,) = (out / "ckpt" / "classifiers" / "V").glob("*/model.pt")
    assert torch.load(model, weights_only=True)["config"]["input_size"] == 64
    assert "plateau after 0 lr cuts" in (out / "run.log").read_text()


# --- the report's section -----------------------------------------------------------------------


def test_the_report_shows_the_calibration_and_names_this_runs_own_setting(tmp_path):
    from repro.report import ReportContext, calibration_section
    from repro.results import ALONE, PRETRAINED_AE, Results

    alone = {k: 0.70 for k in PAPER_CLASSIFIERS}
    results = Results(source="cpu", classifiers=list(PAPER_CLASSIFIERS),
                      top1={ALONE: alone, PRETRAINED_AE: {k: 0.65 for k in PAPER_CLASSIFIERS}},
                      raw={"provenance": {"config": {"ae": {"width": 0.5}, "pretrain": {"epochs": 1}}}})
    own = record(five(6.0), rid="w0.5-s32") | {"classifier_test_top1": alone}
    own["setting"]["pretrain_epochs"] = 1
    other = record(five(3.0), rid="w0.5-s64") | {"classifier_test_top1": {k: 0.72 for k in PAPER_CLASSIFIERS}}
    other["setting"] = {"ae_width": 0.5, "side": 64, "pretrain_epochs": 1}
    ctx = ReportContext(results, None, tmp_path, [], [], False, calibration=[own, other])
    (section,) = calibration_section(ctx)
    assert "This run's own setting is `w0.5-s32`" in section.markdown and "L 5.00" in section.markdown
    assert "`w0.5-s64`" in section.markdown and "Rule (docs/instrument.md): w0.5-s64" in section.markdown
    assert calibration_section(ReportContext(results, None, tmp_path, [], [], False)) == []


def test_repro_report_names_a_calibration_folder_without_records(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "repro.cli", "report", "--paper", "--out", str(tmp_path / "r"),
                           "--calibration", str(tmp_path)], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 2
    assert f"--calibration {tmp_path}: no sub-folder holds a calibration.json" in proc.stderr
