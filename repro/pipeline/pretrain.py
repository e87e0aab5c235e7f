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
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn.functional as F

from repro import distributed
from repro.checkpoint import save_model_file
from repro.data import ImageDataset, heldout_source, make_loader, pretrain_transform, train_source
from repro.errors import ReproError
from repro.pipeline import unit_keys
from repro.pipeline.context import RunContext, unit_time
from repro.pipeline.model_files import maybe_compile
from repro.pipeline.seeds import pretrain_seed
from repro.pipeline.units import STAGED_MODEL, mark_done, reuse_unit
from repro.training import BestModel, LoopOptions, PlateauSchedule, Trainer, autocast, make_optimizer, to_device
from repro.models.segnet import SegNet, SegNetConfig
from repro.vocabulary import plural

UNIT = "A_S"


def build_autoencoder(ctx: RunContext):
    """A fresh SegNet at the configured width; at ``ae.encoder_init="vgg16_bn"`` the encoder starts from
    torchvision's ImageNet VGG-16-BN features (as SegNet [1] does; the paper does not say)."""

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
    ctx.info(f"pretrain: SegNet width {cfg.ae.width:g}, {len(train):,} images x {plural(p.epochs, 'epoch')}, "
             f"batch {p.batch_size}, {p.optimizer} lr {p.lr:g}, checks every {p.check_every:,} images")
    curves = pretrain_autoencoder(
        ae=ae, model=model, dataset=dataset, val_loader=val_loader, key=key, state_path=unit_dir / "state.pt",
        seed=seed, epochs=p.epochs, batch_size=p.batch_size, optimizer_name=p.optimizer, lr=p.lr, momentum=p.momentum,
        weight_decay=p.weight_decay, check_every=p.check_every, patience=p.patience, factor=p.factor,
        max_cuts=p.lr_cuts, options=LoopOptions.from_config(ctx.cfg, ctx.device, ctx.progress), log=ctx.info,
        prepare=lambda trainer: ctx.sizing.attach(ctx, "pretrain", UNIT, unit_dir, key, trainer),  # e.g. a time budget's cap
    )
    elapsed = curves.pop("prior_elapsed_s") + time.monotonic() - t0  # this process + any killed earlier
    stop_reason = curves.pop("stop_reason")
    images_seen = curves.pop("images_total")
    summary = {
        "unit": UNIT,
        "epochs": p.epochs,
        "images": len(train),
        "images_seen": images_seen,
        "train_mse": next((v for v in reversed(curves["train_mse"]) if v is not None), None),
        "val_mse": curves["best"]["val_mse"],  # the kept model's: the best check's
        "best_images_seen": curves["best"]["images_seen"],
        "lr_final": curves["lr"][-1] if curves["lr"] else p.lr,
        **({"stop_reason": stop_reason} if p.lr_cuts is not None else {}),  # (a summary as before without it)
        "curves": curves,
        "time_s": elapsed,
        # the images it saw, not the cap's: a plateau stop ends it early (at the cap the two are the same)
        "images_per_s": images_seen / max(elapsed, 1e-9),
    }
    sizing = ctx.sizing.summary_fields(ctx, unit_dir, key)
    if sizing:  # a sized unit (a time budget's cap): how it was sized
        summary.update(sizing)
    if ctx.is_main:
        save_model_file(unit_dir / STAGED_MODEL, "segnet", asdict(ae.config), ae, meta={"key": key, "unit": UNIT})
    mark_done(ctx, unit_dir, key, summary, {"pretrain": seed})
    ctx.info(f"pretrain: done ({_line(summary)})")
    return summary


@torch.no_grad()
def mean_squared_error(ae: torch.nn.Module, loader, *, device: str, precision: str = "fp32",
                       channels_last: bool = False) -> float:
    """Mean per-pixel MSE of ``ae``'s reconstructions over ``loader`` (eval mode; the caller restores)."""
    total, count = 0.0, 0
    for images, _ in loader:
        images = to_device(images, device, channels_last)
        with autocast(device, precision):
            rec = ae(images)
        total += float(F.mse_loss(rec.float(), images.float(), reduction="sum"))
        count += images.numel()
    return total / max(count, 1)


