"""``repro ceiling``: test top-1 of each classifier alone and on A_S's reconstructions (repro.ceiling).

Runs (or reuses) the pretrain and classifiers stages of the configuration, then measures A_S∘i and i
alone on the test set and writes ``<out>/ceiling.json``: where decoder-only fine-tuning starts and the
most it can give back. With ``--set ae.width=W`` it measures A_S's quality against its width (copy the
main run's ckpt/classifiers into ``--out`` first to reuse its classifiers; scripts/ceiling.sh does).
"""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    from repro.commands.pipeline import add_config_arguments

    p = sub.add_parser("ceiling", help="test top-1 of i alone and of A_S∘i for this configuration's A_S",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_config_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from repro.ceiling import CEILING_FILE
    from repro.commands.pipeline import run as run_pipeline
    from repro.pipeline.stage_names import CLASSIFIERS, PRETRAIN

    def after(ctx) -> None:
        record = measure_and_write(ctx)
        ctx.info(f"ceiling: {_line(record)}; wrote {ctx.out / CEILING_FILE}")

    # a record of another width is never silently replaced (record=)
    return run_pipeline(args, (PRETRAIN, CLASSIFIERS), command="ceiling", record=CEILING_FILE, after=after)


def measure_and_write(ctx) -> dict:
    """Measure this configuration's A_S against its classifiers; ceiling.json holds the numbers, A_S's
    pre-training record, the configuration and the versions (provenance)."""
    import time

    from repro.ceiling import CEILING_FILE
    from repro.evaluation import autoencoder_accuracy
    from repro.checkpoint import read_json, write_json_atomic
    from repro.data import eval_loader
    from repro.pipeline.model_files import load_classifier, load_segnet
    from repro.pipeline.seeds import run_seeds
    from repro.provenance import provenance

    cfg = ctx.cfg
    t0 = time.monotonic()
    ae = load_segnet(ctx.unit_dir("pretrain") / "model.pt", ctx.device)
    classifiers = {k: load_classifier(ctx.unit_dir("classifiers", k) / "model.pt", ctx.device).freeze()
                   for k in cfg.classifiers.keys}
    loader = eval_loader(cfg, ctx.cache, ctx.device, progress=ctx.progress)
    measured = autoencoder_accuracy(ae, classifiers, loader, device=ctx.device, precision=cfg.precision)
    pre = (read_json(ctx.unit_dir("pretrain") / "done.json") or {}).get("summary", {})
    record = {
        "ae_width": cfg.ae.width,
        "classifiers": list(cfg.classifiers.keys),
        "test": measured,
        "pretrain": {"val_mse": pre.get("val_mse"), "best_images_seen": pre.get("best_images_seen"),
                     "images_seen": pre.get("images_seen"), "time_s": pre.get("time_s")},
        "time_s": time.monotonic() - t0,
        "provenance": provenance(cfg, ctx.device, {k: v for k, v in run_seeds(cfg).items()
                                                  if k.startswith(("pretrain", "classifier"))}),
    }
    write_json_atomic(ctx.out / CEILING_FILE, record)
    return record


def _line(record: dict) -> str:
    from repro.results import ALONE, PRETRAINED_AE

    t = record["test"]
    return (f"A_S width {record['ae_width']:g}, test MSE {t['mse']:.5f}; top-1 i/A_S∘i: "
            + ", ".join(f"{k} {t['top1'][ALONE][k]:.3f}/{t['top1'][PRETRAINED_AE][k]:.3f}" for k in record["classifiers"]))
