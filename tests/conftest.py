"""Shared fixtures of the unit tests."""

from __future__ import annotations

import os
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
