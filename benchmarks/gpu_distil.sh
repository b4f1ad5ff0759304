#!/bin/bash
# experiments/eega_mpnet_distil.json end to end on a GPU machine: three
# MPNet-base teachers (experiments/eega_mpnet.json, seeds 42 43 44) trained
# at once, then three students distilling them, also at once. On a 2-core
# CPU this is about 17 hours (docs/results.md); on an H200 an epoch of
# either takes about 12 s.
#
# Needs, carried by earlier calls of the same lease (scripts/device_bundle.sh):
# .gpu/site (POT), .gpu_e2e (the processed JMERE graphs) and MPNet-base's
# float16 weights in .gpu_mpnet1 .. .gpu_mpnet5.
#
#   DEADLINE=560 bash benchmarks/gpu_distil.sh start   # in the background
#   bash benchmarks/gpu_distil.sh wait SECONDS         # progress, at most SECONDS
#   bash benchmarks/gpu_distil.sh report               # logs and metrics to $OUT
#
# `start` returns at once: the pipeline runs in its own process session, so
# it outlives the call that started it while the machine is held. DEADLINE
# (seconds from the start) ends whatever still trains then; every run's
# log.jsonl keeps the epochs it finished, so a cut run still reports its
# best epoch so far.
SEEDS=${SEEDS:-42 43 44}; DEADLINE=${DEADLINE:-560}; PY=${PY:-python3}
EXTRA=${EXTRA:-}  # more CLI arguments for every run (a CPU try: --device cpu ...)
WORK=runs/gpu_distil
PARTS=${PARTS:-.}  # where .gpu_mpnet1 .. 5 are
SITE=${SITE:-$PWD/.gpu/site}
export PYTHONPATH=$SITE:$PWD PYTHONUNBUFFERED=1 PYTHONWARNINGS=ignore \
    OMP_NUM_THREADS=4 TQDM_DISABLE=1

train() {  # train RUN_DIR SEED CONFIG [more CLI arguments]
  local run=$1 seed=$2 config=$3; shift 3
  # The machine has no spaCy: the graphs were parsed where it is installed.
  $PY -c "import sys; sys.modules['spacy'] = None
from jmere_pyg.cli import main
main(sys.argv[1:])" train --config "$config" --seed "$seed" --run-dir "$run" \
    --show 0 --overwrite $EXTRA "$@" > "$run.out" 2>&1
}

pipeline() {
  local started=$(date +%s)
  left() { echo $(( DEADLINE - ($(date +%s) - started) )); }
  PY=$PY PARTS=$PARTS bash benchmarks/gpu_experiment.sh mpnet cuda "{}" /tmp \
    experiments/eega_mpnet.json experiments/eega_mpnet_distil.json || return 1
  echo "teachers start, $(left) s left"
  for seed in $SEEDS; do
    timeout "$(left)" bash -c "$(declare -f train); PY=$PY EXTRA='$EXTRA'; train $WORK/teacher_seed$seed $seed /tmp/eega_mpnet.json" &
  done
  wait
  echo "teachers done, $(left) s left"
  local teachers=()
  for seed in $SEEDS; do
    [ -d $WORK/teacher_seed$seed/best ] \
      || { echo "teacher seed $seed has no best checkpoint"; return 1; }
    teachers+=($WORK/teacher_seed$seed/best)
  done
  # timeout 0 would mean no limit at all
  [ "$(left)" -gt 60 ] || { echo "no time left for the students"; return 1; }
  for seed in $SEEDS; do
    timeout "$(left)" bash -c "$(declare -f train); PY=$PY EXTRA='$EXTRA'; train $WORK/student_seed$seed $seed /tmp/eega_mpnet_distil.json --teachers ${teachers[*]}" &
  done
  wait
  echo "students done, $(left) s left"
}

summary() {  # one line per epoch of every run
  $PY - $WORK <<'PY'
import json, pathlib, sys
for log in sorted(pathlib.Path(sys.argv[1]).glob("*/log.jsonl")):
    rows = [json.loads(line) for line in open(log)]
    if not rows:
        continue
    best = max(rows, key=lambda r: r["val_strict"]["f1"])
    f1 = lambda r, k: round(100 * r[k]["f1"], 2)
    print(log.parent.name, "epochs", len(rows), "s/epoch",
          round(sum(r["seconds"] for r in rows) / len(rows), 1),
          "best epoch", best["epoch"], "strict", f1(best, "val_strict"),
          "paper", f1(best, "val_paper"), "mner", f1(best, "val_mner"))
    print("   strict by epoch:", " ".join(str(f1(r, "val_strict")) for r in rows))
PY
}

mkdir -p $WORK
case ${1:-} in
  start)
    setsid nohup bash -c "$(declare -f train pipeline); SEEDS='$SEEDS' DEADLINE=$DEADLINE PY=$PY WORK=$WORK EXTRA='$EXTRA' PARTS=$PARTS; pipeline; echo \"pipeline ended, rc \$?\"" \
      > $WORK/pipeline.log 2>&1 < /dev/null &
    echo "started; log: $WORK/pipeline.log" ;;
  wait)
    end=$(( $(date +%s) + ${2:-500} ))
    while [ "$(date +%s)" -lt $end ] && ! grep -q "pipeline ended" $WORK/pipeline.log 2>/dev/null; do
      sleep 10
    done
    cat $WORK/pipeline.log; summary ;;
  report)
    summary | tee ${OUT:-/tmp}/summary.txt
    tar czf ${OUT:-/tmp}/gpu_distil_runs.tar.gz $WORK/pipeline.log $WORK/*.out \
      $WORK/*/log.jsonl $WORK/*/metrics.json $WORK/*/training_config.json 2>/dev/null
    nvidia-smi --query-gpu=name,memory.used --format=csv ;;
  *) echo "usage: $0 start|wait SECONDS|report"; exit 2 ;;
esac
