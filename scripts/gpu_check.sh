#!/usr/bin/env bash
# The gpu scale's check in one go (issue 13): `pytest paper_claims -m gpu` under a wall-clock budget,
# on a machine without network access whose Python already has torch (>= 2.2; the H200 image: 2.11),
# torchvision, scikit-learn, scikit-image, matplotlib, tabulate, tqdm and pytest.
#
#   1. installs the project and the wheels brought along (concepts, bitsets, graphviz) without network,
#      into a target folder on PYTHONPATH (the interpreter's own packages are left alone);
#   2. unpacks CIFAR-10 from the one packed file that travels with the checkout and points REPRO_DATA at it;
#   3. runs `pytest paper_claims -m gpu` with REPRO_TIME_BUDGET (`repro run --scale gpu --time-budget ...`,
#      repro/budget.py), the run's output going to pytest.log as it happens;
#   4. collects results.json (with its per_image-*.json.gz), claims.{md,json,html} and run.log, with
#      pytest.log and check.log (this script's own log: versions, device, each phase's time), in one
#      folder: $OUT when set (the device tool's), else --out, else <work>/out. No checkpoints.
# Exit status: pytest's (1 when a claim does not hold: only "holds" passes at this scale); 3 when the
# device asked for is missing; 4 when installing or unpacking failed.
#
# Prepare first, here (wheels and the pack into the git-ignored .gpu_check/, ~19 MiB; the whole tree
# that travels is then ~20 MiB of the 64 allowed):   bash scripts/gpu_prepare.sh
#
# Options: --device auto|cuda|cpu (cpu hides the GPUs: the dry run), --budget DURATION (default 7m),
#   --pack FILE, --wheels DIR, --python PY (default python3), --work DIR (default /tmp/repro-gpu-check),
#   --out DIR, --gpu-args "ARGS" (extra `repro run` arguments: REPRO_GPU_ARGS), --fresh (drop the
#   finished units of an earlier run in --work; by default a rerun resumes them).
#
# The dry run on a CPU (done before the GPU run; the exact commands and numbers: docs/gpu_check.md):
#   bash scripts/gpu_prepare.sh --dest /tmp/gpu-dry --no-wheels --train-per-class 100 --test-per-class 20
#   bash scripts/gpu_check.sh --device cpu --budget 150s --python .venv/bin/python \
#     --pack /tmp/gpu-dry/cifar10.tar.gz --out /tmp/gpu-dry/out --gpu-args "--set ae.width=0.125 ..."
#
# The GPU run (one H200, 15 minutes of device time for everything, start-up included): one call of
# at most 9 minutes with a 7-minute budget, leaving room for one rerun after an early failure
# (docs/gpu_check.md says when and how). The device tool's call:
#   run(command="bash scripts/gpu_check.sh --device cuda --budget 7m", carry=[".gpu_check"], timeout_s=540)
# Then copy results.json, per_image-*.json.gz, claims.{md,json,html} and run.log from the returned files
# into artifacts/gpu/.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
DEVICE=auto
BUDGET=7m
PACK=.gpu_check/cifar10.tar.gz
WHEELS=.gpu_check/wheels
PY="${PYTHON:-python3}"
WORK="${TMPDIR:-/tmp}/repro-gpu-check"
OUTDIR="${OUT:-}"
GPU_ARGS="${REPRO_GPU_ARGS:-}"
FRESH=0
while [ $# -gt 0 ]; do
  case "$1" in
    --device) DEVICE="$2"; shift 2 ;;
    --budget) BUDGET="$2"; shift 2 ;;
    --pack) PACK="$2"; shift 2 ;;
    --wheels) WHEELS="$2"; shift 2 ;;
    --python) PY="$2"; shift 2 ;;
    --work) WORK="$2"; shift 2 ;;
    --out) [ -n "${OUT:-}" ] || OUTDIR="$2"; shift 2 ;;
    --gpu-args) GPU_ARGS="$2"; shift 2 ;;
    --fresh) FRESH=1; shift ;;
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d'; exit 0 ;;
    *) echo "gpu_check.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
OUTDIR="${OUTDIR:-$WORK/out}"
mkdir -p "$OUTDIR" "$WORK"
LOG="$OUTDIR/check.log"
: >"$LOG"
log() { echo "[gpu_check +${SECONDS}s] $*" | tee -a "$LOG"; }
fail() { log "FAILED: $2"; exit "$1"; }
export PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1

log "checkout $ROOT ($(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo 'no git'); \
$(git -C "$ROOT" status --porcelain 2>/dev/null | wc -l) files changed), work $WORK, out $OUTDIR"
log "python $("$PY" -c 'import sys; print(sys.version.split()[0], sys.executable)' 2>&1), $(nproc) cores"
if [ "$DEVICE" = cpu ]; then
  export CUDA_VISIBLE_DEVICES=""  # `repro run` picks cuda when it sees one: hide them
fi
command -v nvidia-smi >/dev/null && [ "$DEVICE" != cpu ] && \
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | sed 's/^/[gpu_check] gpu: /' | tee -a "$LOG"
"$PY" - "$DEVICE" <<'EOF' 2>&1 | tee -a "$LOG"
import sys, torch, torchvision
cuda = torch.cuda.is_available()
print(f"[gpu_check] torch {torch.__version__}, torchvision {torchvision.__version__}, cuda available: {cuda}"
      + (f" ({torch.cuda.get_device_name()}, bf16 {torch.cuda.is_bf16_supported()})" if cuda else ""))
sys.exit(3 if sys.argv[1] == "cuda" and not cuda else 0)
EOF
[ "${PIPESTATUS[0]}" = 0 ] || fail 3 "--device $DEVICE: no CUDA device here"

