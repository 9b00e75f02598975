#!/usr/bin/env bash
# GPU check in one command: install from a wheels folder without network,
# then run every benchmark and training check into one report.
#
#   bash tools/gpu_check.sh --wheels wheels --out "$OUT"      # GPU machine
#   bash tools/gpu_check.sh --device cpu --dry-run             # CPU rehearsal
#
# Options (tools/gpu_check.py --help): --wheels DIR (default wheels/, made by
# tools/gpu_wheels.sh), --out DIR (default $OUT when set, else
# work_dirs/gpu_check), --budget-s S (default 480, the install included),
# --device cuda|cpu, --dry-run, --methods M..., --jobs N, --work-dir DIR.
# The Python used is $PYTHON (default: python3, the one that holds torch).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if ! "$PY" -c "import torch" >/dev/null 2>&1; then
  echo "[gpu_check] $PY cannot import torch: set PYTHON to the interpreter that holds it" >&2
  exit 2
fi
exec env PYTHONUNBUFFERED=1 "$PY" tools/gpu_check.py "$@"
