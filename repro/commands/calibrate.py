"""``repro calibrate``: what this configuration's A_S costs each classifier, on held-out training images.

Runs (or reuses) the pretrain and classifiers stages of the configuration, then measures top-1 of each
classifier alone and on A_S's reconstructions of the held-out training images (``data.heldout``; never
the test set), and writes ``<out>/calibration.json``: each cost in points with its paired bootstrap 95%
interval, A_S's held-out MSE and pre-training curve, the MACs per image, the time each stage took here,
and the FLOP estimate of a gpu-scale run with this setting. docs/instrument.md declares the candidates
and the rule that reads these records; ``scripts/calibrate.sh`` runs them, and ``repro calibrate-table
DIR`` tabulates every record under DIR with the rule's choice.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    from repro.commands.pipeline import add_config_arguments

    p = sub.add_parser("calibrate", help="held-out cost of A_S for each classifier (the instrument's calibration)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_config_arguments(p)
    p.set_defaults(func=run)
    t = sub.add_parser("calibrate-table", help="the calibration records under a folder, as a table, with the rule's choice",
                       description="Tabulate every calibration.json in the sub-folders of DIR (docs/instrument.md's "
                                   "candidates) and apply the declared rule.")
    t.add_argument("folder", metavar="DIR", help="a folder whose sub-folders hold calibration.json records")
    t.add_argument("--out", metavar="FILE", help="write the table there (markdown) instead of printing it")
    t.set_defaults(func=run_table)


def run(args: argparse.Namespace) -> int:
    from repro.calibration import CALIBRATION_FILE
    from repro.commands.instrument_runs import run_on_trained_models

    return run_on_trained_models(args, command="calibrate", record=CALIBRATION_FILE, measure=measure, line=_line)


def measure(ctx, models) -> dict:
    """Measure this configuration's A_S on the held-out images against its classifiers (module doc): the
    record's fields before its time and provenance (repro.commands.instrument_runs adds those)."""
    import torch

    from repro.calibration import cost_interval, setting_of
    from repro.evaluation import autoencoder_accuracy
    from repro.data import ImageDataset, eval_transform, heldout_source, make_loader
    from repro.models import count_macs
    from repro.results import ALONE, PRETRAINED_AE

    cfg = ctx.cfg
    ae, classifiers, pre, clf_summaries = models.ae, models.classifiers, models.pretrain, models.classifier_summaries
    heldout = heldout_source(cfg, ctx.cache, progress=ctx.progress)
    loader = make_loader(ImageDataset(heldout, eval_transform(cfg)), cfg.evaluate.batch_size,
                         num_workers=cfg.data.num_workers, device=ctx.device)
    measured = autoencoder_accuracy(ae, classifiers, loader, device=ctx.device, precision=cfg.precision,
                                    per_image=True)
    correct = measured.pop("correct")
    side = cfg.data.image_size
    with torch.device("cpu"):
        macs = {"AE": count_macs(ae.cpu(), side), **{k: count_macs(c.cpu(), side) for k, c in classifiers.items()}}
    curves = pre.get("curves") or {}
    return {
        "setting": setting_of(cfg.to_dict()),
        "classifiers": list(cfg.classifiers.keys),
        "heldout": {
            "n": measured["n"], "mse": measured["mse"], "top1": measured["top1"],
            "cost": {k: cost_interval(correct[ALONE][k], correct[PRETRAINED_AE][k]) for k in cfg.classifiers.keys},
        },
        "pretrain": {"val_mse": pre.get("val_mse"), "best_images_seen": pre.get("best_images_seen"),
                     "images_seen": pre.get("images_seen"), "stop_reason": pre.get("stop_reason"),
                     "time_s": pre.get("time_s"),
                     "curve": {x: curves.get(x) for x in ("images_seen", "train_mse", "val_mse", "lr")}},
        "classifier_test_top1": {k: s.get("top1") for k, s in clf_summaries.items()},
        "macs_per_image": macs,
        # Minutes each stage took here (whatever else ran beside it: run.log says), from the units' records
        "minutes_here": {"pretrain": _minutes(pre.get("time_s")),
                         "classifiers": _minutes(sum(s.get("time_s") or 0 for s in clf_summaries.values()) or None)},
        "gpu_estimate": gpu_estimate(cfg, ctx),
    }


def gpu_estimate(cfg, ctx) -> dict | None:
    """The FLOPs of a gpu-scale run with this configuration's A_S width and image side (the gpu recipe's
    epochs, classifier width and held-out split on the whole data set; models counted on the meta device,
    nothing computed). None when the configuration's data set is not the gpu scale's."""
    import torch

    from repro.calibration import estimate_gpu_flops, gpu_seconds
    from repro.config import gpu
    from repro.data import load_source
    from repro.models import count_macs
    from repro.models.classifiers import build_classifier
    from repro.models.segnet import SegNet, SegNetConfig

    g = gpu()
    if cfg.data.dataset != g.data.dataset:
        return None
    side = cfg.data.image_size
    train = len(load_source(cfg, "train", ctx.cache)) - g.data.heldout
    test = len(load_source(cfg, "test", ctx.cache))
    with torch.device("meta"):
        macs = {"AE": count_macs(SegNet(SegNetConfig(width=cfg.ae.width)), side)}
        for k in cfg.classifiers.keys:
            clf = build_classifier(k, family="cifar", num_classes=10, width=g.classifiers.width,
                                   input_size=None if side == 32 else side)
            macs[k] = count_macs(clf, side)
    flops = estimate_gpu_flops(macs, train_images=train, test_images=test, pretrain_epochs=g.pretrain.epochs,
                               classifier_epochs={k: g.classifiers.epochs_for(k) for k in cfg.classifiers.keys},
                               finetune_epochs=g.finetune.epochs)
    return {"flops": flops, "h200_minutes": gpu_seconds(flops) / 60, "macs_per_image": macs,
            "train_images": train, "test_images": test}


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None else seconds / 60


def _line(record: dict) -> str:
    s, cost = record["setting"], record["heldout"]["cost"]
    return (f"A_S width {s['ae_width']:g} at {s['side']} px, held-out MSE {record['heldout']['mse']:.5f}; cost (points) "
            + ", ".join(f"{k} {c['points']:.2f} [{c['low']:.2f}, {c['high']:.2f}]" for k, c in cost.items()))


def run_table(args: argparse.Namespace) -> int:
    from repro.calibration import read_all, table
    from repro.checkpoint import atomic_write

    text = ("# The instrument's calibration (docs/instrument.md)\n\nA_S's cost in top-1 points on the held-out "
            "training images (paired bootstrap 95% interval), written by `repro calibrate-table` from the records "
            "beside this file.\n\n" + table(read_all(args.folder)) + "\n")
    if args.out:
        atomic_write(Path(args.out), lambda fh: fh.write(text.encode()))
    else:
        print(text, end="")
    return 0
