"""Scales as typed configs, command-line overrides and stage keys (repro.config)."""

from __future__ import annotations

import argparse
import json
import re
from dataclasses import replace
from pathlib import Path

import pytest

from repro.config import (SCALES, RunConfig, apply_overrides, from_dict, parse_classifier_list, scale_config,
                          stage_key, validate)
from repro.errors import ReproError
from repro.vocabulary import PAPER_CLASSIFIERS


@pytest.mark.parametrize("scale", SCALES)
def test_every_scale_is_valid_and_round_trips(scale):
    cfg = scale_config(scale)
    validate(cfg)
    assert cfg.scale == scale
    assert set(cfg.classifiers.keys) == set(PAPER_CLASSIFIERS)
    again = from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again == cfg


def test_scales_differ_where_the_issue_says():
    smoke, cpu, gpu, paper = (scale_config(s) for s in SCALES)
    assert smoke.data.dataset == "digits"  # no download
    assert cpu.data.dataset == gpu.data.dataset == "cifar10"
    assert paper.data.dataset == "imagenet" and paper.data.pretrain_size == 256 and paper.data.image_size == 224
    assert paper.ae.width == 1.0 and paper.classifiers.family == "imagenet"
    assert set(paper.classifiers.pretrained) == {"A", "V", "I", "R"}  # LeNet-5 is trained
    assert gpu.precision == "bf16" and gpu.channels_last
    assert gpu.ae.width > cpu.ae.width > smoke.ae.width
    # Sec. 3.2's schedule everywhere: two checks without improvement, lr x0.2
    for cfg in (smoke, cpu, gpu, paper):
        assert cfg.pretrain.patience == 2 and cfg.pretrain.factor == 0.2
    assert paper.pretrain.optimizer == "sgd" and paper.pretrain.lr == 0.01 and paper.pretrain.momentum == 0.9
    assert all(cfg.finetune.trainable == "decoder" for cfg in (smoke, cpu, gpu, paper))


def test_common_overrides():
    cfg = apply_overrides(scale_config("cpu"), epochs=3, data="/x", classifiers="l,v", out="o", device="cpu",
                          seed=7, trainable="both", threads=1)
    assert cfg.pretrain.epochs == cfg.classifiers.epochs == cfg.finetune.epochs == 3
    assert cfg.classifiers.epochs_by_key == {}  # --epochs means every unit
    assert cfg.data.root == "/x" and cfg.classifiers.keys == ("L", "V") and cfg.out == "o"
    assert (cfg.device, cfg.seed, cfg.finetune.trainable, cfg.threads) == ("cpu", 7, "both", 1)


def test_set_any_field_with_its_type():
    cfg = apply_overrides(scale_config("smoke"), sets=[
        "pretrain.batch_size=8", "ae.width=1/8", "data.test_limit=none", "evaluate.noise_levels=0,0.5",
        "classifiers.epochs_by_key=L:3,V:1", "channels_last=true", "finetune.trainable=encoder",
        "classifiers.keys=r,i",
    ])
    assert cfg.pretrain.batch_size == 8 and cfg.ae.width == 0.125 and cfg.data.test_limit is None
    assert cfg.evaluate.noise_levels == (0.0, 0.5)
    assert cfg.classifiers.epochs_by_key == {"L": 3, "V": 1} and cfg.classifiers.epochs_for("L") == 3
    assert cfg.channels_last is True and cfg.finetune.trainable == "encoder"
    assert cfg.classifiers.keys == ("R", "I")


@pytest.mark.parametrize("bad", [
    "nosuch.field=1", "pretrain.nosuch=1", "pretrain.batch_size=abc", "pretrain.batch_size=0", "finetune.trainable=all",
    "evaluate.noise_levels=0,2", "channels_last=maybe", "pretrain.batch_size", "classifiers.keys=L,X",
])
def test_bad_settings_are_one_line_errors(bad):
    with pytest.raises(ReproError) as err:
        apply_overrides(scale_config("smoke"), sets=[bad])
    assert "\n" not in str(err.value)


def test_bad_classifier_list():
    assert parse_classifier_list("R, l") == (("R", "L"), {})
    for text in ("", "L,L", "L,Q"):
        with pytest.raises(ReproError, match="--classifiers"):
            parse_classifier_list(text)
    with pytest.raises(ReproError, match="scale"):
        scale_config("huge")


