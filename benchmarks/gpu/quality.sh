#!/bin/bash
# benchmarks/quality/quality.py's runs on a GPU machine, all at once: at batch 16
# the GPU waits on the host most of a training step
# (benchmarks/results/gpu.md), so several training processes share it.
#
# Needs .gpu/site, .gpu_e2e and .gpu_minilm from scripts/device_bundle.sh
# (POT, the processed JMERE graphs, MiniLM-L6 in float16), carried with the
# call:
#   VARIANTS="eega bilinear" SEEDS="42 43 44" bash benchmarks/gpu/quality.sh
# With ENCODER=mpnet, the mpnet variants instead (default mpnet:
# experiments/eega_mpnet.json's runs), from the five parts .gpu_mpnet1 ..
# .gpu_mpnet5 that earlier calls copied to PARTS (prepare_experiment.sh).
# mpnet_distil needs its teachers' runs: distil.sh runs it.
# Writes quality.md, quality.json and runs.tar.gz (every run's log, metrics
# and output) to $OUT.
SEEDS=${SEEDS:-42 43 44}; EPOCHS=${EPOCHS:-30}
DEVICE=${DEVICE:-cuda}; PY=${PY:-python3}; CONFIG_EXTRA=${CONFIG_EXTRA:-"{}"}
SITE=${SITE:-$PWD/.gpu/site}; ENCODER=${ENCODER:-minilm}
RUNS=${RUNS:-runs/gpu_quality_$ENCODER}
OUT=${OUT:-/tmp/gpu_quality_out}
export PYTHONPATH=$SITE:$PWD PYTHONUNBUFFERED=1 PYTHONWARNINGS=ignore \
    OMP_NUM_THREADS=2 TQDM_DISABLE=1
mkdir -p "$OUT" "$RUNS"
case $ENCODER in
  minilm) VARIANTS=${VARIANTS:-eega} ;;
  mpnet) VARIANTS=${VARIANTS:-mpnet} ;;
  *) echo "ENCODER must be minilm or mpnet, got '$ENCODER'"; exit 1 ;;
esac
FILES=()
for variant in $VARIANTS; do  # every variant reads ENCODER's weights
  [[ $variant == mpnet* ]] && needs=mpnet || needs=minilm
  [ $needs = $ENCODER ] && [ $variant != mpnet_distil ] \
    || { echo "variant $variant cannot run here with ENCODER=$ENCODER"; exit 1; }
  FILES+=(experiments/variants/$variant.json)
done
# The weights in float32 again, and the variants' experiment files extended
# with them, the carried data and the device.
VARIANTS_DIR=/tmp/gpu_quality/variants
PY=$PY bash benchmarks/gpu/prepare_experiment.sh $ENCODER "$DEVICE" "$CONFIG_EXTRA" \
  $VARIANTS_DIR "${FILES[@]}" || exit 1
started=$(date +%s)
for variant in $VARIANTS; do
  for seed in $SEEDS; do
    $PY benchmarks/quality/quality.py --variants-dir $VARIANTS_DIR \
      --variants "$variant" --seeds "$seed" --epochs "$EPOCHS" --runs "$RUNS" \
      --out "/tmp/quality_${variant}_$seed.md" > "$RUNS/${variant}_seed$seed.log" 2>&1 &
  done
done
wait
echo "all runs: $(( $(date +%s) - started )) s"
$PY benchmarks/quality/quality.py --variants-dir $VARIANTS_DIR --variants $VARIANTS \
  --seeds $SEEDS --epochs "$EPOCHS" --runs "$RUNS" --report-only \
  --out "$OUT/quality.md" --json "$OUT/quality.json" > /dev/null
head -40 "$OUT/quality.md"
tar czf "$OUT/runs.tar.gz" "$RUNS"/*.log "$RUNS"/*/log.jsonl "$RUNS"/*/metrics.json
