#!/bin/bash
# benchmarks/quality.py's runs on a GPU machine, all at once: at batch 16
# the GPU waits on the host most of a training step
# (benchmarks/results/gpu.md), so several training processes share it.
#
# Needs .gpu/site, .gpu_e2e and .gpu_minilm from scripts/device_bundle.sh
# (POT, the processed JMERE graphs, MiniLM-L6 in float16), carried with the
# call:
#   VARIANTS="eega bilinear" SEEDS="42 43 44" bash benchmarks/gpu_quality.sh
# Writes quality.md, quality.json and runs.tar.gz (every run's log, metrics
# and output) to $OUT.
VARIANTS=${VARIANTS:-eega}; SEEDS=${SEEDS:-42 43 44}; EPOCHS=${EPOCHS:-30}
DEVICE=${DEVICE:-cuda}; PY=${PY:-python3}; CONFIG_EXTRA=${CONFIG_EXTRA:-"{}"}
SITE=${SITE:-$PWD/.gpu/site}; RUNS=${RUNS:-runs/gpu_quality}
OUT=${OUT:-/tmp/gpu_quality_out}
export PYTHONPATH=$SITE:$PWD PYTHONUNBUFFERED=1 PYTHONWARNINGS=ignore \
    OMP_NUM_THREADS=2 TQDM_DISABLE=1
mkdir -p "$OUT" "$RUNS" data
tar xzf .gpu_e2e/jmere.tar.gz -C data
# The weights in float32 again, and the main job's experiment file pointed
# at them, at the carried data and at the device.
$PY - "$DEVICE" "$CONFIG_EXTRA" <<'PY' || exit 1
import json, sys
import torch
from transformers import AutoModel, AutoTokenizer
AutoModel.from_pretrained(".gpu_minilm", dtype=torch.float32).save_pretrained(
    "/tmp/minilm32")
AutoTokenizer.from_pretrained(".gpu_minilm").save_pretrained("/tmp/minilm32")
config = json.load(open("experiments/eega_minilm.json"))
config.update(mnre_dir="data/jmere/raw", device=sys.argv[1],
              **json.loads(sys.argv[2]))
config["model"] = {**config.get("model", {}), "encoder": "/tmp/minilm32"}
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
cat "$OUT/quality.md" | head -40
tar czf "$OUT/runs.tar.gz" "$RUNS"/*.log "$RUNS"/*/log.jsonl "$RUNS"/*/metrics.json
