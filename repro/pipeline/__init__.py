"""The end-to-end pipeline: pretrain A_S, get the classifiers, fine-tune the decoders, evaluate.

Each stage is a module with ``run(ctx) -> dict`` (its summary). A stage is made of units (A_S; one
classifier; one fine-tuned AE), each cached under ``<out>/ckpt/<stage>/<unit>/<key>/`` (the unit of
pretrain is ``A_S``, of classifiers ``L``, ..., of finetune ``A_L``, ...):

    state.pt    resumable training state (checkpointed during training, atomic, weights_only)
    model.pt    the finished model, rebuilding itself: {"kind", "config", "state_dict", "meta"}
    done.json   {"key", "summary", "provenance", "model": {"size", "sha256"}}: written last; the unit
                is finished for this key, and model.pt is the file that was written then

A unit's *key* hashes the config fields its numbers depend on, a fingerprint of the data it reads
(:func:`repro.data.source_fingerprint`) and the keys of the units it reads (:class:`keys`). It names
the unit's folder, so units of different settings live side by side and a run of other settings
never overwrites one. Fine-tuning and evaluation are finished for their key plus a digest of their
input units' done.json (:func:`finetune_key`, :func:`upstream_digest`), so that an input retrained
with ``--force`` (same key, new weights) is picked up too. Re-running reuses a finished unit after
checking its model file against the size and sha256 in done.json (a damaged file is an error naming
the command that rebuilds it), and redoes an unfinished one from its checkpoint. ``--force`` retrains
a unit from scratch, and its old model.pt and done.json stay until the new ones replace them.

``results.json``, ``claims.*``, ``run.log`` and ``figures/`` are written at ``<out>`` and belong to
one configuration: ``repro run``/``repro evaluate`` with another refuses (:func:`check_results_config`)
unless told to replace it. Caches go under ``<out>/cache`` (or ``$REPRO_CACHE``).
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

from repro.config import OPERATIONAL_FIELDS, RunConfig, resolve_device, stage_key
from repro.errors import ReproError

STAGES = ("pretrain", "classifiers", "finetune", "evaluate")
CACHE_ENV = "REPRO_CACHE"
LOGGER = "repro.pipeline"
ROOT_LOGGER = "repro"  # its handlers (stderr, run.log) also carry repro.training's resume lines
STAGED_MODEL = "model.pt.new"  # a unit's new model file until mark_done puts it in place


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
    def data(cfg: RunConfig, *splits: str) -> str:
        """The data settings and a fingerprint of what ``splits`` hold, not where they are: a moved or
        copied data root reuses the units, changed images recompute them (issue 10)."""
        d = asdict(cfg.data)
        for name in ("num_workers", "cache", "download", "root"):
            d.pop(name)
        d["pretrain_dir"] = d["pretrain_dir"] is not None  # its contents are in "content"
        d["content"] = {split: _content(cfg, split) for split in splits}
        return stage_key("data", d, cfg.seed)

    # The splits each stage reads: A_S trains on "pretrain" (the training split or data.pretrain_dir)
    # and validates on held-out training images; a classifier trains on "train" and reports its test
    # accuracy; fine-tuning reads "train" (held-out checks included); the evaluation reads "test".

    @staticmethod
    def pretrain(cfg: RunConfig) -> str:
        return stage_key("pretrain", keys.data(cfg, "pretrain", "train"), cfg.ae, cfg.pretrain, cfg.seed,
                         cfg.precision, *budget_key_parts(cfg))

    @staticmethod
    def classifier(cfg: RunConfig, k: str) -> str:
        c = cfg.classifiers
        if k in c.extra:  # one of your own: its spec and weights too (the paper's five keep their keys)
            from repro.pipeline.classifiers import extra_key_parts

            return stage_key("classifier", k, *extra_key_parts(cfg, k), *budget_key_parts(cfg))
        if k in c.pretrained:  # torchvision's weights; the unit still measures its test accuracy
            return stage_key("classifier", k, c.family, "torchvision-imagenet", keys.data(cfg, "train", "test"))
        train = {"family": c.family, "width": c.width, "epochs": c.epochs_for(k), "batch_size": c.batch_size,
                 "lr": c.lr, "momentum": c.momentum, "weight_decay": c.weight_decay,
                 "label_smoothing": c.label_smoothing, "augment": c.augment}
        return stage_key("classifier", k, keys.data(cfg, "train", "test"), train, cfg.seed, cfg.precision,
                         *budget_key_parts(cfg))

    @staticmethod
    def finetune(cfg: RunConfig, k: str) -> str:
        """The configuration key of A_k (its folder's name); see :func:`finetune_key` for the key it is
        finished for."""
        return stage_key("finetune", k, keys.pretrain(cfg), keys.classifier(cfg, k), keys.data(cfg, "train"),
                         cfg.finetune, cfg.seed, cfg.precision, *budget_key_parts(cfg))

    @staticmethod
    def evaluate(cfg: RunConfig) -> str:
        ks = cfg.classifiers.keys
        from repro.results import SCHEMA_VERSION  # a results.json of an older schema lacks sections: redo it

        return stage_key("evaluate", keys.data(cfg, "test"), cfg.evaluate, keys.pretrain(cfg),
                         [keys.classifier(cfg, k) for k in ks], [keys.finetune(cfg, k) for k in ks], cfg.precision,
                         SCHEMA_VERSION)

    @staticmethod
    def unit(cfg: RunConfig, stage: str, unit: str | None = None) -> tuple[str, str]:
        """(unit name, configuration key) of a unit: ("A_S", ...), ("L", ...), ("A_L", ...)."""
        if stage == "pretrain":
            return "A_S", keys.pretrain(cfg)
        if stage == "classifiers" and unit:
            return unit, keys.classifier(cfg, unit)
        if stage == "finetune" and unit and unit.startswith("A_"):
            return unit, keys.finetune(cfg, unit[2:])
        raise ValueError(f"no unit {unit!r} in stage {stage!r}")


def budget_key_parts(cfg: RunConfig) -> tuple[Any, ...]:
    """With ``--time-budget``, what a trained unit's key adds (repro.budget.key_parts); nothing without."""
    from repro.budget import key_parts

    return key_parts(cfg)


_fingerprints: dict[tuple[str, str], str] = {}  # per process; setup() empties it, so a run sees its data


def _content(cfg: RunConfig, split: str) -> str:
    """:func:`repro.data.source_fingerprint` of ``split``, computed once per source and run."""
    from repro.data import locate, source_fingerprint

    kind, path = locate(cfg, split)
    memo = (kind, str(path))
    if memo not in _fingerprints:
        _fingerprints[memo] = source_fingerprint(kind, path)
    return _fingerprints[memo]


def finetune_key(ctx: "RunContext", k: str) -> str:
    """The key A_k is finished for: its configuration key (which names its folder) and a digest of the
    A_S and classifier-k units it was trained from, so that an input retrained with ``--force`` (same
    configuration, new weights) makes it train again. The one definition: the finetune stage writes
    it, the evaluate stage checks it."""
    return f"{keys.finetune(ctx.cfg, k)}-" + upstream_digest(ctx.unit_dir("pretrain"), ctx.unit_dir("classifiers", k))


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
    logfile: logging.Handler | None = None  # <out>/run.log (rank 0)
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
        """``<out>/ckpt/<stage>/<unit>/<key>/`` of this configuration (``unit`` None for pretrain)."""
        name, key = keys.unit(self.cfg, stage, unit)
        return self.ckpt / stage / name / key

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
    _fingerprints.clear()  # the data are fingerprinted afresh for each run
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
        fileh = logging.FileHandler(out / "run.log", encoding="utf-8")
        fileh.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%Y-%m-%d %H:%M:%S"))
        root.addHandler(fileh)
        ctx.logfile = fileh
    ctx.log = logging.getLogger(LOGGER)  # propagates to the handlers above
    ctx.log.propagate = True
    ctx.info(f"repro {cfg.scale}: out={out} device={device} processes={dist.world_size} "
             f"threads={torch.get_num_threads()} seed={cfg.seed} classifiers={','.join(cfg.classifiers.keys)}")
    return ctx


def teardown(ctx: RunContext) -> None:
    from repro import distributed

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
    ctx.logfile.handle(record)


def check_results_config(cfg: RunConfig) -> None:
    """Refuse, before any work, to overwrite the finished run in ``--out`` with another configuration.

    results.json, claims.* and figures/ describe one configuration; its units would survive (they are
    keyed), but a run of other settings would silently replace the run-level outputs, e.g. the
    committed artifacts/cpu after a quick ``repro run --epochs 1``. Operational fields and the data's
    location (the units are keyed by the data's contents) are not differences.
    """
    from repro.checkpoint import read_json

    out = cfg.out_dir
    path = out / "results.json"
    if not path.exists():
        return
    old = read_json(path)
    provenance = old.get("provenance") if isinstance(old, dict) else None
    config = provenance.get("config") if isinstance(provenance, dict) else None
    if not isinstance(config, dict):
        raise ReproError(f"{path}: unreadable, or it does not record its configuration, so it cannot be told "
                         f"whether this run would replace a different one; {_ways_out()}")
    diffs = config_differences(config, cfg.to_dict())
    if diffs:
        shown = ", ".join(diffs[:3]) + (f" and {len(diffs) - 3} more" if len(diffs) > 3 else "")
        raise ReproError(f"{out} holds the finished run of another configuration ({shown}); {_ways_out()}")


def _ways_out() -> str:
    return ("pass --out DIR to keep both, --replace to replace it (finished units that still match are reused), "
            "or --force to replace it and recompute this command's stages")


RUN_LEVEL_IGNORED = frozenset({"data.root", "data.download"})  # where the data are, not what they are


def config_differences(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> list[str]:
    """``"section.field old -> new"`` for every setting that differs, operational fields left out.

    >>> config_differences({"seed": 0, "out": "a", "classifiers": {"lr": 0.05, "keys": ["L", "A", "V"]}},
    ...                    {"seed": 0, "out": "b", "classifiers": {"lr": 0.03, "keys": ["L"]}})
    ['classifiers.lr 0.05 -> 0.03', 'classifiers.keys L,A,V -> L']
    >>> config_differences({"finetune": {}}, {"finetune": {"lr_cuts": 2}})
    ['finetune.lr_cuts (not recorded) -> 2']
    """
    out = []
    for name in [*new, *(n for n in old if n not in new)]:
        dotted = f"{prefix}{name}"
        if name in OPERATIONAL_FIELDS or dotted in RUN_LEVEL_IGNORED:
            continue
        a, b = old.get(name, _MISSING), new.get(name, _MISSING)
        if dotted == "classifiers.extra" and all(v is _MISSING or v == {} for v in (a, b)):  # none either way
            continue
        if dotted == "time_budget_s" and all(v is _MISSING or v is None for v in (a, b)):  # no budget either way
            continue
        if isinstance(a, dict) and isinstance(b, dict) and not dotted.endswith(("epochs_by_key", "extra")):
            out += config_differences(a, b, f"{dotted}.")
        elif a != b:
            out.append(f"{dotted} {_show(a)} -> {_show(b)}")
    return out


_MISSING = object()


def _show(value: Any) -> str:
    if value is _MISSING:
        return "(not recorded)"
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value)) or "(none)"
    if isinstance(value, dict):
        return ",".join(f"{k}:{v}" for k, v in value.items()) or "(none)"
    return str(value)


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
    """The unit's done.json if it is finished for ``key`` (and not forced), else None; a :class:`ReproError`
    when it is finished but its model file is not the one written then (:func:`check_model`)."""
    from repro.checkpoint import read_json

    if stage in ctx.force:
        return None
    done = read_json(unit_dir / "done.json")
    if not isinstance(done, dict) or done.get("key") != key or not isinstance(done.get("model"), dict):
        return None
    if not (unit_dir / "model.pt").exists():
        return None  # deleted by hand: rebuilt, as the user presumably wants
    check_model(unit_dir / "model.pt", done)
    return done


