"""Stage 3: fine-tune a copy of A_S on each classifier (Sec. 3.3), giving A_i.

The reconstruction goes into the frozen classifier i, its cross-entropy is back-propagated through the
classifier into the autoencoder, and only the decoder is updated (the paper's choice; ``encoder`` and
``both`` are selectable through ``finetune.trainable``, as in its supplement). The classifier's
parameters never change: at the end of each unit the stage checks that every weight and BatchNorm
buffer of the classifier, and of the frozen half of the AE, is bit-for-bit what it was loaded as.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict
from typing import Any

import torch
import torch.nn.functional as F

from repro import distributed
from repro.checkpoint import save_model_file
from repro.data import ImageDataset, train_source, train_transform
from repro.errors import ReproError
from repro.pipeline import (RunContext, fmt_time, keys, load_classifier, load_segnet, mark_done, maybe_compile,
                            reuse_unit, seed_for, upstream_digest)
from repro.results import ae_name
from repro.training import Trainer


def run(ctx: RunContext) -> dict[str, Any]:
    return {ae_name(k): run_one(ctx, k) for k in ctx.cfg.classifiers.keys}


def _snapshot(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _bits(t: torch.Tensor) -> torch.Tensor:
    return t.detach().reshape(-1).contiguous().view(torch.uint8) if t.numel() else t


def _changed(module: torch.nn.Module, reference: dict[str, torch.Tensor]) -> list[str]:
    """Names of the state entries that differ bit for bit from ``reference`` (NaN equals NaN)."""
    return [k for k, v in module.state_dict().items() if not torch.equal(_bits(v), _bits(reference[k]))]


def run_one(ctx: RunContext, k: str) -> dict[str, Any]:
    cfg = ctx.cfg
    f = cfg.finetune
    name = ae_name(k)
    unit_dir = ctx.unit_dir("finetune", name)
    key = f"{keys.finetune(cfg, k)}-" + upstream_digest(ctx.unit_dir("pretrain"), ctx.unit_dir("classifiers", k))
    cached = reuse_unit(ctx, "finetune", f"finetune {name}", unit_dir, key, _line)
    if cached:
        return cached
    for needed in (ctx.unit_dir("pretrain") / "model.pt", ctx.unit_dir("classifiers", k) / "model.pt"):
        if not needed.exists():
            raise ReproError(f"finetune {name}: {needed} is missing; run `repro pretrain` and `repro classifiers` "
                             "first (or `repro run`)")
    t0 = time.monotonic()
    seed = seed_for(cfg.seed, "finetune", k)
    torch.manual_seed(seed)
    ae = load_segnet(ctx.unit_dir("pretrain") / "model.pt", ctx.device)
    ae.set_trainable(f.trainable)
    clf = load_classifier(ctx.unit_dir("classifiers", k) / "model.pt", ctx.device).freeze()
    if cfg.channels_last:
        ae, clf = ae.to(memory_format=torch.channels_last), clf.to(memory_format=torch.channels_last)
    clf_reference = _snapshot(clf)
    frozen_part = {"decoder": ae.encoder, "encoder": ae.decoder}.get(f.trainable)
    frozen_reference = _snapshot(frozen_part) if frozen_part is not None else None

    model = distributed.wrap_ddp(maybe_compile(ae, cfg.compile), ctx.device)
    frozen_clf = maybe_compile(clf, cfg.compile)
    params = [p for p in ae.parameters() if p.requires_grad]
    if f.optimizer == "adam":
        optimizer = torch.optim.Adam(params, lr=f.lr, betas=(f.momentum, 0.999), weight_decay=f.weight_decay)
    else:
        optimizer = torch.optim.SGD(params, lr=f.lr, momentum=f.momentum, weight_decay=f.weight_decay)

    def compute(images, labels):
        logits = frozen_clf(model(images))
        return F.cross_entropy(logits.float(), labels), logits

    with distributed.main_first():
        train = train_source(cfg, ctx.cache, limit=f.train_limit, progress=ctx.progress)
    trainer = Trainer(
        unit=f"finetune:{name}", key=key, state_path=unit_dir / "state.pt", model=model, optimizer=optimizer,
        compute=compute, dataset=ImageDataset(train, train_transform(cfg, f.augment)), seed=seed, epochs=f.epochs,
        batch_size=f.batch_size, device=ctx.device, precision=cfg.precision, channels_last=cfg.channels_last,
        num_workers=cfg.data.num_workers, checkpoint_every_steps=cfg.checkpoint_every_steps,
        checkpoint_every_s=cfg.checkpoint_every_s, progress=ctx.progress,
        set_train_mode=model.train,  # SegNet keeps its frozen half in eval mode; the classifier stays in eval
    )
    # Cosine decay to zero over the run (the paper gives no fine-tuning schedule).
    total = trainer.total_steps
    trainer.scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 0.5 * (1 + math.cos(math.pi * s / total)))
    ctx.info(f"finetune {name}: {f.trainable} of A_S on classifier {k}'s cross-entropy, {len(train):,} images x "
             f"{f.epochs} epochs, batch {f.batch_size}, {f.optimizer} lr {f.lr:g}")
    history = trainer.fit()

    # Sec. 3.3: "the parameters of the classifier are not updated".
    changed = _changed(clf, clf_reference)
    if changed:
        raise RuntimeError(f"finetune {name}: classifier {k} changed during fine-tuning ({', '.join(changed[:5])})")
    if frozen_part is not None:
        changed = _changed(frozen_part, frozen_reference)
        if changed:
            raise RuntimeError(f"finetune {name}: the frozen half of the AE changed ({', '.join(changed[:5])})")

    elapsed = trainer.prior_elapsed_s + time.monotonic() - t0
    summary = {
        "unit": name, "classifier": k, "trainable": f.trainable, "epochs": f.epochs, "images": len(train),
        "train_loss": history["loss"], "train_top1": history["acc"], "lr": history["lr"],
        "classifier_unchanged": True, "time_s": elapsed,
        "images_per_s": len(train) * f.epochs / max(elapsed, 1e-9),
    }
    if ctx.is_main:
        save_model_file(unit_dir / "model.pt", "segnet", asdict(ae.config), ae,
                        meta={"key": key, "unit": name, "classifier": k, "trainable": f.trainable})
    mark_done(ctx, unit_dir, key, summary, {f"finetune:{k}": seed})
    ctx.info(f"finetune {name}: done ({_line(summary)})")
    return summary


def _line(s: dict[str, Any]) -> str:
    loss = s["train_loss"][-1] if s["train_loss"] else float("nan")
    acc = s["train_top1"][-1] if s["train_top1"] else float("nan")
    return (f"{s['trainable']}, {s['epochs']} epoch(s), last-epoch loss {loss:.4f}, train top-1 {acc:.4f}, "
            f"{fmt_time(s['time_s'])}")
