"""The experiment ``jmere-pyg train`` runs when given no ``--config``: the
best configuration where a GPU is present, the main job's where not.

The two are experiment files of the source tree's ``experiments/`` folder
(the README's main job and the best configuration of
``benchmarks/results/quality.md``), so that their settings are written
once. The best configuration trains MPNet-base under bfloat16 autocast:
on a CPU with AVX512-BF16 it takes about two hours a run; a CPU without it
trains it in float32 (``precision.device_precision``: emulated bfloat16
would take 33x float32's step time there), about 520 s of training an
epoch on a 2-core AVX2-only CPU; on an H200 an epoch of its shape took
12 s (``benchmarks/results/gpu.md``). The main job trains MiniLM-L6 in
float32 on any machine.
"""
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import torch

from .precision import has_native_bf16

#: The source tree's experiment files (absent from an installed wheel).
EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"
#: The README's main job.
MAIN_JOB = "eega_minilm.json"
#: The best configuration measured (``benchmarks/results/quality.md``).
BEST = "eega_mpnet_student_bf16.json"


@dataclass(frozen=True)
class DefaultExperiment:
    """The experiment picked for a device, and why.

    Attributes:
        path: the experiment file, ``None`` where the source tree's
            ``experiments/`` folder is absent (the built-in
            :class:`~jmere_pyg.training.TrainingConfig` defaults apply).
        reason: one line saying what was picked and why.
    """
    path: Optional[Path]
    reason: str


def default_experiment(device: str = "auto",
                       experiments: Optional[Path] = None
                       ) -> DefaultExperiment:
    """The experiment to train without a config, for ``device`` (``auto``,
    ``cpu`` or ``cuda``, as :class:`~jmere_pyg.training.TrainingConfig`
    takes it).

    A GPU that torch sees (and bfloat16 on it, which the best
    configuration's autocast needs) picks the best configuration; otherwise
    the main job's. ``experiments``: the folder of experiment files
    (default: :data:`EXPERIMENTS`).
    """
    experiments = EXPERIMENTS if experiments is None else experiments
    gpu = device != "cpu" and torch.cuda.is_available()
    if gpu and has_native_bf16(torch.device("cuda")):
        name, why = BEST, ("the best configuration (MPNet-base student, "
                           "bfloat16): a GPU is present")
    else:
        name = MAIN_JOB
        why = ("the main job (MiniLM-L6): "
               + ("this GPU has no bfloat16 in hardware, which the best "
                  "configuration needs" if gpu else "no GPU is used"))
    path = experiments / name
    if not path.is_file():
        return DefaultExperiment(None, (
            f"no --config and no {path}: training the built-in defaults "
            f"(jmere_pyg installed without its source tree; give --config "
            f"to choose)"))
    return DefaultExperiment(path, f"no --config: training {why}, "
                                   f"{path} (give --config to choose)")
