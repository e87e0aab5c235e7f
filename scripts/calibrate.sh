#!/usr/bin/env bash
# The instrument's calibration table (docs/instrument.md, declared before it ran): `repro calibrate` for
# each candidate setting of A_S, on the held-out training images, with the cpu scale's classifiers trained
# at the candidate's resolution. Usage: bash scripts/calibrate.sh [CANDIDATE ...] (default: all measured
# ones, in the order below, cheapest first). Each candidate's run lives in $REPRO_INSTRUMENT_RUNS/<id>
# (default ~/.cache/repro/instrument, outside the checkout, so that a later session on the same machine
# resumes it: every stage resumes from its last checkpoint); its record and log are copied to
# artifacts/instrument/<id>/ to be committed. Candidates of one resolution share their classifiers (the
# units are keyed by configuration, so the second reuses the first's by a copy of ckpt/classifiers).
source "$(dirname "$0")/env.sh"
runs="${REPRO_INSTRUMENT_RUNS:-$HOME/.cache/repro/instrument}"
out=artifacts/instrument
export REPRO_CACHE="${REPRO_CACHE:-$runs/cache}"

settings() {  # the candidate's --set options (docs/instrument.md's table)
  local side64=(--set data.resize=64 --set data.image_size=64 --set data.pretrain_size=64)
  local plateau=(--set pretrain.epochs=10 --set pretrain.lr_cuts=2)
  case "$1" in
    w0.5-s32) ;;
    w0.5-s32-plateau) echo "${plateau[@]}" ;;
    w1.0-s32) echo --set ae.width=1.0 ;;
    w0.5-s64) echo "${side64[@]}" ;;
    w1.0-s64) echo --set ae.width=1.0 "${side64[@]}" ;;
    w1.0-s32-plateau) echo --set ae.width=1.0 "${plateau[@]}" ;;
    *) echo "scripts/calibrate.sh: unknown candidate $1 (docs/instrument.md lists them)" >&2; return 1 ;;
  esac
}
shares_classifiers_with() {  # the candidate whose classifiers (same resolution) this one reuses
  case "$1" in *-s64*) echo w0.5-s64 ;; *) echo w0.5-s32 ;; esac
}

candidates=("$@")
[ ${#candidates[@]} -gt 0 ] || candidates=(w0.5-s32 w1.0-s32 w0.5-s32-plateau w0.5-s64 w1.0-s64 w1.0-s32-plateau)
for id in "${candidates[@]}"; do
  opts=$(settings "$id") || exit 2
  dir="$runs/$id" first="$runs/$(shares_classifiers_with "$id")"
  mkdir -p "$dir/ckpt" "$out/$id"
  if [ "$first" != "$dir" ] && [ -d "$first/ckpt/classifiers" ] && [ ! -d "$dir/ckpt/classifiers" ]; then
    cp -r "$first/ckpt/classifiers" "$dir/ckpt/"
  fi
  # shellcheck disable=SC2086  # opts is a list of words
  repro calibrate --scale cpu $opts --out "$dir" --no-progress || exit $?
  cp "$dir/calibration.json" "$dir/run.log" "$out/$id/"
done
repro calibrate-table "$out" --out "$out/README.md"
[ -f artifacts/cpu/results.json ] && bash "$ROOT/scripts/cpu_report.sh"  # the cpu report shows the table
