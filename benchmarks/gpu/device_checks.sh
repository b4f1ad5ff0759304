#!/bin/bash
# Device checks for jmere_pyg (issue 10's measurements + MPNet's step), one call.
export PYTHONPATH=$PWD/.gpu/site:$PWD PYTHONUNBUFFERED=1
exec > >(tee $OUT/log.txt) 2>&1
stage() { echo; echo "=== $1 ($(date +%T))"; }
stage env
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
python3 -c "import torch, torch_geometric, ot, transformers; print('torch', torch.__version__, 'pyg', torch_geometric.__version__, 'pot', ot.__version__, 'transformers', transformers.__version__)"
python3 -c "import torch_scatter" 2>/dev/null && echo "torch_scatter present" || echo "torch_scatter absent"
stage "gpu_step fp32 (MiniLM shape)"
timeout 150 python3 benchmarks/speed/gpu_step.py run --data .gpu/gpu_step_data --device cuda --predict --profile --json $OUT/gpu_step.json
stage "gpu_step bf16 + compiled alignment (MiniLM shape)"
timeout 150 python3 benchmarks/speed/gpu_step.py run --data .gpu/gpu_step_data --device cuda --mixed-precision bf16 --compile-alignment --json $OUT/gpu_step_fast.json
stage "alignment benchmark"
timeout 120 python3 benchmarks/speed/alignment.py --device cuda --sizes 32x70x10 32x256x36 8x1024x100 128x70x10 32x1024x100 8x4096x100 --methods pot_batched_dense masked_dense sparse --json $OUT/alignment.json
stage "gpu_step MPNet-base shape, no alignment, fp32 and bf16"
timeout 60 python3 benchmarks/speed/gpu_step.py run --data .gpu/gpu_step_mpnet --device cuda --variants no_alignment --json $OUT/gpu_step_mpnet.json
timeout 60 python3 benchmarks/speed/gpu_step.py run --data .gpu/gpu_step_mpnet --device cuda --variants no_alignment --mixed-precision bf16 --json $OUT/gpu_step_mpnet_bf16.json
stage "CUDA tests"
timeout 150 python3 -m pytest -q -p no:cacheprovider -m cuda tests --continue-on-collection-errors 2>&1 | tail -25
stage done
