"""Where the project looks for data and writes results (one place, overridable by environment)."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def artifacts_dir(name: str | None = None) -> Path:
    """``$REPRO_ARTIFACTS`` or ``artifacts/`` of the checkout; ``name`` picks a run's sub-folder."""
    root = Path(os.environ.get("REPRO_ARTIFACTS", REPO_ROOT / "artifacts"))
    return root / name if name else root
