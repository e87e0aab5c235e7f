"""Nothing lost, nothing stale (issue 10): the committed run is not replaced by accident, units follow
the contents of their data, damaged checkpoints are named without torch's advice, progress bars stay
out of captured logs, and the error that ends a run is written to run.log.

The CLI tests on a smoke run's units live in tests/test_pipeline.py (they share its run).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from repro.config import apply_overrides, scale_config
from repro.errors import ReproError

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "artifacts" / "cpu"


def repro(*args: str, timeout: float = 400) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("REPRO_FAULT_KILL", "REPRO_CACHE", "REPRO_ARTIFACTS")}
    return subprocess.run([sys.executable, "-m", "repro.cli", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


def _tree(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")}


@pytest.mark.skipif(not (COMMITTED / "results.json").is_file(), reason="no committed cpu run in this checkout")
@pytest.mark.parametrize("command", ["run", "evaluate"])
def test_the_committed_cpu_run_is_not_replaced_by_accident(command):
    before = _tree(COMMITTED)
    # A quick try with the default --out: refused before any work (a minute would mean it started training).
    proc = repro(command, "--scale", "cpu", "--epochs", "1", "--no-progress", timeout=60)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert proc.stderr.startswith(f"repro {command}: error: {COMMITTED} holds the finished run of another "
                                  "configuration (")
    # the settings that differ are named: --epochs 1 against the committed run's fine-tuning epochs
    epochs = json.loads((COMMITTED / "results.json").read_text())["provenance"]["config"]["finetune"]["epochs"]
    assert f"finetune.epochs {epochs} -> 1" in proc.stderr and "--out DIR" in proc.stderr and "--force" in proc.stderr
    assert _tree(COMMITTED) == before  # not even run.log was touched


def test_load_checkpoint_names_a_damaged_file_without_torchs_advice(tmp_path):
    from repro.checkpoint import load_checkpoint, save_checkpoint

    path = tmp_path / "model.pt"
    save_checkpoint({"w": torch.arange(10_000)}, path)
    whole = path.read_bytes()
    for damaged in (whole[: len(whole) // 2], b"not a checkpoint at all", whole[:100] + bytes(200) + whole[300:]):
        path.write_bytes(damaged)
        with pytest.raises(ReproError) as err:
            load_checkpoint(path)
        msg = str(err.value)
        assert msg.startswith(f"{path}: damaged or not a checkpoint written by repro (") and "\n" not in msg
        assert "weights_only" not in msg and len(msg) < 400, msg


# --- data fingerprints ------------------------------------------------------------------------------


def _image_folder(root: Path, per_class: dict[str, int], classes: int = 10, seed: int = 0) -> Path:
    """A CIFAR-10-layout ImageFolder of random 32x32 JPEGs: root/cifar10/<split>/c<i>/<n>.jpg."""
    from PIL import Image

    rng = torch.Generator().manual_seed(seed)
    for split, n in per_class.items():
        for c in range(classes):
            folder = root / "cifar10" / split / f"c{c}"
            folder.mkdir(parents=True)
            for i in range(n):
                pixels = torch.randint(0, 256, (32, 32, 3), generator=rng, dtype=torch.uint8).numpy()
                Image.fromarray(pixels).save(folder / f"{i:04d}.jpg", quality=90)
    return root


def test_the_fingerprint_follows_the_files_not_their_place_or_times(tmp_path):
    from repro.data import source_fingerprint
    from repro.pipeline import unit_keys

    root = _image_folder(tmp_path / "a", {"train": 3, "test": 2}, classes=3)
    test = root / "cifar10" / "test"
    fp = source_fingerprint("folder", test)
    moved = tmp_path / "b"
    shutil.copytree(root, moved)  # new mtimes, new place
    assert source_fingerprint("folder", moved / "cifar10" / "test") == fp
    os.utime(test / "c0" / "0000.jpg", ns=(0, 0))
    assert source_fingerprint("folder", test) == fp
    cfg_a, cfg_b = (apply_overrides(scale_config("smoke"), data=str(r), sets=["data.dataset=cifar10"])
                    for r in (root, moved))
    assert unit_keys.evaluate(cfg_a) == unit_keys.evaluate(cfg_b)  # a moved data root reuses every unit

    with open(test / "c1" / "0001.jpg", "ab") as fh:
        fh.write(b"\0")  # a file that changed size
    assert source_fingerprint("folder", test) != fp
    (test / "c1" / "0001.jpg").unlink()  # a file gone
    assert source_fingerprint("folder", test) not in (fp, source_fingerprint("folder", moved / "cifar10" / "test"))


@pytest.mark.slow
def test_deleted_test_images_recompute_what_reads_them(tmp_path):
    root = _image_folder(tmp_path / "data", {"train": 12, "test": 4})
    out = tmp_path / "run"
    args = ("run", "--scale", "smoke", "--data", str(root), "--out", str(out), "--classifiers", "L",
            "--set", "data.dataset=cifar10", "--set", "data.heldout=16", "--set", "pretrain.val_images=16",
            "--set", "pretrain.check_every=32", "--set", "finetune.check_every=32",
            "--set", "evaluate.noise_images=16")
    # progress bars left on: stderr is a pipe here, so they must switch themselves off
    proc = repro(*args)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "%|" not in proc.stderr and "step/s" not in proc.stderr, proc.stderr[-2000:]  # no bar was drawn
    assert json.loads((out / "results.json").read_text())["n_test"] == 40

    for c in range(10):
        (root / "cifar10" / "test" / f"c{c}" / "0003.jpg").unlink()
    proc = repro(*args, "--no-progress")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "pretrain: cached" in proc.stderr  # A_S never reads the test images
    for unit in ("classifier L: done", "finetune A_L: done", "evaluate: done"):
        assert unit in proc.stderr, proc.stderr
    assert json.loads((out / "results.json").read_text())["n_test"] == 30


# --- run.log ----------------------------------------------------------------------------------------


def test_the_error_that_ends_a_run_is_written_to_run_log(tmp_path, capsys):
    from repro.pipeline import context

    cfg = replace(scale_config("smoke"), out=str(tmp_path / "run"), threads=None)
    ctx = context.setup(cfg, progress=False)
    try:
        try:
            raise RuntimeError("something unexpected")
        except RuntimeError as err:
            context.log_error(ctx, err)
        context.log_error(ctx, ReproError("data.root: no such folder"))
    finally:
        context.teardown(ctx)
    log = (tmp_path / "run" / "run.log").read_text()
    assert "error: RuntimeError: something unexpected\nTraceback (most recent call last):" in log
    assert log.rstrip().endswith("error: data.root: no such folder")
    assert "something unexpected" not in capsys.readouterr().err  # stderr is the CLI's to print
