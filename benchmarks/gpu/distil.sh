#!/bin/bash
# experiments/eega_mpnet_distil.json on a GPU machine: three MPNet-base
# teachers (experiments/eega_mpnet.json, seeds 42 43 44) trained at once,
# their probabilities on the training posts written to a teacher-targets
# file (`jmere-pyg teach`, each word pair's top 4 tags), then three
# students distilling that file, also at once. The two stages together take
# longer than one 15-minute lease of the device tool (their times on the
# H200: benchmarks/results/gpu.md), so they can run in two leases: the
# first brings the file back (`report`), and the second starts from it with
# TARGETS=FILE, carried with the call. A file committed under
# benchmarks/targets/ travels with every call: with one of those the
# students alone fit one lease.
#
# Needs, from scripts/device_bundle.sh: .gpu/site (POT) and .gpu_e2e (the
# processed JMERE graphs) carried with the call, MPNet-base's float16 parts
# .gpu_mpnet1 .. 5 copied to PARTS by earlier calls of the same lease.
#
#   PARTS=/root/parts DEADLINE=560 bash benchmarks/gpu/distil.sh start
#   bash benchmarks/gpu/distil.sh wait SECONDS   # progress, at most SECONDS
#   bash benchmarks/gpu/distil.sh report         # logs, metrics, file to $OUT
#
# `start` returns at once: the pipeline runs in its own process session, so
# it outlives the call that started it while the machine is held. DEADLINE
# (seconds from the start) ends whatever still trains then; every run's
# log.jsonl keeps the epochs it finished, so a cut run still reports its
# best epoch so far.
SEEDS=${SEEDS:-42 43 44}; DEADLINE=${DEADLINE:-560}; PY=${PY:-python3}
DEVICE=${DEVICE:-cuda}; CONFIG_EXTRA=${CONFIG_EXTRA:-"{}"}  # into both configs
EXTRA=${EXTRA:-}  # more train arguments for every run
TARGETS=${TARGETS:-}  # a teacher-targets file: skip the teachers
WORK=runs/gpu_distil
PARTS=${PARTS:-.}  # where .gpu_mpnet1 .. 5 are
SITE=${SITE:-$PWD/.gpu/site}
export PYTHONPATH=$SITE:$PWD PYTHONUNBUFFERED=1 PYTHONWARNINGS=ignore \
    OMP_NUM_THREADS=4 TQDM_DISABLE=1

cli() {  # cli COMMAND [arguments]: the jmere-pyg command line
  # The machine has no spaCy: the graphs were parsed where it is installed.
  $PY -c "import sys; sys.modules['spacy'] = None
from jmere_pyg.cli import main
sys.exit(main(sys.argv[1:]))" "$@"
}

train() {  # train RUN_DIR SEED CONFIG [more CLI arguments]
  local run=$1 seed=$2 config=$3; shift 3
  cli train --config "$config" --seed "$seed" --run-dir "$run" --show 0 \
    --overwrite $EXTRA "$@" > "$run.out" 2>&1
}

pipeline() {
  local started=$(date +%s)
  # At least 1: `timeout 0` would mean no limit at all.
  left() { local s=$(( DEADLINE - ($(date +%s) - started) )); echo $(( s > 1 ? s : 1 )); }
  PY=$PY PARTS=$PARTS bash benchmarks/gpu/prepare_experiment.sh mpnet $DEVICE "$CONFIG_EXTRA" /tmp \
    experiments/eega_mpnet.json experiments/eega_mpnet_distil.json || return 1
  local targets=$TARGETS
  if [ -z "$targets" ]; then
    echo "teachers start, $(left) s left"
    for seed in $SEEDS; do
      timeout "$(left)" bash -c "$(declare -f cli train); PY=$PY EXTRA='$EXTRA'; train $WORK/teacher_seed$seed $seed /tmp/eega_mpnet.json" &
    done
    wait
    echo "teachers done, $(left) s left"
    local teachers=()
    for seed in $SEEDS; do
      [ -d $WORK/teacher_seed$seed/best ] \
        || { echo "teacher seed $seed has no best checkpoint"; return 1; }
      teachers+=($WORK/teacher_seed$seed/best)
    done
    targets=$WORK/teacher_targets.pt
    cli teach --config /tmp/eega_mpnet.json --teachers ${teachers[*]} \
      --output $targets --overwrite > $WORK/teach.out 2>&1 || return 1
    echo "teacher targets written, $(left) s left"
  fi
  [ "$(left)" -gt 60 ] || { echo "no time left for the students"; return 1; }
  for seed in $SEEDS; do
    timeout "$(left)" bash -c "$(declare -f cli train); PY=$PY EXTRA='$EXTRA'; train $WORK/student_seed$seed $seed /tmp/eega_mpnet_distil.json --teacher-targets $targets" &
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
    setsid nohup bash -c "$(declare -f cli train pipeline); SEEDS='$SEEDS' DEADLINE=$DEADLINE PY=$PY WORK=$WORK EXTRA='$EXTRA' PARTS=$PARTS TARGETS='$TARGETS' DEVICE=$DEVICE CONFIG_EXTRA='$CONFIG_EXTRA'; pipeline; echo \"pipeline ended, rc \$?\"" \
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
    [ -f $WORK/teacher_targets.pt ] && cp $WORK/teacher_targets.pt ${OUT:-/tmp}/
    nvidia-smi --query-gpu=name,memory.used --format=csv ;;
  *) echo "usage: $0 start|wait SECONDS|report"; exit 2 ;;
esac
