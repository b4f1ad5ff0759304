"""The precision training runs in: bfloat16 autocast where the device
computes in bfloat16 natively, float32 where it does not
(``TrainingConfig.mixed_precision``)."""
from contextlib import nullcontext
from typing import Optional, Tuple

import torch

from .config import TrainingConfig


def has_native_bf16(device: torch.device) -> bool:
    """Whether ``device`` computes in bfloat16 natively: a GPU with
    bfloat16 in hardware (NVIDIA from Ampere on, or ROCm), or an x86 CPU
    with AVX512-BF16 or AMX tiles. Elsewhere torch emulates it, and
    bfloat16 autocast is far slower than float32 (an AVX2-only CPU took 18x
    float32's time for a MiniLM-L6 training step and 33x for MPNet-base's:
    ``benchmarks/results/epoch_speed.md``)."""
    if device.type == "cuda":
        # By default torch also answers yes for GPUs that only emulate it.
        return torch.cuda.is_bf16_supported(including_emulation=False)
    # Private helpers of torch.cpu: where one is missing, take bfloat16 as
    # emulated (float32 is then the safe choice).
    return any(getattr(torch.cpu, name, lambda: False)() for name in (
        "_is_avx512_bf16_supported", "_is_amx_tile_supported"))


def device_precision(config: TrainingConfig, device: torch.device
                     ) -> Tuple[TrainingConfig, Optional[str]]:
    """``config`` with the mixed precision ``device`` trains in, and a
    notice when it is not the one asked for: ``"bf16"`` on a device without
    native bfloat16 (:func:`has_native_bf16`) trains in float32, so that an
    experiment written for a GPU or a bfloat16 CPU runs in hours rather
    than days elsewhere."""
    if config.mixed_precision != "bf16" or has_native_bf16(device):
        return config, None
    where = ("this GPU has no bfloat16 in hardware"
             if device.type == "cuda" else
             "this CPU has no AVX512-BF16 or AMX, where torch emulates "
             "bfloat16 at 18-33x float32's step time")
    return config.replace(mixed_precision="no"), (
        f"mixed_precision 'bf16' asked for, but {where}: training in "
        f"float32 (mixed_precision 'no', as the run's settings record)")


def autocast(mixed_precision: str, device: torch.device):
    """The autocast context of ``TrainingConfig.mixed_precision``: bfloat16
    autocast on ``device`` for ``"bf16"``, nothing for ``"no"``."""
    if mixed_precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return nullcontext()
