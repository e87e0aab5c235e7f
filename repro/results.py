"""The results of one run: what ``results.json`` holds and how claims read it.

The pipeline's evaluate stage writes ``<out>/results.json``; the claim checks
(:mod:`repro.claims`) and the report (:mod:`repro.report`) read it through :class:`Results`, and
the paper's own tables are turned into the same object (:func:`repro.paper.paper_results`), so that
one check runs on the paper's numbers and on ours.

Schema (``schema_version`` 1). Classifier keys are the registry's ("L", "A", "V", "I", "R"); an
autoencoder is named ``"A_S"`` (pre-trained only) or ``"A_<key>"`` (decoder fine-tuned on classifier
``<key>``); ``"none"`` means the classifier alone. Accuracies are fractions in [0, 1]::

    {
      "schema_version": 1,
      "scale": "cpu",
      "classifiers": ["L", "A", "V", "I", "R"],
      "n_test": 10000,
      "accuracy": {                      # Table 1 and Table 2, top-1 and top-5
        "top1": {"none": {"L": 0.61, ...}, "A_S": {"L": ..., ...}, "A_L": {"L": ..., "A": ..., ...}, ...},
        "top5": {... same shape ...}
      },
      "per_image": {                     # for bootstrap intervals; optional
        "encoding": "base64 of numpy.packbits(correct, bitorder='little')",
        "top1": {"none": {"L": "<base64>", ...}, "A_S": {...}, "A_L": {...}, ...}
      },
      "noise": {                         # Sec. 3.3.2, optional
        "levels": [0.0, 0.1, ..., 1.0], "clamp": true, "seed": 0, "n_images": 1000,
        "top1": {"none": {"L": [..11 values..]}, "A_S": {"L": [...]}, "A_L": {"L": [...]}, ...},
        "top5": {... same shape ...}           # A_<key> holds only A_<key>∘<key>
      },
      "nmi": {                           # Sec. 3.5, optional
        "bins": 64, "n_images": 10000, "n_pairs": 5000,
        "intra": {"arithmetic": {"A_S": 0.5, "A_L": ...}, "geometric": {...}, "min": {...}, "max": {...}},
        "inter": {"arithmetic": {"original": 0.1, "A_S": ..., "A_L": ...}, ...}
      },
      "lab": {                           # Sec. 3.3.1, optional; keys documented in repro.colour
        "A_S": {...}, "A_L": {...}, ...
      },
      "pretrain": {"images_seen": [...], "train_mse": [...], "val_mse": [...], "lr": [...]},
      "classifier_training": {"L": {"epochs": 10, "top1": 0.6}, ...},
      "timings_s": {"pretrain": 100.0, ...},
      "figures": {"fig3_lab": "figures/fig3_lab.png", ...},   # relative to the results file
      "provenance": {"config": {...}, "versions": {...}, "git_commit": "...", "seed": 0}
    }
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from repro.errors import ReproError

SCHEMA_VERSION = 1
ALONE = "none"
PRETRAINED_AE = "A_S"


def ae_name(classifier: str) -> str:
    """The name of the autoencoder fine-tuned on ``classifier``.

    >>> ae_name("V")
    'A_V'
    """
    return f"A_{classifier}"


def ae_source(ae: str) -> str:
    """The classifier an autoencoder was fine-tuned on.

    >>> ae_source("A_R")
    'R'
    """
    if not ae.startswith("A_") or ae == PRETRAINED_AE:
        raise ValueError(f"{ae!r} is not the name of a fine-tuned autoencoder (expected 'A_<classifier>')")
    return ae[2:]


def encode_bits(correct: np.ndarray) -> str:
    """Pack a boolean vector as base64 text (the ``per_image`` encoding).

    >>> decode_bits(encode_bits(np.array([True, False, True])), 3).tolist()
    [True, False, True]
    """
    packed = np.packbits(np.asarray(correct, dtype=bool), bitorder="little")
    return base64.b64encode(packed.tobytes()).decode("ascii")


def decode_bits(text: str, n: int) -> np.ndarray:
    raw = np.frombuffer(base64.b64decode(text), dtype=np.uint8)
    return np.unpackbits(raw, bitorder="little")[:n].astype(bool)


@dataclass
class Results:
    """Every number the claims need, from our run or from the paper's tables.

    ``top1[ae][classifier]`` is acc(ae ∘ classifier); ``ae`` is ``"none"``, ``"A_S"`` or ``"A_<key>"``.
    Missing parts (no noise sweep, no nMI) are ``None``; claims that need them report "not measured".
    """

    source: str  # "paper" or the scale name
    classifiers: list[str]
    top1: dict[str, dict[str, float]]
    top5: dict[str, dict[str, float]] = field(default_factory=dict)
    n_test: int | None = None
    per_image: dict[str, dict[str, np.ndarray]] | None = None  # top-1 correctness per test image
    noise: dict[str, Any] | None = None
    nmi: dict[str, Any] | None = None
    lab: dict[str, Any] | None = None
    raw: dict[str, Any] = field(default_factory=dict)  # the whole results.json, for the report

    @property
    def fine_tuned(self) -> list[str]:
        """Names of the fine-tuned autoencoders, in classifier order, that have results."""
        return [ae_name(c) for c in self.classifiers if ae_name(c) in self.top1]

    def grid(self, metric: str = "top1") -> np.ndarray:
        """The cross grid acc(A_i∘j): rows are the fine-tuned AEs, columns the classifiers."""
        table = self.top1 if metric == "top1" else self.top5
        return np.array([[table[ae][c] for c in self.classifiers] for ae in self.fine_tuned], dtype=float)

    def acc(self, ae: str, classifier: str, metric: str = "top1") -> float:
        table = self.top1 if metric == "top1" else self.top5
        return float(table[ae][classifier])

    @classmethod
    def from_json(cls, path: str | Path) -> "Results":
        path = Path(path)
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise ReproError(f"{path}: no such results file; run `repro run` first") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise ReproError(f"{path}: not a valid results.json ({err})") from None
        return cls.from_dict(data, origin=str(path))

    @classmethod
    def from_dict(cls, data: dict[str, Any], origin: str = "results") -> "Results":
        version = data.get("schema_version")
        if version != SCHEMA_VERSION:
            raise ReproError(f"{origin}: schema_version {version!r}, this repro reads {SCHEMA_VERSION}")
        try:
            classifiers = list(data["classifiers"])
            top1 = data["accuracy"]["top1"]
            top5 = data["accuracy"].get("top5", {})
        except (KeyError, TypeError) as err:
            raise ReproError(f"{origin}: missing field {err}") from None
        n_test = data.get("n_test")
        per_image = None
        if data.get("per_image") and n_test:
            per_image = {
                ae: {c: decode_bits(bits, n_test) for c, bits in row.items()}
                for ae, row in data["per_image"]["top1"].items()
            }
        return cls(
            source=data.get("scale", "unknown"),
            classifiers=classifiers,
            top1=top1,
            top5=top5,
            n_test=n_test,
            per_image=per_image,
            noise=data.get("noise"),
            nmi=data.get("nmi"),
            lab=data.get("lab"),
            raw=data,
        )
