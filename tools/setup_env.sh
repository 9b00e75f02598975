#!/usr/bin/env bash
# Turn a machine with only Python into a working mmseg_reco environment.
#
#   bash tools/setup_env.sh            # packages + this repo (editable) + demo data
#   SKIP_DEMO_DATA=1 bash tools/setup_env.sh   # no demo data, no pre-training
#   SKIP_PRETRAIN=1 bash tools/setup_env.sh    # demo data, no pre-training
#
# Installs into the Python found as $PYTHON (default: python3). Each step is
# skipped when what it installs is already importable, so a second run takes
# seconds. mmcv 2.1.0 has no wheel for current torch: it is compiled with its
# ops (about 11 minutes on 2 cores); pip caches the wheel for later runs.
#
# Overrides: TORCH_SPEC (default "torch==2.13.0"; on a machine without CUDA use
# a CPU build, e.g. TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
PIP="$PY -m pip"
TORCH_SPEC=${TORCH_SPEC:-"torch==2.13.0"}

have() { "$PY" -c "$1" >/dev/null 2>&1; }
step() { echo "[setup_env] $*"; }

if have "import torch"; then
  step "torch $("$PY" -c 'import torch; print(torch.__version__)') present"
else
  step "installing $TORCH_SPEC"
  if [ -n "${TORCH_INDEX_URL:-}" ]; then
    $PIP install "$TORCH_SPEC" --index-url "$TORCH_INDEX_URL"
  else
    $PIP install "$TORCH_SPEC"
  fi
fi

if have "import mmcv, mmcv.ops; assert mmcv.__version__ == '2.1.0'"; then
  step "mmcv 2.1.0 with ops present"
else
  # mmcv's setup.py needs pkg_resources (setuptools < 70) and must see the
  # installed torch (no build isolation).
  $PIP install "setuptools<70" wheel
  step "building mmcv 2.1.0 with its compiled ops (about 11 minutes on 2 cores)"
  MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} \
    $PIP install --no-build-isolation mmcv==2.1.0
fi

# mmengine resolves the configs' 'mmseg::' paths with pkg_resources, which
# setuptools 81 and later no longer ship
have "import pkg_resources" || $PIP install "setuptools<81"

if have "import mmseg, mmengine, pytest, cv2, scipy, matplotlib, ftfy, regex; import mmseg_reco; assert mmengine.__version__ == '0.10.7'"; then
  step "mmengine, mmsegmentation and mmseg_reco present"
else
  step "installing mmengine, mmsegmentation and the test requirements"
  $PIP install -r requirements.txt
  step "installing mmseg_reco (editable)"
  $PIP install --no-build-isolation --no-deps -e .
fi

if [ -z "${SKIP_DEMO_DATA:-}" ]; then
  if ! dpkg -s dataset-fashion-mnist >/dev/null 2>&1; then
    step "installing Debian's dataset-fashion-mnist"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq dataset-fashion-mnist
  fi
  "$PY" tools/prepare_demo.py
  "$PY" tools/make_splits.py class-balanced --dataset fashion_canvas \
    --data-root data/fashion_canvas --num-labelled 60 --seed 0
  "$PY" tools/make_splits.py partial --dataset fashion_canvas \
    --data-root data/fashion_canvas --share 1% --seed 0
  "$PY" tools/make_splits.py class-balanced --dataset fashion_canvas \
    --data-root data/fashion_canvas --num-labelled 20 --seed 0
  # the label-efficiency benchmark's and the demo's split
  "$PY" tools/make_splits.py class-balanced --dataset fashion_canvas \
    --data-root data/fashion_canvas --num-labelled 10 --seed 0
  # the demo's backbone, pre-trained on Fashion-MNIST (the papers start
  # from ImageNet weights; nothing is downloaded): 5-9 minutes on 2 cores
  PRETRAINED=$("$PY" -c 'import sys; sys.path.insert(0, "tools"); from demo_support import PRETRAINED_CHECKPOINT as p; print(p)')
  if [ -n "${SKIP_PRETRAIN:-}" ]; then
    step "skipping the backbone pre-training (SKIP_PRETRAIN)"
  elif [ -f "$PRETRAINED" ]; then
    step "pre-trained demo backbone present ($PRETRAINED)"
  else
    step "pre-training the demo backbone on Fashion-MNIST"
    "$PY" tools/pretrain_backbone.py --out "$PRETRAINED"
  fi
fi
step "ready"
