"""Stage 3: fine-tune a copy of A_S on each classifier (Sec. 3.3), giving A_i, until its objective converges.

The method itself (reconstruction -> frozen classifier -> cross-entropy -> gradients into the chosen
half of the AE, and the check that the frozen models did not change) is :mod:`repro.guided`; this
stage wires data, optimiser, checkpoints and the convergence rule around it.

Convergence rule (the paper gives no fine-tuning budget; it trains A_S "until the loss plateaus" with
the rule of Sec. 3.2, and we apply the same rule to fine-tuning's own objective, at every scale):
every ``finetune.check_every`` images, the frozen classifier's cross-entropy and top-1 on A_i's
reconstructions of the held-out training images (``data.heldout``: never trained on, never the test
set) are measured; after ``finetune.patience`` checks without a lower cross-entropy the lr is
multiplied by ``finetune.factor``; at the plateau after ``finetune.lr_cuts`` cuts training stops, or
after ``finetune.epochs`` passes over the training images (the cap), whichever comes first. The
weights of the check with the lowest held-out cross-entropy are kept. Each check also records the
top-1 of every other classifier of the run on A_i's reconstructions (the cross-transfer trajectory:
when, and whether, the grid of Table 2 opens up), and the first check, before any step, gives A_S∘j.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any

import torch

from repro import distributed
from repro.checkpoint import save_model_file
from repro.data import ImageDataset, eval_transform, heldout_source, make_loader, train_source, train_transform
from repro.errors import ReproError
from repro.guided import GuidedAutoencoder, guidance_loss
from repro.pipeline import unit_keys
from repro.pipeline.context import RunContext, unit_time
from repro.pipeline.model_files import load_classifier, load_segnet, maybe_compile
from repro.pipeline.seeds import finetune_seed
from repro.pipeline.units import STAGED_MODEL, mark_done, reuse_unit
from repro.results import ae_name
from repro.training import BestModel, LoopOptions, PlateauSchedule, Trainer, autocast, make_optimizer, to_device
from repro.vocabulary import plural


def run(ctx: RunContext) -> dict[str, Any]:
    return {ae_name(k): run_one(ctx, k) for k in ctx.cfg.classifiers.keys}


def run_one(ctx: RunContext, k: str) -> dict[str, Any]:
    cfg = ctx.cfg
    f = cfg.finetune
    name = ae_name(k)
    unit_dir = ctx.unit_dir("finetune", name)
    key = unit_keys.finetune_finished(ctx.cfg, k, ctx.unit_dir)
    cached = reuse_unit(ctx, "finetune", f"finetune {name}", unit_dir, key, _line)
    if cached:
        return cached
    for needed in (ctx.unit_dir("pretrain") / "model.pt", ctx.unit_dir("classifiers", k) / "model.pt"):
        if not needed.exists():
            raise ReproError(f"finetune {name}: {needed} is missing; run `repro pretrain` and `repro classifiers` "
                             "first (or `repro run`)")
    t0 = time.monotonic()
    seed = finetune_seed(cfg, k)
    torch.manual_seed(seed)
    ae = load_segnet(ctx.unit_dir("pretrain") / "model.pt", ctx.device)
    classifiers = {j: load_classifier(ctx.unit_dir("classifiers", j) / "model.pt", ctx.device).freeze()
                   for j in cfg.classifiers.keys if (ctx.unit_dir("classifiers", j) / "model.pt").exists()}
    guided = GuidedAutoencoder(ae, classifiers[k], f.trainable)
    if cfg.channels_last:
        guided = guided.to(memory_format=torch.channels_last)
    model = distributed.wrap_ddp(maybe_compile(guided, cfg.compile), ctx.device)
    optimizer = make_optimizer(f.optimizer, guided.trainable_parameters(), lr=f.lr, momentum=f.momentum,
                               weight_decay=f.weight_decay, setting="finetune.optimizer")

    def compute(images, labels):
        logits = model(images)  # through DDP when under torchrun: guided's forward, gradients all-reduced
        return guidance_loss(logits, labels), logits

    with distributed.main_first():
        train = train_source(cfg, ctx.cache, limit=f.train_limit, progress=ctx.progress)
        heldout = heldout_source(cfg, ctx.cache, progress=ctx.progress)
    if f.heldout_images is not None:
        heldout = heldout.subset(range(min(f.heldout_images, len(heldout))))
    rule = ConvergenceRule(ctx, name, k, optimizer, HeldoutCheck(ae, classifiers, k, heldout, cfg), guided)
    trainer = Trainer(
        unit=f"finetune:{name}", key=key, state_path=unit_dir / "state.pt", model=model, optimizer=optimizer,
        compute=compute, dataset=ImageDataset(train, train_transform(cfg, f.augment)), seed=seed, epochs=f.epochs,
        batch_size=f.batch_size, options=LoopOptions.from_config(ctx.cfg, ctx.device, ctx.progress),
        set_train_mode=model.train,  # only the chosen half of the AE trains; the classifier stays in eval
        after_step=rule.after_step, extra_state=rule.state_dict, load_extra=rule.load_state_dict,
    )
    ctx.sizing.attach(ctx, "finetune", name, unit_dir, key, trainer)  # e.g. a time budget's image cap, the rule inside it
    ctx.info(f"finetune {name}: {f.trainable} of A_S on classifier {k}'s cross-entropy, {len(train):,} images "
             f"(at most {plural(f.epochs, 'epoch')}), batch {f.batch_size}, {f.optimizer} lr {f.lr:g}; held-out checks on "
             f"{len(heldout):,} images every {f.check_every:,}, lr x{f.factor:g} after {f.patience} without "
             f"improvement, stop at the plateau after {plural(f.lr_cuts, 'cut')}")
    if not trainer.try_resume():
        rule.start()
    history = trainer.fit(resume=False)
    rule.finish(trainer)
    guided.check_frozen()  # Sec. 3.3: "the parameters of the classifier are not updated"

    summary = _summary(ctx, k, trainer, history, rule, len(train), elapsed=trainer.prior_elapsed_s + time.monotonic() - t0)
    if ctx.is_main:
        save_model_file(unit_dir / STAGED_MODEL, "segnet", asdict(ae.config), ae,
                        meta={"key": key, "unit": name, "classifier": k, "trainable": f.trainable})
    mark_done(ctx, unit_dir, key, summary, {f"finetune:{k}": seed})
    ctx.info(f"finetune {name}: done ({_line(summary)})")
    return summary


def _summary(ctx: RunContext, k: str, trainer: Trainer, history: dict[str, Any], rule: "ConvergenceRule",
             images: int, elapsed: float) -> dict[str, Any]:
    """What the unit's done.json keeps: the stop, the kept check, the held-out curves, the training record."""
    f = ctx.cfg.finetune
    name = ae_name(k)
    unit_dir = ctx.unit_dir("finetune", name)
    best, curves = rule.best, rule.curves
    return {
        "unit": name, "classifier": k, "trainable": f.trainable, "epochs": f.epochs, "images": images,
        "images_seen": trainer.images_seen, "stop_reason": trainer.stop_reason,
        "best": {"images_seen": best.images_seen, "heldout_loss": best.value,
                 "heldout_top1": curves["heldout_top1"][k][curves["images_seen"].index(best.images_seen)]},
        "heldout": {"images": rule.check.images, "alone_top1": rule.check.alone, "curves": curves},
        "train_loss": history["loss"], "train_top1": history["acc"], "lr": history["lr"],
        "classifier_unchanged": True, "time_s": elapsed,
        "images_per_s": trainer.images_seen / max(elapsed, 1e-9),
        **ctx.sizing.summary_fields(ctx, unit_dir, trainer.key),  # e.g. with a time budget: how its cap was sized
    }


