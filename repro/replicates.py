"""Training-seed replicates: one claims report from several runs of one configuration.

A verdict that rests on one training run inherits that run's training noise (the issue measured a
validation MSE of 0.00447 for A_S in one fresh run where the committed run had 0.00331).
``repro report --runs DIR1 DIR2 ... --out DIR`` takes k runs whose configurations differ only in a
seed (``seed``, or ``finetune.seed`` for replicates of the fine-tuning alone that share A_S and the
classifiers) and writes one report:

- **Point values** are the means over the runs of every number the claims read (accuracies, noise
  curves, nMI and its baseline, LAB statistics); each claim is decided on them.
- **Intervals and support** come from a two-level bootstrap (:class:`ReplicateResults`): each
  resample draws k runs with replacement (the seed level: how much another set of training runs could
  differ), then test images, and averages the drawn runs' resampled numbers. The test images are the
  same images in every run, so their sampling variation is common to all runs: where the runs
  evaluated them in the same order (runs with the same run seed, e.g. fine-tuning-seed replicates; see
  repro.data.eval_source), one draw of test-image units is shared by every drawn run, which keeps
  that variation whole in the mean (independent draws per run would average it down by up to k).
  Runs with different run seeds order the test set differently, and the units (pairs of consecutive
  images, the pairs of inter-nMI) then hold different images: there the image draw is independent for
  each drawn run, and the report says so, since it understates the image-level part of the variance.
- **Per claim, how many replicates hold on their own** (each run's own verdict, with its own
  single-run bootstrap): :func:`replicate_verdicts`, shown by :func:`replicates_markdown`.

With 3 replicates the seed level is coarse (a resample draws one of 10 multisets of runs), so
intervals that rest on between-run differences are wide by construction; they are honest about what
3 runs can say.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from repro.config import config_differences
from repro.errors import ReproError
from repro.paths import write_text_atomic
from repro.per_image import CHUNK
from repro.results import Results, resample
from repro.claims import evaluate

# Settings replicates may differ in: the run seed, or the fine-tuning seed alone (a setting the
# pipeline may add; see the module doc). Dotted names as repro.config.config_differences gives them.
SEED_SETTINGS = ("seed", "finetune.seed")


def check_replicates(runs: Sequence[Results], names: Sequence[str]) -> str:
    """Which seed setting varies between the runs ("seed" or "finetune.seed"); ReproError (one line)
    when they differ in any other setting, share every seed, or lack their configuration."""

    if len(runs) < 2:
        raise ReproError("--runs: give at least two run folders (replicates of one configuration)")
    configs = [r.recorded_config for r in runs]
    for name, cfg in zip(names, configs):
        if not cfg:
            raise ReproError(f"--runs {name}: results.json records no configuration (provenance.config)")
    varying: set[str] = set()
    for name, cfg in zip(names[1:], configs[1:]):
        diffs = config_differences(configs[0], cfg)
        other = [d for d in diffs if d.split(" ", 1)[0] not in SEED_SETTINGS]
        if other:
            raise ReproError(f"--runs {name}: its configuration differs from {names[0]}'s in {other[0]}; replicates "
                             "may differ only in seed or finetune.seed")
        varying |= {d.split(" ", 1)[0] for d in diffs}
    seeds = [(cfg.get("seed"), (cfg.get("finetune") or {}).get("seed")) for cfg in configs]
    for i in range(len(runs)):
        for j in range(i):
            if seeds[i] == seeds[j]:
                raise ReproError(f"--runs {names[i]} and {names[j]}: the same seeds ({', '.join(map(str, seeds[i]))}); "
                                 "replicates need different seeds")
    if {r.n_test for r in runs} != {runs[0].n_test} or {tuple(r.classifiers) for r in runs} != {tuple(runs[0].classifiers)}:
        raise ReproError(f"--runs: the runs evaluated different test sets or classifiers (n_test {[r.n_test for r in runs]})")
    return "finetune.seed" if varying == {"finetune.seed"} else "seed"


def same_test_order(runs: Sequence[Results]) -> bool:
    """Whether the runs evaluated the same test images in the same order: one run seed (the test
    order is a permutation seeded by it, repro.data.eval_source) and one test-set size."""
    seeds = {r.provenance.get("seed") for r in runs}
    return len(seeds) == 1 and None not in seeds and len({r.n_test for r in runs}) == 1


def mean_of(values: list[Any]) -> Any:
    """The elementwise mean of equally shaped nested dicts/lists of numbers; other leaves (text,
    booleans, None) are taken from the first; keys missing from some are left out.

    >>> mean_of([{"a": 1.0, "b": [1, 3], "s": "x"}, {"a": 2.0, "b": [3, 5], "s": "y"}])
    {'a': 1.5, 'b': [2.0, 4.0], 's': 'x'}
    """
    first = values[0]
    if any(v is None for v in values):
        return None
    if isinstance(first, bool) or not isinstance(first, (int, float, dict, list)):
        return first
    if isinstance(first, (int, float)):
        return math.fsum(float(v) for v in values) / len(values)
    if isinstance(first, dict):
        return {k: mean_of([v[k] for v in values]) for k in first if all(isinstance(v, dict) and k in v for v in values)}
    if all(isinstance(v, list) and len(v) == len(first) for v in values):
        return [mean_of([v[i] for v in values]) for i in range(len(first))]
    return first


def pooled(runs: Sequence[Results], source: str) -> Results:
    """A plain Results whose every number is the mean over ``runs`` (no per-image values)."""
    return Results(source=source, classifiers=list(runs[0].classifiers),
                   top1=mean_of([r.top1 for r in runs]), top5=mean_of([r.top5 for r in runs]) or {},
                   n_test=runs[0].n_test, noise=mean_of([r.noise for r in runs]), nmi=mean_of([r.nmi for r in runs]),
                   lab=mean_of([r.lab for r in runs]), raw=runs[0].raw)


@dataclass
class ReplicateResults(Results):
    """The mean of several runs, whose :meth:`bootstrap` resamples runs, then test images (module doc)."""

    runs: list[Results] = field(default_factory=list, repr=False, compare=False)
    shared_images: bool = True  # one test-image draw for all drawn runs (same test order)

    def resample_gaps(self) -> dict[str, str]:
        gaps: dict[str, str] = {}
        for r in self.runs:
            gaps.update(r.resample_gaps())
        return gaps

    def draws(self, resamples: int, seed: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """For each resample: the k drawn runs (indices, with replacement) and their unit weights (k, n_units),
        rows equal when the test images are shared. Seeded; independent of how resamples are chunked."""
        rng = np.random.default_rng(seed)
        k, units = len(self.runs), self.runs[0].n_units
        for _ in range(resamples):
            drawn = rng.integers(0, k, size=k)
            n_draws = 1 if self.shared_images else k
            w = np.stack([np.bincount(rng.integers(0, units, size=units), minlength=units) for _ in range(n_draws)])
            yield drawn, np.repeat(w, k, axis=0).astype(np.float64) if self.shared_images else w.astype(np.float64)

    def bootstrap(self, resamples: int, seed: int) -> Iterator[Results]:
        if resamples <= 0 or any(r.samples is None for r in self.runs):
            return
        draws = self.draws(resamples, seed)
        while True:
            chunk = [d for _, d in zip(range(CHUNK), draws)]
            if not chunk:
                return
            # each run's numbers for every weight row it is drawn with in this chunk, in one product
            rows: dict[int, list[np.ndarray]] = {}
            where: list[list[tuple[int, int]]] = []
            for drawn, weights in chunk:
                slots = []
                for j, r in enumerate(drawn):
                    rows.setdefault(int(r), []).append(weights[j])
                    slots.append((int(r), len(rows[int(r)]) - 1))
                where.append(slots)
            values = {r: self.runs[r].samples.values(np.stack(ws)) for r, ws in rows.items()}
            for slots in where:
                drawn_results = [resample(self.runs[r], self.runs[r].samples, *(v[i] for v in values[r])) for r, i in slots]
                yield pooled(drawn_results, self.source)


def replicate_results(runs: Sequence[Results], names: Sequence[str]) -> ReplicateResults:
    """The runs' mean, after :func:`check_replicates`; its bootstrap is two-level."""
    varying = check_replicates(runs, names)
    base = pooled(runs, f"{runs[0].source} scale, mean of {len(runs)} runs ({varying} varies)")
    raw = dict(runs[0].raw)
    raw.pop("figures", None)  # each run's figures live in its own folder
    raw["provenance"] = {"replicates": [{"run": str(n), **{k: r.provenance.get(k) for k in ("seed", "seeds", "git_commit")}}
                                         for n, r in zip(names, runs)],
                         "varying": varying, "config": dict(runs[0].recorded_config)}
    return ReplicateResults(**{f: getattr(base, f) for f in ("source", "classifiers", "top1", "top5", "n_test", "noise",
                                                            "nmi", "lab")}, raw=raw, runs=list(runs),
                            shared_images=same_test_order(runs))


