"""The run context: a run's configuration, device and folders, and its log (stderr and ``<out>/run.log``).

``results.json``, ``claims.*``, ``run.log`` and ``figures/`` are written at ``<out>``; units under
``<out>/ckpt`` (:mod:`repro.pipeline.units`); caches under ``<out>/cache`` (or ``$REPRO_CACHE``).
"""

from __future__ import annotations

import logging
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from repro import distributed
from repro.config import RunConfig, resolve_device
from repro.errors import ReproError, write_error, writing
from repro.pipeline import unit_keys

CACHE_ENV = "REPRO_CACHE"
LOGGER = "repro.pipeline"
ROOT_LOGGER = "repro"  # its handlers (stderr, run.log) also carry repro.training's resume lines


class _TqdmHandler(logging.StreamHandler):
    """Log lines printed through tqdm, so they do not tear progress bars."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            from tqdm import tqdm

            tqdm.write(self.format(record), file=sys.stderr)
        except Exception:  # pragma: no cover - logging must never raise
            self.handleError(record)


class UnitSizing:
    """How a run sizes its training units: hooks the stages call, knowing nothing of what sizes them.

    This default sizes nothing: every unit trains its configured epochs and records nothing more. A
    command run with a time budget gives the run context the planner's sizing instead
    (:class:`repro.budget.BudgetSizing`), which measures each unit's throughput and caps it; the planner
    calls into the stages' trainers, never the reverse.
    """

    def attach(self, ctx: RunContext, stage: str, unit: str, unit_dir: Path, key: str, trainer: Any) -> None:
        """Before an AE unit (A_S, an A_i) trains: give ``trainer`` its cap (``Trainer.max_images``), if any."""

    def size_classifier(self, ctx: RunContext, k: str, unit_dir: Path, key: str, trainer: Any, clf: Any,
                        epochs: int) -> int:
        """A classifier's epochs (its one-cycle schedule needs its total steps before the first step)."""
        return epochs

    def summary_fields(self, ctx: RunContext, unit_dir: Path, key: str) -> dict[str, Any]:
        """What a finished unit's summary records of its sizing (nothing)."""
        return {}

    def results_entry(self, ctx: RunContext, summaries: dict[str, dict[str, Any]],
                      timings: dict[str, Any]) -> dict[str, Any]:
        """What results.json records of the run's sizing (nothing)."""
        return {}


class _RunLogHandler(logging.FileHandler):
    """<out>/run.log. A line that cannot be written (a full disk) ends the run with one line naming
    run.log, instead of logging's traceback on stderr for every line after it."""

    def handleError(self, record: logging.LogRecord) -> None:
        err = sys.exc_info()[1]
        if isinstance(err, OSError):
            raise write_error(self.baseFilename, err, atomic=False) from err
        super().handleError(record)


@dataclass
class RunContext:
    cfg: RunConfig
    device: str
    out: Path
    progress: bool = True
    force: frozenset[str] = frozenset()  # stages whose cached units are ignored (recomputed from scratch)
    log: logging.Logger = field(default_factory=lambda: logging.getLogger(LOGGER))
    logfile: logging.Handler | None = None  # <out>/run.log (rank 0)
    started: float = field(default_factory=time.monotonic)
    sizing: UnitSizing = field(default_factory=UnitSizing)  # the time budget's, when the run has one

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
        return distributed.info().is_main

    def unit_dir(self, stage: str, unit: str | None = None) -> Path:
        """``<out>/ckpt/<stage>/<unit>/<key>/`` of this configuration (``unit`` None for pretrain)."""
        name, key = unit_keys.unit(self.cfg, stage, unit)
        return self.ckpt / stage / name / key

    def info(self, msg: str) -> None:
        if self.is_main:
            self.log.info(msg)


def setup(cfg: RunConfig, *, progress: bool = True, force: frozenset[str] | set[str] = frozenset(),
          sizing: UnitSizing | None = None) -> RunContext:
    """Resolve the device, join torchrun's process group if any, and log to stderr and <out>/run.log.
    ``sizing``: how units are sized (None: :class:`UnitSizing`, their configured epochs)."""
    device = resolve_device(cfg.device)
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ReproError(f"--device {cfg.device}: CUDA is not available here; use --device cpu")
    dist, device = distributed.init_distributed(device)
    out = cfg.out_dir
    if cfg.threads:
        # Under torchrun the processes of one machine share its cores.
        world_local = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
        torch.set_num_threads(max(1, cfg.threads // world_local))
    ctx = RunContext(cfg=cfg, device=device, out=out, progress=progress and dist.is_main, force=frozenset(force),
                     sizing=sizing or UnitSizing())
    unit_keys.forget_fingerprints()  # the data are fingerprinted afresh for each run
    root = logging.getLogger(ROOT_LOGGER)
    root.setLevel(logging.INFO)
    root.propagate = False
    for h in list(root.handlers):
        root.removeHandler(h)
        h.close()
    if dist.is_main:
        out.mkdir(parents=True, exist_ok=True)
        stream = _TqdmHandler()
        stream.setFormatter(logging.Formatter("%(message)s"))
        root.addHandler(stream)
        with writing(out / "run.log", atomic=False):
            fileh = _RunLogHandler(out / "run.log", encoding="utf-8")
        fileh.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%Y-%m-%d %H:%M:%S"))
        root.addHandler(fileh)
        ctx.logfile = fileh
    ctx.log = logging.getLogger(LOGGER)  # propagates to the handlers above
    ctx.log.propagate = True
    ctx.info(f"repro {cfg.scale}: out={out} device={device} processes={dist.world_size} "
             f"threads={torch.get_num_threads()} seed={cfg.seed} classifiers={','.join(cfg.classifiers.keys)}")
    return ctx


def teardown(ctx: RunContext) -> None:
    distributed.shutdown()
    root = logging.getLogger(ROOT_LOGGER)
    for h in list(root.handlers):
        root.removeHandler(h)
        h.close()
    ctx.logfile = None


def log_error(ctx: RunContext, err: BaseException) -> None:
    """Write the error that ends a run to run.log (only there: the CLI prints it to stderr), so the
    log tells how the run ended; a traceback for anything but a :class:`ReproError`."""
    if ctx.logfile is None:
        return
    if isinstance(err, KeyboardInterrupt):
        msg, exc_info = "interrupted; finished units are kept and a rerun resumes", None
    elif isinstance(err, ReproError):
        msg, exc_info = f"error: {err}", None
    else:
        msg, exc_info = f"error: {type(err).__name__}: {err}", (type(err), err, err.__traceback__)
    record = ctx.log.makeRecord(ctx.log.name, logging.ERROR, __file__, 0, msg, None, exc_info)
    try:
        ctx.logfile.handle(record)
    except (ReproError, OSError):
        pass  # run.log cannot be written (a full disk): the CLI still prints the error


def unit_time(seconds: float) -> str:
    """A unit's own recorded time as its log lines show it: the training time of every session that
    worked on the unit, resumed ones included, even when this run only reuses the unit (the stage
    lines say what this run spent: "[1.1s this run]").

    >>> unit_time(61.0)
    '1m01s over every session of this unit'
    """
    return f"{fmt_time(seconds)} over every session of this unit"


def fmt_time(seconds: float) -> str:
    """A duration as the log lines show it.

    >>> fmt_time(75.2), fmt_time(3.04)
    ('1m15s', '3.0s')
    """
    if seconds >= 60:
        return f"{int(seconds // 60)}m{int(round(seconds % 60)):02d}s"
    return f"{seconds:.1f}s"
