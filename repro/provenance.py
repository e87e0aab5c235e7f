"""What produced a result: the config, library versions, git commit and seeds, written beside it."""

from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

from repro.config import RunConfig

_PACKAGES = ("torch", "torchvision", "numpy", "scikit-learn", "scikit-image", "scipy", "matplotlib", "concepts", "tqdm")


def library_versions() -> dict[str, str | None]:
    """Installed versions of the libraries a result depends on (``None``: not installed)."""
    from importlib import metadata

    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def git_commit(cwd: str | Path | None = None) -> dict[str, Any]:
    """HEAD's commit and whether the working tree differs from it (``None`` outside a checkout)."""
    cwd = Path(cwd) if cwd else Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=10)
        if head.returncode != 0:
            return {"commit": None, "dirty": None}
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd,
                                capture_output=True, text=True, timeout=10)
        return {"commit": head.stdout.strip(), "dirty": bool(status.stdout.strip()) if status.returncode == 0 else None}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def hardware(device: str) -> dict[str, Any]:
    import torch

    info: dict[str, Any] = {"platform": platform.platform(), "machine": platform.machine(),
                            "torch_threads": torch.get_num_threads(), "device": device}
    if device.startswith("cuda") and torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(torch.device(device))
        info["cuda"] = torch.version.cuda
    return info


def provenance(cfg: RunConfig, device: str, seeds: dict[str, int] | None = None,
               world_size: int = 1) -> dict[str, Any]:
    """The ``provenance`` section of results.json and of every stage's ``done.json``."""
    git = git_commit()
    return {
        "config": cfg.to_dict(),
        "versions": library_versions(),
        "git_commit": git["commit"],
        "git_dirty": git["dirty"],
        "seed": cfg.seed,
        "seeds": seeds or {},
        "hardware": hardware(device),
        "world_size": world_size,
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
    }
