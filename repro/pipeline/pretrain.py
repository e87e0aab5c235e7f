"""Stage 1: pretrain the SegNet autoencoder A_S for reconstruction (Sec. 3.2).

MSE, SGD with momentum 0.9, lr 0.01, the loss checked every ``pretrain.check_every`` images and the lr
multiplied by 0.2 after two checks without improvement. Training and validation MSE at every check are
kept (Fig. 2; drawn by the evaluate stage). Training images come from the training split (cpu, gpu
scales) or from ``data.pretrain_dir`` (paper scale, standing in for YFCC100m); validation MSE is measured
on the first ``pretrain.val_images`` held-out training images (``data.heldout``; never the test images, which
the evaluation alone reads), and the weights of the check with the lowest validation MSE are kept.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any

import torch

from repro import budget, distributed
from repro.checkpoint import save_model_file
from repro.data import ImageDataset, heldout_source, make_loader, pretrain_transform, train_source
from repro.errors import ReproError
from repro.pipeline import unit_keys
from repro.pipeline.context import RunContext, fmt_time
from repro.pipeline.model_files import maybe_compile
from repro.pipeline.seeds import pretrain_seed
from repro.pipeline.units import STAGED_MODEL, mark_done, reuse_unit
from repro.training import pretrain_autoencoder

UNIT = "A_S"


def build_autoencoder(ctx: RunContext):
    """A fresh SegNet at the configured width; at ``ae.encoder_init="vgg16_bn"`` the encoder starts from
    torchvision's ImageNet VGG-16-BN features (as SegNet [1] does; the paper does not say)."""
    from repro.models.segnet import SegNet, SegNetConfig

    ae = SegNet(SegNetConfig(width=ctx.cfg.ae.width))
    if ctx.cfg.ae.encoder_init == "vgg16_bn":
        import torchvision

        try:
            vgg = torchvision.models.vgg16_bn(weights=torchvision.models.VGG16_BN_Weights.IMAGENET1K_V1)
        except Exception as err:
            raise ReproError(f"ae.encoder_init=vgg16_bn: could not load torchvision's VGG-16-BN weights ({err}); "
                             "put them in torch's hub cache or use --set ae.encoder_init=random") from None
        ae.load_vgg16_bn_features(vgg.state_dict())
    return ae


def run(ctx: RunContext) -> dict[str, Any]:
    cfg = ctx.cfg
    unit_dir = ctx.unit_dir("pretrain")
    key = unit_keys.pretrain(cfg)
    cached = reuse_unit(ctx, "pretrain", "pretrain", unit_dir, key, _line)
    if cached:
        return cached
    t0 = time.monotonic()
    seed = pretrain_seed(cfg)
    torch.manual_seed(seed)  # model initialisation
    ae = build_autoencoder(ctx).to(ctx.device)
    if cfg.channels_last:
        ae = ae.to(memory_format=torch.channels_last)
    model = distributed.wrap_ddp(maybe_compile(ae, cfg.compile), ctx.device)

    with distributed.main_first():  # rank 0 decodes into the cache, the others read it
        train = train_source(cfg, ctx.cache, split="pretrain", progress=ctx.progress)
        val = heldout_source(cfg, ctx.cache, progress=ctx.progress)
    val = val.subset(range(min(cfg.pretrain.val_images, len(val))))
    dataset = ImageDataset(train, pretrain_transform(cfg, cfg.pretrain.augment))
    val_loader = make_loader(ImageDataset(val, pretrain_transform(cfg, augment=False)), cfg.evaluate.batch_size,
                             num_workers=cfg.data.num_workers, device=ctx.device)
    p = cfg.pretrain
    ctx.info(f"pretrain: SegNet width {cfg.ae.width:g}, {len(train):,} images x {p.epochs} epochs, "
             f"batch {p.batch_size}, {p.optimizer} lr {p.lr:g}, checks every {p.check_every:,} images")
    curves = pretrain_autoencoder(
        ae=ae, model=model, dataset=dataset, val_loader=val_loader, key=key, state_path=unit_dir / "state.pt",
        seed=seed, epochs=p.epochs, batch_size=p.batch_size, optimizer_name=p.optimizer, lr=p.lr, momentum=p.momentum,
        weight_decay=p.weight_decay, check_every=p.check_every, patience=p.patience, factor=p.factor,
        device=ctx.device, precision=cfg.precision, channels_last=cfg.channels_last,
        num_workers=cfg.data.num_workers, checkpoint_every_steps=cfg.checkpoint_every_steps,
        checkpoint_every_s=cfg.checkpoint_every_s, progress=ctx.progress, log=ctx.info,
        prepare=lambda trainer: budget.attach(ctx, "pretrain", UNIT, unit_dir, key, trainer),  # --time-budget
    )
    elapsed = curves.pop("prior_elapsed_s") + time.monotonic() - t0  # this process + any killed earlier
    summary = {
        "unit": UNIT,
        "epochs": p.epochs,
        "images": len(train),
        "images_seen": curves.pop("images_total"),
        "train_mse": next((v for v in reversed(curves["train_mse"]) if v is not None), None),
        "val_mse": curves["best"]["val_mse"],  # the kept model's: the best check's
        "best_images_seen": curves["best"]["images_seen"],
        "lr_final": curves["lr"][-1] if curves["lr"] else p.lr,
        "curves": curves,
        "time_s": elapsed,
        "images_per_s": len(train) * p.epochs / max(elapsed, 1e-9),
    }
    if cfg.time_budget_s is not None:  # a capped run: the images it saw, and how it was sized
        summary.update(images_per_s=summary["images_seen"] / max(elapsed, 1e-9),
                       **budget.summary_fields(ctx, unit_dir, key))
    if ctx.is_main:
        save_model_file(unit_dir / STAGED_MODEL, "segnet", asdict(ae.config), ae, meta={"key": key, "unit": UNIT})
    mark_done(ctx, unit_dir, key, summary, {"pretrain": seed})
    ctx.info(f"pretrain: done ({_line(summary)})")
    return summary


def _line(s: dict[str, Any]) -> str:
    mse = f"train MSE {s['train_mse']:.5f}, " if s.get("train_mse") is not None else ""
    return (f"{s['epochs']} epoch(s), {s['images_seen']:,} images seen, {mse}"
            f"best val MSE {s['val_mse']:.5f} (kept, after {s.get('best_images_seen', s['images_seen']):,} images), "
            f"lr {s['lr_final']:.3g}, {fmt_time(s['time_s'])}")