def pretrain_autoencoder(
    *, ae: torch.nn.Module, model: torch.nn.Module, dataset: ImageDataset, val_loader, key: str, state_path: Path,
    seed: int, epochs: int, batch_size: int, lr: float, momentum: float, weight_decay: float, check_every: int,
    optimizer_name: str = "sgd",
    patience: int, factor: float, options: LoopOptions, log: Callable[[str], None] | None = None,
    prepare: Callable[[Trainer], None] | None = None, max_cuts: int | None = None,
) -> dict[str, list]:
    """Sec. 3.2: reconstruct with MSE, SGD with momentum (or Adam), lr cut by the plateau schedule.

    ``ae`` is the bare SegNet (validation), ``model`` the same one possibly DDP-wrapped (training).
    Returns the Fig. 2 curves: images seen, training MSE of each window, validation MSE and lr at
    each check (the first point, at 0 images, is the untrained AE's validation MSE), and ``best``: the
    check with the lowest validation MSE, whose weights ``ae`` holds on return. Keeping the best check
    rather than the last follows a measured instability: a cpu-scale run's validation MSE fell to
    0.00265 after 60,000 images and rose to 0.00559 at 80,000 while the lr was still 1e-3. With
    ``max_cuts``, training stops at the plateau after that many cuts (the rule's own end, as fine-tuning
    stops); the returned ``stop_reason`` says which end came first.
    """
    optimizer = make_optimizer(optimizer_name, model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay,
                               setting="pretrain.optimizer")
    schedule = PlateauSchedule(optimizer, check_every, patience, factor, max_cuts=max_cuts)
    best = BestModel(ae)
    curves: dict[str, list] = {"images_seen": [], "train_mse": [], "val_mse": [], "lr": []}

    def compute(images, _labels):
        rec = model(images)
        return F.mse_loss(rec.float(), images.float()), None

    def validate() -> float:
        ae.eval()
        value = mean_squared_error(ae, val_loader, device=options.device, precision=options.precision,
                                   channels_last=options.channels_last)
        ae.train()
        return value

    def after_step(trainer: Trainer, loss: torch.Tensor) -> None:
        schedule.window_loss += float(loss) * trainer.local_batch
        schedule.window_images += trainer.local_batch
        if trainer.images_seen < schedule.next_check:
            return
        totals = distributed.all_reduce_sum(torch.tensor([schedule.window_loss, schedule.window_images],
                                                         dtype=torch.float64, device=options.device))
        mean = float(totals[0] / totals[1])
        cut = schedule.check(mean)
        curves["images_seen"].append(trainer.images_seen)
        curves["train_mse"].append(mean)
        curves["val_mse"].append(validate())
        curves["lr"].append(optimizer.param_groups[0]["lr"])
        best.offer(curves["val_mse"][-1], trainer.images_seen)
        if log and cut:
            log(f"pretrain: loss did not improve for {plural(patience, 'check')}; lr -> {optimizer.param_groups[0]['lr']:.3g}")
        if schedule.exhausted and trainer.stop_reason is None:
            trainer.request_stop(f"plateau after {plural(schedule.cuts, 'lr cut')}")
            if log:
                log(f"pretrain: stopped at the plateau after {plural(schedule.cuts, 'lr cut')}, {trainer.images_seen:,} images")
        schedule.window_loss, schedule.window_images = 0.0, 0
        schedule.next_check += check_every

    trainer = Trainer(
        unit="pretrain", key=key, state_path=state_path, model=model, optimizer=optimizer, compute=compute,
        dataset=dataset, seed=seed, epochs=epochs, batch_size=batch_size, options=options, after_step=after_step,
        track_accuracy=False,
        extra_state=lambda: {"schedule": schedule.state_dict(), "curves": curves, "best": best.state_dict()},
        load_extra=lambda extra: (schedule.load_state_dict(extra["schedule"]), curves.update(extra["curves"]),
                                  best.load_state_dict(extra["best"])),
    )
    if prepare is not None:  # e.g. the run's sizing (a time budget's cap)
        prepare(trainer)
    if not trainer.try_resume():
        curves["images_seen"].append(0)
        curves["train_mse"].append(None)
        curves["val_mse"].append(validate())
        curves["lr"].append(lr)
        best.offer(curves["val_mse"][-1], 0)
    history = trainer.fit(resume=False)
    if curves["images_seen"][-1] != trainer.images_seen:  # the last images since a check count too
        curves["images_seen"].append(trainer.images_seen)
        curves["train_mse"].append(None)
        curves["val_mse"].append(validate())
        curves["lr"].append(optimizer.param_groups[0]["lr"])
        best.offer(curves["val_mse"][-1], trainer.images_seen)
    best.restore()
    curves["best"] = {"images_seen": best.images_seen, "val_mse": best.value}
    curves["epoch_loss"] = history["loss"]
    curves["prior_elapsed_s"] = trainer.prior_elapsed_s
    curves["stop_reason"] = trainer.stop_reason
    curves["images_total"] = trainer.images_seen
    return curves


def _line(s: dict[str, Any]) -> str:
    mse = f"train MSE {s['train_mse']:.5f}, " if s.get("train_mse") is not None else ""
    epochs = plural(s["epochs"], "epoch")
    if s.get("stop_reason") not in (None, "end of the last epoch"):  # e.g. the plateau rule's, before the cap
        epochs = f"stopped: {s['stop_reason']}, of at most {epochs}"
    return (f"{epochs}, {s['images_seen']:,} images seen, {mse}"
            f"best val MSE {s['val_mse']:.5f} (kept, after {s.get('best_images_seen', s['images_seen']):,} images), "
            f"lr {s['lr_final']:.3g}, {unit_time(s['time_s'])}")
