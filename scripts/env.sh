# Sourced by scripts/test.sh and scripts/main.sh: creates .venv on first use and installs the
# project into it (torch first, pinned to the release this workplace serves from disk; pyproject
# declares the admissible range), then points the project at ../shared/data unless told otherwise.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
# shellcheck disable=SC1091
source .venv/bin/activate
stamp=".venv/.repro-installed"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  log=.venv/install.log
  echo "installing into .venv (log: $log)"
  if ! { python -m pip install -q --upgrade pip &&
         python -m pip install -q "torch==2.14.1" "torchvision==0.29.1" &&
         python -m pip install -q -e ".[test]"; } >"$log" 2>&1; then
    grep -v '^WARNING: Location' "$log" | tail -20 >&2
    echo "scripts/env.sh: installing the project into .venv failed; see $log" >&2
    exit 1
  fi
  python -c "import repro, torch, torchvision" 
  touch "$stamp"
fi
export REPRO_DATA="${REPRO_DATA:-$ROOT/../shared/data}"