def check_model(path: Path, done: dict[str, Any] | None = None) -> None:
    """Raise a :class:`ReproError` naming ``path`` and the command that rebuilds it when the file is not
    the one its done.json recorded (size, then sha256). No record (a model file from elsewhere): no check.
    """
    from repro.checkpoint import file_record, read_json

    if done is None:
        done = read_json(path.parent / "done.json")
    want = done.get("model") if isinstance(done, dict) else None
    if not isinstance(want, dict):
        return
    try:
        got = file_record(path)
    except OSError as err:
        raise ReproError(f"{path}: cannot be read ({err.strerror or err}); {rebuild_hint(path)}") from None
    if got["size"] != want.get("size"):
        why = f"{got['size']:,} bytes, done.json recorded {want.get('size'):,}" if isinstance(
            want.get("size"), int) else f"{got['size']:,} bytes, no size recorded"
    elif got["sha256"] != want.get("sha256"):
        why = "its sha256 differs from the one done.json recorded"
    else:
        return
    raise ReproError(f"{path}: damaged ({why}); {rebuild_hint(path)}")


def rebuild_hint(path: Path) -> str:
    """The command that rebuilds the unit whose model file is ``path`` (``<out>/ckpt/<stage>/<unit>/<key>/``)."""
    import shlex

    from repro.checkpoint import read_json

    unit_dir = path.parent
    if len(unit_dir.parents) < 4 or unit_dir.parents[2].name != "ckpt" or unit_dir.parents[1].name not in STAGES:
        return "rebuild it with --force"
    stage, unit, out = unit_dir.parents[1].name, unit_dir.parent.name, unit_dir.parents[3]
    done = read_json(unit_dir / "done.json")
    scale = (done.get("provenance", {}).get("config", {}).get("scale") if isinstance(done, dict) else None)
    cmd = ["repro", stage, *(["--scale", scale] if isinstance(scale, str) else []), "--out", str(out)]
    extra = (done.get("provenance", {}).get("config", {}).get("classifiers", {}).get("extra")
             if isinstance(done, dict) else None) or {}
    if stage in ("classifiers", "finetune"):
        label = unit.removeprefix("A_") if stage == "finetune" else unit
        cmd += ["--classifiers", f"{label}={extra[label]}" if label in extra else label]
    return f"rebuild it with `{shlex.join([*cmd, '--force'])}` and this run's other options"


