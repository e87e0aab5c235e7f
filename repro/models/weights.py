"""State-dict files: safe loading with clear errors, and atomic saving.

Loading always uses ``torch.load(weights_only=True)``: a weights file given by a user is data, and the
restricted unpickler refuses anything but tensors and plain containers (no code runs on load).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from repro.errors import ReproError
from repro.paths import new_file_mode

# Checkpoint wrappers seen in the wild ({"state_dict": ...} from Lightning and many scripts,
# {"model": ...} from torchvision's reference training scripts); unwrapped when the top level is not
# itself a state dict.
_WRAPPER_KEYS = ("state_dict", "model_state_dict", "model")


def _is_state_dict(obj: Any) -> bool:
    import torch

    return isinstance(obj, Mapping) and len(obj) > 0 and all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items()
    )


def _unwrap(obj: Any) -> Any:
    if isinstance(obj, Mapping) and not _is_state_dict(obj):
        for key in _WRAPPER_KEYS:
            if key in obj and _is_state_dict(obj[key]):
                return obj[key]
    return obj


def _strip_module_prefix(state: dict) -> dict:
    """Remove the ``module.`` prefix that (Distributed)DataParallel adds to every key.

    >>> _strip_module_prefix({"module.a": 1, "module.b": 2})
    {'a': 1, 'b': 2}
    >>> _strip_module_prefix({"module.a": 1, "b": 2})
    {'module.a': 1, 'b': 2}
    """
    if state and all(k.startswith("module.") for k in state):
        return {k[len("module."):]: v for k, v in state.items()}
    return state


def describe_mismatch(state: Mapping, own: Mapping) -> str | None:
    """What keeps ``state`` from loading strictly into a module whose state dict is ``own`` (None: nothing)."""
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    wrong = sorted(k for k in set(own) & set(state) if tuple(own[k].shape) != tuple(state[k].shape))
    parts = []
    if missing:
        parts.append(f"{len(missing)} missing keys (e.g. {missing[0]!r})")
    if unexpected:
        parts.append(f"{len(unexpected)} unexpected keys (e.g. {unexpected[0]!r})")
    if wrong:
        k = wrong[0]
        parts.append(
            f"{len(wrong)} shape mismatches (e.g. {k!r}: file {tuple(state[k].shape)}, model {tuple(own[k].shape)})"
        )
    return "; ".join(parts) or None


def load_state_dict_file(path: str | os.PathLike, module: Any = None) -> dict:
    """Read a state dict from ``path``; with ``module``, check it fits and load it into the module.

    Raises :class:`ReproError` naming the file when it is missing, unreadable, corrupt or truncated,
    holds no state dict, or (with ``module``) has missing/unexpected keys or wrong shapes.
    Returns the state dict (CPU tensors).
    """
    import torch

    p = Path(path)
    if not p.exists():
        raise ReproError(f"weights file {p} does not exist")
    if not p.is_file():
        raise ReproError(f"weights file {p} is not a file")
    try:
        obj = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as err:  # corrupt/truncated zip, bad pickle, disallowed global, I/O error...
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ReproError(
            f"weights file {p} cannot be read as a PyTorch state dict (corrupt, truncated, or not a "
            f"weights-only file): {type(err).__name__}: {reason[:200]}"
        ) from err
    obj = _unwrap(obj)
    if not _is_state_dict(obj):
        raise ReproError(
            f"weights file {p} does not hold a state dict (a mapping of names to tensors); found {type(obj).__name__}"
        )
    state = _strip_module_prefix(dict(obj))
    if module is not None:
        problem = describe_mismatch(state, module.state_dict())
        if problem:
            raise ReproError(f"weights file {p} does not fit {type(module).__name__}: {problem}")
        module.load_state_dict(state, strict=True)
    return state


def save_state_dict_atomic(state: Any, path: str | os.PathLike) -> None:
    """Save ``state`` with ``torch.save`` so that ``path`` holds either the old or the new file.

    Writes a temporary file in the same folder (same file system, so ``os.replace`` is atomic),
    fsyncs it, renames it over ``path`` and fsyncs the folder; an interrupted save leaves no partial
    file under ``path``. Creates the folder if needed.
    """
    import torch

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        os.fchmod(fd, new_file_mode())  # mkstemp's 0600 would keep collaborators out
        with os.fdopen(fd, "wb") as fh:
            torch.save(state, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, p)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:  # make the rename itself durable; not possible on every platform/file system
        dfd = os.open(p.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)
