"""Stage 4: measure everything the claims need and write ``<out>/results.json`` (schema: repro.results).

Loads the classifiers, A_S and every A_i from their model files and calls
:func:`repro.evaluation.measure` on the test set (Table 1, the cross grid of Table 2, the noise sweep,
nMI, LAB statistics and the Fig. 3 panel); adds the pretraining curves (and draws Fig. 2), the
classifiers' and fine-tuning's training records, the time of every stage and the provenance; writes
the file atomically. Runs on rank 0 only under torchrun (evaluation is cheap next to training).
The stage's key (config and a digest of its input units' done.json) is stored in
``provenance.stage_key``; a rerun with the same key is skipped.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch

from repro import distributed
from repro.checkpoint import read_json
from repro.data import eval_loader
from repro.errors import ReproError
from repro.pipeline import unit_keys
from repro.pipeline.context import RunContext, fmt_time
from repro.pipeline.model_files import load_classifier, load_segnet
from repro.pipeline.seeds import run_seeds
from repro.pipeline.unit_keys import upstream_digest
from repro.provenance import provenance
from repro.results import SCHEMA_VERSION, ae_name, read_results_json, write_results_json
from repro.evaluation import measure
from repro.figures import plot_mse_curves
from repro.vocabulary import plural

FIG2_NAME = "fig2_mse.png"


def _done_summary(path: Path) -> dict[str, Any]:
    done = read_json(path / "done.json")
    if not done:
        raise ReproError(f"evaluate: {path / 'done.json'} is missing; run the earlier stages first (`repro run`)")
    return done["summary"]


def run(ctx: RunContext) -> dict[str, Any]:
    cfg = ctx.cfg
    ks = cfg.classifiers.keys
    key = f"{unit_keys.evaluate(cfg)}-" + upstream_digest(
        ctx.unit_dir("pretrain"), *(ctx.unit_dir("classifiers", k) for k in ks),
        *(ctx.unit_dir("finetune", ae_name(k)) for k in ks))
    if "evaluate" not in ctx.force:
        old = read_json(ctx.results_path)
        if old and old.get("provenance", {}).get("stage_key") == key and _side_file_intact(ctx):
            ctx.info(f"evaluate: cached ({_line(old)})")
            return {"results": str(ctx.results_path), "cached": True}
    if not ctx.is_main:  # no collective calls follow, so the other processes may simply finish
        return {}
    return _measure_and_write(ctx, key)


def _side_file_intact(ctx: RunContext) -> bool:
    """Whether results.json's per-image side file is there and matches it; if not, evaluation reruns."""
    try:
        read_results_json(ctx.results_path)
    except ReproError as err:
        ctx.info(f"evaluate: {err}; measuring again")
        return False
    return True


