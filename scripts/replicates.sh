#!/usr/bin/env bash
# Fine-tuning-seed replicates of the main run (issue 9): for each seed S given (default 1 2), a run
# into artifacts/cpu-replicates/ftS that shares the main run's A_S and classifiers (their units are
# copied, and found finished because their keys do not depend on finetune.seed) and fine-tunes and
# evaluates anew with --set finetune.seed=S; then one report over the main run and the replicates.
# Needs a finished `bash scripts/main.sh`. Extra settings: REPLICATE_ARGS (e.g. "--set threads=1").
source "$(dirname "$0")/env.sh"
main=artifacts/cpu
[ -f "$main/results.json" ] || { echo "scripts/replicates.sh: no finished main run in $main (run scripts/main.sh)" >&2; exit 1; }
export REPRO_CACHE="${REPRO_CACHE:-$ROOT/$main/cache}"  # the decoded data, shared with the main run
seeds=("$@"); [ ${#seeds[@]} -gt 0 ] || seeds=(1 2)
runs=("$main")
for s in "${seeds[@]}"; do
  out=artifacts/cpu-replicates/ft$s
  mkdir -p "$out/ckpt"
  for stage in pretrain classifiers; do
    [ -d "$out/ckpt/$stage" ] || cp -r "$main/ckpt/$stage" "$out/ckpt/"
  done
  # shellcheck disable=SC2086
  repro run --scale cpu --set "finetune.seed=$s" --out "$out" ${REPLICATE_ARGS:-}
  runs+=("$out")
done
repro report --runs "${runs[@]}" --out artifacts/cpu-replicates