def replicate_verdicts(runs: Sequence[Results], resamples: int | None = None) -> list[dict[str, str]]:
    """Each run's own verdict per claim (its single-run bootstrap): ``[{claim id: verdict}, ...]``."""

    kwargs = {} if resamples is None else {"resamples": resamples}
    return [{v.id: v.verdict for v in evaluate(r, **kwargs)} for r in runs]


def describe_design(results: ReplicateResults) -> str:
    k = len(results.runs)
    images = ("one draw of test-image pairs shared by the drawn runs (they evaluated the same images in the same order)"
              if results.shared_images else
              "an independent draw of test-image pairs for each drawn run (their run seeds order the test set "
              "differently), which understates the part of the variance that the shared test set contributes")
    return (f"Point values are the means over the {k} runs; intervals and support come from a two-level bootstrap: "
            f"each resample draws {k} runs with replacement, then {images}, and averages the drawn runs' numbers.")


def replicates_markdown(results: ReplicateResults, names: Sequence[str], per_run: Sequence[dict[str, str]],
                        pooled_verdicts: Sequence[dict[str, Any]]) -> str:
    """The replicates section of the report: the design, the runs, and per claim how many runs hold on
    their own. ``pooled_verdicts``: the report's claims (build_report's payload["claims"]). Meant to
    follow the summary of the claims report (repro.report.build_report)."""
    from tabulate import tabulate  # noqa: PLC0415

    k = len(per_run)
    runs = [[n, str(p.get("seed")), json.dumps(p.get("seeds") or {}, sort_keys=True)[:80], str(p.get("git_commit"))[:10]]
            for n, p in zip(names, results.raw["provenance"]["replicates"])]
    rows = []
    for v in pooled_verdicts:
        own = [run.get(v["id"], "") for run in per_run]
        rows.append([v["id"], v["verdict"], f"{sum(x == 'holds' for x in own)} of {k}", ", ".join(own)])
    return (describe_design(results) + "\n\n"
            + tabulate(runs, headers=["run", "run seed", "unit seeds", "commit"], tablefmt="github", disable_numparse=True)
            + "\n\n" + tabulate(rows, headers=["claim", "verdict (mean of runs)", "runs holding on their own",
                                                "each run's verdict"], tablefmt="github", disable_numparse=True) + "\n")


def write_replicates(out: Path, results: ReplicateResults, names: Sequence[str], per_run: Sequence[dict[str, str]],
                     pooled_verdicts: Sequence[dict[str, Any]]) -> Path:
    """``replicates.md`` and ``replicates.json`` beside the claims report."""

    md = "# Training-seed replicates\n\n" + replicates_markdown(results, names, per_run, pooled_verdicts)
    payload = {"design": describe_design(results), "shared_images": results.shared_images,
               "runs": results.raw["provenance"]["replicates"], "varying": results.raw["provenance"]["varying"],
               "claims": {v["id"]: {"verdict": v["verdict"], "runs_holding": sum(run.get(v["id"]) == "holds" for run in per_run),
                                    "per_run": [run.get(v["id"]) for run in per_run]} for v in pooled_verdicts}}
    write_text_atomic(out / "replicates.md", md)
    write_text_atomic(out / "replicates.json", json.dumps(payload, indent=2, sort_keys=True) + "\n")
    return out / "replicates.md"
