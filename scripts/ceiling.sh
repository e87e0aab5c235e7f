#!/usr/bin/env bash
# The ceiling diagnostic (issue 8, item 6): how much of A_S's cost a fine-tuning of *both* AE halves
# wins back on this scale, for AlexNet and VGG-16-BN, with the main run's A_S and classifiers (copied).
# The same rule as the decoder-only fine-tuning, capped at one epoch (48,000 images) to keep the
# diagnostic within a quarter of an hour on 2 cores: the number is a lower bound of the ceiling.
# Then the main run's report is rebuilt. Its committed run (artifacts/cpu-ceiling) was measured on the second
# protocol's A_S and is shown in that protocol's report (artifacts/cpu-protocol2/README.md).
#
# A second form, for an encoder that the rule's lr 1e-3 damages (on the cpu run, A's diagnostic never
# beat A_S: held-out loss 1.136 -> 1.317 at the first check, 1.149 after two cuts), runs the same
# diagnostic at a tenth of the lr into its own folder, without touching the main report:
#   CEILING_OUT=artifacts/cpu-ceiling-lr1e-4 CEILING_CLASSIFIERS=A bash scripts/ceiling.sh --set finetune.lr=1e-4
source "$(dirname "$0")/env.sh"
main=artifacts/cpu default_out=artifacts/cpu-ceiling
out="${CEILING_OUT:-$default_out}"
[ -f "$main/results.json" ] || { echo "scripts/ceiling.sh: no finished main run in $main (run scripts/main.sh)" >&2; exit 1; }
export REPRO_CACHE="${REPRO_CACHE:-$ROOT/$main/cache}"
mkdir -p "$out/ckpt"
for stage in pretrain classifiers; do
  [ -d "$out/ckpt/$stage" ] || cp -r "$main/ckpt/$stage" "$out/ckpt/"
done
repro run --scale cpu --trainable both --classifiers "${CEILING_CLASSIFIERS:-A,V}" --set finetune.epochs=1 \
  --out "$out" "$@"
if [ "$out" = "$default_out" ]; then
  bash "$ROOT/scripts/cpu_report.sh"
fi
