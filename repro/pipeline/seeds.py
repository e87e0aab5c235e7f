"""Every unit's seed, derived from the run seed: the one place the seeds' names are spelled.

Each unit (A_S, one classifier, one fine-tuned A_k) draws from its own seed, so that adding or dropping
a classifier leaves the other units' numbers unchanged. ``finetune.seed``, when set, replaces the run
seed for fine-tuning alone: replicates that share A_S and the classifiers and differ in A_k.
"""

from __future__ import annotations

import hashlib
from typing import Any

from repro.config import RunConfig


def seed_for(base: int, *names: Any) -> int:
    """An independent, stable 31-bit seed per (run seed, unit); Python's hash() is salted, so sha256.

    >>> seed_for(0, "classifier", "L") == seed_for(0, "classifier", "L") != seed_for(0, "classifier", "A")
    True
    """
    text = "/".join([str(base), *map(str, names)])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little") & 0x7FFFFFFF


def pretrain_seed(cfg: RunConfig) -> int:
    """A_S's seed (its initialisation and the order of its training images)."""
    return seed_for(cfg.seed, "pretrain")


def classifier_seed(cfg: RunConfig, k: str) -> int:
    """Classifier ``k``'s seed, when it is trained here."""
    return seed_for(cfg.seed, "classifier", k)


def finetune_seed(cfg: RunConfig, k: str) -> int:
    """A_k's seed: from ``finetune.seed`` when set (replicates sharing A_S and the classifiers), else the run's."""
    return seed_for(cfg.seed if cfg.finetune.seed is None else cfg.finetune.seed, "finetune", k)


def run_seeds(cfg: RunConfig) -> dict[str, int]:
    """Every seed of a run by unit, as results.json's provenance records them (the noise sweep's included)."""
    ks = cfg.classifiers.keys
    return {"pretrain": pretrain_seed(cfg),
            **{f"classifier:{k}": classifier_seed(cfg, k) for k in ks},
            **{f"finetune:{k}": finetune_seed(cfg, k) for k in ks},
            "noise": cfg.evaluate.noise_seed}
