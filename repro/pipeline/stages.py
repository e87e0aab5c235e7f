"""The stage table: each stage's ``run(ctx) -> dict`` (its summary), in pipeline order, and the loop that
runs the stages a command names (``repro run``: all four; ``repro pretrain`` etc.: one).

Importing this module imports the four stages, and with them torch: the command line imports it only
when a stage runs (:mod:`repro.pipeline.stage_names` names the stages without).
"""

from __future__ import annotations

import time
from typing import Any, Callable

from repro.pipeline import classifiers, evaluate, finetune, pretrain
from repro.pipeline.context import RunContext, fmt_time
from repro.pipeline.stage_names import CLASSIFIERS, EVALUATE, FINETUNE, PRETRAIN

STAGES: dict[str, Callable[[RunContext], dict[str, Any]]] = {
    PRETRAIN: pretrain.run,
    CLASSIFIERS: classifiers.run,
    FINETUNE: finetune.run,
    EVALUATE: evaluate.run,
}


def run_stages(ctx: RunContext, stages: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """Run the named stages in pipeline order; returns their summaries."""
    out = {}
    for name, run in STAGES.items():
        if name in stages:
            t0 = time.monotonic()
            out[name] = run(ctx)
            ctx.info(f"== {name}: {_stage_line(name, out[name])} [{fmt_time(time.monotonic() - t0)} this run]")
    return out


def _stage_line(name: str, summary: dict[str, Any]) -> str:
    """The one-line summary of a stage (units' own lines are printed as they finish)."""
    if name == PRETRAIN:
        return f"A_S val MSE {summary['val_mse']:.5f} after {summary['images_seen']:,} images"
    if name == CLASSIFIERS:
        return "test top-1 " + ", ".join(f"{k} {s['top1']:.4f}" for k, s in summary.items())
    if name == FINETUNE:
        return "last-epoch train top-1 " + ", ".join(
            f"{a} {s['train_top1'][-1]:.4f}" for a, s in summary.items() if s.get("train_top1"))
    if name == EVALUATE:
        return f"results in {summary['results']}" if summary.get("results") else "done on rank 0"
    return "done"
