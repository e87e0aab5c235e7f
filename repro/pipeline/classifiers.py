"""Stage 2: the classifiers C = {L, A, V, I, R} (Sec. 3.3).

At the paper scale A, V, I and R are torchvision's ImageNet models (``classifiers.pretrained``) and
LeNet-5 is trained here; at the other scales every classifier is trained from scratch on the training
split: SGD with Nesterov momentum, a one-cycle learning-rate schedule, weight decay, random crop and
mirror. Each classifier's test accuracy is recorded in its summary.
"""

from __future__ import annotations

import time
from typing import Any

import torch
import torch.nn.functional as F

from repro import distributed
from repro.checkpoint import save_model_file
from repro.data import ImageDataset, num_classes, eval_loader, train_source, train_transform
from repro.pipeline import RunContext, fmt_time, keys, mark_done, maybe_compile, reuse_unit, seed_for
from repro.training import Trainer, evaluate_accuracy


def model_config(ctx: RunContext, k: str, n_classes: int) -> dict[str, Any]:
    c = ctx.cfg.classifiers
    return {"name": k, "family": c.family, "num_classes": n_classes, "width": c.width if c.family == "cifar" else 1.0}


def run(ctx: RunContext) -> dict[str, Any]:
    out = {}
    for k in ctx.cfg.classifiers.keys:
        out[k] = run_one(ctx, k)
    return out


def run_one(ctx: RunContext, k: str) -> dict[str, Any]:
    cfg = ctx.cfg
    c = cfg.classifiers
    unit_dir = ctx.unit_dir("classifiers", k)
    key = keys.classifier(cfg, k)
    cached = reuse_unit(ctx, "classifiers", f"classifier {k}", unit_dir, key, _line)
    if cached:
        return cached
    from repro.models.classifiers import build_classifier

    t0 = time.monotonic()
    seed = seed_for(cfg.seed, "classifier", k)
    with distributed.main_first():
        train = train_source(cfg, ctx.cache, progress=ctx.progress)
        tests = eval_loader(cfg, ctx.cache, ctx.device, progress=ctx.progress)
    n_classes = num_classes(train)
    mcfg = model_config(ctx, k, n_classes)

    if k in c.pretrained:
        clf = build_classifier(k, family=c.family, num_classes=n_classes, weights="imagenet").to(ctx.device)
        history: dict[str, Any] = {}
        prior = 0.0
        source, epochs = "torchvision", 0
    else:
        torch.manual_seed(seed)  # initialisation
        clf = build_classifier(k, family=mcfg["family"], num_classes=n_classes, width=mcfg["width"]).to(ctx.device)
        if cfg.channels_last:
            clf = clf.to(memory_format=torch.channels_last)
        model = distributed.wrap_ddp(maybe_compile(clf, cfg.compile), ctx.device)
        optimizer = torch.optim.SGD(clf.parameters(), lr=c.lr, momentum=c.momentum, nesterov=True,
                                    weight_decay=c.weight_decay)

        def compute(images, labels):
            logits = model(images)
            return F.cross_entropy(logits.float(), labels, label_smoothing=c.label_smoothing), logits

        epochs = c.epochs_for(k)
        trainer = Trainer(
            unit=f"classifier:{k}", key=key, state_path=unit_dir / "state.pt", model=model, optimizer=optimizer,
            compute=compute, dataset=ImageDataset(train, train_transform(cfg, c.augment)), seed=seed, epochs=epochs,
            batch_size=c.batch_size, device=ctx.device, precision=cfg.precision, channels_last=cfg.channels_last,
            num_workers=cfg.data.num_workers, checkpoint_every_steps=cfg.checkpoint_every_steps,
            checkpoint_every_s=cfg.checkpoint_every_s, progress=ctx.progress,
        )
        # One-cycle: warm up to lr over the first 15% of steps, then cosine down (Smith & Topin 2019).
        trainer.scheduler = torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=c.lr, total_steps=trainer.total_steps, pct_start=0.15, div_factor=10.0,
            final_div_factor=100.0)
        ctx.info(f"classifier {k}: {clf.spec.name} ({c.family}, width {mcfg['width']:g}, "
                 f"{sum(p.numel() for p in clf.parameters()):,} parameters), {len(train):,} images x {epochs} epochs")
        history = trainer.fit()
        prior = trainer.prior_elapsed_s
        source = "trained"
    clf.eval()
    acc = evaluate_accuracy(clf, tests, device=ctx.device, precision=cfg.precision, channels_last=cfg.channels_last,
                            progress=ctx.progress, desc=f"test {k}")
    elapsed = prior + time.monotonic() - t0
    summary = {
        "unit": k, "source": source, "epochs": epochs, "top1": acc["top1"], "top5": acc["top5"], "n_test": acc["n"],
        "train_loss": history.get("loss", []), "train_top1": history.get("acc", []), "lr": history.get("lr", []),
        "parameters": sum(p.numel() for p in clf.parameters()), "time_s": elapsed,
        "images_per_s": len(train) * epochs / max(elapsed, 1e-9) if epochs else None,
    }
    if ctx.is_main:
        save_model_file(unit_dir / "model.pt", "classifier", mcfg, clf, meta={"key": key, "unit": k})
    mark_done(ctx, unit_dir, key, summary, {f"classifier:{k}": seed})
    ctx.info(f"classifier {k}: done ({_line(summary)})")
    return summary


def _line(s: dict[str, Any]) -> str:
    what = "torchvision weights" if s["source"] == "torchvision" else f"{s['epochs']} epoch(s)"
    return f"{what}, test top-1 {s['top1']:.4f}, top-5 {s['top5']:.4f}, {fmt_time(s['time_s'])}"
