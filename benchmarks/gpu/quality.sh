#!/bin/bash
# benchmarks/quality/quality.py's runs on a GPU machine, all at once: at batch 16
# the GPU waits on the host most of a training step
# (benchmarks/results/gpu.md), so several training processes share it.
#
# Needs .gpu/site, .gpu_e2e and .gpu_minilm from scripts/device_bundle.sh
# (POT, the processed JMERE graphs, MiniLM-L6 in float16), carried with the
# call:
#   VARIANTS="eega bilinear" SEEDS="42 43 44" bash benchmarks/gpu/quality.sh
# With ENCODER=mpnet, experiments/eega_mpnet.json's runs instead, from the
# five parts .gpu_mpnet1 .. .gpu_mpnet5 that earlier calls copied to PARTS
# (prepare_experiment.sh).
# Writes quality.md, quality.json and runs.tar.gz (every run's log, metrics
# and output) to $OUT.
VARIANTS=${VARIANTS:-eega}; SEEDS=${SEEDS:-42 43 44}; EPOCHS=${EPOCHS:-30}
DEVICE=${DEVICE:-cuda}; PY=${PY:-python3}; CONFIG_EXTRA=${CONFIG_EXTRA:-"{}"}
SITE=${SITE:-$PWD/.gpu/site}; ENCODER=${ENCODER:-minilm}
RUNS=${RUNS:-runs/gpu_quality_$ENCODER}
OUT=${OUT:-/tmp/gpu_quality_out}
export PYTHONPATH=$SITE:$PWD PYTHONUNBUFFERED=1 PYTHONWARNINGS=ignore \
    OMP_NUM_THREADS=2 TQDM_DISABLE=1
mkdir -p "$OUT" "$RUNS"
case $ENCODER in
  minilm) EXPERIMENT=eega_minilm.json ;;
  mpnet) EXPERIMENT=eega_mpnet.json ;;
  *) echo "ENCODER must be minilm or mpnet, got '$ENCODER'"; exit 1 ;;
esac
# The weights in float32 again, and the experiment file pointed at them, at
# the carried data and at the device.
PY=$PY bash benchmarks/gpu/prepare_experiment.sh $ENCODER "$DEVICE" "$CONFIG_EXTRA" \
  /tmp/gpu_quality experiments/$EXPERIMENT || exit 1
CONFIG=/tmp/gpu_quality/$EXPERIMENT
started=$(date +%s)
for variant in $VARIANTS; do
  for seed in $SEEDS; do
    $PY benchmarks/quality/quality.py --config $CONFIG \
      --variants "$variant" --seeds "$seed" --epochs "$EPOCHS" --runs "$RUNS" \
      --out "/tmp/quality_${variant}_$seed.md" > "$RUNS/${variant}_seed$seed.log" 2>&1 &
  done
done
wait
echo "all runs: $(( $(date +%s) - started )) s"
$PY benchmarks/quality/quality.py --config $CONFIG --variants $VARIANTS \
  --seeds $SEEDS --epochs "$EPOCHS" --runs "$RUNS" --report-only \
  --out "$OUT/quality.md" --json "$OUT/quality.json" > /dev/null
head -40 "$OUT/quality.md"
tar czf "$OUT/runs.tar.gz" "$RUNS"/*.log "$RUNS"/*/log.jsonl "$RUNS"/*/metrics.json
