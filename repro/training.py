"""Training steps shared by every stage: one epoch, a resumable multi-epoch loop, its operational
options, the optimisers, accuracy, Sec. 3.2's plateau schedule and the best-check copy. The recipes
(Sec. 3.2's pre-training, Sec. 3.3's classifiers and fine-tuning) live in their stage modules,
repro.pipeline.pretrain, .classifiers and .finetune.

:class:`Trainer` owns resumability: it checkpoints (atomically, rank 0 only) every
``checkpoint_every_steps`` steps, every ``checkpoint_every_s`` seconds and at every epoch end, and on
start continues from the last checkpoint whose key matches. Because the data order and augmentation
are functions of (seed, epoch, image) and the RNG states are restored, a run killed at any moment and
restarted computes exactly the batches, in the same order, that an uninterrupted run would.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

import numpy as np
import torch

from repro import distributed
from repro.checkpoint import load_train_state, save_train_state, set_rng_state, unwrap
from repro.data import EpochSampler, ImageDataset, make_loader
from repro.errors import ReproError

if TYPE_CHECKING:  # pragma: no cover
    from repro.config import RunConfig

FAULT_ENV = "REPRO_FAULT_KILL"  # "unit:step": SIGKILL this process after that step (tests of resume)


def autocast(device: str | torch.device, precision: str | torch.dtype | None):
    """Autocast when asked for, a no-op context otherwise: ``precision`` is the config's "bf16" (gpu and
    paper scales) or "fp32", or a dtype (the evaluation's ``autocast_dtype``) or None.

    >>> autocast("cpu", "fp32").__class__.__name__, autocast("cpu", None).__class__.__name__
    ('nullcontext', 'nullcontext')
    """
    dtype = torch.bfloat16 if precision == "bf16" else precision if isinstance(precision, torch.dtype) else None
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=torch.device(device).type, dtype=dtype)


def to_device(images: torch.Tensor, device: str, channels_last: bool) -> torch.Tensor:
    images = images.to(device, non_blocking=True)
    if channels_last and images.dim() == 4:
        images = images.contiguous(memory_format=torch.channels_last)
    return images


@dataclass(frozen=True)
class LoopOptions:
    """How a training loop runs, not what it computes: the run's operational settings, the same for
    every stage's :class:`Trainer`.

    >>> from repro.config import RunConfig
    >>> o = LoopOptions.from_config(RunConfig(), "cpu", progress=False)
    >>> o.precision, o.num_workers, o.checkpoint_every_steps, o.checkpoint_every_s, o.progress
    ('fp32', 0, 0, 300.0, False)
    """

    device: str = "cpu"
    precision: str = "fp32"
    channels_last: bool = False
    num_workers: int = 0
    checkpoint_every_steps: int = 0
    checkpoint_every_s: float = 300.0
    progress: bool = True

    @classmethod
    def from_config(cls, cfg: RunConfig, device: str, progress: bool) -> LoopOptions:
        """A run's options: its configuration's operational fields, its device, whether to show progress."""
        return cls(device=device, precision=cfg.precision, channels_last=cfg.channels_last,
                   num_workers=cfg.data.num_workers, checkpoint_every_steps=cfg.checkpoint_every_steps,
                   checkpoint_every_s=cfg.checkpoint_every_s, progress=progress)


def make_optimizer(name: str, params: Iterable[torch.nn.Parameter], *, lr: float, momentum: float,
                   weight_decay: float, nesterov: bool = False, setting: str = "optimizer") -> torch.optim.Optimizer:
    """SGD with momentum (the paper's, Sec. 3.2; ``nesterov`` for the classifiers) or Adam, whose beta1 is
    ``momentum``. ``setting`` names the configuration field ``name`` came from, for the error.

    >>> w = [torch.nn.Parameter(torch.zeros(1))]
    >>> make_optimizer("adam", w, lr=1e-3, momentum=0.9, weight_decay=0.0).param_groups[0]["betas"]
    (0.9, 0.999)
    >>> make_optimizer("rmsprop", w, lr=1e-3, momentum=0.9, weight_decay=0.0, setting="pretrain.optimizer")
    Traceback (most recent call last):
    ...
    repro.errors.ReproError: pretrain.optimizer=rmsprop: expected sgd or adam
    """
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, betas=(momentum, 0.999), weight_decay=weight_decay)
    raise ReproError(f"{setting}={name}: expected sgd or adam")


def _maybe_fault(unit: str, step: int, resumed: bool) -> None:
    """Test hook: ``REPRO_FAULT_KILL=unit:step`` kills this process with SIGKILL right after global step
    ``step`` of ``unit``, unless the unit was resumed from a checkpoint in this process (so the rerun,
    with the same environment, goes through)."""
    spec = os.environ.get(FAULT_ENV)
    if not spec or resumed:
        return
    name, _, at = spec.rpartition(":")
    if name == unit and at.isdigit() and int(at) == step:
        os.kill(os.getpid(), signal.SIGKILL)


@dataclass
class Trainer:
    """A resumable training loop over epochs of a seeded :class:`EpochSampler`.

    ``compute`` maps (images, labels) on device to (loss, logits or None) for one batch; the loop does
    backward, the optimiser step and the per-step scheduler. ``after_step`` runs after every step with
    the trainer and the batch loss (the pretraining loop hooks its plateau checks there); state of such
    hooks is checkpointed through ``extra_state`` / ``load_extra``.

    ``make_scheduler(optimizer, total_steps)`` builds the per-step scheduler when training starts (before
    a resume loads its state), not at construction: a time budget may still shorten ``total_steps`` in
    between (repro.budget.size_classifier), and the one-cycle schedule's length is that total.
    """

    unit: str  # e.g. "pretrain", "classifier:L", "finetune:A_L" (progress bars, logs, fault hook)
    key: str
    state_path: Path
    model: torch.nn.Module  # possibly DDP-wrapped; checkpoints hold the unwrapped state
    optimizer: torch.optim.Optimizer
    compute: Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor | None]]
    dataset: ImageDataset
    seed: int
    epochs: int
    batch_size: int  # global batch
    options: LoopOptions = field(default_factory=LoopOptions)
    make_scheduler: Callable[[torch.optim.Optimizer, int], Any] | None = None  # None: constant lr
    set_train_mode: Callable[[], None] | None = None
    after_step: Callable[["Trainer", torch.Tensor], None] | None = None  # e.g. the plateau checks
    extra_state: Callable[[], dict[str, Any]] | None = None
    load_extra: Callable[[dict[str, Any]], None] | None = None
    track_accuracy: bool = True  # compute returns logits: log top-1 training accuracy
    max_images: int | None = None  # stop once this many images were seen (a cap inside the last epoch)
    history: dict[str, Any] = field(default_factory=lambda: {"epoch": [], "loss": [], "acc": [], "lr": []})
    # filled while running
    epoch: int = 0
    step: int = 0  # next step within the epoch
    images_seen: int = 0
    resumed: bool = False
    prior_elapsed_s: float = 0.0  # training time spent by earlier processes (restored on resume)
    stop_reason: str | None = None  # set by a hook (``request_stop``) or the image cap; ends ``fit``
    scheduler: Any = field(default=None, init=False)  # stepped after every optimiser step

    def __post_init__(self) -> None:
        self._start = time.monotonic()
        dist = distributed.info()
        self.local_batch = distributed.local_batch_size(self.batch_size, f"{self.unit} batch_size")
        self.sampler = EpochSampler(self.dataset, seed=self.seed, num_replicas=dist.world_size, rank=dist.rank)
        self.steps_per_epoch = len(self.sampler) // self.local_batch
        if self.steps_per_epoch < 1:
            raise ReproError(f"{self.unit}: {len(self.dataset)} images do not fill one batch of {self.batch_size}")
        self.total_steps = self.steps_per_epoch * self.epochs

    def _start_schedule(self) -> None:
        if self.scheduler is None and self.make_scheduler is not None:
            self.scheduler = self.make_scheduler(self.optimizer, self.total_steps)

    # --- state ---------------------------------------------------------------------------------
    def save(self) -> None:
        if not distributed.info().is_main:
            return
        self.history["elapsed_s"] = self.elapsed_s
        save_train_state(
            self.state_path, key=self.key, model=self.model, optimizer=self.optimizer, scheduler=self.scheduler,
            epoch=self.epoch, step=self.step, images_seen=self.images_seen,
            history={**self.history, "stop_reason": self.stop_reason},
            extra=self.extra_state() if self.extra_state else None,
        )

    def try_resume(self) -> bool:
        self._start_schedule()
        state = load_train_state(self.state_path, self.key)
        if state is None:
            return False
        unwrap(self.model).load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None and state["scheduler"] is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        self.epoch, self.step, self.images_seen = state["epoch"], state["step"], state["images_seen"]
        self.history = state["history"]
        self.stop_reason = self.history.pop("stop_reason", None)
        self.prior_elapsed_s = float(self.history.get("elapsed_s", 0.0))
        self._start = time.monotonic()
        if self.load_extra:
            self.load_extra(state["extra"])
        set_rng_state(state["rng"])
        self.resumed = True
        logging.getLogger(__name__).info(  # to run.log through the pipeline's "repro" logger
            f"{self.unit}: resumed at step {self.global_step} of {self.total_steps} "
            f"(epoch {min(self.epoch + 1, self.epochs)}, {self.images_seen:,} images seen) from {self.state_path}")
        return True

    def _check_finite(self, loss_sum: float) -> None:
        """Stop with a clear message, instead of checkpointing NaN weights, when training diverged."""
        if not math.isfinite(loss_sum):
            raise ReproError(f"{self.unit}: training diverged (loss {loss_sum} by epoch {self.epoch + 1}, step "
                             f"{self.step}); lower its learning rate with --set (e.g. classifiers.lr) and rerun")

    @property
    def elapsed_s(self) -> float:
        """Training time of this unit so far, over every process that worked on it."""
        return self.prior_elapsed_s + time.monotonic() - self._start

    @property
    def global_step(self) -> int:
        return self.epoch * self.steps_per_epoch + self.step

    def request_stop(self, reason: str) -> None:
        """End training after the current step (e.g. a convergence rule decided so); ``fit`` records the
        partial epoch and returns. The reason is checkpointed, so a resumed run stops where this one did."""
        self.stop_reason = reason

    # --- loop ----------------------------------------------------------------------------------
    def fit(self, resume: bool = True) -> dict[str, list]:
        """Train to the end of the last epoch, first continuing from a matching checkpoint if ``resume``."""
        self._start_schedule()
        if resume:
            self.try_resume()
        bar = None
        if self.options.progress and distributed.info().is_main:
            from tqdm import tqdm

            bar = tqdm(total=self.total_steps, initial=self.global_step, desc=self.unit, unit="step",
                       dynamic_ncols=True, leave=False, disable=None)  # None: off unless stderr is a terminal
        try:
            while self.epoch < self.epochs and self.stop_reason is None:
                mean_loss, acc = self.train_one_epoch(bar)
                self.history["epoch"].append(self.epoch + (self.step / self.steps_per_epoch if self.stop_reason else 1))
                self.history["loss"].append(mean_loss)
                self.history["acc"].append(acc)
                self.history["lr"].append(self.optimizer.param_groups[0]["lr"])
                if self.stop_reason is None:
                    self.epoch += 1
                    self.step = 0
                self.save()
            if self.stop_reason is None:
                self.stop_reason = "end of the last epoch"
        finally:
            if bar is not None:
                bar.close()
        return self.history

    def train_one_epoch(self, bar=None) -> tuple[float, float | None]:
        """Run epoch ``self.epoch`` from step ``self.step`` to its end; return its mean training loss and
        top-1 training accuracy (this process's batches).

        The running sums live in float64 tensors (no host sync per step) and are checkpointed exactly in
        ``history["partial"]``, so a resumed epoch reports the same means as an uninterrupted one.
        """
        if self.set_train_mode:
            self.set_train_mode()
        else:
            self.model.train()
        self.sampler.set_position(self.epoch, self.step * self.local_batch)
        opts = self.options
        loader = make_loader(self.dataset, self.local_batch, sampler=self.sampler, num_workers=opts.num_workers,
                             device=opts.device, drop_last=True)
        partial = self.history.get("partial") or {"loss": 0.0, "correct": 0.0, "n": 0}
        sums = torch.tensor([partial["loss"], partial["correct"]], dtype=torch.float64, device=opts.device)
        n = int(partial["n"])
        last_save = time.monotonic()
        for images, labels in loader:
            images = to_device(images, opts.device, opts.channels_last)
            labels = labels.to(opts.device, non_blocking=True)
            self.optimizer.zero_grad(set_to_none=True)
            with autocast(opts.device, opts.precision):
                loss, logits = self.compute(images, labels)
            loss.backward()
            self.optimizer.step()
            if self.scheduler is not None:
                self.scheduler.step()
            loss = loss.detach()
            sums[0] += loss.double() * images.shape[0]
            if logits is not None:
                sums[1] += (logits.detach().argmax(1) == labels).sum()
            n += int(images.shape[0])
            self.step += 1
            self.images_seen += self.batch_size
            if self.after_step is not None:
                self.after_step(self, loss)
            if self.max_images is not None and self.images_seen >= self.max_images and self.stop_reason is None:
                self.request_stop(f"cap of {self.max_images:,} images")
            if bar is not None:
                bar.update(1)
                if self.step % 10 == 0 or self.step == self.steps_per_epoch:
                    bar.set_postfix(loss=f"{float(loss):.4f}", lr=f"{self.optimizer.param_groups[0]['lr']:.3g}")
            if self.step < self.steps_per_epoch and (
                (opts.checkpoint_every_steps and self.global_step % opts.checkpoint_every_steps == 0)
                or time.monotonic() - last_save >= opts.checkpoint_every_s
            ):
                self.history["partial"] = {"loss": float(sums[0]), "correct": float(sums[1]), "n": n}
                self._check_finite(self.history["partial"]["loss"])
                self.save()
                last_save = time.monotonic()
            _maybe_fault(self.unit, self.global_step, self.resumed)
            if self.stop_reason is not None:
                break
        self.history["partial"] = None
        self._check_finite(float(sums[0]))
        n = max(n, 1)
        return float(sums[0]) / n, (float(sums[1]) / n if self.track_accuracy else None)


TOPK = 5


def topk_correct(logits: torch.Tensor, labels: torch.Tensor, k: int = TOPK) -> tuple[np.ndarray, np.ndarray]:
    """Per-image top-1 and top-k correctness (bool arrays on the CPU); the one definition, used by a
    classifier's test accuracy and by the evaluation's grids.

    Top-1 is the first of the top-k (so the two agree on ties). With fewer than ``k`` classes, top-k is
    over all classes.

    >>> logits = torch.tensor([[0.1, 0.9, 0.0], [0.8, 0.1, 0.2]])
    >>> [a.tolist() for a in topk_correct(logits, torch.tensor([1, 2]), k=2)]
    [[True, False], [True, True]]
    """
    top = logits.topk(min(k, logits.shape[1]), dim=1).indices
    hit = top == labels.view(-1, 1)
    return hit[:, 0].cpu().numpy(), hit.any(dim=1).cpu().numpy()


@torch.no_grad()
def classifier_accuracy(forward: Callable[[torch.Tensor], torch.Tensor], loader, *, device: str = "cpu",
                      precision: str = "fp32", channels_last: bool = False, progress: bool = False,
                      desc: str = "eval") -> dict[str, float]:
    """Top-1 and top-5 accuracy of ``forward`` (images in [0, 1] -> logits) over ``loader``."""
    top1 = top5 = n = 0
    it = loader
    if progress and distributed.info().is_main:
        from tqdm import tqdm

        it = tqdm(loader, desc=desc, unit="batch", leave=False, dynamic_ncols=True, disable=None)
    for images, labels in it:
        images = to_device(images, device, channels_last)
        labels = labels.to(device)
        with autocast(device, precision):
            logits = forward(images)
        hit1, hit5 = topk_correct(logits.float(), labels)
        top1 += int(hit1.sum())
        top5 += int(hit5.sum())
        n += int(labels.shape[0])
    return {"top1": top1 / max(n, 1), "top5": top5 / max(n, 1), "n": n}


# --- Sec. 3.2: the plateau schedule -----------------------------------------------------------------


class PlateauSchedule:
    """The pretraining lr schedule of Sec. 3.2.

    The mean training loss over the last ``check_every`` images is checked each time that many images
    have been seen; when it has not improved on the best check for ``patience`` consecutive checks
    (paper: two), the lr is multiplied by ``factor`` (paper: 0.2) and the count starts over. The paper
    checks the training loss: on YFCC100m every image is new, so it is an unbiased estimate of the
    generalisation error (Sec. 3.2).

    >>> import torch
    >>> opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    >>> s = PlateauSchedule(opt, check_every=2)
    >>> [s.check(v) for v in (1.0, 0.9, 0.95, 0.91, 0.92, 0.5)]
    [False, False, False, True, False, False]
    >>> opt.param_groups[0]["lr"]
    0.2

    With ``max_cuts`` (fine-tuning's stop rule), the plateau after the last allowed cut sets
    ``exhausted`` instead of cutting again:

    >>> s = PlateauSchedule(opt, check_every=2, patience=1, max_cuts=1)
    >>> [(s.check(v), s.exhausted) for v in (1.0, 1.0, 0.9, 0.95)]
    [(False, False), (True, False), (False, False), (False, True)]
    >>> opt.param_groups[0]["lr"], s.cuts
    (0.04000000000000001, 1)
    """

    def __init__(self, optimizer: torch.optim.Optimizer, check_every: int, patience: int = 2, factor: float = 0.2,
                 max_cuts: int | None = None):
        self.optimizer = optimizer
        self.check_every = int(check_every)
        self.patience = int(patience)
        self.factor = float(factor)
        self.best = math.inf
        self.bad_checks = 0
        self.cuts = 0  # lr cuts so far
        self.max_cuts = max_cuts  # None: cut on every plateau; else the plateau after this many cuts ...
        self.exhausted = False  # ... sets this instead (the caller stops training)
        self.window_loss = 0.0  # sum of per-image losses since the last check (this process)
        self.window_images = 0
        self.next_check = self.check_every  # in images seen (all processes)

    def check(self, mean_loss: float) -> bool:
        """Record one check; returns whether the lr was cut."""
        if mean_loss < self.best:
            self.best = mean_loss
            self.bad_checks = 0
            return False
        self.bad_checks += 1
        if self.bad_checks >= self.patience:
            self.bad_checks = 0
            if self.max_cuts is not None and self.cuts >= self.max_cuts:
                self.exhausted = True
                return False
            for group in self.optimizer.param_groups:
                group["lr"] *= self.factor
            self.cuts += 1
            return True
        return False

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "bad_checks": self.bad_checks, "cuts": self.cuts, "exhausted": self.exhausted, "window_loss": self.window_loss,
                "window_images": self.window_images, "next_check": self.next_check,
                "lr": [g["lr"] for g in self.optimizer.param_groups]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best, self.bad_checks = state["best"], state["bad_checks"]
        self.cuts, self.exhausted = state.get("cuts", 0), state.get("exhausted", False)
        self.window_loss, self.window_images = state["window_loss"], state["window_images"]
        self.next_check = state["next_check"]
        for group, lr in zip(self.optimizer.param_groups, state["lr"]):
            group["lr"] = lr


class BestModel:
    """The state of ``module`` at its best check so far (lowest value): early stopping's "keep the best".

    Used with a held-out criterion: A_S's validation MSE (Sec. 3.2) and A_i's held-out cross-entropy
    (Sec. 3.3). The copy lives on the CPU and travels in the training checkpoint, so a resumed run
    ends with the same best model as an uninterrupted one.

    >>> import torch
    >>> m = torch.nn.Linear(1, 1, bias=False)
    >>> best = BestModel(m)
    >>> _ = torch.nn.init.constant_(m.weight, 1.0); best.offer(0.5, 10)
    True
    >>> _ = torch.nn.init.constant_(m.weight, 2.0); best.offer(0.7, 20)
    False
    >>> best.restore(); m.weight.item(), best.images_seen
    (1.0, 10)
    """

    def __init__(self, module: torch.nn.Module):
        self.module = module
        self.value = math.inf
        self.images_seen: int | None = None
        self.state: dict[str, torch.Tensor] | None = None

    def offer(self, value: float, images_seen: int) -> bool:
        """Keep the module's current state if ``value`` beats the best so far; returns whether it did."""
        if not value < self.value:  # NaN never wins
            return False
        self.value, self.images_seen = float(value), int(images_seen)
        self.state = {k: v.detach().to("cpu", copy=True) for k, v in self.module.state_dict().items()}
        return True

    def restore(self) -> None:
        if self.state is not None:
            self.module.load_state_dict(self.state)

    def state_dict(self) -> dict[str, Any]:
        return {"value": self.value, "images_seen": self.images_seen, "state": self.state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.value, self.images_seen, self.state = state["value"], state["images_seen"], state["state"]