def reuse_unit(ctx: RunContext, stage: str, label: str, unit_dir: Path, key: str,
               describe: Callable[[dict[str, Any]], str]) -> dict[str, Any] | None:
    """The summary of a unit finished for ``key`` (logged as cached), else None; a forced stage's
    unit drops its training state, so that it starts afresh (its finished files stay until replaced)."""
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
    """Finish a unit: put its new model file (written to ``STAGED_MODEL``) in place and write done.json
    with the model's size and sha256.

    A unit that replaces a finished one (``--force``, or an input that changed) keeps the old files
    until the new model is complete on disk; then the old done.json goes first, so that a process
    killed before the new done.json is written leaves an unfinished unit (resumed from state.pt), never
    an old done.json beside a new model.
    """
    from repro import distributed
    from repro.checkpoint import file_record, replace_file, write_json_atomic
    from repro.provenance import provenance

    done = {"key": key, "summary": summary,
            "provenance": provenance(ctx.cfg, ctx.device, seeds, distributed.info().world_size)}
    if ctx.is_main:
        model, staged = unit_dir / "model.pt", unit_dir / STAGED_MODEL
        if staged.exists():
            (unit_dir / "done.json").unlink(missing_ok=True)
            replace_file(staged, model)
        done["model"] = file_record(model)
        write_json_atomic(unit_dir / "done.json", done)
        (unit_dir / "state.pt").unlink(missing_ok=True)  # the finished model replaces the training state
    distributed.barrier()
    return done


