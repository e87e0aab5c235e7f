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
    from repro.commands.instrument_runs import run_on_trained_models

    # a record of another width is never silently replaced (instrument_runs passes record= to the pipeline)
    return run_on_trained_models(args, command="ceiling", record=CEILING_FILE, measure=measure, line=_line)


def measure(ctx, models) -> dict:
    """Measure this configuration's A_S against its classifiers on the test set; ceiling.json holds the
    numbers and A_S's pre-training record (repro.commands.instrument_runs adds the time and provenance:
    the configuration and the versions)."""
    from repro.data import eval_loader
    from repro.evaluation import autoencoder_accuracy

    cfg, pre = ctx.cfg, models.pretrain
    loader = eval_loader(cfg, ctx.cache, ctx.device, progress=ctx.progress)
    measured = autoencoder_accuracy(models.ae, models.classifiers, loader, device=ctx.device, precision=cfg.precision)
    return {
        "ae_width": cfg.ae.width,
        "classifiers": list(cfg.classifiers.keys),
        "test": measured,
        "pretrain": {"val_mse": pre.get("val_mse"), "best_images_seen": pre.get("best_images_seen"),
                     "images_seen": pre.get("images_seen"), "time_s": pre.get("time_s")},
    }


def _line(record: dict) -> str:
    from repro.results import ALONE, PRETRAINED_AE

    t = record["test"]
    return (f"A_S width {record['ae_width']:g}, test MSE {t['mse']:.5f}; top-1 i/A_S∘i: "
            + ", ".join(f"{k} {t['top1'][ALONE][k]:.3f}/{t['top1'][PRETRAINED_AE][k]:.3f}" for k in record["classifiers"]))
