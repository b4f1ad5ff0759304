#!/bin/bash
# The main job's configuration with the real MiniLM-L6 weights on the GPU:
# the weights travel in float16 (45 MB) and are restored to float32 there.
DEVICE=${DEVICE:-cuda}; EXTRA=${EXTRA:-}; LIMIT=${LIMIT:-215}
export PYTHONPATH=$PWD/.gpu/site:$PWD PYTHONUNBUFFERED=1 PYTHONWARNINGS=ignore
OUT=${OUT:-/tmp/minilm_out}; mkdir -p $OUT
exec > >(tee $OUT/minilm.txt) 2>&1
mkdir -p data && tar xzf .gpu_e2e/jmere.tar.gz -C data
python3 - <<'PY'
import torch
from transformers import AutoModel, AutoTokenizer
model = AutoModel.from_pretrained(".gpu_minilm", dtype=torch.float32)
print("restored", type(model).__name__, next(model.parameters()).dtype)
model.save_pretrained("/tmp/minilm32")
AutoTokenizer.from_pretrained(".gpu_minilm").save_pretrained("/tmp/minilm32")
PY
timeout $LIMIT python3 -c "
import sys; sys.modules['spacy'] = None
from jmere_pyg.cli import main
main(['train', '--config', 'experiments/eega_minilm.json', '--encoder', '/tmp/minilm32', '--mnre-dir', 'data/jmere/raw', '--device', '$DEVICE', '--run-dir', 'runs/gpu_minilm_real', '--show', '0', '--overwrite'] + '$EXTRA'.split())
" 2>&1 | tr '\r' '\n' | grep -v "it/s" | tail -30
cp runs/gpu_minilm_real/log.jsonl $OUT/minilm_real_log.jsonl
python3 -c "
import json
for line in open('runs/gpu_minilm_real/log.jsonl'):
    r = json.loads(line); print('epoch', r['epoch'], 's', r['seconds'], 'strict', round(100 * r['val_strict']['f1'], 2), 'paper', round(100 * r['val_paper']['f1'], 2), 'mner', round(100 * r['val_mner']['f1'], 2), 'best' if r.get('best') else '')"