def _measure_and_write(ctx: RunContext, key: str) -> dict[str, Any]:
    cfg = ctx.cfg
    ks = list(cfg.classifiers.keys)
    t0 = time.monotonic()
    expected = {
        "pretrain": ctx.unit_dir("pretrain"),
        **{f"classifier {k}": ctx.unit_dir("classifiers", k) for k in ks},
        **{f"finetune {ae_name(k)}": ctx.unit_dir("finetune", ae_name(k)) for k in ks},
    }
    expected_keys = {"pretrain": unit_keys.pretrain(cfg),
                     **{f"classifier {k}": unit_keys.classifier(cfg, k) for k in ks},
                     **{f"finetune {ae_name(k)}": unit_keys.finetune_finished(ctx.cfg, k, ctx.unit_dir) for k in ks}}
    for what, folder in expected.items():
        done = read_json(folder / "done.json")
        if not done or done.get("key") != expected_keys[what]:
            raise ReproError(f"evaluate: {what} is not finished for this configuration ({folder}); "
                             "run the earlier stages first (`repro run` does all)")
    pre = _done_summary(expected["pretrain"])
    clf_summaries = {k: _done_summary(expected[f"classifier {k}"]) for k in ks}
    ft_summaries = {ae_name(k): _done_summary(expected[f"finetune {ae_name(k)}"]) for k in ks}

    classifiers = {k: load_classifier(expected[f"classifier {k}"] / "model.pt", ctx.device).freeze() for k in ks}
    pretrained_ae = load_segnet(expected["pretrain"] / "model.pt", ctx.device)
    fine_tuned = {k: load_segnet(expected[f"finetune {ae_name(k)}"] / "model.pt", ctx.device) for k in ks}
    loader = eval_loader(cfg, ctx.cache, ctx.device, progress=ctx.progress)


    ctx.info(f"evaluate: {len(loader.dataset):,} test images, {plural(len(ks), 'classifier')}, {1 + len(ks)} autoencoders, "
             f"noise sweep on {cfg.evaluate.noise_images or len(loader.dataset):,} images x "
             f"{len(cfg.evaluate.noise_levels)} levels")
    measured = measure(
        classifiers, pretrained_ae, fine_tuned, loader, device=ctx.device,
        noise_levels=cfg.evaluate.noise_levels, noise_seed=cfg.evaluate.noise_seed,
        noise_images=cfg.evaluate.noise_images, nmi_bins=cfg.evaluate.nmi_bins, figures_dir=ctx.figures,
        progress=ctx.progress, autocast_dtype=torch.bfloat16 if cfg.precision == "bf16" else None,
    )
    curves = {k: v for k, v in pre["curves"].items() if k in ("images_seen", "train_mse", "val_mse", "lr")}
    figures = dict(measured.pop("figures", {}) or {})
    fig2 = plot_mse_curves(curves, ctx.figures / FIG2_NAME, title=f"SegNet pretraining ({cfg.scale} scale)")
    if fig2:
        figures["fig2_mse"] = f"{ctx.figures.name}/{FIG2_NAME}"
    eval_time = time.monotonic() - t0
    timings = {
        "pretrain": pre["time_s"],
        "classifiers": sum(s["time_s"] for s in clf_summaries.values()),
        "finetune": sum(s["time_s"] for s in ft_summaries.values()),
        "evaluate": eval_time,
        "per_unit": {"A_S": pre["time_s"], **{k: s["time_s"] for k, s in clf_summaries.items()},
                     **{a: s["time_s"] for a, s in ft_summaries.items()}},
    }
    timings["total"] = timings["pretrain"] + timings["classifiers"] + timings["finetune"] + eval_time
    results: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "scale": cfg.scale,
        "classifiers": ks,
        **measured,
        "pretrain": {**curves, "epochs": pre["epochs"], "images": pre["images"]},
        "classifier_training": {
            k: {"source": s["source"], "epochs": s["epochs"], "top1": s["top1"], "top5": s["top5"],
                "parameters": s["parameters"], "train_loss": s["train_loss"], "train_top1": s["train_top1"]}
            for k, s in clf_summaries.items()
        },
        "finetune": {a: finetune_record(s, ks) for a, s in ft_summaries.items()},
        "timings_s": timings,
        **ctx.sizing.results_entry(ctx, {"A_S": pre, **clf_summaries, **ft_summaries}, timings),  # a time budget's record
        "figures": figures,
        "provenance": {**provenance(cfg, ctx.device, run_seeds(cfg), distributed.info().world_size), "stage_key": key},
    }
    write_results_json(ctx.results_path, results)  # per_image in a side file (repro.results)
    ctx.info(f"evaluate: done ({_line(results)}); wrote {ctx.results_path}")
    return {"results": str(ctx.results_path), "cached": False, "time_s": eval_time}


def finetune_record(summary: dict[str, Any], classifiers: list[str]) -> dict[str, Any]:
    """What results.json keeps of a fine-tuning unit's summary.

    Its held-out cross-transfer records cover the classifiers of the run that trained it; a unit reused
    by a run with another set of classifiers keeps the same weights (they depend on its own classifier
    alone), so the records are restricted to this run's classifiers, and one it has no record of is
    left out rather than invented.

    >>> s = {"classifier": "V", "heldout": {"images": 2, "alone_top1": {"L": 0.5, "V": 0.7},
    ...      "curves": {"images_seen": [0], "heldout_loss": [1.0], "lr": [0.1],
    ...                 "heldout_top1": {"L": [0.4], "V": [0.6]}}}}
    >>> r = finetune_record(s, ["V", "R"])
    >>> r["heldout"]["alone_top1"], r["heldout"]["curves"]["heldout_top1"]
    ({'V': 0.7}, {'V': [0.6]})
    """
    record = {key: summary.get(key) for key in ("classifier", "trainable", "epochs", "images", "images_seen",
                                                 "stop_reason", "best", "heldout", "train_loss", "train_top1", "lr",
                                                 "classifier_unchanged")}
    held = record.get("heldout")
    if held:
        curves = held["curves"]
        record["heldout"] = {**held, "alone_top1": {j: v for j, v in held["alone_top1"].items() if j in classifiers},
                             "curves": {**curves, "heldout_top1": {j: v for j, v in curves["heldout_top1"].items()
                                                                   if j in classifiers}}}
    return record


def _line(results: dict[str, Any]) -> str:
    top1 = results["accuracy"]["top1"]
    parts = []
    for k in results["classifiers"]:
        a = ae_name(k)
        row = [f"{top1['none'][k]:.3f}", f"{top1['A_S'][k]:.3f}"]
        if a in top1:
            row.append(f"{top1[a][k]:.3f}")
        parts.append(f"{k} {'/'.join(row)}")
    t = results.get("timings_s", {})
    # the total is the units' recorded times and the evaluation's, not this run's (the stage line says that)
    total = f"; {fmt_time(t['total'])} over every session of every unit, evaluation included" if "total" in t else ""
    return "top-1 i/A_S∘i/A_i∘i: " + ", ".join(parts) + total
