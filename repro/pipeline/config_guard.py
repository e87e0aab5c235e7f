"""The run-level outputs belong to one configuration: a run of another does not silently replace them.

``results.json``, ``claims.*``, ``run.log`` and ``figures/`` are written at ``<out>`` and describe one
configuration: ``repro run``/``repro evaluate`` with another refuses (:func:`check_results_config`)
unless told to replace it. Its units are safe either way (they are keyed: :mod:`repro.pipeline.unit_keys`).
"""

from __future__ import annotations


from repro.config import RunConfig, config_differences
from repro.errors import ReproError
from repro.checkpoint import read_json


def check_results_config(cfg: RunConfig, file: str = "results.json") -> None:
    """Refuse, before any work, to overwrite the finished run in ``--out`` with another configuration.

    results.json, claims.* and figures/ describe one configuration; its units would survive (they are
    keyed), but a run of other settings would silently replace the run-level outputs, e.g. the
    committed artifacts/cpu after a quick ``repro run --epochs 1``. Operational fields and the data's
    location (the units are keyed by the data's contents) are not differences.
    """

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