def test_stage_keys_ignore_operational_fields():
    cfg = scale_config("cpu")
    moved = replace(cfg, out="/elsewhere", device="cuda", threads=16, checkpoint_every_s=1.0, compile=True)
    assert stage_key(cfg.pretrain, cfg.data) == stage_key(moved.pretrain, moved.data)
    assert stage_key(cfg) == stage_key(moved)
    assert stage_key(cfg) != stage_key(replace(cfg, seed=1))
    assert stage_key(cfg.pretrain) != stage_key(replace(cfg.pretrain, lr=0.1))


def test_pipeline_keys_follow_their_inputs():
    from repro.pipeline import unit_keys

    cfg = scale_config("smoke")
    lr = apply_overrides(cfg, sets=["finetune.lr=0.5"])
    assert unit_keys.pretrain(cfg) == unit_keys.pretrain(lr)
    assert unit_keys.classifier(cfg, "L") == unit_keys.classifier(lr, "L")
    assert unit_keys.finetune(cfg, "L") != unit_keys.finetune(lr, "L")
    width = apply_overrides(cfg, sets=["ae.width=0.25"])
    assert unit_keys.pretrain(cfg) != unit_keys.pretrain(width)
    assert unit_keys.finetune(cfg, "L") != unit_keys.finetune(width, "L")  # downstream of A_S
    assert unit_keys.classifier(cfg, "L") == unit_keys.classifier(width, "L")
    # one classifier's epochs do not touch another's unit
    ep = apply_overrides(cfg, sets=["classifiers.epochs_by_key=V:2"])
    assert unit_keys.classifier(cfg, "L") == unit_keys.classifier(ep, "L")
    assert unit_keys.classifier(cfg, "V") != unit_keys.classifier(ep, "V")
    assert unit_keys.evaluate(cfg) != unit_keys.evaluate(apply_overrides(cfg, sets=["evaluate.noise_seed=1"]))


def test_cli_print_config(capsys):
    from repro.commands import pipeline as cmd

    parser = argparse.ArgumentParser()
    cmd.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["run", "--scale", "smoke", "--epochs", "2", "--classifiers", "L,V", "--set",
                              "pretrain.lr=0.5", "--print-config"])
    assert args.func(args) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["pretrain"]["epochs"] == 2 and printed["pretrain"]["lr"] == 0.5
    assert printed["classifiers"]["keys"] == ["L", "V"]
    assert isinstance(from_dict(printed), RunConfig)


# --- every value validated the same way, whatever its source (issue 10, item 4) --------------------


@pytest.mark.parametrize("setting, culprit", [
    ("finetune.epochs=-1", "finetune.epochs"),
    ("finetune.epochs=0", "finetune.epochs"),  # would report on AEs that were never fine-tuned
    ("pretrain.lr=-0.01", "pretrain.lr"),
    ("finetune.lr=nan", "finetune.lr"),
    ("classifiers.lr=inf", "classifiers.lr"),
    ("finetune.lr=1/0", "finetune.lr"),  # was a ZeroDivisionError traceback
    ("finetune.lr=1/2/3", "finetune.lr"),
    ("data.train_limit=0", "data.train_limit"),
    ("finetune.train_limit=-5", "finetune.train_limit"),
    ("data.test_limit=0", "data.test_limit"),
    ("pretrain.momentum=1", "pretrain.momentum"),
    ("classifiers.momentum=-0.1", "classifiers.momentum"),
    ("finetune.weight_decay=-1e-4", "finetune.weight_decay"),
    ("ae.width=0", "ae.width"),
    ("classifiers.width=-1", "classifiers.width"),
    ("finetune.batch_size=0", "finetune.batch_size"),
    ("evaluate.noise_levels=0,1.5", "evaluate.noise_levels"),
    ("evaluate.noise_levels=nan", "evaluate.noise_levels"),
    ("evaluate.nmi_bins=1", "evaluate.nmi_bins"),
    ("evaluate.noise_images=-1", "evaluate.noise_images"),
    ("pretrain.patience=0", "pretrain.patience"),
    ("pretrain.factor=0", "pretrain.factor"),
    ("classifiers.label_smoothing=1", "classifiers.label_smoothing"),
    ("classifiers.epochs_by_key=L:0", "classifiers.epochs_by_key"),
    ("classifiers.epochs_by_key=Q:2", "classifiers.epochs_by_key"),
    ("classifiers.keys=", "classifiers.keys"),
    ("classifiers.keys=L,L", "classifiers.keys"),
    ("data.image_size=0", "data.image_size"),
    ("data.image_size=64", "data.image_size"),  # digits are 32x32
    ("data.dataset=mnist", "data.dataset"),
    ("pretrain.optimizer=rmsprop", "pretrain.optimizer"),
    ("threads=0", "threads"),
    ("seed=-1", "seed"),
    ("device=gpu", "device"),
    ("checkpoint_every_s=0", "checkpoint_every_s"),
    ("pretrain.check_every=2.5", "pretrain.check_every"),
    ("scale=cpu", "--scale"),  # the scale picks every default: not settable through --set
])
def test_set_values_are_validated(setting, culprit):
    with pytest.raises(ReproError) as err:
        apply_overrides(scale_config("smoke"), sets=[setting])
    message = str(err.value)
    assert "\n" not in message and culprit in message and f"--set {setting}" in message, message


