#!/usr/bin/env bash
# The ceiling diagnostic of A_S's width (`repro ceiling`, repro/ceiling.py): how much of each
# classifier's test accuracy A_S keeps at the cpu scale's width 0.5 and at the paper's width 1.0.
#
# Why: decoder-only fine-tuning (the paper's method) starts from A_S∘i and cannot give back more than
# the frozen encoder keeps; at 32x32 the SegNet bottleneck is 1x1, so width 0.5 keeps 256 numbers per
# image (1/12 of the pixel values) and width 1.0 keeps 512 (1/6, as the paper's SegNet at 224x224).
# Protocol (declared before it ran): A_S pre-trained at width 1.0 under the cpu scale's pre-training
# recipe otherwise unchanged (same images, schedule, seed, held-out split), measured against the main
# run's five classifiers (copied, not retrained) on the 10,000 test images; width 0.5 is the main run's
# own A_S (copied), measured the same way. One run each; the outcome is reported as it comes. Expected
# cost on 2 cores: width 1.0 costs about 4x per image (repro.config.cpu), so about 30 min of
# pre-training on the machine where width 0.5 took 7.4 min, and about 2 min per measurement.
# Then the main run's report is rebuilt. Its committed records (artifacts/cpu-width) were measured beside the
# second protocol's A_S and are shown in that protocol's report (artifacts/cpu-protocol2/README.md).
source "$(dirname "$0")/env.sh"
main=artifacts/cpu out=artifacts/cpu-width
[ -f "$main/results.json" ] && [ -d "$main/ckpt/classifiers" ] ||
  { echo "scripts/ceiling_width.sh: no finished main run with its checkpoints in $main (run scripts/main.sh)" >&2; exit 1; }
export REPRO_CACHE="${REPRO_CACHE:-$ROOT/$main/cache}"
for width in 0.5 1.0; do
  dir="$out/w$width"
  mkdir -p "$dir/ckpt"
  [ -d "$dir/ckpt/classifiers" ] || cp -r "$main/ckpt/classifiers" "$dir/ckpt/"
  if [ "$width" = 0.5 ] && [ ! -d "$dir/ckpt/pretrain" ]; then cp -r "$main/ckpt/pretrain" "$dir/ckpt/"; fi
  repro ceiling --scale cpu --set "ae.width=$width" --out "$dir" "$@"
done
bash "$ROOT/scripts/cpu_report.sh"
