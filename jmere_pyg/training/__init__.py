"""Training: settings, the trainer, distillation from trained teachers."""
from .config import TrainingConfig
from .trainer import TrainingResult, train

__all__ = ["TrainingConfig", "TrainingResult", "train"]
