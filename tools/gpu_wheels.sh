#!/usr/bin/env bash
# Fetch what tools/gpu_check.sh installs on a GPU machine without network.
#
#   bash tools/gpu_wheels.sh [DIR]        # default: wheels/ (git-ignored)
#
# Run on a machine that reaches the package registries. Downloads, for
# CPython 3.12 on manylinux x86_64, the wheels of mmengine, mmsegmentation
# and the pure-Python packages they need that the GPU image lacks, the
# source archive of mmcv 2.1.0 (no wheel exists for current torch: its ops
# are compiled there), and a setuptools < 70 wheel (mmcv 2.1.0's setup.py
# does not build with later ones). Prints each file with its size, and the
# total.
#
# Left out, as the GPU image has them: torch, numpy, opencv-python-headless
# (mmengine's and mmcv's metadata ask for opencv-python, which is why
# gpu_check.sh installs with --no-deps), matplotlib, scipy, rich, pyyaml,
# packaging, pillow, regex, pytest, wheel, ninja.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${1:-wheels}
PY=${PYTHON:-python3}
mkdir -p "$DIR"

# name==version of every wheel; versions are those the tests pass with
WHEELS=(
  mmengine==0.10.7
  mmsegmentation==1.2.2
  addict==2.4.0
  yapf==0.43.0
  platformdirs==4.14.9   # yapf's dependency
  termcolor==3.3.0
  prettytable==3.18.0
  wcwidth==0.7.0         # prettytable's and ftfy's dependency
  ftfy==6.3.1
  "setuptools<70"       # for building mmcv 2.1.0 only
)

echo "[gpu_wheels] wheels for CPython 3.12 manylinux x86_64 into $DIR/"
"$PY" -m pip download --quiet --no-deps --only-binary=:all: \
  --python-version 3.12 --implementation cp --abi cp312 \
  --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 \
  --platform any -d "$DIR" "${WHEELS[@]}"
echo "[gpu_wheels] mmcv 2.1.0 source archive"
# pip reads the archive's metadata with its setup.py, which imports
# pkg_resources: run it with the setuptools < 70 just fetched
OLD_SETUPTOOLS=$(mktemp -d)
trap 'rm -rf "$OLD_SETUPTOOLS"' EXIT
"$PY" -m pip install --quiet --root-user-action=ignore --no-index --no-deps \
  --target "$OLD_SETUPTOOLS" "$DIR"/setuptools-*.whl
PYTHONPATH="$OLD_SETUPTOOLS${PYTHONPATH:+:$PYTHONPATH}" \
  "$PY" -m pip download --quiet --no-deps --no-binary=:all: \
  --no-build-isolation -d "$DIR" mmcv==2.1.0

# gpu_check.sh installs every wheel of the folder: one version of each
DUPLICATES=$(ls "$DIR" | sed 's/-[0-9].*//' | sort | uniq -d)
if [ -n "$DUPLICATES" ]; then
  echo "[gpu_wheels] $DIR holds several versions of: $DUPLICATES; remove the old files" >&2
  exit 1
fi
echo "[gpu_wheels] fetched:"
ls -l "$DIR" | awk 'NR > 1 { printf "  %8.1f KiB  %s\n", $5 / 1024, $9 }'
du -sb "$DIR" | awk '{ printf "[gpu_wheels] total: %.2f MiB\n", $1 / 1048576 }'
