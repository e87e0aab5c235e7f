"""Fine-tuning's convergence rule (Sec. 3.3 with Sec. 3.2's plateau rule) and its held-out split.

The rule is exercised through the CLI at the smoke scale: it stops at the cap (one epoch) in the smoke
configuration, and on a plateau when the held-out loss never improves (the check replaced by a
constant: a plateau by construction). The rule's arithmetic has doctests in repro.training.PlateauSchedule.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]


def _repro(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("REPRO_FAULT_KILL", "REPRO_CACHE")}
    proc = subprocess.run([sys.executable, "-m", "repro.cli", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=400)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return proc


@pytest.fixture(scope="module")
def one_classifier_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("rule") / "run"
    _repro("run", "--scale", "smoke", "--classifiers", "L", "--out", str(out), "--no-progress")
    return out


@pytest.mark.slow
def test_stops_at_the_cap(one_classifier_run):
    import json

    ft = json.loads((one_classifier_run / "results.json").read_text())["finetune"]["A_L"]
    assert ft["stop_reason"] == "cap of 1 epoch"
    assert ft["images_seen"] == ft["images"] == 512 - 512 % 16
    curves = ft["heldout"]["curves"]
    assert curves["images_seen"] == [0, 128, 256, 384, 512]  # A_S, then every check_every images
    assert ft["best"]["images_seen"] in curves["images_seen"]
    assert ft["best"]["heldout_loss"] == min(curves["heldout_loss"])
    assert set(curves["heldout_top1"]) == {"L"} and ft["heldout"]["images"] == 128


@pytest.mark.slow
def test_stops_on_a_plateau(one_classifier_run, monkeypatch):
    """A held-out loss that never improves is a plateau by construction: with patience 1 and one
    allowed cut, the check at 128 images cuts the lr and the check at 256 stops training."""
    from repro import cli
    from repro.pipeline import finetune

    monkeypatch.setattr(finetune.HeldoutCheck, "__call__", lambda self, guided: (1.0, {"L": 0.5}))
    monkeypatch.chdir(ROOT)
    assert cli.main(["finetune", "--scale", "smoke", "--classifiers", "L", "--out", str(one_classifier_run),
                     "--no-progress", "--set", "finetune.patience=1", "--set", "finetune.lr_cuts=1"]) == 0
    log = (one_classifier_run / "run.log").read_text()
    assert "held-out loss did not improve for 1 check at 128 images; lr -> 0.0002" in log
    assert "A_L: 128 images, held-out loss 1.0000, top-1 0.5000 (lr 0.001)" in log  # one line per check
    assert "A_L: done (decoder, 256 images, stopped: plateau after 1 lr cut; kept the check at 0 images" in log


def test_heldout_images_are_never_trained_on(monkeypatch):
    from repro import data as D
    from repro.config import scale_config, set_field

    def numbered(cfg, split, cache_dir=None, progress=False):  # labels = image numbers
        n = 500 if split == "test" else 1000
        return D.TensorImages(torch.zeros(n, 3, 2, 2, dtype=torch.uint8), torch.arange(n), ("x",), split)

    monkeypatch.setattr(D, "load_source", numbered)
    for limit in ("none", "300"):
        cfg = set_field(set_field(scale_config("smoke"), "data.heldout", "100"), "data.train_limit", limit)
        held = set(D.heldout_source(cfg, None).labels.tolist())
        assert len(held) == 100
        for split in ("train", "pretrain"):
            trained = set(D.train_source(cfg, None, split=split).labels.tolist())
            assert not trained & held
            assert len(trained) == (900 if limit == "none" else 300)
        # the same images are held out whatever the subset
        assert held == set(D.heldout_source(set_field(cfg, "data.train_limit", "none"), None).labels.tolist())
