"""The run-level outputs belong to one configuration: a run of another does not silently replace them.

``results.json``, ``claims.*``, ``run.log`` and ``figures/`` are written at ``<out>`` and describe one
configuration: ``repro run``/``repro evaluate`` with another refuses (:func:`check_results_config`)
unless told to replace it. Its units are safe either way (they are keyed: :mod:`repro.pipeline.unit_keys`).
"""

from __future__ import annotations

from typing import Any

from repro.config import OPERATIONAL_FIELDS, RunConfig
from repro.errors import ReproError


def check_results_config(cfg: RunConfig, file: str = "results.json") -> None:
    """Refuse, before any work, to overwrite the finished run in ``--out`` with another configuration.

    results.json, claims.* and figures/ describe one configuration; its units would survive (they are
    keyed), but a run of other settings would silently replace the run-level outputs, e.g. the
    committed artifacts/cpu after a quick ``repro run --epochs 1``. Operational fields and the data's
    location (the units are keyed by the data's contents) are not differences.
    """
    from repro.checkpoint import read_json

    out = cfg.out_dir
    path = out / file  # results.json, or another run-level record (repro ceiling's ceiling.json)
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
# Settings added after runs were recorded, with the value that changes nothing: a record without the
# setting and a run that leaves it so are the same configuration (no extras, no budget, no pre-training stop).
ADDED_LATER: dict[str, Any] = {"classifiers.extra": {}, "time_budget_s": None, "pretrain.lr_cuts": None}


def config_differences(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> list[str]:
    """``"section.field old -> new"`` for every setting that differs, operational fields left out.

    >>> config_differences({"seed": 0, "out": "a", "classifiers": {"lr": 0.05, "keys": ["L", "A", "V"]}},
    ...                    {"seed": 0, "out": "b", "classifiers": {"lr": 0.03, "keys": ["L"]}})
    ['classifiers.lr 0.05 -> 0.03', 'classifiers.keys L,A,V -> L']
    >>> config_differences({"finetune": {}}, {"finetune": {"lr_cuts": 2}})
    ['finetune.lr_cuts (not recorded) -> 2']
    >>> config_differences({"pretrain": {}}, {"pretrain": {"lr_cuts": None}})
    []
    """
    out = []
    for name in [*new, *(n for n in old if n not in new)]:
        dotted = f"{prefix}{name}"
        if name in OPERATIONAL_FIELDS or dotted in RUN_LEVEL_IGNORED:
            continue
        a, b = old.get(name, _MISSING), new.get(name, _MISSING)
        if dotted in ADDED_LATER and all(v is _MISSING or v == ADDED_LATER[dotted] for v in (a, b)):  # unset either way
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