class ConvergenceRule:
    """Fine-tuning's stop rule (the module docstring): Sec. 3.2's plateau schedule on the held-out
    cross-entropy, checked every ``finetune.check_every`` images, keeping the best check's weights.

    It records the held-out curves (loss, lr, every classifier's top-1) at each check, logs one line
    per check to run.log, and travels in the training checkpoint (:meth:`state_dict`), so a resumed
    run takes the same decisions and keeps the same weights as an uninterrupted one.
    """

    def __init__(self, ctx: RunContext, name: str, own: str, optimizer: torch.optim.Optimizer,
                 check: "HeldoutCheck", guided: GuidedAutoencoder) -> None:
        f = ctx.cfg.finetune
        self.ctx, self.name, self.own, self.optimizer, self.check, self.guided = ctx, name, own, optimizer, check, guided
        self.schedule = PlateauSchedule(optimizer, f.check_every, f.patience, f.factor, max_cuts=f.lr_cuts)
        self.best = BestModel(guided.ae)
        self.curves: dict[str, Any] = {"images_seen": [], "heldout_loss": [], "lr": [],
                                       "heldout_top1": {j: [] for j in check.classifiers}}

    def record(self, images_seen: int) -> float:
        """One check: measure, append to the curves, offer the weights to the best; returns the loss."""
        loss, top1 = self.check(self.guided)
        curves = self.curves
        curves["images_seen"].append(images_seen)
        curves["heldout_loss"].append(loss)
        curves["lr"].append(self.optimizer.param_groups[0]["lr"])
        for j, acc in top1.items():
            curves["heldout_top1"][j].append(acc)
        self.best.offer(loss, images_seen)
        self.ctx.info(f"finetune {self.name}: {images_seen:,} images, held-out loss {loss:.4f}, "
                      f"top-1 {top1[self.own]:.4f} (lr {curves['lr'][-1]:.3g})")  # convergence as it happens
        return loss

    def start(self) -> None:
        """The check before any step: A_S itself, the baseline every later check must beat."""
        self.schedule.check(self.record(0))

    def after_step(self, trainer: Trainer, _loss: torch.Tensor) -> None:
        f = self.ctx.cfg.finetune
        if trainer.images_seen < self.schedule.next_check:
            return
        self.schedule.next_check += f.check_every
        if self.schedule.check(self.record(trainer.images_seen)):
            self.ctx.info(f"finetune {self.name}: held-out loss did not improve for {plural(f.patience, 'check')} at "
                          f"{trainer.images_seen:,} images; lr -> {self.optimizer.param_groups[0]['lr']:.3g}")
        if self.schedule.exhausted:
            trainer.request_stop(f"plateau after {plural(f.lr_cuts, 'lr cut')}")

    def finish(self, trainer: Trainer) -> None:
        """A last check on the images since the previous one, the stop reason in words, the best weights back."""
        if self.curves["images_seen"][-1] != trainer.images_seen:  # images since the last check count too
            self.record(trainer.images_seen)
        if trainer.stop_reason == "end of the last epoch":
            trainer.stop_reason = f"cap of {plural(self.ctx.cfg.finetune.epochs, 'epoch')}"
        self.best.restore()

    def state_dict(self) -> dict[str, Any]:
        return {"schedule": self.schedule.state_dict(), "curves": self.curves, "best": self.best.state_dict()}

    def load_state_dict(self, extra: dict[str, Any]) -> None:
        self.schedule.load_state_dict(extra["schedule"])
        self.curves.update(extra["curves"])
        self.best.load_state_dict(extra["best"])


