"""Shared fixtures of the unit tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torchvision
from torch import nn

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The shared data folder (REPRO_DATA, else ../shared/data); tests needing it skip when absent."""
    root = Path(os.environ.get("REPRO_DATA", ROOT.parent / "shared" / "data"))
    if not (root / "cifar10").is_dir():
        pytest.skip(f"no CIFAR-10 under {root} (set REPRO_DATA)")
    return root


@pytest.fixture
def get_model_calls(monkeypatch) -> list:
    """torchvision.models.get_model replaced by a stub that records its (name, kwargs) and downloads
    nothing: the list it returns fills as classifiers are built."""
    calls = []

    def fake_get_model(name, **kwargs):
        calls.append((name, kwargs))
        return nn.Sequential(nn.Flatten(), nn.LazyLinear(1000))

    monkeypatch.setattr(torchvision.models, "get_model", fake_get_model)
    return calls


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory) -> Path:
    """One finished `repro run --scale smoke` for the whole session (about 1.5 min on 2 cores; bundled digits,
    no data needed), through the CLI in a subprocess. Shared: a test that changes the folder copies it first."""
    out = tmp_path_factory.mktemp("smoke") / "run"
    env = {k: v for k, v in os.environ.items() if k not in ("REPRO_FAULT_KILL", "REPRO_CACHE")}
    proc = subprocess.run([sys.executable, "-m", "repro.cli", "run", "--scale", "smoke", "--out", str(out),
                           "--no-progress"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stderr[-4000:]}"
    return out
