"""The time budget's declared shares and reserves (``--time-budget``; the planner is :mod:`repro.budget`).

Declared once, each with its reason, and read both by the planner, which sizes a run with them, and by
the claims report, which shows a budgeted run's plan from its results.json: numbers only, so that the
report reads them without loading the planner (or torch).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Share:
    stage: str
    weight: float  # of the training time
    reason: str


# The shares of the training time (the budget less the evaluation estimate, the report reserve and the
# margin), declared once with their reasons. A stage's share is divided equally among its units.
SHARES: tuple[Share, ...] = (
    Share("pretrain", 0.30,
          "one network, but the one every A_i starts from: its reconstruction error bounds every A_i∘j "
          "(at the cpu scale A_S cost 4.4 to 10.3 top-1 points, and fine-tuning won back 1.5 to 3.3), and "
          "the slowest model per image of the run (the smoke scale's probe: 1,307 images/s forward, the "
          "classifiers 3,128 to 18,498)"),
    Share("classifiers", 0.40,
          "the networks trained from scratch (five at the paper's scales), whose accuracies every claim "
          "compares; an equal part each, so a cheap one reaches more epochs (never more than configured; "
          "what it leaves passes on)"),
    Share("finetune", 0.30,
          "one decoder per classifier, each stopped by the convergence rule, not by the budget, when it "
          "converges first: this share is a cap, and what an A_i leaves unused passes to the next"),
)
MARGIN = 0.05  # of the budget
MARGIN_REASON = ("costs the plan does not model: a data loader started at every epoch, checkpoints, models "
                 "loaded per unit, and the error of a throughput measured on a few steps")
# Evaluation costs that do not grow with the test set: loading the models, Fig. 2 and Fig. 3 (the LAB
# panel took 4.6 s of a 17.5 s smoke evaluation on 2 shared cores), writing results.json.
EVAL_FIXED_S = 5.0
# The claims report written after results.json (bootstrap resamples of every claim): measured 13.8 s on
# the smoke results on 2 shared cores, plus its imports; it does not grow with the scale's models.
REPORT_RESERVE_S = 20.0
