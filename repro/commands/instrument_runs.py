"""What ``repro calibrate`` and ``repro ceiling`` share: each runs (or reuses) the pretrain and classifiers
stages of its configuration, measures that configuration's A_S against its frozen classifiers, and writes
one run-level record with the time the measurement took and its provenance (the seeds of the two stages).

Not a command: the CLI's COMMAND_MODULES does not list it.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any, Callable


@dataclass(frozen=True)
class TrainedModels:
    """A configuration's A_S and its frozen classifiers by key, on the run's device, with the pretrain
    unit's summary (its done.json) and each classifier unit's."""

    ae: Any
    classifiers: dict[str, Any]
    pretrain: dict[str, Any]
    classifier_summaries: dict[str, dict[str, Any]]


Measure = Callable[[Any, TrainedModels], dict]


def run_on_trained_models(args: argparse.Namespace, *, command: str, record: str, measure: Measure,
                          line: Callable[[dict], str]) -> int:
    """Run (or reuse) the pretrain and classifiers stages of ``args``'s configuration, then write
    ``<out>/<record>``: ``measure(ctx, models)``'s fields, then ``time_s`` (seconds from loading the models
    to the end of ``measure``) and ``provenance``. Logs ``<command>: <line(record)>``. A record of another
    configuration is never silently replaced (the pipeline's ``record=``)."""
    from repro.commands.pipeline import run as run_pipeline
    from repro.pipeline.stage_names import CLASSIFIERS, PRETRAIN

    def after(ctx) -> None:
        written = measure_and_write(ctx, record, measure)
        ctx.info(f"{command}: {line(written)}; wrote {ctx.out / record}")

    return run_pipeline(args, (PRETRAIN, CLASSIFIERS), command=command, record=record, after=after)


def measure_and_write(ctx, record: str, measure: Measure) -> dict:
    """Load the trained models, measure them, and write ``<out>/<record>`` (see run_on_trained_models)."""
    import time

    from repro.checkpoint import write_json_atomic
    from repro.pipeline.seeds import run_seeds
    from repro.provenance import provenance

    t0 = time.monotonic()
    fields = measure(ctx, load_trained_models(ctx))
    seeds = {k: v for k, v in run_seeds(ctx.cfg).items() if k.startswith(("pretrain", "classifier"))}
    written = {**fields, "time_s": time.monotonic() - t0, "provenance": provenance(ctx.cfg, ctx.device, seeds)}
    write_json_atomic(ctx.out / record, written)
    return written


def load_trained_models(ctx) -> TrainedModels:
    """The pretrain and classifiers stages' models and summaries of ``ctx``'s configuration."""
    from repro.checkpoint import read_json
    from repro.pipeline.model_files import load_classifier, load_segnet

    def summary(*unit: str) -> dict[str, Any]:
        return (read_json(ctx.unit_dir(*unit) / "done.json") or {}).get("summary", {})

    keys = ctx.cfg.classifiers.keys
    return TrainedModels(
        ae=load_segnet(ctx.unit_dir("pretrain") / "model.pt", ctx.device),
        classifiers={k: load_classifier(ctx.unit_dir("classifiers", k) / "model.pt", ctx.device).freeze()
                     for k in keys},
        pretrain=summary("pretrain"),
        classifier_summaries={k: summary("classifiers", k) for k in keys})
