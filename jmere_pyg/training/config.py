"""Training settings, read from experiment files (JSON or YAML) and flags."""
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Optional, Union

from ..config_base import DictConfig

DEVICES = ("auto", "cpu", "cuda")
MIXED_PRECISION = ("no", "bf16")


@dataclass
class TrainingConfig(DictConfig):
    """How to train EEGA (paper, appendix C, where it says).

    Args:
        data_root (str): dataset root; its ``raw/`` holds the split files
            (see :class:`jmere_pyg.data.JMEREDataset`).
        mnre_dir (str, optional): copy ``mnre_{train,val}.txt`` from here into
            ``data_root/raw`` when they are not there yet.
        run_dir (str): where checkpoints, the log and metrics are written.
        epochs (int): maximum epochs. (default: ``20``)
        batch_size (int): samples per optimisation step, over all processes.
        encoder_lr (float): learning rate of the pretrained encoder (the
            paper's ``2e-5``).
        lr (float): learning rate of the new layers.
        lr_decay (float): factor applied when val F1 stops improving.
        lr_decay_patience (int): epochs without improvement before decaying.
        grad_clip (float): maximum gradient norm.
        patience (int): early stopping on val quintuple F1 (the paper's 5).
        seed (int): seed of every random generator.
        device (str): ``auto``, ``cpu`` or ``cuda``.
        max_train_samples (int, optional): train on the first N samples only
            (smoke runs, overfitting checks).
        max_eval_samples (int, optional): evaluate on the first N val samples.
        mixed_precision (str): ``"no"`` (float32 everywhere) or ``"bf16"``
            (the forward pass under bfloat16 autocast: encoder and layers in
            bfloat16 where autocast allows, the transport solvers in float32,
            weights and optimiser in float32; meant for GPUs).
            (default: ``"no"``)
        model (dict): :class:`jmere_pyg.EEGAConfig` overrides.
    """
    data_root: str = "data/jmere"
    mnre_dir: Optional[str] = None
    run_dir: str = "runs/eega"
    epochs: int = 20
    batch_size: int = 16
    eval_batch_size: int = 32
    encoder_lr: float = 2e-5
    lr: float = 1e-3
    weight_decay: float = 0.0
    lr_decay: float = 0.5
    lr_decay_patience: int = 1
    grad_clip: float = 1.0
    patience: int = 5
    seed: int = 42
    device: str = "auto"
    num_workers: int = 0
    max_train_samples: Optional[int] = None
    max_eval_samples: Optional[int] = None
    mixed_precision: str = "no"
    model: Dict[str, Any] = field(default_factory=dict)

    unknown_keys_message = "unknown training settings"

    def __post_init__(self):
        if self.device not in DEVICES:
            raise ValueError(f"device must be one of {DEVICES}, "
                             f"got {self.device!r}")
        if self.mixed_precision not in MIXED_PRECISION:
            raise ValueError(f"mixed_precision must be one of "
                             f"{MIXED_PRECISION}, got "
                             f"{self.mixed_precision!r}")

    @classmethod
    def from_file(cls, path: Union[str, Path]) -> "TrainingConfig":
        """Read a JSON or YAML experiment file."""
        path = Path(path)
        text = path.read_text()
        if path.suffix in (".yaml", ".yml"):
            import yaml
            values = yaml.safe_load(text)
        else:
            values = json.loads(text)
        if not isinstance(values, dict):
            raise ValueError(f"{path}: an experiment file holds one mapping of "
                             f"settings")
        return cls.from_dict(values)
