"""The end-to-end pipeline: pretrain A_S, get the classifiers, fine-tune the decoders, evaluate.

Each stage is a module with ``run(ctx) -> dict`` (its summary). A stage is made of units (A_S; one
classifier; one fine-tuned AE), each cached under ``<out>/ckpt/<stage>/<unit>/``:

    state.pt    resumable training state (checkpointed during training, atomic, weights_only)
    model.pt    the finished model, rebuilding itself: {"kind", "config", "state_dict", "meta"}
    done.json   {"key", "summary", "provenance", ...}: written last; the unit is finished for this key

A unit's *key* hashes the config fields its numbers depend on and the keys of the units it reads
(:class:`keys`); fine-tuning and evaluation add a digest of their input units' done.json
(:func:`upstream_digest`), so that an input retrained with ``--force`` is picked up too. Re-running
skips a finished unit while its key matches and redoes it (from its checkpoint, if that has the same
key) otherwise. ``results.json``, ``run.log`` and
``figures/`` are written at ``<out>``; caches under ``<out>/cache`` (or ``$REPRO_CACHE``).
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from repro.config import RunConfig, resolve_device, stage_key
from repro.errors import ReproError

STAGES = ("pretrain", "classifiers", "finetune", "evaluate")
CACHE_ENV = "REPRO_CACHE"
LOGGER = "repro.pipeline"


def seed_for(base: int, *names: Any) -> int:
    """An independent, stable 31-bit seed per (run seed, unit); Python's hash() is salted, so sha256.

    >>> seed_for(0, "classifier", "L") == seed_for(0, "classifier", "L") != seed_for(0, "classifier", "A")
    True
    """
    text = "/".join([str(base), *map(str, names)])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little") & 0x7FFFFFFF


# --- keys -------------------------------------------------------------------------------------------


class keys:  # noqa: N801 - a namespace
    """Stage keys: what each unit's numbers depend on."""

    @staticmethod
    def data(cfg: RunConfig) -> str:
        from repro.data import resolve_root

        d = asdict(cfg.data)
        d.pop("num_workers"), d.pop("cache"), d.pop("download")
        root = resolve_root(cfg.data)
        d["root"] = None if cfg.data.dataset == "digits" else str(root.resolve()) if root else None
        return stage_key("data", d, cfg.seed)

    @staticmethod
    def pretrain(cfg: RunConfig) -> str:
        return stage_key("pretrain", keys.data(cfg), cfg.ae, cfg.pretrain, cfg.seed, cfg.precision)

    @staticmethod
    def classifier(cfg: RunConfig, k: str) -> str:
        c = cfg.classifiers
        if k in c.pretrained:
            return stage_key("classifier", k, c.family, "torchvision-imagenet")
        train = {"family": c.family, "width": c.width, "epochs": c.epochs_for(k), "batch_size": c.batch_size,
                 "lr": c.lr, "momentum": c.momentum, "weight_decay": c.weight_decay,
                 "label_smoothing": c.label_smoothing, "augment": c.augment}
        return stage_key("classifier", k, keys.data(cfg), train, cfg.seed, cfg.precision)

    @staticmethod
    def finetune(cfg: RunConfig, k: str) -> str:
        return stage_key("finetune", k, keys.pretrain(cfg), keys.classifier(cfg, k), keys.data(cfg), cfg.finetune,
                         cfg.seed, cfg.precision)

    @staticmethod
    def evaluate(cfg: RunConfig) -> str:
        ks = cfg.classifiers.keys
        return stage_key("evaluate", keys.data(cfg), cfg.evaluate, keys.pretrain(cfg),
                         [keys.classifier(cfg, k) for k in ks], [keys.finetune(cfg, k) for k in ks], cfg.precision)


# --- run context ------------------------------------------------------------------------------------


