"""Wall-clock timing of one step on CPU or CUDA, shared by the benchmarks."""
import time
from typing import Callable, List, Union

import torch

Device = Union[str, torch.device]


def synchronize(device: Device) -> None:
    """Waits for the work queued on a CUDA device; nothing on CPU."""
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed_ms(step: Callable[[], object], device: Device, repeats: int,
             warmup: int = 0) -> List[float]:
    """Milliseconds of each of ``repeats`` calls of ``step``, after
    ``warmup`` untimed calls; the device is synchronised around each timed
    call, so that queued GPU work is counted in its own call."""
    for _ in range(warmup):
        step()
    samples = []
    for _ in range(repeats):
        synchronize(device)
        started = time.perf_counter()
        step()
        synchronize(device)
        samples.append((time.perf_counter() - started) * 1e3)
    return samples
