#!/usr/bin/env bash
# The ceiling diagnostic (issue 8, item 6): how much of A_S's cost a fine-tuning of *both* AE halves
# wins back on this scale, for AlexNet and VGG-16-BN, with the main run's A_S and classifiers (copied).
# The same rule as the decoder-only fine-tuning, capped at one epoch (48,000 images) to keep the
# diagnostic within a quarter of an hour on 2 cores: the number is a lower bound of the ceiling.
# Then the main run's report is rebuilt with the ceiling section (and the earlier protocol's verdicts).
source "$(dirname "$0")/env.sh"
main=artifacts/cpu out=artifacts/cpu-ceiling
[ -f "$main/results.json" ] || { echo "scripts/ceiling.sh: no finished main run in $main (run scripts/main.sh)" >&2; exit 1; }
export REPRO_CACHE="${REPRO_CACHE:-$ROOT/$main/cache}"
mkdir -p "$out/ckpt"
for stage in pretrain classifiers; do
  [ -d "$out/ckpt/$stage" ] || cp -r "$main/ckpt/$stage" "$out/ckpt/"
done
repro run --scale cpu --trainable both --classifiers A,V --set finetune.epochs=1 --out "$out" "$@"
repro report --out "$main" --previous artifacts/cpu-protocol1 --ceiling "$out"
