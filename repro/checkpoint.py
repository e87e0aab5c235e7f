"""Checkpoints: atomic writes, ``weights_only=True`` loads, and the state a resumed run needs.

A training checkpoint holds everything that decides what the next step computes: model, optimiser and
schedule state, position (epoch, step within the epoch, images seen), the history logged so far, and
the RNG states (torch CPU and CUDA, numpy, Python's ``random``). Data order and augmentation do not
depend on RNG state (see :mod:`repro.data`), so restoring these is enough for a resumed run to finish
with exactly the numbers of an uninterrupted one.

Files are written to a temporary name in the same folder, flushed to disk and renamed over the target,
so a process killed at any moment leaves either the old checkpoint or the new one, never half a file.
Every file holds only tensors and plain Python containers, so it loads with ``weights_only=True``.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import tempfile
from pathlib import Path
from typing import Any

import torch

from repro.errors import ReproError, writing
from repro.paths import new_file_mode


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path: str | Path, write) -> None:
    """Call ``write(fileobj)`` on a temporary file beside ``path``, fsync it, and rename it to ``path``.

    A write that fails (full disk, read-only or protected folder) removes the temporary file and raises
    a one-line :class:`repro.errors.WriteError` naming ``path``; ``torch.save``'s failure (a RuntimeError
    around the OSError) included."""
    path = Path(path)
    with writing(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            os.fchmod(fd, new_file_mode())  # mkstemp's 0600 would keep collaborators out
            with os.fdopen(fd, "wb") as fh:
                write(fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    _fsync_dir(path.parent)


def replace_file(src: str | Path, dst: str | Path) -> None:
    """Rename a finished file over ``dst`` (atomic on one file system) and make the rename durable."""
    os.replace(src, dst)
    _fsync_dir(Path(dst).parent)


def file_record(path: str | Path) -> dict[str, Any]:
    """``{"size", "sha256"}`` of a file, recorded when a model is written and checked before it is reused.

    Cheap next to what it guards: 0.02 s for a 30 MB model (cpu scale), 0.16 s for 118 MB (SegNet at
    width 1), measured on the 2-core development machine.
    """
    path = Path(path)
    with open(path, "rb") as fh:
        digest = hashlib.file_digest(fh, "sha256").hexdigest()
    return {"size": path.stat().st_size, "sha256": digest}


def save_checkpoint(obj: dict[str, Any], path: str | Path) -> None:
    """``torch.save`` atomically."""
    atomic_write(path, lambda fh: torch.save(obj, fh))


def _torch_reason(err: Exception) -> str:
    """The part of torch's load error that says what is wrong with the file, in one short line.

    Left out: torch's advice to retry with ``weights_only=False``. Every file this package writes loads
    with ``weights_only=True``, so a file that does not is damaged or not ours, and unpickling it
    fully would run whatever code it holds.
    """
    text = str(err)
    unpickler = re.search(r"WeightsUnpickler error:\s*(.+)", text)  # past torch's advice, to the cause
    first = unpickler.group(1) if unpickler else text.strip().splitlines()[0] if text.strip() else type(err).__name__
    return re.split(r"(?<=\.)\s", first.strip())[0][:160]  # its first sentence: the rest is advice


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """``torch.load(weights_only=True)``; a missing or unreadable file is a :class:`ReproError` naming it."""
    path = Path(path)
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise ReproError(f"{path}: no such checkpoint") from None
    except Exception as err:  # unpickling errors come in many types
        try:
            size = f"{path.stat().st_size:,} bytes, "
        except OSError:
            size = ""
        raise ReproError(f"{path}: damaged or not a checkpoint written by repro "
                         f"({size}torch: {_torch_reason(err)})") from None


def write_json_atomic(path: str | Path, data: Any) -> None:
    text = json.dumps(data, indent=2, sort_keys=False, allow_nan=True) + "\n"
    atomic_write(path, lambda fh: fh.write(text.encode()))


def read_json(path: str | Path) -> Any | None:
    """The JSON in ``path``, or ``None`` when the file is missing or unreadable."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return None


# --- RNG state --------------------------------------------------------------------------------------


def rng_state() -> dict[str, Any]:
    """Every RNG a training step may draw from, as weights_only-loadable values."""
    import numpy as np

    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {"kind": str(kind), "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
        "python": _python_state_to_plain(random.getstate()),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    import numpy as np

    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached_gaussian"]))
    random.setstate(_python_state_from_plain(state["python"]))
    if "cuda" in state and torch.cuda.is_available():
        cuda_states = state["cuda"]
        if len(cuda_states) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda_states)


def _python_state_to_plain(st: tuple) -> list:
    version, internal, gauss = st
    return [version, list(internal), gauss]


def _python_state_from_plain(st: list) -> tuple:
    version, internal, gauss = st
    return (version, tuple(internal), gauss)


# --- training state ---------------------------------------------------------------------------------


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    """The module inside DistributedDataParallel / torch.compile wrappers."""
    while True:
        if hasattr(model, "module") and isinstance(model, torch.nn.parallel.DistributedDataParallel):
            model = model.module
        elif hasattr(model, "_orig_mod"):
            model = model._orig_mod
        else:
            return model


def cpu_state_dict(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu", copy=True) for k, v in unwrap(model).state_dict().items()}


def save_train_state(path: str | Path, *, key: str, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                     scheduler: Any, epoch: int, step: int, images_seen: int, history: dict[str, Any],
                     extra: dict[str, Any] | None = None) -> None:
    """A resumable training checkpoint. ``epoch``/``step``: the next batch to run (step within epoch)."""
    save_checkpoint({
        "kind": "train_state",
        "key": key,
        "model": cpu_state_dict(model),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "epoch": int(epoch),
        "step": int(step),
        "images_seen": int(images_seen),
        "history": history,
        "rng": rng_state(),
        "extra": extra or {},
    }, path)


def load_train_state(path: str | Path, key: str) -> dict[str, Any] | None:
    """The saved state if ``path`` holds one for ``key``; ``None`` when absent, stale or unreadable."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        state = load_checkpoint(path)
    except ReproError:
        return None
    if not isinstance(state, dict) or state.get("kind") != "train_state" or state.get("key") != key:
        return None
    return state


def save_model_file(path: str | Path, kind: str, config: dict[str, Any], model: torch.nn.Module,
                    meta: dict[str, Any] | None = None) -> None:
    """A finished model that rebuilds itself: ``{"kind", "config", "state_dict", "meta"}``."""
    save_checkpoint({"kind": kind, "config": config, "state_dict": cpu_state_dict(model), "meta": meta or {}}, path)
