"""A run sized to a wall-clock budget (``--time-budget``, repro.budget; issue 13).

What is asserted holds by construction, never a timing: the recorded decisions are consistent with
each other and with what the units trained, every cap is at least one batch and at most the configured
epochs, the shares add up, the allotments of the units still to train add up to the time left, and a
run without a budget keeps the keys it always had.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from dataclasses import asdict, replace
from pathlib import Path

import pytest

from repro import budget
from repro.config import apply_overrides, set_field, smoke, stage_key
from repro.errors import ReproError

ROOT = Path(__file__).resolve().parents[1]


# --- the setting ----------------------------------------------------------------------------------


def test_the_budget_is_a_duration_from_the_flag_or_set():
    assert apply_overrides(smoke(), time_budget="1h30m").time_budget_s == 5400.0
    assert apply_overrides(smoke(), sets=["time_budget_s=90s"]).time_budget_s == 90.0
    assert apply_overrides(smoke(), sets=["time_budget_s=420"]).time_budget_s == 420.0
    assert apply_overrides(smoke()).time_budget_s is None
    assert set_field(replace(smoke(), time_budget_s=60.0), "time_budget_s", "none").time_budget_s is None
    with pytest.raises(ReproError, match=r"--time-budget 0s: time_budget_s must be > 0"):
        apply_overrides(smoke(), time_budget="0s")
    with pytest.raises(ReproError, match=r"--time-budget 7 min: expected a duration"):
        apply_overrides(smoke(), time_budget="7 min")
    with pytest.raises(ReproError, match=r"--set time_budget_s=5m7h: expected a duration"):
        apply_overrides(smoke(), sets=["time_budget_s=5m7h"])


def test_the_shares_add_up():
    assert math.isclose(sum(s.weight for s in budget.SHARES), 1.0)
    assert [s.stage for s in budget.SHARES] == ["pretrain", "classifiers", "finetune"]
    assert all(s.reason for s in budget.SHARES) and 0 < budget.MARGIN < 1
    weights = budget.unit_weights(smoke())
    assert math.isclose(sum(weights.values()), 1.0)
    # classifiers with torchvision's weights are not trained: the stage's share goes to the others
    cfg = replace(smoke(), classifiers=replace(smoke().classifiers, family="imagenet", pretrained=("A", "V")))
    w = budget.unit_weights(cfg)
    assert ("classifiers", "A") not in w and math.isclose(w[("classifiers", "L")], 0.4 / 3)
    assert math.isclose(sum(w.values()), 1.0)


# --- keys -----------------------------------------------------------------------------------------


def test_without_a_budget_every_key_is_what_it_was():
    """The keys as written before the budget existed: finished runs stay cached."""
    from repro.pipeline import unit_keys
    from repro.pipeline.config_guard import config_differences

    cfg = smoke()
    c = cfg.classifiers
    # pretrain.lr_cuts came later: while None (train every epoch) it is not in the key
    before = {"type": "PretrainConfig", **{k: v for k, v in asdict(cfg.pretrain).items() if k != "lr_cuts"}}
    assert unit_keys.pretrain(cfg) == stage_key("pretrain", unit_keys.data(cfg, "pretrain", "train"), cfg.ae,
                                                before, cfg.seed, cfg.precision)
    assert unit_keys.pretrain(replace(cfg, pretrain=replace(cfg.pretrain, lr_cuts=2))) != unit_keys.pretrain(cfg)
    train = {"family": c.family, "width": c.width, "epochs": c.epochs_for("L"), "batch_size": c.batch_size,
             "lr": c.lr, "momentum": c.momentum, "weight_decay": c.weight_decay,
             "label_smoothing": c.label_smoothing, "augment": c.augment}
    assert unit_keys.classifier(cfg, "L") == stage_key("classifier", "L", unit_keys.data(cfg, "train", "test"),
                                                       train, cfg.seed, cfg.precision)
    assert unit_keys.finetune(cfg, "L") == stage_key("finetune", "L", unit_keys.pretrain(cfg),
                                                     unit_keys.classifier(cfg, "L"), unit_keys.data(cfg, "train"),
                                                     cfg.finetune, cfg.seed, cfg.precision)
    budgeted = replace(cfg, time_budget_s=60.0)
    for name in ("pretrain", "evaluate"):
        assert getattr(unit_keys, name)(budgeted) != getattr(unit_keys, name)(cfg)
    assert unit_keys.classifier(budgeted, "L") != unit_keys.classifier(cfg, "L")
    assert unit_keys.finetune(budgeted, "L") != unit_keys.finetune(cfg, "L")
    assert unit_keys.pretrain(budgeted) != unit_keys.pretrain(replace(cfg, time_budget_s=61.0))
    # a results.json written before the field existed is the same configuration as one without a budget
    old = {k: v for k, v in cfg.to_dict().items() if k != "time_budget_s"}
    assert config_differences(old, cfg.to_dict()) == []
    assert config_differences(old, budgeted.to_dict()) == ["time_budget_s (not recorded) -> 60.0"]


# --- allotments -----------------------------------------------------------------------------------


def _planner(tmp_path: Path, forward_s: float = 0.0, spent: float = 10.0) -> budget.Planner:
    """A planner over an empty run folder, with a probe given instead of measured."""
    from repro.pipeline.context import RunContext

    cfg = replace(smoke(), out=str(tmp_path), time_budget_s=100.0)
    ctx = RunContext(cfg=cfg, device="cpu", out=tmp_path, progress=False)
    plan = budget.Planner.__new__(budget.Planner)
    plan.ctx, plan.cfg, plan.budget_s = ctx, cfg, 100.0
    plan.clock = budget.Clock(start=0.0, start_wall=0.0, carried_s=0.0)
    plan.clock.spent = lambda: spent  # a fixed moment
    models = ["A_S", *cfg.classifiers.keys]
    plan.probe = {"n_test": 256, "batch": 128, "statistics_s_per_image": forward_s,
                  "forward_s_per_image": {m: forward_s for m in models}}
    plan.evaluate_s, plan.report_s, plan.margin_s = 15.0, budget.REPORT_RESERVE_S, 5.0
    return plan


def test_the_allotments_of_the_units_still_to_train_add_up_to_the_time_left(tmp_path):
    plan = _planner(tmp_path)
    units = list(budget.unit_weights(plan.cfg))
    shares = [plan.allot(*u) for u in units]
    left = 100.0 - 10.0 - 15.0 - budget.REPORT_RESERVE_S - 5.0
    assert all(math.isclose(a["remaining_s"], left) for a in shares)  # no fixed costs in this probe
    assert math.isclose(sum(a["allotted_s"] for a in shares), left)
    assert math.isclose(shares[0]["allotted_s"], 0.3 * left)  # A_S: the pretrain share


def test_other_units_fixed_costs_come_first_and_no_allotment_is_negative(tmp_path):
    plan = _planner(tmp_path, forward_s=0.001)
    a = plan.allot("pretrain", "A_S")
    assert a["others_fixed_s"] > 0 and a["remaining_s"] < 100.0 - 10.0 - 15.0 - budget.REPORT_RESERVE_S - 5.0
    late = _planner(tmp_path, spent=99.0).allot("finetune", "A_L")
    assert late["remaining_s"] < 0 and late["allotted_s"] == 0.0


# --- a resumed unit keeps its decision ------------------------------------------------------------


def test_a_decision_is_kept_only_by_the_unit_resumed_from_its_training_state(tmp_path):
    (tmp_path / budget.DECISION_FILE).write_text(json.dumps({"key": "k1", "decision": {"cap_images": 64}}))
    assert budget._stored(tmp_path, "k1") is None  # no training state: the unit starts afresh, measures again
    (tmp_path / "state.pt").write_bytes(b"")
    assert budget._stored(tmp_path, "k1") == {"cap_images": 64}
    assert budget._stored(tmp_path, "k2") is None  # another configuration's decision


# --- a budgeted smoke run, end to end -------------------------------------------------------------


@pytest.fixture(scope="module")
def budgeted_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("budget") / "smoke"
    cmd = [sys.executable, "-m", "repro.cli", "run", "--scale", "smoke", "--classifiers", "L,A", "--out", str(out),
           "--no-progress", "--threads", "1", "--time-budget", "45s"]
    env = {k: v for k, v in os.environ.items() if k not in ("REPRO_FAULT_KILL", "REPRO_CACHE")}
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return out, cmd, env, json.loads((out / "results.json").read_text())


@pytest.mark.slow
def test_a_budgeted_run_records_consistent_decisions(budgeted_run):
    out, _, _, results = budgeted_run
    b = results["budget"]
    assert b["budget_s"] == 45.0 and b["plan_version"] == budget.PLAN_VERSION
    assert math.isclose(sum(s["weight"] for s in b["shares"].values()), 1.0)
    plan = b["plan"]
    assert plan["evaluate_estimate_s"] > budget.EVAL_FIXED_S and math.isclose(plan["margin_s"], 0.05 * 45.0)
    assert set(b["units"]) == {"A_S", "L", "A", "A_L", "A_A"}
    for unit, d in b["units"].items():
        if "cap_images" not in d:  # ended within its measurement
            continue
        assert d["batch_size"] <= d["cap_images"] <= d["configured_images"], unit  # at least one batch
        assert d["limited_by"] == ("time budget" if d["cap_images"] < d["configured_images"] else "configured epochs")
        assert d["allotted_s"] >= 0 and d["allotted_s"] <= max(0.0, d["remaining_s"]) + 1e-9
        if d["measured"] is not None:
            assert d["measured"]["images_per_s"] > 0 and d["measured"]["steps"] >= 1
    for k in ("L", "A"):  # a classifier trains exactly its capped steps: the one-cycle schedule's total
        d = b["units"][k]
        epochs = results["classifier_training"][k]["epochs"]
        assert epochs == (round(d["cap_epochs"], 4) if d["limited_by"] == "time budget" else d["configured_epochs"])
    for unit, seen in [("A_S", results["pretrain"]["images_seen"][-1]),
                       *((a, results["finetune"][a]["images_seen"]) for a in ("A_L", "A_A"))]:
        d = b["units"][unit]
        if d.get("limited_by") == "time budget":  # the cap, or the steps already taken when it was set
            assert seen <= max(d["cap_images"], d["images_at_decision"]), unit
    assert "## Time budget" in (out / "claims.md").read_text()
    assert "time budget 45.0s:" in (out / "run.log").read_text()


@pytest.mark.slow
def test_a_budgeted_run_reuses_its_finished_units(budgeted_run):
    out, cmd, env, results = budgeted_run
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    for unit in ("pretrain", "classifier L", "classifier A", "finetune A_L", "finetune A_A", "evaluate"):
        assert f"{unit}: cached" in proc.stderr, unit
    assert json.loads((out / "results.json").read_text())["budget"] == results["budget"]
