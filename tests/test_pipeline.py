"""The pipeline at the smoke scale, through the real CLI in subprocesses: every stage end to end,
caching, and a resume after SIGKILL that ends with the numbers of an uninterrupted run (two gloo
processes: tests/test_distributed.py).

The smoke scale runs on scikit-learn's bundled digits, so these tests need no data download.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from repro.results import Results

ROOT = Path(__file__).resolve().parents[1]
UNITS = ["pretrain", *(f"classifiers/{k}" for k in "LAVIR"), *(f"finetune/A_{k}" for k in "LAVIR")]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("REPRO_FAULT_KILL", "REPRO_CACHE")}
    env.update(extra)
    return env


def repro(*args: str, env: dict[str, str] | None = None, timeout: float = 400) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "repro.cli", *args], cwd=ROOT, env=env or _env(),
                          capture_output=True, text=True, timeout=timeout)


def _ok(proc: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stderr[-4000:]}"
    return proc


def _state(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, weights_only=True)["state_dict"]


def _same_state(a: Path, b: Path) -> list[str]:
    sa, sb = _state(a), _state(b)
    assert sa.keys() == sb.keys()
    return [k for k in sa if not torch.equal(sa[k], sb[k])]


def _numbers(results: dict) -> dict:
    """results.json without what legitimately differs between two runs (times, provenance)."""
    return {k: v for k, v in results.items() if k not in ("timings_s", "provenance")}


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("smoke") / "run"
    _ok(repro("run", "--scale", "smoke", "--out", str(out), "--no-progress"))
    return out


def test_end_to_end_smoke_run(smoke_run):
    res = Results.from_json(smoke_run / "results.json")
    raw = res.raw
    assert res.source == "smoke" and res.classifiers == list("LAVIR") and res.n_test == 256
    for ae in ["none", "A_S", *(f"A_{k}" for k in "LAVIR")]:
        for k in "LAVIR":
            assert 0.0 <= res.acc(ae, k) <= 1.0 and 0.0 <= res.acc(ae, k, "top5") <= 1.0
    assert res.grid().shape == (5, 5) and res.per_image["A_S"]["L"].shape == (256,)
    assert raw["noise"]["levels"] == [round(0.1 * i, 1) for i in range(11)] and raw["noise"]["n_images"] == 64
    assert set(raw["nmi"]["intra"]["arithmetic"]) == {"A_S", *(f"A_{k}" for k in "LAVIR")}
    assert set(raw["lab"]) >= {"A_S", "A_V"}
    for fig in ("fig2_mse", "fig3_lab"):
        assert (smoke_run / raw["figures"][fig]).is_file()
    pre = raw["pretrain"]
    assert pre["images_seen"][0] == 0 and len(pre["val_mse"]) == len(pre["images_seen"]) >= 4  # check every 128
    assert set(raw["classifier_training"]) == set("LAVIR")
    assert all(raw["finetune"][f"A_{k}"]["classifier_unchanged"] for k in "LAVIR")
    assert set(raw["timings_s"]) >= {"pretrain", "classifiers", "finetune", "evaluate", "total"}
    prov = raw["provenance"]
    assert prov["config"]["scale"] == "smoke" and prov["versions"]["torch"] and "git_commit" in prov
    assert prov["seeds"]["classifier:L"] != prov["seeds"]["classifier:A"]
    log = (smoke_run / "run.log").read_text()
    for line in ("pretrain: done", "classifier R: done", "finetune A_I: done", "evaluate: done"):
        assert line in log
    for unit in UNITS:
        assert (smoke_run / "ckpt" / unit / "done.json").is_file() and not (smoke_run / "ckpt" / unit / "state.pt").exists()
    # Sec. 3.3: only the decoder was fine-tuned
    a_s = _state(smoke_run / "ckpt/pretrain/model.pt")
    a_v = _state(smoke_run / "ckpt/finetune/A_V/model.pt")
    assert all(torch.equal(a_s[k], a_v[k]) for k in a_s if k.startswith("encoder."))
    assert any(not torch.equal(a_s[k], a_v[k]) for k in a_s if k.startswith("decoder."))


def test_rerun_skips_finished_stages(smoke_run):
    before = (smoke_run / "results.json").read_bytes()
    proc = _ok(repro("run", "--scale", "smoke", "--out", str(smoke_run), "--no-progress"))
    assert proc.stderr.count(": cached (") == 12, proc.stderr  # A_S, 5 classifiers, 5 AEs, evaluate
    assert (smoke_run / "results.json").read_bytes() == before


def test_a_changed_setting_reruns_only_what_depends_on_it(smoke_run, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(smoke_run, out)
    proc = _ok(repro("run", "--scale", "smoke", "--out", str(out), "--no-progress", "--classifiers", "V",
                     "--set", "finetune.lr=0.002"))
    assert "pretrain: cached" in proc.stderr and "classifier V: cached" in proc.stderr
    assert "finetune A_V: done" in proc.stderr and "evaluate: done" in proc.stderr
    assert _same_state(out / "ckpt/finetune/A_V/model.pt", smoke_run / "ckpt/finetune/A_V/model.pt")
    assert json.loads((out / "results.json").read_text())["classifiers"] == ["V"]


def test_resume_after_sigkill_matches_an_uninterrupted_run(smoke_run, tmp_path):
    out = tmp_path / "killed"
    args = ("run", "--scale", "smoke", "--out", str(out), "--no-progress", "--classifiers", "L,V")
    ckpt = out / "ckpt"

    # 1. SIGKILL in the middle of pretraining, right after step 6 (checkpoints every 4 steps)
    proc = repro(*args, env=_env(REPRO_FAULT_KILL="pretrain:6"))
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    assert (ckpt / "pretrain/state.pt").exists() and not (ckpt / "pretrain/done.json").exists()

    # 2. SIGKILL from outside, as soon as classifier V has written its first checkpoint
    child = subprocess.Popen([sys.executable, "-m", "repro.cli", *args], cwd=ROOT, env=_env(),
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while not (ckpt / "classifiers/V/state.pt").exists() and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    child.send_signal(signal.SIGKILL)
    _, err = child.communicate(timeout=60)
    assert child.returncode == -signal.SIGKILL, err[-2000:]
    assert (ckpt / "pretrain/done.json").exists()  # the resumed pretraining finished

    # 3. SIGKILL in the middle of fine-tuning A_V
    proc = repro(*args, env=_env(REPRO_FAULT_KILL="finetune:A_V:9"))
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    assert (ckpt / "finetune/A_V/state.pt").exists() and not (ckpt / "finetune/A_V/done.json").exists()

    # 4. an undisturbed rerun finishes
    _ok(repro(*args))

    for unit in ("pretrain", "classifiers/L", "classifiers/V", "finetune/A_L", "finetune/A_V"):
        assert _same_state(ckpt / unit / "model.pt", smoke_run / "ckpt" / unit / "model.pt") == [], unit
    # the uninterrupted run's models, evaluated for the same two classifiers
    ref = tmp_path / "reference"
    shutil.copytree(smoke_run / "ckpt", ref / "ckpt")
    _ok(repro("evaluate", "--scale", "smoke", "--out", str(ref), "--no-progress", "--classifiers", "L,V"))
    got = json.loads((out / "results.json").read_text())
    want = json.loads((ref / "results.json").read_text())
    assert _numbers(got) == _numbers(want)


def test_missing_data_is_a_one_line_cli_error(tmp_path):
    proc = repro("run", "--scale", "cpu", "--data", str(tmp_path / "nothing"), "--out", str(tmp_path / "o"),
                 "--no-progress")
    assert proc.returncode == 2
    assert proc.stderr.startswith("repro run: error: CIFAR-10: looked for") and proc.stderr.count("\n") == 1
    assert not (tmp_path / "o").exists()  # nothing written before the check


def test_checkpoints_are_atomic_and_weights_only(tmp_path):
    from repro.checkpoint import load_checkpoint, save_checkpoint
    from repro.errors import ReproError

    path = tmp_path / "c.pt"
    save_checkpoint({"a": torch.arange(3), "b": [1, "x"]}, path)
    assert load_checkpoint(path)["b"] == [1, "x"] and [p.name for p in tmp_path.iterdir()] == ["c.pt"]
    path.write_bytes(path.read_bytes()[:40])  # truncated
    with pytest.raises(ReproError, match="c.pt"):
        load_checkpoint(path)
    torch.save({"obj": Path("x")}, path)  # an arbitrary object: refused by weights_only
    with pytest.raises(ReproError, match="c.pt"):
        load_checkpoint(path)


def test_finetune_check_notices_a_changed_classifier():
    from repro.models.classifiers import build_classifier
    from repro.pipeline.finetune import _changed, _snapshot

    clf = build_classifier("V", family="cifar", num_classes=10, width=0.25).freeze()
    ref = _snapshot(clf)
    clf.train()  # frozen: stays in eval mode, so BN statistics do not move
    clf(torch.rand(4, 3, 32, 32))
    assert _changed(clf, ref) == []
    bn = next(m for m in clf.modules() if isinstance(m, torch.nn.BatchNorm2d))
    bn.running_mean += 1
    assert _changed(clf, ref)


def test_every_claim_reads_the_smoke_results(smoke_run):
    """The pipeline's results.json carries every section the claim checks read (schema agreement)."""
    from repro.claims import evaluate
    from repro.results import Results

    verdicts = evaluate(Results.from_json(smoke_run / "results.json"), resamples=20)
    unmeasured = {v.id: v.detail for v in verdicts if v.verdict == "not measured"}
    assert not unmeasured
    assert all(v.support is not None for v in verdicts if v.id.startswith(("table1.", "grid.", "rrc.")))
    assert (smoke_run / "claims.md").is_file() and (smoke_run / "claims.html").is_file()
