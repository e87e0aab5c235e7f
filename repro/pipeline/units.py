"""Unit bookkeeping: when a unit is finished, reusing it, finishing it, and dropping a forced one's state.

A stage is made of units (A_S; one classifier; one fine-tuned AE), each cached under
``<out>/ckpt/<stage>/<unit>/<key>/`` (the unit of pretrain is ``A_S``, of classifiers ``L``, ..., of
finetune ``A_L``, ...; the key: :mod:`repro.pipeline.unit_keys`):

    state.pt    resumable training state (checkpointed during training, atomic, weights_only)
    model.pt    the finished model, rebuilding itself: {"kind", "config", "state_dict", "meta"}
    done.json   {"key", "summary", "provenance", "model": {"size", "sha256"}}: written last; the unit
                is finished for this key, and model.pt is the file that was written then

Re-running reuses a finished unit after checking its model file against the size and sha256 in
done.json (a damaged file is an error naming the command that rebuilds it), and redoes an unfinished
one from its checkpoint. ``--force`` retrains a unit from scratch, and its old model.pt and done.json
stay until the new ones replace them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from repro.errors import ReproError
from repro.pipeline.context import RunContext
from repro.pipeline.stage_names import CLASSIFIERS, FINETUNE, STAGE_NAMES
from repro import distributed
from repro.checkpoint import file_record, read_json, replace_file, write_json_atomic
from repro.provenance import provenance

STAGED_MODEL = "model.pt.new"  # a unit's new model file until mark_done puts it in place


def unit_done(ctx: RunContext, stage: str, unit_dir: Path, key: str) -> dict[str, Any] | None:
    """The unit's done.json if it is finished for ``key`` (and not forced), else None; a :class:`ReproError`
    when it is finished but its model file is not the one written then (:func:`check_model`)."""

    if stage in ctx.force:
        return None
    done = read_json(unit_dir / "done.json")
    if not isinstance(done, dict) or done.get("key") != key or not isinstance(done.get("model"), dict):
        return None
    if not (unit_dir / "model.pt").exists():
        return None  # deleted by hand: rebuilt, as the user presumably wants
    check_model(unit_dir / "model.pt", done)
    return done


def check_model(path: Path, done: dict[str, Any] | None = None) -> None:
    """Raise a :class:`ReproError` naming ``path`` and the command that rebuilds it when the file is not
    the one its done.json recorded (size, then sha256). No record (a model file from elsewhere): no check.
    """

    if done is None:
        done = read_json(path.parent / "done.json")
    want = done.get("model") if isinstance(done, dict) else None
    if not isinstance(want, dict):
        return
    try:
        got = file_record(path)
    except OSError as err:
        raise ReproError(f"{path}: cannot be read ({err.strerror or err}); {rebuild_hint(path)}") from None
    if got["size"] != want.get("size"):
        why = f"{got['size']:,} bytes, done.json recorded {want.get('size'):,}" if isinstance(
            want.get("size"), int) else f"{got['size']:,} bytes, no size recorded"
    elif got["sha256"] != want.get("sha256"):
        why = "its sha256 differs from the one done.json recorded"
    else:
        return
    raise ReproError(f"{path}: damaged ({why}); {rebuild_hint(path)}")


def rebuild_hint(path: Path) -> str:
    """The command that rebuilds the unit whose model file is ``path`` (``<out>/ckpt/<stage>/<unit>/<key>/``)."""
    import shlex


    unit_dir = path.parent
    if len(unit_dir.parents) < 4 or unit_dir.parents[2].name != "ckpt" or unit_dir.parents[1].name not in STAGE_NAMES:
        return "rebuild it with --force"
    stage, unit, out = unit_dir.parents[1].name, unit_dir.parent.name, unit_dir.parents[3]
    done = read_json(unit_dir / "done.json")
    scale = (done.get("provenance", {}).get("config", {}).get("scale") if isinstance(done, dict) else None)
    cmd = ["repro", stage, *(["--scale", scale] if isinstance(scale, str) else []), "--out", str(out)]
    extra = (done.get("provenance", {}).get("config", {}).get("classifiers", {}).get("extra")
             if isinstance(done, dict) else None) or {}
    if stage in (CLASSIFIERS, FINETUNE):
        label = unit.removeprefix("A_") if stage == FINETUNE else unit
        cmd += ["--classifiers", f"{label}={extra[label]}" if label in extra else label]
    return f"rebuild it with `{shlex.join([*cmd, '--force'])}` and this run's other options"


def reuse_unit(ctx: RunContext, stage: str, label: str, unit_dir: Path, key: str,
               describe: Callable[[dict[str, Any]], str]) -> dict[str, Any] | None:
    """The summary of a unit finished for ``key`` (logged as cached), else None; a forced stage's
    unit drops its training state, so that it starts afresh (its finished files stay until replaced)."""
    done = unit_done(ctx, stage, unit_dir, key)
    if done:
        ctx.info(f"{label}: cached ({describe(done['summary'])})")
        return done["summary"]
    if stage in ctx.force:
        clear_unit(ctx, unit_dir)
    return None


def mark_done(ctx: RunContext, unit_dir: Path, key: str, summary: dict[str, Any], seeds: dict[str, int]) -> dict:
    """Finish a unit: put its new model file (written to ``STAGED_MODEL``) in place and write done.json
    with the model's size and sha256.

    A unit that replaces a finished one (``--force``, or an input that changed) keeps the old files
    until the new model is complete on disk; then the old done.json goes first, so that a process
    killed before the new done.json is written leaves an unfinished unit (resumed from state.pt), never
    an old done.json beside a new model.
    """

    done = {"key": key, "summary": summary,
            "provenance": provenance(ctx.cfg, ctx.device, seeds, distributed.info().world_size)}
    if ctx.is_main:
        model, staged = unit_dir / "model.pt", unit_dir / STAGED_MODEL
        if staged.exists():
            (unit_dir / "done.json").unlink(missing_ok=True)
            replace_file(staged, model)
        done["model"] = file_record(model)
        write_json_atomic(unit_dir / "done.json", done)
        (unit_dir / "state.pt").unlink(missing_ok=True)  # the finished model replaces the training state
    distributed.barrier()
    return done


def clear_unit(ctx: RunContext, unit_dir: Path) -> None:
    """Drop a forced unit's unfinished training state, so it trains from scratch. Its finished
    model.pt and done.json stay until :func:`mark_done` replaces them: a forced run that fails or is
    killed leaves the unit as it was."""
    if ctx.is_main:
        (unit_dir / "state.pt").unlink(missing_ok=True)
        (unit_dir / STAGED_MODEL).unlink(missing_ok=True)

    distributed.barrier()
