"""Runs sized to a wall-clock budget: ``repro run --time-budget 7m`` (the config field ``time_budget_s``).

A user with one hour on their own GPU asks for one hour. Without a budget nothing here runs, and every
unit trains for its configured epochs. With one:

1. **The plan.** When the first unit is about to train, the planner measures on the run's device the
   forward throughput of every model of the run (a fresh SegNet and each classifier at random weights:
   their speed does not depend on the weights) and the per-image cost of the nMI and LAB statistics.
   From these it estimates the evaluation (its forward passes over the test set and the noise sweep,
   the statistics, and :data:`EVAL_FIXED_S`), and it reserves :data:`REPORT_RESERVE_S` for the claims
   report and :data:`MARGIN` of the budget. What is left is for training, split by :data:`SHARES`
   (declared in :mod:`repro.budget_shares`, each with its reason; the throughputs are measured by
   :mod:`repro.throughput`).
2. **Each unit** (A_S, each trained classifier, each A_i) measures its own training throughput on its
   first steps and sizes its cap to its allotment. The allotment is the unit's weight (its stage's
   share divided equally among the stage's units) over the weights of all units still to train, of
   the time left: the budget minus the time spent (this process's wall time since it started, plus the
   recorded time of units that earlier processes finished), the evaluation estimate, the report
   reserve, the margin and the fixed costs of the other units still to run (their test passes and
   held-out checks). Time that a unit leaves unused (a cheap classifier reaching its configured
   epochs, an A_i stopped by the convergence rule) passes to the units after it.

   - A_S and A_i: the measured steps are training steps and are kept (the plateau schedules do not
     depend on the total, so nothing is lost); they are timed after :data:`WARMUP_STEPS`, with the
     time of the validation and held-out checks left out (the checks are costed separately). The cap
     is ``Trainer.max_images``. Fine-tuning's convergence rule (repro.pipeline.finetune) still
     decides when A_i stops, inside its cap.
   - Classifiers: the one-cycle schedule needs its total steps before the first step, so the
     throughput is measured on a copy of the freshly initialised network (its own optimiser, the
     run's data pipeline, the random state left as it was) and the copy is dropped; those steps'
     time is spent and recorded. The cap is a number of steps: the schedule's total.

   The configured epochs stay the most a unit trains: a budget never makes a run larger than its
   configuration, it shortens what does not fit. Every cap is at least one batch.
3. **Records.** Each unit's decision (measured images/s, the steps and seconds it was measured on,
   the allotment, the cap in images and epochs, what limited it, the plan it was made under) is
   written to ``<unit folder>/budget.json`` (a resumed unit keeps its cap and so its schedule), into
   the unit's summary (done.json) and into the ``budget`` section of results.json; the claims report
   shows them (:func:`report_section`), and run.log ends with the time used against the budget.

Keys: ``time_budget_s`` changes the numbers, so it is not an operational field. A budgeted unit's key
carries the budget, the run's classifiers (they set every allotment) and :data:`PLAN_VERSION`
(:func:`repro.pipeline.unit_keys.budget_key_parts`): a rerun of the same command reuses the finished units, and a run without a budget
keeps exactly the keys it had before. What a budgeted unit trained is decided by a measurement and so
differs from machine to machine; its record says what it was.
"""

from __future__ import annotations

import copy
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from repro import distributed
from repro.checkpoint import read_json, write_json_atomic
from repro.budget_shares import EVAL_FIXED_S, MARGIN, MARGIN_REASON, REPORT_RESERVE_S, SHARES
from repro.config import fmt_duration
from repro.data import EpochSampler, eval_source, make_loader
from repro.models.classifiers import build_classifier, parse_extra
from repro.models.segnet import SegNet, SegNetConfig
from repro.pipeline import unit_keys
from repro.pipeline.context import RunContext, UnitSizing
from repro.pipeline.unit_keys import PLAN_VERSION
from repro.throughput import (COPY_MAX_STEPS, COPY_MIN_SECONDS, COPY_MIN_STEPS, PROBE_IMAGES, StepTimer, rng_devices,
                               time_forward, time_statistics)
