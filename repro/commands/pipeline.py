"""``repro run`` (every stage) and ``repro pretrain|classifiers|finetune|evaluate`` (one stage).

Each stage is cached under ``<out>/ckpt`` and resumes from its last checkpoint; a rerun skips what is
finished for the same configuration. Units of other settings live beside them, but results.json and the
claims report belong to one configuration: ``run`` and ``evaluate`` refuse to replace those of another
unless given ``--replace`` or ``--force``. Progress bars go to stderr when it is a terminal; one summary
line per stage (and unit) to stderr and ``<out>/run.log``, which also records resumes and the error
that ended a run. One command at a time writes into a folder (``repro.folder_lock``): a second stops
with the holder's name, or waits with ``--wait``. Several processes: ``torchrun --nproc_per_node=N -m
repro.cli run`` with the same options.
"""

from __future__ import annotations

import argparse
from typing import Any, Callable

from repro.pipeline.stage_names import CLASSIFIERS, EVALUATE, FINETUNE, PRETRAIN, STAGE_NAMES

STAGE_HELP = {
    PRETRAIN: "pretrain the SegNet autoencoder A_S for reconstruction (Sec. 3.2)",
    CLASSIFIERS: "train (or load) the classifiers L, A, V, I, R (Sec. 3.3)",
    FINETUNE: "fine-tune a copy of A_S's decoder on each frozen classifier, giving A_i (Sec. 3.3)",
    EVALUATE: "measure accuracies, the cross grid, noise, nMI, LAB; write results.json (Secs. 3.3-3.5)",
}


def add_config_arguments(p: argparse.ArgumentParser, *, behaviour: bool = True) -> None:
    """The configuration options (and, with ``behaviour``, those of a command that writes a run folder)."""
    from repro.config import SCALES, TRAINABLE

    g = p.add_argument_group("configuration (defaults: the scale's; see repro.config)")
    # No argparse choices: an unknown scale is scale_config's one-line error, not the usage text (issue 24)
    g.add_argument("--scale", default="cpu", metavar="{" + ",".join(SCALES) + "}",
                   help="smoke (minutes, offline digits), cpu (CIFAR-10, 45 to 110 min on 2 cores; default), gpu, paper")
    g.add_argument("--out", metavar="DIR", help="run folder (default artifacts/<scale>)")
    g.add_argument("--data", metavar="DIR", help="data root (default $REPRO_DATA): cifar10/, imagenet/ inside")
    g.add_argument("--download", action="store_true", default=None,
                   help="let torchvision download CIFAR-10 into the data root when it is not there")
    g.add_argument("--device", help="cpu, cuda, cuda:N (default: cuda when available, else cpu)")
    g.add_argument("--epochs", type=int, metavar="N", help="epochs of every training stage")
    g.add_argument("--classifiers", metavar="L,A,V,I,R",
                   help="which classifiers (comma-separated keys), and your own as label=torchvision:ARCH[@WEIGHTS] "
                        "or label=module.path:factory[@WEIGHTS] (README: 'Your own classifiers')")
    g.add_argument("--trainable", choices=TRAINABLE, help="AE part fine-tuned (paper: decoder)")
    g.add_argument("--seed", type=int, help="run seed (every unit's seed derives from it)")
    g.add_argument("--time-budget", metavar="DURATION",
                   help="size the run to this wall-clock time (90s, 7m, 1h30m): each stage measures its "
                        "throughput and caps its epochs to its share (repro/budget.py); the configured epochs "
                        "stay the most it trains")
    g.add_argument("--threads", type=int, metavar="N", help="torch CPU threads (shared among torchrun processes)")
    g.add_argument("--set", dest="sets", action="append", default=[], metavar="SECTION.FIELD=VALUE",
                   help="any config field, e.g. --set pretrain.batch_size=64 --set classifiers.epochs_by_key=L:5,V:2")
    if not behaviour:  # repro models: reads the configuration, runs nothing
        return
    o = p.add_argument_group("behaviour")
    o.add_argument("--force", action="store_true",
                   help="recompute this command's stage(s) even if cached (the old units stay until replaced)")
    o.add_argument("--replace", action="store_true",
                   help="let run/evaluate replace the results of another configuration in --out "
                        "(finished units that match are reused)")
    o.add_argument("--wait", action="store_true",
                   help="when another repro command is writing into --out, wait for it to finish instead of stopping")
    o.add_argument("--no-progress", action="store_true",
                   help="no progress bars, even on a terminal (they are off when stderr is not one)")
    o.add_argument("--print-config", action="store_true", help="print the resolved configuration as JSON and exit")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help=f"run every stage: {', '.join(STAGE_NAMES)}",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_config_arguments(p)
    p.set_defaults(func=lambda args: run(args, STAGE_NAMES))
    for stage, text in STAGE_HELP.items():
        s = sub.add_parser(stage, help=text, description=text)
        add_config_arguments(s)
        s.set_defaults(func=lambda args, stage=stage: run(args, (stage,)))


