#!/usr/bin/env bash
# Rebuilds the main cpu report (artifacts/cpu) with what is there beside it: the previous protocol's
# verdicts (artifacts/cpu-protocol2) and the instrument's calibration (scripts/calibrate.sh), which ends
# with this script. The diagnostics of the ceiling and of A_S's width (scripts/ceiling*.sh) were measured
# on the previous protocol's A_S and belong to its report (artifacts/cpu-protocol2/README.md says how it
# is rebuilt); the report's `--ceiling` option refuses a diagnostic of another A_S.
# The one command behind the committed report.
source "$(dirname "$0")/env.sh"
a=artifacts
args=(--out "$a/cpu")
[ -f "$a/cpu-protocol2/claims.json" ] && args+=(--previous "$a/cpu-protocol2")
[ -f "$a/instrument/w0.5-s32/calibration.json" ] && args+=(--calibration "$a/instrument")
repro report "${args[@]}" "$@"