from repro.training import Trainer, autocast, to_device
from repro.vocabulary import plural


DECISION_FILE = "budget.json"


# Where a step is slow against the unit's allotment (a slow machine, a small budget), the measurement
# ends once it has taken this part of the allotment (after two steps at least): half for kept steps
# (the decision must come while there is time to act on it), a tenth for a copy's.
MEASURE_SHARE = 0.5
COPY_MEASURE_SHARE = 0.1


# --- keys and units ---------------------------------------------------------------------------------


def trained_classifiers(cfg) -> list[str]:
    """The run's classifiers that the classifiers stage trains (not torchvision's or given weights)."""
    c = cfg.classifiers
    out = []
    for k in c.keys:
        if k in c.pretrained:
            continue
        extra = getattr(c, "extra", None) or {}
        if k in extra:

            if not parse_extra(k, extra[k]).trained:
                continue
        out.append(k)
    return out


def unit_weights(cfg) -> dict[tuple[str, str], float]:
    """Each training unit's weight: its stage's share divided equally among the stage's units.

    >>> from repro.config import RunConfig, ClassifiersConfig
    >>> w = unit_weights(RunConfig(classifiers=ClassifiersConfig(keys=("L", "V"))))
    >>> [(u, round(x, 3)) for u, x in w.items()]
    [(('pretrain', 'A_S'), 0.3), (('classifiers', 'L'), 0.2), (('classifiers', 'V'), 0.2), (('finetune', 'A_L'), 0.15), (('finetune', 'A_V'), 0.15)]
    >>> round(sum(w.values()), 9)
    1.0
    """
    share = {s.stage: s.weight for s in SHARES}
    trained = trained_classifiers(cfg)
    ks = cfg.classifiers.keys
    weights = {("pretrain", "A_S"): share["pretrain"]}
    weights.update({("classifiers", k): share["classifiers"] / len(trained) for k in trained})
    weights.update({("finetune", f"A_{k}"): share["finetune"] / len(ks) for k in ks})
    return weights


def _unit_dir(ctx: RunContext, stage: str, unit: str) -> Path:
    return ctx.unit_dir(stage, None if stage == "pretrain" else unit)


def _unit_key(ctx: RunContext, stage: str, unit: str) -> str:

    if stage == "pretrain":
        return unit_keys.pretrain(ctx.cfg)
    if stage == "classifiers":
        return unit_keys.classifier(ctx.cfg, unit)
    return unit_keys.finetune_finished(ctx.cfg, unit[2:], ctx.unit_dir)


def _all_units(cfg) -> list[tuple[str, str]]:
    ks = cfg.classifiers.keys
    return [("pretrain", "A_S"), *(("classifiers", k) for k in ks), *(("finetune", f"A_{k}") for k in ks)]


def _finished(ctx: RunContext) -> dict[tuple[str, str], tuple[float, float, dict[str, Any]]]:
    """(time_s, done.json's modification time, summary) of every unit of the run finished for its key."""

    out = {}
    for stage, unit in _all_units(ctx.cfg):
        path = _unit_dir(ctx, stage, unit) / "done.json"
        done = read_json(path)
        if isinstance(done, dict) and done.get("key") == _unit_key(ctx, stage, unit):
            try:
                mtime = path.stat().st_mtime
            except OSError:
                continue
            summary = done.get("summary") or {}
            out[(stage, unit)] = (float(summary.get("time_s") or 0.0), mtime, summary)
    return out


# --- the clock --------------------------------------------------------------------------------------