def _line(s: dict[str, Any]) -> str:
    b = s["best"]
    return (f"{s['trainable']}, {s['images_seen']:,} images, stopped: {s['stop_reason']}; kept the check at "
            f"{b['images_seen']:,} images (held-out loss {b['heldout_loss']:.4f}, top-1 {b['heldout_top1']:.4f}), "
            f"{unit_time(s['time_s'])}")


class HeldoutCheck:
    """One convergence check: the held-out loss of A_i∘i and the held-out top-1 of A_i∘j for every j.

    Eval mode, no gradients; the models' train/eval flags are restored afterwards. Under torchrun each
    process reads every world-th held-out image and the sums are all-reduced, so every process takes
    the same decision. ``alone`` holds each classifier's held-out top-1 on the images themselves.
    """

    def __init__(self, ae, classifiers: dict[str, torch.nn.Module], own: str, heldout, cfg) -> None:
        dist = distributed.info()
        shard = heldout.subset(range(dist.rank, len(heldout), dist.world_size))
        self.loader = make_loader(ImageDataset(shard, eval_transform(cfg)), cfg.evaluate.batch_size,
                                  num_workers=cfg.data.num_workers, device=str(ae_device(ae)))
        self.ae, self.classifiers, self.own, self.cfg = ae, classifiers, own, cfg
        self.images = len(heldout)  # all of them, though under torchrun each process reads its shard
        self.alone = self._measure(lambda x: x)[1]

    @torch.no_grad()
    def _measure(self, transform) -> tuple[float, dict[str, float]]:
        device = ae_device(self.ae)
        names = list(self.classifiers)
        sums = torch.zeros(2 + len(names), dtype=torch.float64, device=device)  # loss, n, correct per j
        for images, labels in self.loader:
            x = to_device(images, str(device), self.cfg.channels_last)
            y = labels.to(device)
            with autocast(str(device), self.cfg.precision):
                inp = transform(x)
                for i, j in enumerate(names):
                    logits = self.classifiers[j](inp).float()
                    if j == self.own:
                        sums[0] += torch.nn.functional.cross_entropy(logits, y, reduction="sum").double()
                    sums[2 + i] += (logits.argmax(1) == y).sum()
            sums[1] += y.shape[0]
        sums = distributed.all_reduce_sum(sums)
        n = float(sums[1])
        return float(sums[0]) / n, {j: float(sums[2 + i]) / n for i, j in enumerate(names)}

    def __call__(self, guided: GuidedAutoencoder) -> tuple[float, dict[str, float]]:
        was = guided.training
        guided.eval()
        try:
            return self._measure(self.ae)
        finally:
            guided.train(was)


def ae_device(ae: torch.nn.Module) -> torch.device:
    return next(ae.parameters()).device
