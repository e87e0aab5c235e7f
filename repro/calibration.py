"""The instrument's calibration: what A_S costs each classifier on held-out training images, and the
declared rule that picks a scale's setting from the candidates (docs/instrument.md).

The paper reports one number about its instrument, A_S's cost (Table 1: A_S∘i 1.22 to 3.76 top-1 points
below i alone), so that is the number a scale's A_S is calibrated on, on the held-out training images
(``data.heldout``), never the test set. ``repro calibrate`` (:mod:`repro.commands.calibrate`) measures a
configuration's A_S and writes ``calibration.json``; this module reads the records, gives each cost its
paired bootstrap interval, estimates what a setting costs at the gpu scale, and applies the rule.
Torch-free: the table and the rule are read without it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tabulate import tabulate

from repro.errors import ReproError

from repro.vocabulary import PAPER_CLASSIFIERS

CALIBRATION_FILE = "calibration.json"
QUALIFY_AT = 3.8  # docs/instrument.md, the rule: every cost at most this (the paper's largest, printed to 0.1)
RESAMPLES, SEED, LEVEL = 2000, 0, 0.95  # the cost's paired bootstrap (docs/instrument.md)
# The gpu check's budget and the throughput assumed for the FLOP estimate (docs/instrument.md, the rule):
# one H200's dense bf16 peak at an assumed 20% use, until the gpu check measures it.
GPU_BUDGET_S = 7 * 60
H200_PEAK_FLOPS = 989e12
ASSUMED_USE = 0.20


# The A_S setting of each candidate docs/instrument.md declares (scripts/calibrate.sh's --set options give
# the same; tests compare them with the committed records): what a run must match to be "chosen by the rule".
CANDIDATE_SETTINGS: dict[str, dict[str, Any]] = {
    "w0.5-s32": {"ae_width": 0.5, "side": 32, "pretrain_epochs": 1, "pretrain_lr_cuts": None},
    "w0.5-s32-plateau": {"ae_width": 0.5, "side": 32, "pretrain_epochs": 10, "pretrain_lr_cuts": 2},
    "w1.0-s32": {"ae_width": 1.0, "side": 32, "pretrain_epochs": 1, "pretrain_lr_cuts": None},
    "w0.5-s64": {"ae_width": 0.5, "side": 64, "pretrain_epochs": 1, "pretrain_lr_cuts": None},
    "w1.0-s64": {"ae_width": 1.0, "side": 64, "pretrain_epochs": 1, "pretrain_lr_cuts": None},
    "w1.0-s32-plateau": {"ae_width": 1.0, "side": 32, "pretrain_epochs": 10, "pretrain_lr_cuts": 2},
}
# The candidates docs/instrument.md declares to be measured (scripts/calibrate.sh runs them; 96 px is
# estimated only): the rule's choice is provisional while one of them has no record.
CANDIDATES = tuple(CANDIDATE_SETTINGS)


def setting_of(config: Mapping[str, Any]) -> dict[str, Any]:
    """The A_S setting (and the classifiers' width) of a configuration as recorded (results.json's
    ``provenance.config``, or ``RunConfig.to_dict()``); a field a record predates is None.

    >>> setting_of({"ae": {"width": 0.5}, "data": {"image_size": 32}, "pretrain": {"epochs": 1},
    ...             "classifiers": {"width": 0.5}})
    {'ae_width': 0.5, 'side': 32, 'pretrain_epochs': 1, 'pretrain_lr_cuts': None, 'classifier_width': 0.5}
    """
    ae, data, pre, clf = (config.get(k) or {} for k in ("ae", "data", "pretrain", "classifiers"))
    return {"ae_width": ae.get("width"), "side": data.get("image_size"), "pretrain_epochs": pre.get("epochs"),
            "pretrain_lr_cuts": pre.get("lr_cuts"), "classifier_width": clf.get("width")}


def is_candidate(config: Mapping[str, Any], candidate: str) -> bool:
    """Whether a recorded configuration's A_S has the setting of ``candidate`` (:data:`CANDIDATE_SETTINGS`).

    >>> cfg = {"ae": {"width": 0.5}, "data": {"image_size": 32}, "pretrain": {"epochs": 10, "lr_cuts": 2}}
    >>> is_candidate(cfg, "w0.5-s32-plateau"), is_candidate(cfg, "w0.5-s32")
    (True, False)
    """
    mine = setting_of(config)
    return all(mine[k] == v for k, v in CANDIDATE_SETTINGS[candidate].items())


def cost_interval(alone: np.ndarray, through: np.ndarray, *, resamples: int = RESAMPLES, seed: int = SEED,
                  level: float = LEVEL) -> dict[str, float]:
    """Top-1 points lost from ``alone`` to ``through`` (per-image correctness, the same images in the same
    order), with the paired bootstrap percentile interval: each resample draws images with replacement and
    reads both accuracies on the same draw.

    >>> a = np.array([1, 1, 1, 1, 0, 1, 1, 1] * 25, bool); t = np.array([1, 0, 1, 1, 0, 1, 1, 1] * 25, bool)
    >>> c = cost_interval(a, t)
    >>> c["points"], c["low"] <= c["points"] <= c["high"], c["n"]
    (12.5, True, 200)
    """
    alone, through = np.asarray(alone, bool), np.asarray(through, bool)
    if alone.shape != through.shape or alone.ndim != 1 or alone.size == 0:
        raise ValueError(f"cost_interval: two equal non-empty vectors of correctness, got {alone.shape} and {through.shape}")
    diff = alone.astype(np.float64) - through.astype(np.float64)
    n = diff.size
    rng = np.random.default_rng(seed)
    means = np.empty(resamples)
    for start in range(0, resamples, 256):  # 256 resamples a matrix product: bounded memory at any n
        k = min(256, resamples - start)
        counts = rng.multinomial(n, np.full(n, 1.0 / n), size=k)
        means[start:start + k] = counts @ diff / n
    tail = (1 - level) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return {"points": 100 * float(diff.mean()), "low": 100 * float(low), "high": 100 * float(high), "n": int(n)}


def read_calibration(folder: str | Path) -> dict[str, Any]:
    """The ``repro calibrate`` record in ``folder`` (its ``id`` is the folder's name unless it has one)."""
    path = Path(folder) / CALIBRATION_FILE
    try:
        record = json.loads(path.read_text())
        _ = record["heldout"]["cost"], record["setting"]["ae_width"], record["setting"]["side"]
    except FileNotFoundError:
        raise ReproError(f"{folder}: no {CALIBRATION_FILE} there (run `repro calibrate --out {folder}`)") from None
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ReproError(f"{path} is not a record written by `repro calibrate` ({err})") from None
    record.setdefault("id", Path(folder).name)
    return record


def read_all(folder: str | Path) -> list[dict[str, Any]]:
    """Every record in the sub-folders of ``folder`` (e.g. artifacts/instrument), by folder name."""
    found = sorted(p.parent for p in Path(folder).glob(f"*/{CALIBRATION_FILE}"))
    if not found:
        raise ReproError(f"{folder}: no sub-folder holds a {CALIBRATION_FILE} (run scripts/calibrate.sh)")
    return [read_calibration(f) for f in found]


def largest_cost(record: Mapping[str, Any]) -> tuple[str, float]:
    """The classifier A_S costs most, and that cost in points.

    >>> largest_cost({"heldout": {"cost": {"L": {"points": 2.0}, "V": {"points": 4.5}}}})
    ('V', 4.5)
    """
    cost = record["heldout"]["cost"]
    k = max(cost, key=lambda c: cost[c]["points"])
    return k, float(cost[k]["points"])


def qualifies(record: Mapping[str, Any]) -> bool:
    """The rule's test (docs/instrument.md): the point estimate of every one of the paper's five costs is
    at most 3.8 points. A record without all five does not qualify.

    >>> qualifies({"heldout": {"cost": {k: {"points": 3.8} for k in PAPER_CLASSIFIERS}}})
    True
    >>> qualifies({"heldout": {"cost": {"L": {"points": 1.0}}}})
    False
    """
    cost = record["heldout"]["cost"]
    return all(k in cost for k in PAPER_CLASSIFIERS) and all(cost[k]["points"] <= QUALIFY_AT + 1e-9
                                                              for k in PAPER_CLASSIFIERS)


def on_the_edge(record: Mapping[str, Any]) -> bool:
    """Whether the largest cost's interval contains 3.8 (the decision reads the point; this is said beside it)."""
    k, _ = largest_cost(record)
    c = record["heldout"]["cost"][k]
    return c["low"] <= QUALIFY_AT <= c["high"]


def gpu_flops(record: Mapping[str, Any]) -> float | None:
    """The record's estimate of the whole gpu-scale run's training and evaluation FLOPs with its setting."""
    est = record.get("gpu_estimate") or {}
    return est.get("flops")


def gpu_seconds(flops: float) -> float:
    """FLOPs in seconds on one H200 at the assumed use.

    >>> round(gpu_seconds(989e12 * 0.2 * 60))
    60
    """
    return flops / (H200_PEAK_FLOPS * ASSUMED_USE)


def choose(records: Sequence[Mapping[str, Any]]) -> tuple[Mapping[str, Any] | None, str]:
    """The rule (docs/instrument.md): the cheapest qualifying candidate by its gpu-scale FLOP estimate (ties
    to the smaller AE); if none qualifies, the one with the smallest largest cost whose estimate fits the
    gpu check's budget. Returns the record (None when no record can be chosen) and the reason in words.

    >>> five = lambda x: {"heldout": {"cost": {k: {"points": x, "low": x, "high": x} for k in PAPER_CLASSIFIERS}}}
    >>> a = {"id": "a", **five(3.0), "gpu_estimate": {"flops": 2e15}, "macs_per_image": {"AE": 2}}
    >>> b = {"id": "b", **five(3.5), "gpu_estimate": {"flops": 1e15}, "macs_per_image": {"AE": 1}}
    >>> c = {"id": "c", **five(5.0), "gpu_estimate": {"flops": 1e14}, "macs_per_image": {"AE": 1}}
    >>> choose([a, b, c])[0]["id"], choose([c])[0]["id"]
    ('b', 'c')
    """
    full = [r for r in records if all(k in r["heldout"]["cost"] for k in PAPER_CLASSIFIERS) and gpu_flops(r)]
    if not full:
        return None, "no record measures all five classifiers with a gpu-scale estimate"

    def cheapness(r: Mapping[str, Any]) -> tuple[float, float]:
        return gpu_flops(r), r.get("macs_per_image", {}).get("AE", math.inf)

    good = sorted((r for r in full if qualifies(r)), key=cheapness)
    if good:
        r = good[0]
        return r, (f"{r['id']}: the cheapest candidate whose held-out cost is at most {QUALIFY_AT} points for all "
                   f"five (largest {largest_cost(r)[1]:.2f}, {largest_cost(r)[0]})")
    fits = [r for r in full if gpu_seconds(gpu_flops(r)) <= GPU_BUDGET_S]
    if not fits:
        return None, f"no candidate qualifies, and none fits the gpu check's {GPU_BUDGET_S // 60} minutes by estimate"
    r = min(fits, key=lambda r: (largest_cost(r)[1], *cheapness(r)))
    return r, (f"{r['id']}: no candidate qualifies; the smallest largest cost ({largest_cost(r)[1]:.2f} points, "
               f"{largest_cost(r)[0]}) within the gpu check's budget")


def estimate_gpu_flops(macs: Mapping[str, int], *, train_images: int, test_images: int, pretrain_epochs: int,
                       classifier_epochs: Mapping[str, int], finetune_epochs: int) -> float:
    """Training and evaluation FLOPs of a gpu-scale run: a training step costs 3 forward passes (forward,
    and backward for activations and weights), a MAC 2 FLOPs. Pre-training trains the AE; each classifier
    trains itself; each fine-tuning passes images through the AE and the frozen classifier forward and
    back (counted as 3 forward passes of both: an upper bound, since the encoder's weight gradients are
    not needed); the evaluation reads every classifier on the images and on each AE's reconstructions.
    An estimate from counted MACs, not a timing: data loading and small kernels are not in it.

    >>> estimate_gpu_flops({"AE": 10, "L": 1}, train_images=100, test_images=10, pretrain_epochs=1,
    ...                    classifier_epochs={"L": 1}, finetune_epochs=1)
    13640.0
    """
    ae = macs["AE"]
    keys = [k for k in macs if k != "AE"]
    pre = 3 * ae * train_images * pretrain_epochs
    clf = sum(3 * macs[k] * train_images * classifier_epochs[k] for k in keys)
    fine = sum(3 * (ae + macs[k]) * train_images * finetune_epochs for k in keys)
    evaluation = test_images * ((1 + len(keys)) * sum(macs[k] for k in keys) + len(keys) * ae + ae)
    return 2.0 * (pre + clf + fine + evaluation)


def table(records: Sequence[Mapping[str, Any]]) -> str:
    """The calibration table in markdown (docs/instrument.md's candidates, as measured), and the rule's choice."""
    keys = list(PAPER_CLASSIFIERS)
    rows = []
    for r in sorted(records, key=lambda r: (r["setting"]["side"], r["setting"]["ae_width"], r["id"])):
        s, h, p = r["setting"], r["heldout"], r.get("pretrain", {})
        k, big = largest_cost(r)
        minutes = r.get("minutes_here") or {}
        flops = gpu_flops(r)
        rows.append([
            f"`{r['id']}`", str(float(s["ae_width"])), str(s["side"]),
            f"{p.get('best_images_seen', 0):,} of {p.get('images_seen', 0):,}" + (f" ({p['stop_reason']})" if p.get("stop_reason") else ""),
            f"{h['mse']:.5f}",
            *[_cost_cell(h["cost"].get(c)) for c in keys],
            f"{big:.2f} ({k})" + (" edge" if on_the_edge(r) else ""), "yes" if qualifies(r) else "no",
            f"{r.get('macs_per_image', {}).get('AE', 0) / 1e6:,.0f}M",
            " + ".join(f"{minutes[x]:.1f}" for x in ("pretrain", "classifiers") if minutes.get(x) is not None) or "",
            "" if flops is None else f"{gpu_seconds(flops) / 60:.1f}",
        ])
    chosen, why = choose(records)
    pending = [c for c in CANDIDATES if c not in {r["id"] for r in records}]
    if pending:
        why += f"; provisional: not yet measured {', '.join(pending)}"
    head = ["id", "width", "side", "A_S images (kept of seen)", "held-out MSE", *[f"cost {c}" for c in keys],
            "largest", f"<= {QUALIFY_AT}", "AE MACs", "minutes here (pre-training + classifiers)", "gpu scale, H200 min (est.)"]
    return (tabulate(rows, headers=head, tablefmt="github", disable_numparse=True) + "\n\n" + f"Rule (docs/instrument.md): {why}."
            + ("" if chosen else " Nothing chosen yet."))


def _cost_cell(c: Mapping[str, float] | None) -> str:
    """
    >>> _cost_cell({"points": 3.456, "low": 2.5, "high": 4.25})
    '3.46 [2.50, 4.25]'
    """
    return "" if c is None else f"{c['points']:.2f} [{c['low']:.2f}, {c['high']:.2f}]"
