#!/usr/bin/env bash
# Fine-tuning from the wider A_S (declared before it ran): does the paper's method, started from an
# A_S of width 1.0, give back more than it does from the cpu scale's width 0.5, and does A_i∘i reach i?
#
# Why: scripts/ceiling_width.sh measured that an A_S of width 1.0 keeps 0.5 to 3.0 points more of each
# classifier's top-1 than width 0.5's (artifacts/cpu-width), but not what decoder-only fine-tuning makes
# of it; at width 0.5 no A_i∘i reached i alone. This measures that trade for two classifiers.
# Protocol:
# - A_S: pre-trained at width 1.0 by the cpu recipe otherwise unchanged, the same command as
#   scripts/ceiling_width.sh's width-1.0 A_S (deterministic; its val MSE is compared with that record's).
# - Classifiers: the main run's A and L (copied, not retrained). Chosen because they have the smallest
#   remaining gap at width 0.5 (i alone minus A_i∘i: L 0.45, A 2.13 points; R 4.07, V 4.59, I 4.81), so
#   they are the two for which a wider A_S could show whether A_i∘i reaches i at all; two AEs because
#   one takes about 35 minutes at width 1.0 on 2 cores (70 images/s, benchmarks/pipeline.py).
# - Fine-tuning and evaluation: the cpu protocol unchanged (decoder only, Adam from lr 1e-3, the plateau
#   rule every 8,000 images, best check kept, cap 144,000 images; fine-tuning seed 0; the evaluate
#   stage on the 10,000 test images).
# - Reading, fixed now: one run per classifier. A width-1.0 A_i∘i differs from width 0.5's when it lies
#   outside the range of the three fine-tuning seeds at width 0.5 (artifacts/cpu-protocol2/replicates: L 54.52 to
#   54.96, A 64.28 to 64.47); it reaches i when its test top-1 is at least i alone's (L 55.41, A 66.41).
#   The outcome is reported as it comes, with both halves of the budget (minutes, images seen).
# Expected cost on 2 cores: about 25 min of pre-training (40 images/s), about 35 min per AE, 5 min of
# evaluation: about 1.7 hours on the machine where the main run took 104 min.
# Then the main run's report is rebuilt with the width section's new row (scripts/cpu_report.sh).
source "$(dirname "$0")/env.sh"
main=artifacts/cpu out=artifacts/cpu-width/w1.0-finetune
[ -f "$main/results.json" ] && [ -d "$main/ckpt/classifiers" ] ||
  { echo "scripts/ceiling_width_finetune.sh: no finished main run with its checkpoints in $main (run scripts/main.sh)" >&2; exit 1; }
export REPRO_CACHE="${REPRO_CACHE:-$ROOT/$main/cache}"
mkdir -p "$out/ckpt"
[ -d "$out/ckpt/classifiers" ] || cp -r "$main/ckpt/classifiers" "$out/ckpt/"
# scripts/ceiling_width.sh's width-1.0 A_S when it is still there; otherwise this run pre-trains it
if [ ! -d "$out/ckpt/pretrain" ] && [ -d artifacts/cpu-width/w1.0/ckpt/pretrain ]; then
  cp -r artifacts/cpu-width/w1.0/ckpt/pretrain "$out/ckpt/"
fi
repro run --scale cpu --set ae.width=1.0 --classifiers A,L --out "$out" "$@"
bash "$ROOT/scripts/cpu_report.sh"