class _TqdmHandler(logging.StreamHandler):
    """Log lines printed through tqdm, so they do not tear progress bars."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            from tqdm import tqdm

            tqdm.write(self.format(record), file=sys.stderr)
        except Exception:  # pragma: no cover - logging must never raise
            self.handleError(record)


@dataclass
class RunContext:
    cfg: RunConfig
    device: str
    out: Path
    progress: bool = True
    force: frozenset[str] = frozenset()  # stages whose cached units are ignored (recomputed from scratch)
    log: logging.Logger = field(default_factory=lambda: logging.getLogger(LOGGER))
    started: float = field(default_factory=time.monotonic)

    @property
    def ckpt(self) -> Path:
        return self.out / "ckpt"

    @property
    def cache(self) -> Path | None:
        if not self.cfg.data.cache:
            return None
        env = os.environ.get(CACHE_ENV)
        return Path(env) if env else self.out / "cache"

    @property
    def figures(self) -> Path:
        return self.out / "figures"

    @property
    def results_path(self) -> Path:
        return self.out / "results.json"

    @property
    def is_main(self) -> bool:
        from repro import distributed

        return distributed.info().is_main

    def unit_dir(self, stage: str, unit: str | None = None) -> Path:
        return self.ckpt / stage / unit if unit else self.ckpt / stage

    def info(self, msg: str) -> None:
        if self.is_main:
            self.log.info(msg)


def setup(cfg: RunConfig, *, progress: bool = True, force: frozenset[str] | set[str] = frozenset()) -> RunContext:
    """Resolve the device, join torchrun's process group if any, and log to stderr and <out>/run.log."""
    import torch

    from repro import distributed

    device = resolve_device(cfg.device)
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ReproError(f"--device {cfg.device}: CUDA is not available here; use --device cpu")
    dist, device = distributed.init_distributed(device)
    out = cfg.out_dir
    if cfg.threads:
        # Under torchrun the processes of one machine share its cores.
        world_local = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
        torch.set_num_threads(max(1, cfg.threads // world_local))
    ctx = RunContext(cfg=cfg, device=device, out=out, progress=progress and dist.is_main, force=frozenset(force))
    logger = logging.getLogger(LOGGER)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    for h in list(logger.handlers):
        logger.removeHandler(h)
        h.close()
    if dist.is_main:
        out.mkdir(parents=True, exist_ok=True)
        stream = _TqdmHandler()
        stream.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(stream)
        fileh = logging.FileHandler(out / "run.log", encoding="utf-8")
        fileh.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%Y-%m-%d %H:%M:%S"))
        logger.addHandler(fileh)
    ctx.log = logger
    ctx.info(f"repro {cfg.scale}: out={out} device={device} processes={dist.world_size} "
             f"threads={torch.get_num_threads()} seed={cfg.seed} classifiers={','.join(cfg.classifiers.keys)}")
    return ctx


def teardown(ctx: RunContext) -> None:
    from repro import distributed

    distributed.shutdown()
    for h in list(ctx.log.handlers):
        ctx.log.removeHandler(h)
        h.close()


def run_stages(ctx: RunContext, stages: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """Run the named stages in pipeline order; returns their summaries."""
    import importlib

    out = {}
    for name in STAGES:
        if name in stages:
            module = importlib.import_module(f"repro.pipeline.{name}")
            t0 = time.monotonic()
            out[name] = module.run(ctx)
            ctx.info(f"== {name}: {_stage_line(name, out[name])} [{fmt_time(time.monotonic() - t0)} this run]")
    return out


def _stage_line(name: str, summary: dict[str, Any]) -> str:
    """The one-line summary of a stage (units' own lines are printed as they finish)."""
    if name == "pretrain":
        return f"A_S val MSE {summary['val_mse']:.5f} after {summary['images_seen']:,} images"
    if name == "classifiers":
        return "test top-1 " + ", ".join(f"{k} {s['top1']:.4f}" for k, s in summary.items())
    if name == "finetune":
        return "last-epoch train top-1 " + ", ".join(
            f"{a} {s['train_top1'][-1]:.4f}" for a, s in summary.items() if s.get("train_top1"))
    if name == "evaluate":
        return f"results in {summary['results']}" if summary.get("results") else "done on rank 0"
    return "done"


# --- unit bookkeeping -------------------------------------------------------------------------------


def unit_done(ctx: RunContext, stage: str, unit_dir: Path, key: str) -> dict[str, Any] | None:
    """The unit's done.json if it is finished for ``key`` (and not forced), else None."""
    from repro.checkpoint import read_json

    if stage in ctx.force:
        return None
    done = read_json(unit_dir / "done.json")
    if done and done.get("key") == key and (unit_dir / "model.pt").exists():
        return done
    return None


def reuse_unit(ctx: RunContext, stage: str, label: str, unit_dir: Path, key: str,
               describe: Callable[[dict[str, Any]], str]) -> dict[str, Any] | None:
    """The summary of a unit finished for ``key`` (logged as cached), else None; a forced stage's
    unit is cleared first so that it starts afresh."""
    done = unit_done(ctx, stage, unit_dir, key)
    if done:
        ctx.info(f"{label}: cached ({describe(done['summary'])})")
        return done["summary"]
    if stage in ctx.force:
        clear_unit(ctx, unit_dir)
    return None


def upstream_digest(*unit_dirs: Path) -> str:
    """A digest of the done.json of the units a unit reads: a retrained input (``--force``) changes it
    even where the configuration, and so the input's key, stayed the same."""
    h = hashlib.sha256()
    for folder in unit_dirs:
        try:
            h.update((folder / "done.json").read_bytes())
        except OSError:
            h.update(b"missing")
    return h.hexdigest()[:16]


def mark_done(ctx: RunContext, unit_dir: Path, key: str, summary: dict[str, Any], seeds: dict[str, int]) -> dict:
    from repro import distributed
    from repro.checkpoint import write_json_atomic
    from repro.provenance import provenance

    done = {"key": key, "summary": summary,
            "provenance": provenance(ctx.cfg, ctx.device, seeds, distributed.info().world_size)}
    if ctx.is_main:
        write_json_atomic(unit_dir / "done.json", done)
        (unit_dir / "state.pt").unlink(missing_ok=True)  # the finished model replaces the training state
    distributed.barrier()
    return done


def clear_unit(ctx: RunContext, unit_dir: Path) -> None:
    """Forget a unit's training state (``--force``), so it trains from scratch."""
    if ctx.is_main:
        for name in ("state.pt", "done.json"):
            (unit_dir / name).unlink(missing_ok=True)
    from repro import distributed

    distributed.barrier()


# --- models from files ------------------------------------------------------------------------------


def load_segnet(path: Path, device: str = "cpu"):
    """A SegNet rebuilt from its model file ({"kind": "segnet", "config", "state_dict"})."""
    from repro.checkpoint import load_checkpoint
    from repro.models.segnet import SegNet, SegNetConfig

    blob = load_checkpoint(path)
    if blob.get("kind") != "segnet":
        raise ReproError(f"{path}: not a SegNet model file (kind {blob.get('kind')!r})")
    ae = SegNet(SegNetConfig(**blob["config"]))
    ae.load_state_dict(blob["state_dict"])
    return ae.to(device)


def load_classifier(path: Path, device: str = "cpu"):
    """A classifier rebuilt from its model file ({"kind": "classifier", "config", "state_dict"})."""
    from repro.checkpoint import load_checkpoint
    from repro.models.classifiers import build_classifier

    blob = load_checkpoint(path)
    if blob.get("kind") != "classifier":
        raise ReproError(f"{path}: not a classifier model file (kind {blob.get('kind')!r})")
    c = blob["config"]
    clf = build_classifier(c["name"], family=c["family"], num_classes=c["num_classes"], width=c["width"])
    _fit_inception_aux(clf, blob["state_dict"])
    clf.load_state_dict(blob["state_dict"])
    return clf.to(device)


def _fit_inception_aux(clf, state: dict) -> None:
    """torchvision's Inception v3 carries an aux head; drop it when the file has none."""
    model = clf.model
    if getattr(model, "AuxLogits", None) is not None and not any(".AuxLogits." in f".{k}" for k in state):
        model.AuxLogits = None
        model.aux_logits = False


def maybe_compile(model, enabled: bool):
    if not enabled:
        return model
    import torch

    return torch.compile(model)


def fmt_time(seconds: float) -> str:
    """
    >>> fmt_time(75.2), fmt_time(3.04)
    ('1m15s', '3.0s')
    """
    if seconds >= 60:
        return f"{int(seconds // 60)}m{int(round(seconds % 60)):02d}s"
    return f"{seconds:.1f}s"
