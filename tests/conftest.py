"""Shared fixtures of the unit tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The shared data folder (REPRO_DATA, else ../shared/data); tests needing it skip when absent."""
    root = Path(os.environ.get("REPRO_DATA", ROOT.parent / "shared" / "data"))
    if not (root / "cifar10").is_dir():
        pytest.skip(f"no CIFAR-10 under {root} (set REPRO_DATA)")
    return root
