#!/usr/bin/env bash
# Build .gpu/ (git-ignored, about 21 MB) for a GPU machine that has torch,
# PyG and transformers but neither POT nor spaCy nor the model weights, and
# whose calls carry at most 64 MiB:
#   .gpu/site             POT's cp312 wheel, unpacked, its unused 175 MB BSP
#                         extension replaced by a stub (PYTHONPATH=.gpu/site)
#   .gpu/gpu_step_data    graphs parsed here, MiniLM-L6's config and tokenizer
#   .gpu/gpu_step_mpnet   the same graphs with MPNet-base's config and tokenizer
#   .gpu/run.sh           the measurements of benchmarks/results/gpu.md
# Then, on the GPU machine, carrying .gpu: bash .gpu/run.sh
# Needs .venv (scripts/setup.sh) and the MPNet parts for gpu_step_mpnet.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
grep -qx "/.gpu/" .git/info/exclude 2>/dev/null || echo "/.gpu/" >> .git/info/exclude
mkdir -p .gpu

if [ ! -d .gpu/site/ot ]; then
  version=$($PY -c "import importlib.metadata as m; print(m.version('pot'))")
  wheels=$(mktemp -d)
  $PY -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_28_x86_64 \
    --platform manylinux_2_17_x86_64 -d "$wheels" "pot==$version"
  mkdir -p .gpu/site && (cd .gpu/site && unzip -q "$wheels"/pot-*.whl)
  rm -f .gpu/site/ot/bsp/bsp_wrap*.so "$wheels"/pot-*.whl
  cat > .gpu/site/ot/bsp/bsp_wrap.py <<'STUB'
"""Stub: jmere_pyg never calls POT's BSP solver, whose extension is 175 MB."""


def bsp_solve_c(*args, **kwargs):
    raise NotImplementedError("POT's BSP solver was left out of this bundle")


def merge_bijections_c(*args, **kwargs):
    raise NotImplementedError("POT's BSP solver was left out of this bundle")
STUB
fi

[ -f .gpu/gpu_step_data/graphs.pt ] \
  || $PY benchmarks/gpu_step.py prepare --out .gpu/gpu_step_data

if [ ! -f .gpu/gpu_step_mpnet/encoder/config.json ]; then
  mpnet=$($PY -c "from jmere_pyg.models.eega import resolve_encoder; print(resolve_encoder('all-mpnet-base-v2'))")
  mkdir -p .gpu/gpu_step_mpnet/encoder
  cp .gpu/gpu_step_data/{graphs.pt,graph_builder.json,prepared.json} .gpu/gpu_step_mpnet/
  for f in config.json tokenizer.json tokenizer_config.json special_tokens_map.json vocab.txt; do
    cp "$mpnet/$f" .gpu/gpu_step_mpnet/encoder/
  done
fi

cp benchmarks/results/gpu_h200/run.sh .gpu/run.sh
du -sh .gpu
