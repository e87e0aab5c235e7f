"""Unit keys: what each unit's numbers depend on, hashed (:func:`repro.config.stage_key`).

A unit's *key* hashes the config fields its numbers depend on, a fingerprint of the data it reads
(:func:`repro.data.source_fingerprint`) and the keys of the units it reads. It names the unit's folder
``<out>/ckpt/<stage>/<unit>/<key>/``, so units of different settings live side by side and a run of
other settings never overwrites one. Fine-tuning and evaluation are finished for their key plus a
digest of their input units' done.json (:func:`finetune_finished`, :func:`upstream_digest`), so that an
input retrained with ``--force`` (same key, new weights) is picked up too.

The hashed inputs of every key are fixed: changing one re-keys, and so retrains, every finished unit.
(Not to be confused with ``cfg.classifiers.keys``, the classifiers' one-letter names.)
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable

from repro.config import RunConfig, stage_key
from repro.models.classifiers import extra_fingerprint, parse_extra
from repro.pipeline.stage_names import CLASSIFIERS, FINETUNE, PRETRAIN
from repro.schema import SCHEMA_VERSION
from repro.data import locate, source_fingerprint


def data(cfg: RunConfig, *splits: str) -> str:
    """The data settings and a fingerprint of what ``splits`` hold, not where they are: a moved or
    copied data root reuses the units, changed images recompute them."""
    d = asdict(cfg.data)
    for name in ("num_workers", "cache", "download", "root"):
        d.pop(name)
    d["pretrain_dir"] = d["pretrain_dir"] is not None  # its contents are in "content"
    d["content"] = {split: _content(cfg, split) for split in splits}
    return stage_key("data", d, cfg.seed)


# The splits each stage reads: A_S trains on "pretrain" (the training split or data.pretrain_dir)
# and validates on held-out training images; a classifier trains on "train" and reports its test
# accuracy; fine-tuning reads "train" (held-out checks included); the evaluation reads "test".


def pretrain(cfg: RunConfig) -> str:
    return stage_key("pretrain", data(cfg, "pretrain", "train"), cfg.ae, _added_later(cfg.pretrain, lr_cuts=None),
                     cfg.seed, cfg.precision, *budget_key_parts(cfg))


def _added_later(section: Any, **unset: Any) -> dict[str, Any]:
    """A config section as :func:`repro.config.stage_key` hashes a dataclass, without the fields added after
    units were keyed while they hold the value that changes nothing (``unset``): existing keys stay valid.

    >>> from repro.config import PretrainConfig
    >>> stage_key(_added_later(PretrainConfig(), lr_cuts=None)) == stage_key(PretrainConfig())
    False
    >>> "lr_cuts" in _added_later(PretrainConfig(), lr_cuts=None), "lr_cuts" in _added_later(PretrainConfig(lr_cuts=2), lr_cuts=None)
    (False, True)
    """
    fields = asdict(section)
    return {"type": type(section).__name__, **{k: v for k, v in fields.items() if not (k in unset and v == unset[k])}}


def classifier(cfg: RunConfig, k: str) -> str:
    c = cfg.classifiers
    if k in c.extra:  # one of your own: its spec and weights too (the paper's five keep their keys)
        return stage_key("classifier", k, *extra_key_parts(cfg, k), *budget_key_parts(cfg))
    if k in c.pretrained:  # torchvision's weights; the unit still measures its test accuracy
        return stage_key("classifier", k, c.family, "torchvision-imagenet", data(cfg, "train", "test"))
    train = {"family": c.family, "width": c.width, "epochs": c.epochs_for(k), "batch_size": c.batch_size,
             "lr": c.lr, "momentum": c.momentum, "weight_decay": c.weight_decay,
             "label_smoothing": c.label_smoothing, "augment": c.augment}
    return stage_key("classifier", k, data(cfg, "train", "test"), train, cfg.seed, cfg.precision,
                     *budget_key_parts(cfg))


# --- fine-tuning: its two keys, built here alone ----------------------------------------------------
# A_k has a configuration key (finetune), which names its folder, and the key it is finished for
# (finetune_finished): the configuration key and a digest of the A_S and classifier-k units it was
# trained from, so that an input retrained with --force (same configuration, new weights) makes it
# train again. The finetune stage writes the second, the evaluate stage and the budget check it.


def finetune(cfg: RunConfig, k: str) -> str:
    """The configuration key of A_k, fine-tuned on classifier ``k`` (its folder's name)."""
    return stage_key("finetune", k, pretrain(cfg), classifier(cfg, k), data(cfg, "train"),
                     cfg.finetune, cfg.seed, cfg.precision, *budget_key_parts(cfg))


def finetune_finished(cfg: RunConfig, k: str, unit_dir: Callable[..., Path]) -> str:
    """The key A_k is finished for: :func:`finetune` and a digest of the units it was trained from, whose
    folders ``unit_dir(stage[, unit])`` gives (the run context's)."""
    return f"{finetune(cfg, k)}-" + upstream_digest(unit_dir(PRETRAIN), unit_dir(CLASSIFIERS, k))


def evaluate(cfg: RunConfig) -> str:
    ks = cfg.classifiers.keys
    # SCHEMA_VERSION: a results.json of an older schema lacks sections, so its evaluation is redone
    return stage_key("evaluate", data(cfg, "test"), cfg.evaluate, pretrain(cfg),
                     [classifier(cfg, k) for k in ks], [finetune(cfg, k) for k in ks], cfg.precision,
                     SCHEMA_VERSION)


def unit(cfg: RunConfig, stage: str, unit: str | None = None) -> tuple[str, str]:
    """(unit name, configuration key) of a unit: ("A_S", ...), ("L", ...), ("A_L", ...)."""
    if stage == PRETRAIN:
        return "A_S", pretrain(cfg)
    if stage == CLASSIFIERS and unit:
        return unit, classifier(cfg, unit)
    if stage == FINETUNE and unit and unit.startswith("A_"):  # A_k: fine-tuned on classifier k
        return unit, finetune(cfg, unit[2:])
    raise ValueError(f"no unit {unit!r} in stage {stage!r}")


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


# --- what a time budget adds to a trained unit's key (the planner, repro.budget, sizes such units) ----

PLAN_VERSION = 1  # part of budgeted units' keys: a change to the budget's shares or sizing rules re-keys them


def budget_key_parts(cfg: RunConfig) -> tuple[Any, ...]:
    """What a budgeted unit's key adds: nothing without a budget (every key stays what it was).

    >>> from repro.config import RunConfig
    >>> budget_key_parts(RunConfig())
    ()
    >>> budget_key_parts(RunConfig(time_budget_s=420.0))[0]["time_budget_s"]
    420.0
    """
    if cfg.time_budget_s is None:
        return ()
    return ({"time_budget_s": float(cfg.time_budget_s), "classifiers": list(cfg.classifiers.keys),
             "plan": PLAN_VERSION},)


# --- your own classifiers ----------------------------------------------------------------------------


def extra_key_parts(cfg, k: str) -> tuple[Any, ...]:
    """What the unit of your own classifier ``k`` depends on (unit_keys.classifier): its spec's fingerprint
    (architecture, weights by content, the factory's source file), and, as for the paper's five, the
    data and the training recipe when it is trained here, the data alone when its weights are given."""
    c = cfg.classifiers
    spec = parse_extra(k, c.extra[k])
    fingerprint = extra_fingerprint(spec)
    if not spec.trained:
        return "given-weights", fingerprint, c.family, data(cfg, "train", "test")
    train = {"family": c.family, "width": c.width, "epochs": c.epochs_for(k), "batch_size": c.batch_size,
             "lr": c.lr, "momentum": c.momentum, "weight_decay": c.weight_decay,
             "label_smoothing": c.label_smoothing, "augment": c.augment}
    return fingerprint, data(cfg, "train", "test"), train, cfg.seed, cfg.precision


_fingerprints: dict[tuple[str, str], str] = {}  # per process; forget_fingerprints() empties it for each run


def _content(cfg: RunConfig, split: str) -> str:
    """:func:`repro.data.source_fingerprint` of ``split``, computed once per source and run."""

    kind, path = locate(cfg, split)
    memo = (kind, str(path))
    if memo not in _fingerprints:
        _fingerprints[memo] = source_fingerprint(kind, path)
    return _fingerprints[memo]


def forget_fingerprints() -> None:
    """Have the data fingerprinted afresh (at the start of each run: images may have changed since)."""
    _fingerprints.clear()
