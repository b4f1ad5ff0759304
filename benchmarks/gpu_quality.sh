#!/bin/bash
# benchmarks/quality.py's runs on a GPU machine, all at once: at batch 16
# the GPU waits on the host most of a training step
# (benchmarks/results/gpu.md), so several training processes share it.
#
# Needs .gpu/site, .gpu_e2e and .gpu_minilm from scripts/device_bundle.sh
# (POT, the processed JMERE graphs, MiniLM-L6 in float16), carried with the
# call:
#   VARIANTS="eega bilinear" SEEDS="42 43 44" bash benchmarks/gpu_quality.sh
# With ENCODER=mpnet, experiments/eega_mpnet.json's runs instead, from the
# five parts .gpu_mpnet1 .. .gpu_mpnet5 carried by earlier calls.
# Writes quality.md, quality.json and runs.tar.gz (every run's log, metrics
# and output) to $OUT.
VARIANTS=${VARIANTS:-eega}; SEEDS=${SEEDS:-42 43 44}; EPOCHS=${EPOCHS:-30}
DEVICE=${DEVICE:-cuda}; PY=${PY:-python3}; CONFIG_EXTRA=${CONFIG_EXTRA:-"{}"}
SITE=${SITE:-$PWD/.gpu/site}; ENCODER=${ENCODER:-minilm}
RUNS=${RUNS:-runs/gpu_quality_$ENCODER}
OUT=${OUT:-/tmp/gpu_quality_out}
export PYTHONPATH=$SITE:$PWD PYTHONUNBUFFERED=1 PYTHONWARNINGS=ignore \
    OMP_NUM_THREADS=2 TQDM_DISABLE=1
mkdir -p "$OUT" "$RUNS" data
tar xzf .gpu_e2e/jmere.tar.gz -C data
case $ENCODER in
  minilm) FLOAT16=.gpu_minilm; EXPERIMENT=experiments/eega_minilm.json ;;
  mpnet)
    FLOAT16=/tmp/mpnet16; EXPERIMENT=experiments/eega_mpnet.json
    mkdir -p $FLOAT16 && cp .gpu_mpnet1/{config.json,tokenizer*.json,sha256} $FLOAT16/
    cat .gpu_mpnet{1,2,3,4,5}/part > $FLOAT16/model.safetensors \
      && (cd $FLOAT16 && sha256sum -c sha256) \
      || { echo "MPNet's parts are missing or stale: carry .gpu_mpnet1..5"; exit 1; } ;;
  *) echo "ENCODER must be minilm or mpnet, got '$ENCODER'"; exit 1 ;;
esac
# The weights in float32 again, and the experiment file pointed at them, at
# the carried data and at the device.
$PY - "$DEVICE" "$CONFIG_EXTRA" "$FLOAT16" "$EXPERIMENT" <<'PY' || exit 1
import json, sys
import torch
from transformers import AutoModel, AutoTokenizer
device, extra, float16, experiment = sys.argv[1:]
AutoModel.from_pretrained(float16, dtype=torch.float32).save_pretrained(
    "/tmp/encoder32")
AutoTokenizer.from_pretrained(float16).save_pretrained("/tmp/encoder32")
config = json.load(open(experiment))
config.update(mnre_dir="data/jmere/raw", device=device, **json.loads(extra))
config["model"] = {**config.get("model", {}), "encoder": "/tmp/encoder32"}
json.dump(config, open("/tmp/gpu_quality.json", "w"), indent=1)
PY
started=$(date +%s)
for variant in $VARIANTS; do
  for seed in $SEEDS; do
    $PY benchmarks/quality.py --config /tmp/gpu_quality.json \
      --variants "$variant" --seeds "$seed" --epochs "$EPOCHS" --runs "$RUNS" \
      --out "/tmp/quality_${variant}_$seed.md" > "$RUNS/${variant}_seed$seed.log" 2>&1 &
  done
done
wait
echo "all runs: $(( $(date +%s) - started )) s"
$PY benchmarks/quality.py --config /tmp/gpu_quality.json --variants $VARIANTS \
  --seeds $SEEDS --epochs "$EPOCHS" --runs "$RUNS" --report-only \
  --out "$OUT/quality.md" --json "$OUT/quality.json" > /dev/null
head -40 "$OUT/quality.md"
tar czf "$OUT/runs.tar.gz" "$RUNS"/*.log "$RUNS"/*/log.jsonl "$RUNS"/*/metrics.json