# 1. install, without network: the wheels brought along, then the project itself, into a target folder.
t=$SECONDS
SITE="$WORK/site"
rm -rf "$SITE"
PIP=("$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --disable-pip-version-check --target "$SITE")
shopt -s nullglob
wheels=("$WHEELS"/*.whl)
shopt -u nullglob
if [ ${#wheels[@]} -gt 0 ]; then
  "${PIP[@]}" "${wheels[@]}" 2>&1 | tee -a "$LOG" || fail 4 "installing ${wheels[*]}"
fi
# --no-build-isolation: the build uses the interpreter's setuptools instead of fetching one. Should the
# build fail there, the checkout itself is importable: the run goes on from it (the log says so).
export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
if ! "${PIP[@]}" --no-build-isolation "$ROOT" >>"$LOG" 2>&1; then
  log "pip install of the project failed (see above); running it from the checkout on PYTHONPATH"
  export PYTHONPATH="$ROOT:$PYTHONPATH"
fi
"$PY" -c "import repro, concepts, graphviz, bitsets, sklearn, skimage, matplotlib, tabulate, tqdm, pytest, scipy
print('[gpu_check] imports ok: repro from', repro.__file__, '; concepts', concepts.__version__)" 2>&1 | tee -a "$LOG"
[ "${PIPESTATUS[0]}" = 0 ] || fail 4 "a package the project needs is missing"
log "installed (${wheels[*]:-no wheels} and the project) in $((SECONDS - t))s"

# 2. the data: one packed file in, an ImageFolder tree out.
t=$SECONDS
if [ -f "$PACK" ]; then
  rm -rf "$WORK/data"
  mkdir -p "$WORK/data"
  tar -xzf "$PACK" -C "$WORK/data" 2>&1 | tee -a "$LOG" || fail 4 "unpacking $PACK"
  export REPRO_DATA="$WORK/data"
  log "unpacked $PACK ($(stat -c %s "$PACK") bytes): $(find "$WORK/data/cifar10/train" -type f | wc -l) training and \
$(find "$WORK/data/cifar10/test" -type f | wc -l) test images in $((SECONDS - t))s"
elif [ -n "${REPRO_DATA:-}" ] && [ -d "$REPRO_DATA/cifar10" ]; then
  log "no pack at $PACK; using REPRO_DATA=$REPRO_DATA"
else
  fail 4 "no pack at $PACK and no CIFAR-10 under \$REPRO_DATA (run scripts/gpu_prepare.sh first)"
fi

# 3. the claims suite at the gpu scale, under the budget.
export REPRO_ARTIFACTS="$WORK/artifacts" REPRO_TIME_BUDGET="$BUDGET" REPRO_GPU_ARGS="$GPU_ARGS"
RUN="$REPRO_ARTIFACTS/gpu"
if [ "$FRESH" = 1 ]; then rm -rf "$RUN"; fi
[ -d "$RUN/ckpt" ] && log "$RUN holds units of an earlier run: finished ones are reused, unfinished ones resumed"
log "pytest paper_claims -m gpu: budget $BUDGET, device $DEVICE${GPU_ARGS:+, repro run $GPU_ARGS}"
t=$SECONDS
"$PY" -m pytest paper_claims -m gpu -p no:cacheprovider -s -q -rfE --tb=line 2>&1 | tee "$OUTDIR/pytest.log"
rc=${PIPESTATUS[0]}
log "pytest exit $rc after $((SECONDS - t))s: $(tail -n 1 "$OUTDIR/pytest.log")"

# 4. collect.
for f in results.json claims.md claims.json claims.html run.log; do
  if [ -f "$RUN/$f" ]; then cp "$RUN/$f" "$OUTDIR/"; else log "missing: $RUN/$f"; fi
done
cp "$RUN"/per_image-*.json.gz "$OUTDIR/" 2>/dev/null || log "missing: $RUN/per_image-*.json.gz (results.json's per-image values)"
"$PY" - "$OUTDIR" <<'EOF' 2>&1 | tee -a "$LOG"
import json, os, sys
out = sys.argv[1]
try:
    r = json.load(open(os.path.join(out, "results.json")))
except (OSError, ValueError) as err:
    sys.exit(f"[gpu_check] no results.json: {err}")
t = r.get("timings_s", {})
print("[gpu_check] stage times (s): " + ", ".join(f"{k} {t[k]:.1f}" for k in ("pretrain", "classifiers", "finetune", "evaluate", "total") if k in t))
b = r.get("budget") or {}
for unit, d in (b.get("units") or {}).items():
    m = d.get("measured") or {}
    if m:
        print(f"[gpu_check] {unit}: {m['images_per_s']:,.0f} images/s; cap {d['cap_images']:,} images "
              f"({d['cap_epochs']:.2f} of {d['configured_epochs']:g} epochs, {d['limited_by']})")
if b:
    print(f"[gpu_check] budget {b['budget_s']:.0f}s; spent {b['spent_at_results_s']:.0f}s when results.json was written")
top1 = r.get("accuracy", {}).get("top1", {})
for k in r.get("classifiers", []):
    print(f"[gpu_check] {k}: top-1 alone {top1.get('none', {}).get(k, float('nan')):.4f}, "
          f"A_S {top1.get('A_S', {}).get(k, float('nan')):.4f}, A_{k} {top1.get('A_' + k, {}).get(k, float('nan')):.4f}")
try:
    c = json.load(open(os.path.join(out, "claims.json")))
    print("[gpu_check] claims: " + ", ".join(f"{n} {v}" for v, n in c.get("counts", {}).items()))
except (OSError, ValueError):
    pass
EOF
log "done in ${SECONDS}s; outputs in $OUTDIR: $(cd "$OUTDIR" && ls | tr '\n' ' ')"
exit "$rc"
