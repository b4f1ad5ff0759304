#!/bin/bash
# The training CLI end to end on the GPU: random encoders of MiniLM-L6's and
# MPNet-base's shapes (config.json only; weights cannot travel), the real
# processed JMERE train/val graphs, spaCy blocked (the machine has none).
DEVICE=${DEVICE:-cuda}; EPOCHS=${EPOCHS:-2}; EXTRA=${EXTRA:-}
export PYTHONPATH=$PWD/.gpu/site:$PWD PYTHONUNBUFFERED=1 PYTHONWARNINGS=ignore
OUT=${OUT:-/tmp/e2e_out}; mkdir -p $OUT
exec > >(tee $OUT/e2e.txt) 2>&1
mkdir -p data && tar xzf .gpu_e2e/jmere.tar.gz -C data
python3 - <<'PY'
from transformers import AutoConfig, AutoModel, AutoTokenizer
for name in ("minilm", "mpnet"):
    config = AutoConfig.from_pretrained(f".gpu_e2e/{name}")
    AutoModel.from_config(config).save_pretrained(f"/tmp/{name}_random")
    AutoTokenizer.from_pretrained(f".gpu_e2e/{name}").save_pretrained(f"/tmp/{name}_random")
PY
train() {  # config, encoder, run dir
  echo "=== $1 with $2 ($(date +%T))"
  /usr/bin/time -f "wall %e s" python3 -c "
import sys; sys.modules['spacy'] = None
from jmere_pyg.cli import main
main(['train', '--config', '$1', '--encoder', '$2', '--mnre-dir', 'data/jmere/raw', '--device', '$DEVICE', '--epochs', '$EPOCHS', '--run-dir', '$3', '--show', '1', '--overwrite'] + '$EXTRA'.split())
" 2>&1 | tr '\r' '\n' | grep -E "217/217|^[^e]|^epoch [0-9]+ " | grep -v "it/s\]$" | tail -40
  python3 -c "
import json
for line in open('$3/log.jsonl'):
    r = json.loads(line); print('epoch', r['epoch'], 'seconds', r['seconds'], 'loss', round(r['loss'], 4), 'val strict F1', r['val_strict']['f1'])"
  cp $3/log.jsonl $OUT/$(basename $3)_log.jsonl
}
timeout 150 bash -c "$(declare -f train); DEVICE=$DEVICE EPOCHS=$EPOCHS EXTRA='$EXTRA' OUT=$OUT train experiments/eega_minilm.json /tmp/minilm_random runs/gpu_minilm"
timeout 150 bash -c "$(declare -f train); DEVICE=$DEVICE EPOCHS=$EPOCHS EXTRA='$EXTRA' OUT=$OUT train experiments/eega_mpnet.json /tmp/mpnet_random runs/gpu_mpnet"
nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null
