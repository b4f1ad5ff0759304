"""The machine and the commit a benchmark ran on, named alike in every
report: the CPU with the instruction sets that decide torch's speed on it
(a bfloat16 or AVX2-only CPU runs the same step at very different speeds),
the GPU, the torch and Python versions."""
import os
import platform
import subprocess
from pathlib import Path
from typing import Optional, Union

import torch

#: The CPU flags a report names, where the CPU has them: AVX2 (float32
#: kernels), AVX-512, its bfloat16 instructions and AMX tiles.
CPU_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16")


def describe_cpu(cpuinfo: Union[str, Path] = "/proc/cpuinfo") -> str:
    """``"Intel(R) Xeon(R) Processor (avx2 avx512f avx512_bf16), 2
    cores"``: the model name and those of :data:`CPU_FLAGS` it has, read
    from ``cpuinfo`` (where it exists; else the platform's name)."""
    name, flags = None, None
    try:
        # One block per core: the first names them all.
        for line in Path(cpuinfo).read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and name is None:
                name = value.strip()
            elif key.strip() == "flags" and flags is None:
                present = set(value.split())
                flags = [flag for flag in CPU_FLAGS if flag in present]
    except OSError:
        pass
    name = name or platform.processor() or platform.machine()
    named = ("" if flags is None
             else f" ({' '.join(flags) or 'no ' + '/'.join(CPU_FLAGS)})")
    return f"{name}{named}, {os.cpu_count()} cores"


def describe_machine(threads: Optional[int] = None) -> str:
    """The CPU (:func:`describe_cpu`), torch's threads (``threads``, default
    torch's own), the GPU or ``no GPU``, and the torch and Python
    versions."""
    gpu = (torch.cuda.get_device_name(0) if torch.cuda.is_available()
           else "no GPU")
    threads = torch.get_num_threads() if threads is None else threads
    return (f"{describe_cpu()}, {threads} torch thread(s), {gpu}, torch "
            f"{torch.__version__}, Python {platform.python_version()}")


def git_commit(folder: Union[str, Path]) -> str:
    """The short hash of the commit checked out in ``folder``, with
    ``+changes`` when tracked files differ from it; ``unknown`` outside a
    git checkout."""
    def git(*args):
        return subprocess.run(["git", "-C", str(folder), *args],
                              capture_output=True, text=True)
    head = git("rev-parse", "--short", "HEAD")
    if head.returncode:
        return "unknown"
    changed = git("diff", "--quiet", "HEAD").returncode != 0
    return head.stdout.strip() + ("+changes" if changed else "")
