#!/usr/bin/env bash
# The main job: set up .venv if needed, then run the cpu scale end to end and write its claims
# report under artifacts/cpu/. Extra arguments go to `repro run` (e.g. --out DIR, --epochs N).
source "$(dirname "$0")/env.sh"
repro run --scale cpu "$@"