def clear_unit(ctx: RunContext, unit_dir: Path) -> None:
    """Drop a forced unit's unfinished training state, so it trains from scratch. Its finished
    model.pt and done.json stay until :func:`mark_done` replaces them: a forced run that fails or is
    killed leaves the unit as it was."""
    if ctx.is_main:
        (unit_dir / "state.pt").unlink(missing_ok=True)
        (unit_dir / STAGED_MODEL).unlink(missing_ok=True)
    from repro import distributed

    distributed.barrier()


# --- models from files ------------------------------------------------------------------------------


def load_segnet(path: Path, device: str = "cpu"):
    """A SegNet rebuilt from its model file ({"kind": "segnet", "config", "state_dict"})."""
    from repro.models.segnet import SegNet, SegNetConfig

    blob = _load_model_file(path)
    if blob.get("kind") != "segnet":
        raise ReproError(f"{path}: not a SegNet model file (kind {blob.get('kind')!r})")
    ae = SegNet(SegNetConfig(**blob["config"]))
    ae.load_state_dict(blob["state_dict"])
    return ae.to(device)


def load_classifier(path: Path, device: str = "cpu"):
    """A classifier rebuilt from its model file ({"kind": "classifier", "config", "state_dict"})."""
    from repro.models.classifiers import build_classifier

    blob = _load_model_file(path)
    if blob.get("kind") != "classifier":
        raise ReproError(f"{path}: not a classifier model file (kind {blob.get('kind')!r})")
    c = blob["config"]
    # One of your own classifiers is rebuilt from its spec; the file's state dict replaces the spec's weights.
    clf = build_classifier(c["name"], family=c["family"], num_classes=c["num_classes"], width=c["width"],
                           spec=c.get("spec"), spec_weights=False)
    _fit_inception_aux(clf, blob["state_dict"])
    clf.load_state_dict(blob["state_dict"])
    return clf.to(device)


def _load_model_file(path: Path) -> dict[str, Any]:
    """A model file, checked against its done.json first; a damaged one names the command rebuilding it."""
    from repro.checkpoint import load_checkpoint

    path = Path(path)
    check_model(path)
    try:
        blob = load_checkpoint(path)
    except ReproError as err:
        if not path.exists():
            raise
        raise ReproError(f"{err}; {rebuild_hint(path)}") from None
    if not isinstance(blob, dict):
        raise ReproError(f"{path}: not a model file written by repro; {rebuild_hint(path)}")
    return blob


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