def config_from_args(args: argparse.Namespace):
    from repro.config import apply_overrides, scale_config

    return apply_overrides(
        scale_config(args.scale), epochs=args.epochs, data=args.data, classifiers=args.classifiers, out=args.out,
        device=args.device, seed=args.seed, trainable=args.trainable, threads=args.threads, download=args.download,
        time_budget=args.time_budget, sets=args.sets,
    )


def limit_openmp_spinning() -> None:
    """Shorten how long idle OpenMP threads spin before they sleep (libgomp, which torch's wheels use).

    On a machine whose cores other jobs share, a thread that spins for its descheduled partner
    wastes its turn: measured on the 2-core development machine with other jobs running, a smoke
    pretraining took 160 s instead of 3 s. ``GOMP_SPINCOUNT=10000`` (default 300,000) left training
    throughput unchanged on an idle machine (SegNet width 0.5: 288 vs 290 images/s; ResNet 2,711 vs
    2,683) and doubled the combined throughput of two jobs sharing the cores (AE: 260 vs 141
    images/s); ``OMP_WAIT_POLICY=PASSIVE`` cost 20-60% when idle. Must run before torch is imported;
    a value the user set wins.
    """
    import os

    os.environ.setdefault("GOMP_SPINCOUNT", "10000")


def run(args: argparse.Namespace, stages: tuple[str, ...], *, command: str | None = None,
        record: str | None = None, after: Callable[[Any], None] | None = None) -> int:
    """Run ``stages`` under one run context (log, resume, the error that ends it in run.log).

    Another command built on the stages (``repro ceiling``) names itself (``command``), the run-level
    file it writes (``record``: a finished one of another configuration is not replaced) and what it
    does after them on the main process (``after(ctx)``)."""
    limit_openmp_spinning()
    import json

    cfg = config_from_args(args)
    if args.print_config:
        print(json.dumps(cfg.to_dict(), indent=2))
        return 0
    from repro.data import check_available
    from repro.folder_lock import hold
    from repro.pipeline.config_guard import check_results_config

    def check_config() -> None:
        if not (args.force or args.replace):  # before anything is written, run.log included
            if EVALUATE in stages:
                check_results_config(cfg)
            if record is not None:
                check_results_config(cfg, record)

    check_config()
    check_available(cfg)  # a missing data set is reported before anything is written
    if cfg.classifiers.extra:  # your own classifiers: a spec that cannot work fails here, not after pretraining
        from repro.config import extras_origin, override_origins
        from repro.pipeline.classifiers import check_extras, resolve_extras

        where = extras_origin(override_origins(classifiers=args.classifiers, sets=args.sets or ()))
        resolve_extras(cfg, where)
        if CLASSIFIERS in stages:
            check_extras(cfg, where)  # its errors start as resolve_extras' do (--classifiers: ...)
    name = command or (" ".join(stages) if len(stages) == 1 else "run")
    # One writing command per folder (repro.folder_lock), taken before anything is written into it
    with hold(cfg.out_dir, wait=getattr(args, "wait", False), label=f"repro {name}"):
        check_config()  # again: a run that finished while this one waited may be of other settings
        return _run_locked(args, cfg, stages, name, after)


def _run_locked(args: argparse.Namespace, cfg, stages: tuple[str, ...], name: str,
                after: Callable[[Any], None] | None) -> int:
    import time

    from repro.budget import log_total, sizing_for
    from repro.pipeline.context import fmt_time, log_error, setup, teardown
    from repro.pipeline.stages import run_stages

    ctx = setup(cfg, progress=not args.no_progress, force=set(stages) if args.force else set(),
                sizing=sizing_for(cfg))
    t0 = time.monotonic()
    try:
        ctx.info(f"command: repro {name}")
        run_stages(ctx, stages)
        if EVALUATE in stages and ctx.is_main:
            write_claims_report(ctx)
        if after is not None and ctx.is_main:
            after(ctx)
        ctx.info(f"finished {', '.join(stages)} in {fmt_time(time.monotonic() - t0)}; outputs in {ctx.out}")
        log_total(ctx)  # with --time-budget: the time used against it
    except BaseException as err:
        log_error(ctx, err)  # the CLI prints it; run.log keeps it with the run's other lines
        raise
    finally:
        teardown(ctx)
    return 0


def write_claims_report(ctx) -> None:
    """After evaluation, the claims report beside results.json (what `repro report` rebuilds)."""
    from repro.paper import paper_results
    from repro.report import build_report, outcome_line
    from repro.results import Results

    results = Results.from_json(ctx.results_path)
    payload = build_report(results, ctx.out, paper=paper_results())
    ctx.info(f"claims: {outcome_line(payload, results)}; report in {ctx.out / 'claims.md'}")