@pytest.mark.parametrize("flags, setting, culprit", [
    ({"epochs": 0}, "finetune.epochs=0", "epochs"),
    ({"threads": 0}, "threads=0", "threads"),
    ({"seed": -3}, "seed=-3", "seed"),
    ({"device": "tpu"}, "device=tpu", "device"),
])
def test_flags_and_set_are_validated_alike(flags, setting, culprit):
    for kwargs in (flags, {"sets": [setting]}):
        with pytest.raises(ReproError, match=culprit):
            apply_overrides(scale_config("cpu"), **kwargs)


def test_cross_field_settings():
    with pytest.raises(ReproError, match="classifiers.pretrained.*imagenet"):
        apply_overrides(scale_config("paper"), sets=["classifiers.family=cifar"])
    with pytest.raises(ReproError, match="LeNet-5"):
        apply_overrides(scale_config("paper"), sets=["classifiers.pretrained=L,A"])
    with pytest.raises(ReproError, match="data.resize"):
        apply_overrides(scale_config("paper"), sets=["data.resize=200"])
    ok = apply_overrides(scale_config("paper"), sets=["classifiers.family=cifar", "classifiers.pretrained=none"])
    assert ok.classifiers.pretrained == ()


def test_integers_in_scientific_notation():
    cfg = apply_overrides(scale_config("smoke"), sets=["pretrain.check_every=1e6", "data.train_limit=2e4"])
    assert cfg.pretrain.check_every == 1_000_000 and cfg.data.train_limit == 20_000


def test_every_field_is_checked_by_type_and_finiteness():
    """Fields added later have no entry in RULES; validate() still checks their type and finiteness."""
    from repro.config import RULES, _settings

    cfg = scale_config("cpu")
    paths = [path for path, _, _ in _settings(cfg)]
    assert set(RULES) <= set(paths), f"RULES names no such field: {set(RULES) - set(paths)}"
    for path, annotation, value in _settings(cfg):
        bad_values = [["not", "this", "type"]]
        if annotation is float:
            bad_values.append(float("nan"))
        for bad in bad_values:
            section, _, name = path.rpartition(".")
            broken = (replace(cfg, **{section: replace(getattr(cfg, section), **{name: bad})}) if section
                      else replace(cfg, **{name: bad}))
            with pytest.raises(ReproError, match=re.escape(path)):
                validate(broken)


def test_cli_set_errors_are_one_line(tmp_path):
    """Through the real command line: exit 2, one line naming the setting, no traceback, nothing written."""
    import subprocess
    import sys

    for setting in ("finetune.epochs=-1", "finetune.lr=1/0", "scale=cpu"):
        proc = subprocess.run([sys.executable, "-m", "repro", "run", "--scale", "smoke", "--out", str(tmp_path / "o"),
                               "--set", setting], capture_output=True, text=True)
        assert proc.returncode == 2, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and setting.split("=")[0] in lines[0] and "Traceback" not in proc.stderr, proc.stderr
        assert not (tmp_path / "o").exists()


def test_config_loads_without_torch():
    """The command line reads the configuration before it imports torch, so its vocabulary (the paper's
    classifier keys, noise levels, trainable parts) comes from the torch-free repro.vocabulary."""
    import subprocess
    import sys

    code = "import sys, repro.config, repro.paper; sys.exit('torch' in sys.modules)"
    root = Path(__file__).resolve().parents[1]
    assert subprocess.run([sys.executable, "-c", code], cwd=root).returncode == 0
