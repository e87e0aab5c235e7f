"""Nothing lost, nothing stale (issue 10): the committed run is not replaced by accident, units follow
the contents of their data, damaged checkpoints are named without torch's advice, progress bars stay
out of captured logs, and the error that ends a run is written to run.log.

The CLI tests on a smoke run's units live in tests/test_pipeline.py (they share its run).
"""

from __future__ import annotations

import json
import os
import re
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
    # the settings that differ are named: --epochs 1 against the committed run's epochs of a training stage
    # (the message names the first differences and elides the rest)
    cfg = json.loads((COMMITTED / "results.json").read_text())["provenance"]["config"]
    named = [f"{stage}.epochs {cfg[stage]['epochs']} -> 1" for stage in ("pretrain", "classifiers", "finetune")
             if cfg[stage]["epochs"] != 1]
    assert any(n in proc.stderr for n in named), named
    assert "--out DIR" in proc.stderr and "--force" in proc.stderr
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


# --- a full disk, a read-only or protected folder (issue 20) -----------------------------------------


class _FullDisk:
    """A file that takes ``room`` bytes and then fails as a full disk does (what a write on a full file
    system raises), delegating everything else to the real file."""

    def __init__(self, fh, room: int, errno_: int):
        self.fh, self.room, self.errno = fh, room, errno_

    def write(self, data) -> int:
        if len(data) > self.room:
            raise OSError(self.errno, os.strerror(self.errno))
        self.room -= len(data)
        return self.fh.write(data)

    def __getattr__(self, name):
        return getattr(self.fh, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.fh.close()


@pytest.fixture
def full_disk(monkeypatch):
    """``full_disk(room, errno)``: from now on every file opened by a descriptor (the temporary files of
    the atomic writes) fails after ``room`` more bytes."""
    import errno

    real = os.fdopen

    def fill(room: int = 1000, code: int = errno.ENOSPC) -> None:
        monkeypatch.setattr(os, "fdopen", lambda fd, *a, **k: _FullDisk(real(fd, *a, **k), room, code))

    return fill


def test_a_full_disk_during_torch_save_is_one_line_and_keeps_the_old_checkpoint(tmp_path, full_disk):
    from repro.checkpoint import load_checkpoint, save_checkpoint
    from repro.errors import WriteError

    path = tmp_path / "ckpt" / "state.pt"
    save_checkpoint({"w": torch.arange(10)}, path)
    full_disk(room=50_000)
    with pytest.raises(WriteError) as err:
        save_checkpoint({"w": torch.arange(100_000)}, path)  # 800 kB: torch's writer fails half-way
    # torch raised "RuntimeError: [enforce fail at inline_container.cc:...] unexpected pos" around the OSError
    assert isinstance(err.value.__cause__, RuntimeError) and "unexpected pos" in str(err.value.__cause__)
    assert str(err.value) == (f"{path}: could not write the training checkpoint: No space left on device; nothing "
                              "half-written was kept: free some space, then rerun the same command (finished work is kept)")
    assert [p.name for p in path.parent.iterdir()] == ["state.pt"]  # no temporary file left
    assert torch.equal(load_checkpoint(path)["w"], torch.arange(10))  # the old checkpoint, whole


@pytest.mark.parametrize("code, fix", [("EROFS", "the file system is read-only"),
                                       ("EACCES", "make the folder writable")])
def test_a_read_only_or_protected_folder_is_one_line(tmp_path, monkeypatch, code, fix):
    import errno
    import tempfile

    from repro.checkpoint import write_json_atomic
    from repro.errors import WriteError

    def refuse(*args, **kwargs):
        raise OSError(getattr(errno, code), os.strerror(getattr(errno, code)), str(tmp_path / ".results.json.x.tmp"))

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with pytest.raises(WriteError, match=f"^{tmp_path / 'results.json'}: could not write the results: "
                                         f"{os.strerror(getattr(errno, code))}; nothing half-written was kept: {fix}"):
        write_json_atomic(tmp_path / "results.json", {"a": 1})


def test_the_cli_says_a_full_disk_in_one_line(tmp_path, full_disk, capsys):
    from repro import cli

    out = tmp_path / "report"
    full_disk(room=0)
    assert cli.main(["report", "--paper", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err == (f"repro report: error: {out / 'claims.md'}: could not write the claims report: No space left on "
                   "device; nothing half-written was kept: free some space, then rerun the same command (finished "
                   "work is kept)\n")
    assert not list(out.glob(".claims*"))  # no temporary file left


@pytest.mark.slow
def test_a_real_full_disk_stops_with_one_line_and_the_run_resumes_once_there_is_space(tmp_path):
    """On a 3 MB tmpfs (where this machine lets the test mount one: root, a kernel that allows it)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(disk)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        out = disk / "run"
        args = ("pretrain", "--scale", "smoke", "--out", str(out), "--no-progress")
        proc = repro(*args)
        last = proc.stderr.splitlines()[-1]
        assert proc.returncode == 2 and "Traceback" not in proc.stderr and "enforce fail" not in proc.stderr, proc.stderr
        assert re.fullmatch(rf"repro pretrain: error: {re.escape(str(out))}/\S+: could not write the [a-z -]+: No space "
                            r"left on device; nothing half-written was kept: free some space, then rerun the same "
                            r"command \(finished work is kept\)", last), last
        assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]  # nothing half-written
        assert not (out / ".repro.lock").exists()
        subprocess.run(["mount", "-o", "remount,size=64m", str(disk)], check=True)
        proc = repro(*args)
        assert proc.returncode == 0 and "pretrain: done" in proc.stderr, proc.stderr[-3000:]
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)


def test_written_files_are_readable_by_others_under_the_usual_umask(tmp_path):
    """Results, reports, checkpoints and weights files get the mode a plain open gives (0644 under umask
    0022), not mkstemp's 0600, which kept a collaborator on the same machine out."""
    import os
    import stat

    import torch

    from repro.checkpoint import atomic_write
    from repro.models.weights import save_state_dict_atomic
    from repro.paths import write_text_atomic

    old = os.umask(0o022)
    try:
        atomic_write(tmp_path / "a.json", lambda fh: fh.write(b"{}"))
        write_text_atomic(tmp_path / "claims.md", "# report\n")
        save_state_dict_atomic({"w": torch.zeros(1)}, tmp_path / "w.pt")
    finally:
        os.umask(old)
    for name in ("a.json", "claims.md", "w.pt"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o644, name
