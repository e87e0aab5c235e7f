#!/usr/bin/env bash
# Prepares, on a machine with the data and a package index, what scripts/gpu_check.sh needs on a
# machine without network access, in one git-ignored folder (default .gpu_check/) that the device
# call carries with the working tree:
#
#   .gpu_check/wheels/*.whl     the dependencies that the accelerator's Python lacks (its image has torch,
#                               torchvision, numpy, scipy, scikit-learn, scikit-image, matplotlib, tabulate,
#                               tqdm, pytest, hypothesis, setuptools): concepts 0.9.2 and its two
#                               requirements bitsets 0.9.1 and graphviz 0.21, all pure Python
#                               (py3-none-any), fetched with the device README's recipe for Python 3.12
#                               on manylinux x86_64 (92 KB in all)
#   .gpu_check/cifar10.tar.gz   CIFAR-10's ImageFolder tree cifar10/{train,test}/<class>/*.jpg from
#                               $REPRO_DATA (default ../shared/data) in one gzip-9 tar: 60,000 JPEGs,
#                               55.3 MB of files, 19.2 MB packed (the JPEG headers compress across files).
#                               Deterministic: sorted names, zero mtimes and owners.
#
# Usage: bash scripts/gpu_prepare.sh [--dest DIR] [--train-per-class N] [--test-per-class N]
#                                    [--no-wheels] [--no-pack]
#   --train-per-class/--test-per-class pack the first N images of each class only (the dry run's
#   small subset); the default packs everything. At the end it prints what would travel: the
#   tracked and untracked-not-ignored files plus DIR, which must stay under the device's 64 MiB.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
DEST=.gpu_check
TRAIN_N=""
TEST_N=""
WHEELS=1
PACK=1
while [ $# -gt 0 ]; do
  case "$1" in
    --dest) DEST="$2"; shift 2 ;;
    --train-per-class) TRAIN_N="$2"; shift 2 ;;
    --test-per-class) TEST_N="$2"; shift 2 ;;
    --no-wheels) WHEELS=0; shift ;;
    --no-pack) PACK=0; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
    *) echo "gpu_prepare.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [ -x .venv/bin/python ]; then PY="${PYTHON:-.venv/bin/python}"; else PY="${PYTHON:-python3}"; fi
DATA="${REPRO_DATA:-$ROOT/../shared/data}"
mkdir -p "$DEST"

if [ "$WHEELS" = 1 ]; then
  rm -rf "$DEST/wheels"
  mkdir -p "$DEST/wheels"
  # One version of each (two stop the whole install there); --no-deps: each requirement named here.
  "$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d "$DEST/wheels" \
    concepts==0.9.2 bitsets==0.9.1 graphviz==0.21
  for w in "$DEST"/wheels/*.whl; do
    need=$(unzip -p "$w" '*/METADATA' | { grep '^Requires-Dist' || true; } | { grep -v 'extra ==' || true; } |
           sed 's/Requires-Dist: //' | tr '\n' ' ')
    echo "wheel $(basename "$w") ($(stat -c %s "$w") bytes); requires: ${need:-nothing}"
  done
fi

if [ "$PACK" = 1 ]; then
  [ -d "$DATA/cifar10/train" ] && [ -d "$DATA/cifar10/test" ] || {
    echo "gpu_prepare.sh: no CIFAR-10 ImageFolder tree under $DATA/cifar10 (set REPRO_DATA)" >&2; exit 1; }
  "$PY" - "$DATA" "$DEST/cifar10.tar.gz" "$TRAIN_N" "$TEST_N" <<'EOF'
import gzip, os, sys, tarfile
root, dest, train_n, test_n = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
limit = {"train": int(train_n) if train_n else None, "test": int(test_n) if test_n else None}
files = []
for split in ("test", "train"):
    for cls in sorted(os.listdir(os.path.join(root, "cifar10", split))):
        folder = os.path.join(root, "cifar10", split, cls)
        if not os.path.isdir(folder):
            continue
        names = sorted(f for f in os.listdir(folder) if f.lower().endswith((".jpg", ".jpeg", ".png")))
        files += [f"cifar10/{split}/{cls}/{f}" for f in names[: limit[split]]]
tmp = dest + ".tmp"
with open(tmp, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0) as gz, \
        tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
    for rel in files:
        info = tar.gettarinfo(os.path.join(root, rel), arcname=rel)
        info.mtime, info.uid, info.gid, info.uname, info.gname, info.mode = 0, 0, 0, "", "", 0o644
        with open(os.path.join(root, rel), "rb") as fh:
            tar.addfile(info, fh)
os.replace(tmp, dest)
print(f"pack {dest}: {len(files):,} images, {os.path.getsize(dest) / 1e6:.1f} MB")
EOF
  sha256sum "$DEST/cifar10.tar.gz"
fi

# What travels with the working tree to the device: tracked and untracked-not-ignored files, plus DEST.
tree=$(git ls-files -co --exclude-standard -z | xargs -0 stat -c %s 2>/dev/null | awk '{s+=$1} END {print s+0}')
extra=$(du -sb "$DEST" | cut -f1)
total=$((tree + extra))
echo "would travel: $((total / 1048576)) MiB ($tree bytes of the tree + $extra of $DEST); the limit is 64 MiB"
[ "$total" -lt $((64 * 1048576)) ] || { echo "gpu_prepare.sh: over the device's 64 MiB" >&2; exit 1; }
