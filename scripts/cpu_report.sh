#!/usr/bin/env bash
# Rebuilds the main cpu report (artifacts/cpu) with every diagnostic beside it that is there: the
# earlier protocol's verdicts, the both-halves ceiling (scripts/ceiling.sh), A_S against its width
# (scripts/ceiling_width.sh), fine-tuning from the wider A_S (scripts/ceiling_width_finetune.sh) and the
# instrument's calibration (scripts/calibrate.sh).
# The one command behind the committed report; the diagnostics' scripts end with it.
source "$(dirname "$0")/env.sh"
a=artifacts
args=(--out "$a/cpu")
[ -f "$a/cpu-protocol1/claims.json" ] && args+=(--previous "$a/cpu-protocol1")
[ -f "$a/cpu-ceiling/results.json" ] && args+=(--ceiling "$a/cpu-ceiling")
if [ -f "$a/cpu-width/w0.5/ceiling.json" ] && [ -f "$a/cpu-width/w1.0/ceiling.json" ]; then
  args+=(--widths "$a/cpu-width/w0.5" "$a/cpu-width/w1.0")
  [ -f "$a/cpu-width/w1.0-finetune/results.json" ] && args+=(--width-runs "$a/cpu-width/w1.0-finetune")
fi
[ -f "$a/instrument/w0.5-s32/calibration.json" ] && args+=(--calibration "$a/instrument")
repro report "${args[@]}" "$@"