def _process_age() -> float | None:
    """Seconds since this process started (Linux: /proc), so that interpreter start-up and imports
    count against the budget too; None where that cannot be read."""
    try:
        with open("/proc/self/stat", encoding="ascii") as fh:
            start_ticks = int(fh.read().rsplit(")", 1)[1].split()[19])  # field 22, starttime
        with open("/proc/uptime", encoding="ascii") as fh:
            uptime = float(fh.read().split()[0])
        return max(0.0, uptime - start_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return None


@dataclass
class Clock:
    """The time a run has spent: this process's wall time since it started, plus the recorded time of
    the units finished before it started (a run resumed after a kill, or run stage by stage)."""

    start: float  # time.monotonic() at the process's start
    start_wall: float  # time.time() at the same moment
    carried_s: float

    def spent(self) -> float:
        return time.monotonic() - self.start + self.carried_s


def _state(ctx: RunContext) -> dict[str, Any]:
    return vars(ctx).setdefault("_budget", {})


def clock(ctx: RunContext) -> Clock:
    st = _state(ctx)
    if "clock" not in st:
        age = _process_age()
        if age is None:
            age = time.monotonic() - ctx.started
        start, start_wall = time.monotonic() - age, time.time() - age
        carried = sum(t for (stage, _), (t, mtime, _) in _finished(ctx).items()
                      if mtime < start_wall and stage not in ctx.force)
        st["clock"] = Clock(start, start_wall, carried)
    return st["clock"]


def _finished_now(ctx: RunContext) -> set[tuple[str, str]]:
    """Units finished for their key; in a forced stage, only those this process finished."""
    start_wall = clock(ctx).start_wall
    return {u for u, (_, mtime, _) in _finished(ctx).items() if u[0] not in ctx.force or mtime >= start_wall}


# --- the planner ------------------------------------------------------------------------------------


class Planner:
    """The budget's plan for one run (see the module doc): the probe, the reserves, the allotments."""

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.cfg = ctx.cfg
        self.budget_s = float(ctx.cfg.time_budget_s)
        self.clock = clock(ctx)
        t0 = time.monotonic()
        self.probe = self._probe()
        self.probe["seconds"] = time.monotonic() - t0
        self.evaluate_s = self._evaluate_estimate()
        self.report_s = REPORT_RESERVE_S
        self.margin_s = MARGIN * self.budget_s
        ctx.info(f"time budget {fmt_duration(self.budget_s)}: evaluation estimated at "
                 f"{fmt_duration(self.evaluate_s)}, {fmt_duration(self.report_s)} kept for the claims report and "
                 f"{fmt_duration(self.margin_s)} as margin; training gets the rest (pretrain/classifiers/finetune "
                 f"{'/'.join(f'{s.weight:.0%}' for s in SHARES)}); probe {self.probe['seconds']:.1f}s")
        if self.budget_s - self.clock.spent() - self.evaluate_s - self.report_s - self.margin_s <= 0:
            ctx.info(f"time budget {fmt_duration(self.budget_s)}: no time is left for training after "
                     f"{fmt_duration(self.clock.spent())} spent, the evaluation estimate, the report reserve and the "
                     "margin; every unit trains its least (its measured steps, or one batch), and the run will "
                     "take longer than its budget")

    # -- measurement --------------------------------------------------------------------------------
    def _probe(self) -> dict[str, Any]:


        cfg, ctx = self.cfg, self.ctx
        with distributed.main_first():
            test = eval_source(cfg, ctx.cache)
        n_test, n_classes = len(test), len(test.classes)
        b = max(1, min(cfg.evaluate.batch_size, n_test, PROBE_IMAGES))
        device, side = ctx.device, cfg.data.image_size
        forward: dict[str, float] = {}
        c = cfg.classifiers
        with torch.random.fork_rng(devices=rng_devices(device)):
            torch.manual_seed(0)
            x = torch.rand(b, 3, side, side, device=device)
            if cfg.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            models = {"A_S": lambda: SegNet(SegNetConfig(width=cfg.ae.width))}
            extra = getattr(c, "extra", None) or {}
            for k in c.keys:
                width = c.width if c.family == "cifar" else 1.0
                kwargs = {"spec": extra[k], "spec_weights": False} if k in extra else {}
                models[k] = lambda k=k, width=width, kwargs=kwargs: build_classifier(
                    k, family=c.family, num_classes=n_classes, width=width, **kwargs)
            for name, build in models.items():
                model = build().to(device).eval()
                if cfg.channels_last:
                    model = model.to(memory_format=torch.channels_last)
                forward[name] = time_forward(model, x, cfg.precision, device)
                del model
            stats = time_statistics(x.float().contiguous(), cfg.evaluate.nmi_bins)
        return {"n_test": n_test, "batch": b, "forward_s_per_image": forward, "statistics_s_per_image": stats,
                "forward_images_per_s": {k: 1.0 / max(v, 1e-12) for k, v in forward.items()}}

    def _evaluate_estimate(self) -> float:
        """The evaluate stage (repro.evaluation.measure): every AE reconstructs each test image once and
        each classifier reads the image and every reconstruction; at each nonzero noise level each
        classifier reads the noisy image, A_S's reconstruction of it and its own A_i's; the nMI and LAB
        statistics per image and AE; plus EVAL_FIXED_S."""
        p, e = self.probe, self.cfg.evaluate
        n = len(self.cfg.classifiers.keys)
        fa = p["forward_s_per_image"]["A_S"]
        fc = sum(v for k, v in p["forward_s_per_image"].items() if k != "A_S")
        n_test = p["n_test"]
        clean = n_test * ((1 + n) * fa + (2 + n) * fc + (2 + n) * p["statistics_s_per_image"])
        levels = sum(1 for s in e.noise_levels if s != 0)
        swept = n_test if e.noise_images is None else min(e.noise_images, n_test)
        noise = swept * levels * ((1 + n) * fa + 3 * fc)
        return clean + noise + EVAL_FIXED_S

    # -- costs of checks ----------------------------------------------------------------------------
    def pretrain_check_s(self) -> float:
        """One validation check of A_S: the first ``pretrain.val_images`` held-out images through it."""
        n = min(self.cfg.pretrain.val_images, self.cfg.data.heldout)
        return n * self.probe["forward_s_per_image"]["A_S"]

    def finetune_check_s(self) -> float:
        """One held-out check of an A_i: its reconstructions through every classifier of the run."""
        f, d = self.cfg.finetune, self.cfg.data
        n = min(f.heldout_images if f.heldout_images is not None else d.heldout, d.heldout)
        return n * sum(self.probe["forward_s_per_image"].values())

    def test_pass_s(self, k: str) -> float:
        return self.probe["n_test"] * self.probe["forward_s_per_image"][k]

    def fixed_s(self, stage: str, unit: str) -> float:
        """A unit's costs besides its training steps, for the units still to come: A_S's first and last
        checks, a classifier's test pass, an A_i's three checks (its classifiers alone, A_S, the end);
        or, once units of the stage have finished, what they took beyond their training steps, if more
        (loading models and data, a discarded measurement, the least a unit trains)."""
        if stage == "pretrain":
            modelled = 2 * self.pretrain_check_s()
        elif stage == "classifiers":
            modelled = self.test_pass_s(unit)
        else:
            modelled = 3 * self.finetune_check_s()
        return max(modelled, self.observed_fixed_s(stage))

    def observed_fixed_s(self, stage: str) -> float:
        """The mean time the finished budgeted units of ``stage`` took beyond their training images at
        their measured throughput (their whole time where they were not measured); 0 before any."""
        seen = []
        for (st, _), (time_s, _, summary) in _finished(self.ctx).items():
            d = summary.get("budget")
            if st != stage or not isinstance(d, dict) or "cap_images" not in d:
                continue
            m = d.get("measured")
            trained = summary.get("images_seen") or (
                d["cap_images"] if d["limited_by"] == "time budget" else d["configured_images"])
            seen.append(max(0.0, time_s - trained / m["images_per_s"]) if m else time_s)
        return sum(seen) / len(seen) if seen else 0.0

    # -- allotments ---------------------------------------------------------------------------------
    def allot(self, stage: str, unit: str) -> dict[str, float]:
        """The time this unit may still take from now (see the module doc), with how it was reached."""
        cfg = self.cfg
        spent = self.clock.spent()
        done = _finished_now(self.ctx)
        weights = unit_weights(cfg)
        me = (stage, unit)
        left = {u: w for u, w in weights.items() if u == me or u not in done}
        others = sum(self.fixed_s(*u) for u in left if u != me)
        trained = set(trained_classifiers(cfg))  # classifiers only tested (torchvision's, given weights)
        others += sum(self.test_pass_s(k) for k in cfg.classifiers.keys
                      if k not in trained and ("classifiers", k) not in done)
        remaining = self.budget_s - spent - self.evaluate_s - self.report_s - self.margin_s - others
        share = left[me] / sum(left.values())
        return {"allotted_s": max(0.0, remaining) * share, "spent_s": spent, "remaining_s": remaining,
                "others_fixed_s": others, "share_of_remaining": share}

    def plan_record(self) -> dict[str, Any]:
        return {"budget_s": self.budget_s, "evaluate_estimate_s": self.evaluate_s, "report_reserve_s": self.report_s,
                "margin_s": self.margin_s, "probe": self.probe}


def planner(ctx: RunContext) -> Planner | None:
    """The run's planner (made on first use), or None without a budget."""
    if ctx.cfg.time_budget_s is None:
        return None
    st = _state(ctx)
    if "planner" not in st:
        st["planner"] = Planner(ctx)
    return st["planner"]


# --- decisions --------------------------------------------------------------------------------------


def _stored(unit_dir: Path, key: str) -> dict[str, Any] | None:
    """The decision of an interrupted unit being resumed (its training state is there), else None."""

    if not (unit_dir / "state.pt").exists():
        return None
    blob = read_json(unit_dir / DECISION_FILE)
    if isinstance(blob, dict) and blob.get("key") == key and isinstance(blob.get("decision"), dict):
        return blob["decision"]
    return None


def _forget(ctx: RunContext, unit_dir: Path) -> None:
    if ctx.is_main:
        (unit_dir / DECISION_FILE).unlink(missing_ok=True)


def _store(ctx: RunContext, unit_dir: Path, key: str, decision: dict[str, Any]) -> None:

    if ctx.is_main:
        unit_dir.mkdir(parents=True, exist_ok=True)
        write_json_atomic(unit_dir / DECISION_FILE, {"key": key, "decision": decision})


def _images_within(seconds: float, per_image_s: float, check_s: float, check_every: int) -> float:
    """Training images that fit in ``seconds`` at ``per_image_s`` each, a check costing ``check_s``
    every ``check_every`` images and one more at the end.

    >>> _images_within(10.0, 0.01, 0.0, 100), _images_within(10.0, 0.01, 1.0, 100)
    (1000.0, 450.0)
    """
    return max(0.0, (seconds - check_s) / (per_image_s + check_s / check_every))


def _describe(d: dict[str, Any]) -> str:
    m = d["measured"]
    cap = (f"cap {d['cap_images']:,} images ({d['cap_epochs']:.2f} epochs)" if d["limited_by"] == "time budget"
           else f"its configured {plural(d['configured_epochs'], 'epoch')} fit")
    speed = (f"{m['images_per_s']:,.0f} images/s over {m['steps']} steps ({m['how']})" if m
             else "no time left for it, not measured")
    return f"{speed}; {fmt_duration(d['allotted_s'])} allotted of {fmt_duration(max(0.0, d['remaining_s']))} left: {cap}"


def attach(ctx: RunContext, stage: str, unit: str, unit_dir: Path, key: str, trainer: Trainer) -> None:
    """Size A_S's or an A_i's training to its allotment (no-op without a budget): the throughput is
    measured on the trainer's own first steps (kept), then ``trainer.max_images`` is set. A unit
    resumed from its training state keeps the cap it was given."""
    plan = planner(ctx)
    if plan is None:
        return
    stored = _stored(unit_dir, key)
    if stored is not None:
        if stored["limited_by"] == "time budget":
            trainer.max_images = max(stored["cap_images"], stored["images_at_decision"])
        ctx.info(f"{_label(stage, unit)}: resumed with its time-budget cap ({_describe(stored)})")
        return
    _forget(ctx, unit_dir)

    timer = StepTimer(trainer.options.device)
    inner = trainer.after_step
    configured = trainer.total_steps * trainer.batch_size
    if stage == "pretrain":
        check_s, check_every = plan.pretrain_check_s(), ctx.cfg.pretrain.check_every
    else:
        check_s, check_every = plan.finetune_check_s(), ctx.cfg.finetune.check_every
    decided = False
    nothing_left = False

    def after_step(tr: Trainer, loss) -> None:
        nonlocal decided, nothing_left
        if decided:
            if inner is not None:
                inner(tr, loss)
            return
        timer.step_done()
        with timer.excluded():
            if inner is not None:
                inner(tr, loss)
        if timer.steps == 1:  # the allotment before measuring bounds how long the measurement may take
            first = plan.allot(stage, unit)["allotted_s"]
            nothing_left = first <= 0
            timer.limit_s = MEASURE_SHARE * first
        last = tr.epoch == tr.epochs - 1 and tr.step >= tr.steps_per_epoch
        done = nothing_left or timer.enough() or tr.stop_reason is not None or last
        if distributed.info().world_size > 1:
            done = distributed.broadcast_object(done)  # the ranks' clocks differ; rank 0 decides
        if not done:
            return
        decided = True
        if last or tr.stop_reason is not None:
            return  # nothing left to cap: the unit ended within its measurement (recorded as such)
        a = plan.allot(stage, unit)
        if timer.steps < 2:  # no time left at all: stop after this first step, nothing to measure
            measured, cap = None, tr.images_seen
        else:
            per_step, steps, seconds = timer.measurement()
            ips = tr.batch_size / per_step
            measured = {"images_per_s": ips, "steps": steps, "seconds": seconds,
                        "how": "training steps, kept; checks left out"}
            more = _images_within(a["allotted_s"], 1.0 / ips, check_s, check_every)
            cap = tr.images_seen + int(more // tr.batch_size) * tr.batch_size
        decision = {
            "unit": unit, "stage": stage, "measured": measured,
            **a, "check_s": check_s, "check_every": check_every,
            "images": len(tr.dataset), "batch_size": tr.batch_size, "configured_images": configured,
            "configured_epochs": tr.epochs, "images_at_decision": tr.images_seen,
            "cap_images": min(cap, configured), "limited_by": "time budget" if cap < configured else "configured epochs",
            "plan": plan.plan_record(),
        }
        decision["cap_epochs"] = decision["cap_images"] / max(1, tr.steps_per_epoch * tr.batch_size)
        decision = distributed.broadcast_object(decision)
        if decision["limited_by"] == "time budget":
            tr.max_images = max(decision["cap_images"], tr.images_seen)  # at least the steps already taken
        _store(ctx, unit_dir, key, decision)
        ctx.info(f"{_label(stage, unit)}: time budget: {_describe(decision)}")

    trainer.after_step = after_step


def _label(stage: str, unit: str) -> str:
    return {"pretrain": "pretrain", "classifiers": f"classifier {unit}"}.get(stage, f"finetune {unit}")


def size_classifier(ctx: RunContext, k: str, unit_dir: Path, key: str, trainer: Trainer, clf,
                    epochs: int) -> int | float:
    """Size classifier ``k``'s training to its allotment before its one-cycle schedule is made (no-op
    without a budget): the throughput is measured on a copy of ``clf`` (the bare, freshly initialised
    network), and the trainer's total steps, epochs and image cap are set. Returns the epochs to
    report: ``epochs`` as configured, or the fraction of them the cap allows."""
    plan = planner(ctx)
    if plan is None:
        return epochs

    decision = _stored(unit_dir, key)
    if decision is not None:
        ctx.info(f"classifier {k}: resumed with its time-budget cap ({_describe(decision)})")
    else:
        _forget(ctx, unit_dir)
        test_s = plan.test_pass_s(k)
        first = plan.allot("classifiers", k)["allotted_s"] - test_s
        t0 = time.monotonic()
        measured, epoch_s, more = None, 0.0, 0.0
        if first > 0:  # else no time for it at all: one step, nothing measured
            per_step, steps, seconds, first_batch_s = _measure_copy(ctx, clf, trainer, COPY_MEASURE_SHARE * first)
            ips = trainer.batch_size / per_step
            measured = {"images_per_s": ips, "steps": steps, "seconds": seconds, "how": "a copy of the network, discarded"}
            # A new data loader at every epoch: its start (the first batch's wait beyond a step) each time.
            epoch_s = max(0.0, first_batch_s - per_step)
        measurement_s = time.monotonic() - t0
        a = plan.allot("classifiers", k)
        if measured:
            per_epoch = trainer.steps_per_epoch * trainer.batch_size
            more = _images_within(a["allotted_s"] - test_s, 1.0 / measured["images_per_s"], epoch_s, per_epoch)
        cap_steps = max(1, min(trainer.total_steps, int(more // trainer.batch_size)))
        decision = {
            "unit": k, "stage": "classifiers", "measured": measured,
            "measurement_s": measurement_s, "loader_start_s": epoch_s, **a, "test_pass_s": test_s,
            "images": len(trainer.dataset), "batch_size": trainer.batch_size,
            "configured_images": trainer.total_steps * trainer.batch_size, "configured_epochs": trainer.epochs,
            "cap_steps": cap_steps, "cap_images": cap_steps * trainer.batch_size,
            "cap_epochs": cap_steps / trainer.steps_per_epoch,
            "limited_by": "time budget" if cap_steps < trainer.total_steps else "configured epochs",
            "plan": plan.plan_record(),
        }
        decision = distributed.broadcast_object(decision)
        _store(ctx, unit_dir, key, decision)
        ctx.info(f"classifier {k}: time budget: {_describe(decision)}")
    if decision["limited_by"] != "time budget":
        return epochs
    cap_steps = decision["cap_steps"]
    trainer.total_steps = cap_steps  # the one-cycle schedule's length
    trainer.epochs = math.ceil(cap_steps / trainer.steps_per_epoch)
    trainer.max_images = cap_steps * trainer.batch_size
    return round(decision["cap_epochs"], 4)


def _measure_copy(ctx: RunContext, clf, trainer: Trainer, limit_s: float) -> tuple[float, int, float, float]:
    """(seconds per step, steps timed, seconds timed, wait for the first batch) of classifier training
    steps on a copy of ``clf``: the trainer's data set, sampler order, batch, precision and memory
    format, SGD as the stage uses; the global random state is left as it was."""


    c = ctx.cfg.classifiers
    device = trainer.options.device
    # Thrown away, so never more than a tenth of the configured steps (at least COPY_MIN_STEPS).
    most = min(COPY_MAX_STEPS, max(COPY_MIN_STEPS, trainer.total_steps // 10))
    timer = StepTimer(device, min_steps=min(COPY_MIN_STEPS, most), min_seconds=COPY_MIN_SECONDS, max_steps=most,
                      limit_s=limit_s)
    with torch.random.fork_rng(devices=rng_devices(device)):
        model = copy.deepcopy(clf).train()
        opt = torch.optim.SGD(model.parameters(), lr=c.lr / 10, momentum=c.momentum, nesterov=True,
                              weight_decay=c.weight_decay)
        sampler = EpochSampler(trainer.dataset, seed=trainer.seed)
        loader = make_loader(trainer.dataset, trainer.local_batch, sampler=sampler,
                             num_workers=trainer.options.num_workers, device=device, drop_last=True)
        first_batch_s = 0.0
        t_wait = time.perf_counter()
        for i, (images, labels) in enumerate(loader):
            if i == 0:
                first_batch_s = time.perf_counter() - t_wait
            images = to_device(images, device, trainer.options.channels_last)
            labels = labels.to(device, non_blocking=True)
            opt.zero_grad(set_to_none=True)
            with autocast(device, trainer.options.precision):
                loss = F.cross_entropy(model(images).float(), labels, label_smoothing=c.label_smoothing)
            loss.backward()
            opt.step()
            timer.step_done()
            if timer.enough():
                break
        del loader, model, opt
    if timer.steps < 2:  # an epoch of one step: time that one step from the first batch's arrival
        per_step = max(timer.last - t_wait - first_batch_s, 1e-6)
        return per_step, 1, per_step, first_batch_s
    per_step, steps, seconds = timer.measurement()
    return per_step, steps, seconds, first_batch_s


def summary_fields(ctx: RunContext, unit_dir: Path, key: str) -> dict[str, Any]:
    """``{"budget": decision}`` for a unit's summary when the run has a budget, else nothing."""
    if ctx.cfg.time_budget_s is None:
        return {}

    blob = read_json(unit_dir / DECISION_FILE)
    if isinstance(blob, dict) and blob.get("key") == key:
        return {"budget": blob["decision"]}
    return {"budget": {"limited_by": "not sized: the unit ended within its throughput measurement"}}


# --- results, report, log ---------------------------------------------------------------------------


def results_entry(ctx: RunContext, summaries: dict[str, dict[str, Any]], timings: dict[str, Any]) -> dict[str, Any]:
    """``{"budget": ...}`` for results.json (nothing without a budget): the budget, the declared shares
    and reserves, the plan (the last decision's), each unit's decision and the time each stage took.
    ``summaries``: unit name -> its done.json summary."""
    if ctx.cfg.time_budget_s is None:
        return {}
    units = {u: s["budget"] for u, s in summaries.items() if isinstance(s.get("budget"), dict)}
    plans = [d["plan"] for d in sorted(units.values(), key=lambda d: d.get("spent_s", 0.0)) if "plan" in d]
    stages = ("pretrain", "classifiers", "finetune", "evaluate")
    return {"budget": {
        "budget_s": float(ctx.cfg.time_budget_s),
        "plan_version": PLAN_VERSION,
        "shares": {s.stage: {"weight": s.weight, "reason": s.reason} for s in SHARES},
        "margin": {"fraction": MARGIN, "reason": MARGIN_REASON},
        "plan": plans[-1] if plans else None,
        "units": units,
        "actual_s": {s: timings.get(s) for s in stages},
        "spent_at_results_s": clock(ctx).spent(),
    }}


def log_total(ctx: RunContext) -> None:
    """run.log's last word on the budget: the time used against it (nothing without a budget)."""
    if ctx.cfg.time_budget_s is None:
        return
    budget, spent = float(ctx.cfg.time_budget_s), clock(ctx).spent()
    ctx.info(f"time budget {fmt_duration(budget)}: {fmt_duration(spent)} used ({spent / budget:.0%}), "
             "including the time recorded by units finished in earlier processes")


class BudgetSizing(UnitSizing):
    """The run context's sizing under ``--time-budget`` (the planner above the stages, module doc): the
    stages call these hooks; each delegates to this module's function of the same name."""

    def attach(self, ctx: RunContext, stage: str, unit: str, unit_dir: Path, key: str, trainer: Trainer) -> None:
        attach(ctx, stage, unit, unit_dir, key, trainer)

    def size_classifier(self, ctx: RunContext, k: str, unit_dir: Path, key: str, trainer: Trainer, clf: Any,
                        epochs: int) -> int:
        return size_classifier(ctx, k, unit_dir, key, trainer, clf, epochs)

    def summary_fields(self, ctx: RunContext, unit_dir: Path, key: str) -> dict[str, Any]:
        return summary_fields(ctx, unit_dir, key)

    def results_entry(self, ctx: RunContext, summaries: dict[str, dict[str, Any]],
                      timings: dict[str, Any]) -> dict[str, Any]:
        return results_entry(ctx, summaries, timings)


def sizing_for(cfg) -> UnitSizing | None:
    """The sizing a run of ``cfg`` takes: the budget's when it has one, else None (the default)."""
    return BudgetSizing() if cfg.time_budget_s is not None else None
