#!/usr/bin/env bash
# The reconstruction gallery of the committed cpu run (the README's first screen, issue 24), for a clone
# that does not have the run's checkpoints (they are never committed; the machine that made the run drew
# it from artifacts/cpu/ckpt with `repro gallery artifacts/cpu --out artifacts/cpu/figures/gallery.png`).
#
# The run is made again with its checkpoints outside the checkout, in $REPRO_CPU_RUN (default
# ~/.cache/repro/cpu: a later session on the same machine resumes it). Finished units of the same
# configuration are copied in first where they exist: the instrument's calibration (scripts/calibrate.sh)
# holds the cpu scale's A_S (w0.5-s32-plateau) and five classifiers (w0.5-s32) under the same keys, which
# leaves the fine-tuning (64 min on 2 idle cores) and the evaluation (7 min). The cpu scale reproduces bit
# for bit on this machine kind, so the gallery is drawn only when the run's test accuracies equal the
# committed run's in every cell; otherwise the script stops and names the first difference (the picture
# must show the models the report's numbers come from).
# Then the cpu report is rebuilt (scripts/cpu_report.sh) and shows artifacts/cpu/figures/gallery.png.
source "$(dirname "$0")/env.sh"
dir="${REPRO_CPU_RUN:-$HOME/.cache/repro/cpu}"
runs="${REPRO_INSTRUMENT_RUNS:-$HOME/.cache/repro/instrument}"
mkdir -p "$dir/ckpt"
for unit in pretrain:w0.5-s32-plateau classifiers:w0.5-s32; do
  stage="${unit%%:*}" from="$runs/${unit#*:}/ckpt/${unit%%:*}"
  if [ ! -d "$dir/ckpt/$stage" ] && [ -d "$from" ]; then cp -r "$from" "$dir/ckpt/"; fi
done
export REPRO_CACHE="${REPRO_CACHE:-$dir/cache}"
repro run --scale cpu --out "$dir" --no-progress "$@"
python - "$dir/results.json" artifacts/cpu/results.json <<'EOF'
import sys
from repro.results import read_results_json

mine, committed = (read_results_json(p)["accuracy"] for p in sys.argv[1:])
for table in committed:
    for ae, row in committed[table].items():
        for c, value in row.items():
            got = mine.get(table, {}).get(ae, {}).get(c)
            if got != value:
                sys.exit(f"scripts/cpu_gallery.sh: {sys.argv[1]}: {table} {ae} on {c} is {got}, the committed "
                         f"run's {value}: the models differ, so no gallery is drawn for artifacts/cpu")
print("the run's test accuracies equal the committed run's in every cell")
EOF
repro gallery "$dir" --out artifacts/cpu/figures/gallery.png
bash "$ROOT/scripts/cpu_report.sh"
