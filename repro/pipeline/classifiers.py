"""Stage 2: the classifiers C = {L, A, V, I, R} (Sec. 3.3).

At the paper scale A, V, I and R are torchvision's ImageNet models (``classifiers.pretrained``) and
LeNet-5 is trained here; at the other scales every classifier is trained from scratch on the training
split: SGD with Nesterov momentum, a one-cycle learning-rate schedule, weight decay, random crop and
mirror. Each classifier's test accuracy is recorded in its summary.

Your own classifiers (``classifiers.extra``; the registry in :mod:`repro.models.classifiers`
says what a spec means) are units of this stage like the paper's five: one without weights is trained
here with the same recipe (at the small scales a torchvision architecture adapted to 32x32), one with
weights is loaded and only its test accuracy measured. Before any stage runs, :func:`check_extras`
builds each once and runs one batch of SegNet-sized images through it, so that a spec that cannot work
is a one-line error at the start, not after the autoencoder's pretraining.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn.functional as F

from repro import distributed
from repro.checkpoint import save_model_file
from repro.errors import ReproError
from repro.data import ImageDataset, digits_split, eval_loader, list_image_folder, locate, num_classes, train_source, train_transform
from repro.pipeline import unit_keys
from repro.pipeline.context import RunContext, unit_time
from repro.pipeline.model_files import maybe_compile
from repro.pipeline.seeds import classifier_seed
from repro.pipeline.units import STAGED_MODEL, mark_done, reuse_unit
from repro.training import LoopOptions, Trainer, classifier_accuracy, make_optimizer
from repro.models.classifiers import build_classifier, check_classifier_output, parse_extra, resolve_extra
from repro.vocabulary import plural


def model_config(cfg, k: str, n_classes: int) -> dict[str, Any]:
    """How classifier ``k`` of ``cfg`` is built (build_classifier's arguments; `repro models` shows the same)."""
    c = cfg.classifiers
    mcfg = {"name": k, "family": c.family, "num_classes": n_classes, "width": c.width if c.family == "cifar" else 1.0}
    side = cfg.data.image_size
    if c.family == "cifar" and k not in c.extra and side != 32:  # the zoo's nets built for the data's side
        mcfg["input_size"] = side  # (only then: a 32-pixel model file is as it was)
    if k in c.extra:  # what rebuilds it (model_files.load_classifier); the file's state dict holds its weights
        mcfg["spec"] = parse_extra(k, c.extra[k]).rebuild_text
    return mcfg


def class_count(cfg) -> int:
    """The number of classes of the training split, read without loading the images."""

    kind, path = locate(cfg, "train")
    if kind == "digits":
        return len(digits_split("train").classes)
    if kind == "cifar-torchvision":
        return 10
    return len(list_image_folder(Path(path))[2])


def resolve_extras(cfg, where: str = "classifiers.extra") -> None:
    """Check that each of your own classifiers' specs names something that exists (a torchvision
    classification architecture and weights name, an importable callable factory, a weights file:
    :func:`repro.models.classifiers.resolve_extra`), without building anything; a one-line error that
    starts with ``where`` (the option that gave the spec, :func:`repro.config.extras_origin`)."""

    for label, text in cfg.classifiers.extra.items():
        try:
            resolve_extra(parse_extra(label, text))
        except ReproError as err:
            raise ReproError(f"{where}: {err}") from None


def check_extras(cfg, where: str = "classifiers.extra") -> None:
    """Build each of your own classifiers of the run once (with its weights) and run one batch of
    SegNet-sized images through it: a spec that cannot work is a one-line error before any stage
    runs (:func:`repro.models.classifiers.check_classifier_output`), starting with ``where`` as
    :func:`resolve_extras`' do. The global random state is left as it was."""
    c = cfg.classifiers
    labels = [k for k in c.keys if k in c.extra]
    if not labels:
        return

    n = class_count(cfg)
    with torch.random.fork_rng(devices=[]):
        for k in labels:
            try:
                clf = build_classifier(k, family=c.family, num_classes=n,
                                       width=c.width if c.family == "cifar" else 1.0, spec=c.extra[k])
                check_classifier_output(clf, n, cfg.data.image_size)
            except ReproError as err:
                raise ReproError(f"{where}: {err}") from None


def run(ctx: RunContext) -> dict[str, Any]:
    out = {}
    for k in ctx.cfg.classifiers.keys:
        out[k] = run_one(ctx, k)
    return out


def run_one(ctx: RunContext, k: str) -> dict[str, Any]:
    cfg = ctx.cfg
    c = cfg.classifiers
    unit_dir = ctx.unit_dir("classifiers", k)
    key = unit_keys.classifier(cfg, k)
    cached = reuse_unit(ctx, "classifiers", f"classifier {k}", unit_dir, key, _line)
    if cached:
        return cached

    t0 = time.monotonic()
    seed = classifier_seed(cfg, k)
    with distributed.main_first():
        train = train_source(cfg, ctx.cache, progress=ctx.progress)
        tests = eval_loader(cfg, ctx.cache, ctx.device, progress=ctx.progress)
    n_classes = num_classes(train)
    mcfg = model_config(cfg, k, n_classes)

    spec = c.extra.get(k)  # one of your own classifiers (None: one of the paper's five)
    given = spec is not None and not parse_extra(k, spec).trained  # its weights come with its spec: not trained
    if k in c.pretrained or given:
        if given:
            clf = build_classifier(k, family=c.family, num_classes=n_classes, width=mcfg["width"], spec=spec)
            check_classifier_output(clf, n_classes, cfg.data.image_size)
            clf = clf.to(ctx.device)
        else:
            clf = build_classifier(k, family=c.family, num_classes=n_classes, weights="imagenet").to(ctx.device)
        history: dict[str, Any] = {}
        prior = 0.0
        source, epochs = ("given weights" if given else "torchvision"), 0
    else:
        torch.manual_seed(seed)  # initialisation
        clf = build_classifier(k, family=mcfg["family"], num_classes=n_classes, width=mcfg["width"], spec=spec,
                               input_size=mcfg.get("input_size"))
        if spec is not None:
            check_classifier_output(clf, n_classes, cfg.data.image_size)
        clf = clf.to(ctx.device)
        if cfg.channels_last:
            clf = clf.to(memory_format=torch.channels_last)
        model = distributed.wrap_ddp(maybe_compile(clf, cfg.compile), ctx.device)
        optimizer = make_optimizer("sgd", clf.parameters(), lr=c.lr, momentum=c.momentum, nesterov=True,
                                   weight_decay=c.weight_decay)

        def compute(images, labels):
            logits = model(images)
            return F.cross_entropy(logits.float(), labels, label_smoothing=c.label_smoothing), logits

        epochs = c.epochs_for(k)
        trainer = Trainer(
            unit=f"classifier:{k}", key=key, state_path=unit_dir / "state.pt", model=model, optimizer=optimizer,
            compute=compute, dataset=ImageDataset(train, train_transform(cfg, c.augment)), seed=seed, epochs=epochs,
            batch_size=c.batch_size, options=LoopOptions.from_config(ctx.cfg, ctx.device, ctx.progress), make_scheduler=one_cycle(c.lr),
        )
        epochs = ctx.sizing.size_classifier(ctx, k, unit_dir, key, trainer, clf, epochs)  # e.g. a time budget: fewer steps
        shape = "its own widths" if spec is not None else f"width {mcfg['width']:g}"  # the zoo's width multiplier
        ctx.info(f"classifier {k}: {clf.spec.name} ({c.family}, {shape}, "
                 f"{sum(p.numel() for p in clf.parameters()):,} parameters), {len(train):,} images x {plural(epochs, 'epoch')}")
        history = trainer.fit()
        prior = trainer.prior_elapsed_s
        source = "trained"
    clf.eval()
    acc = classifier_accuracy(clf, tests, device=ctx.device, precision=cfg.precision, channels_last=cfg.channels_last,
                            progress=ctx.progress, desc=f"test {k}")
    elapsed = prior + time.monotonic() - t0
    summary = {
        "unit": k, "source": source, "epochs": epochs, "top1": acc["top1"], "top5": acc["top5"], "n_test": acc["n"],
        "train_loss": history.get("loss", []), "train_top1": history.get("acc", []), "lr": history.get("lr", []),
        "parameters": sum(p.numel() for p in clf.parameters()), "time_s": elapsed,
        "images_per_s": len(train) * epochs / max(elapsed, 1e-9) if epochs else None,
    }
    if source == "trained":
        summary.update(ctx.sizing.summary_fields(ctx, unit_dir, key))  # e.g. with a time budget: how it was sized
    if ctx.is_main:
        save_model_file(unit_dir / STAGED_MODEL, "classifier", mcfg, clf, meta={"key": key, "unit": k})
    mark_done(ctx, unit_dir, key, summary, {f"classifier:{k}": seed})
    ctx.info(f"classifier {k}: done ({_line(summary)})")
    return summary


def one_cycle(lr: float) -> Callable[[torch.optim.Optimizer, int], torch.optim.lr_scheduler.OneCycleLR]:
    """One-cycle: warm up to ``lr`` over the first 15% of steps, then cosine down (Smith & Topin 2019).
    The trainer makes it once its total steps are final (a time budget may shorten them)."""

    def make(optimizer: torch.optim.Optimizer, total_steps: int) -> torch.optim.lr_scheduler.OneCycleLR:
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=total_steps, pct_start=0.15,
                                                   div_factor=10.0, final_div_factor=100.0)
    return make


def _line(s: dict[str, Any]) -> str:
    what = {"torchvision": "torchvision weights", "given weights": "its own weights"}.get(
        s["source"], plural(s["epochs"], "epoch"))
    return f"{what}, test top-1 {s['top1']:.4f}, top-5 {s['top5']:.4f}, {unit_time(s['time_s'])}"
