#!/bin/bash
# On a GPU machine of the device tool: restore an encoder's float32 weights
# from the float16 folders of scripts/device_bundle.sh, unpack the carried
# JMERE graphs into data/, and write experiment files pointed at both and
# at the device. Used by quality.sh and distil.sh.
#
#   bash benchmarks/gpu/prepare_experiment.sh minilm|mpnet DEVICE CONFIG_EXTRA OUT_DIR EXPERIMENT...
#
# minilm reads .gpu_minilm; mpnet joins $PARTS/.gpu_mpnet1 .. 5 (PARTS,
# default '.': a carried folder is gone from the checkout there at the next
# call that does not carry it, so calls that bring one part each copy it to
# a folder of their own, e.g. /root/parts) and checks their SHA-256.
# Each experiments/NAME.json becomes OUT_DIR/NAME.json, a file extending it
# with the encoder /tmp/encoder32, mnre_dir data/jmere/raw, DEVICE, the keys
# of the JSON object CONFIG_EXTRA (paths in it are relative to OUT_DIR), and
# no teachers (a run names its own).
ENCODER=$1; DEVICE=$2; CONFIG_EXTRA=$3; OUT_DIR=$4; shift 4
PY=${PY:-python3}; PARTS=${PARTS:-.}
mkdir -p data "$OUT_DIR" && tar xzf .gpu_e2e/jmere.tar.gz -C data || exit 1
case $ENCODER in
  minilm) FLOAT16=.gpu_minilm ;;
  mpnet)
    FLOAT16=/tmp/mpnet16
    mkdir -p $FLOAT16 && cp $PARTS/.gpu_mpnet1/{config.json,tokenizer*.json,sha256} $FLOAT16/ \
      && cat $PARTS/.gpu_mpnet{1,2,3,4,5}/part > $FLOAT16/model.safetensors \
      && (cd $FLOAT16 && sha256sum -c --quiet sha256) \
      || { echo "MPNet's parts are missing or stale in $PARTS: carry .gpu_mpnet1..5"; exit 1; } ;;
  *) echo "the encoder must be minilm or mpnet, got '$ENCODER'"; exit 1 ;;
esac
$PY - "$FLOAT16" "$DEVICE" "$CONFIG_EXTRA" "$OUT_DIR" "$@" <<'PY'
import json, os, pathlib, sys
import torch
from transformers import AutoModel, AutoTokenizer
float16, device, extra, out_dir, *experiments = sys.argv[1:]
AutoModel.from_pretrained(float16, dtype=torch.float32).save_pretrained(
    "/tmp/encoder32")
AutoTokenizer.from_pretrained(float16).save_pretrained("/tmp/encoder32")
for experiment in experiments:
    config = {"extends": os.path.abspath(experiment),
              "mnre_dir": os.path.abspath("data/jmere/raw"), "device": device,
              "teachers": None, **json.loads(extra)}
    config["model"] = {**config.get("model", {}), "encoder": "/tmp/encoder32"}
    name = pathlib.Path(experiment).name
    json.dump(config, open(pathlib.Path(out_dir, name), "w"), indent=1)
PY
