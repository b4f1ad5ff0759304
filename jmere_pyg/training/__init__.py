"""Training: settings, the trainer, distillation from trained teachers, the
refit on train + val."""
from .config import TrainingConfig
from .refit import refit, refit_schedule
from .trainer import TrainingResult, train

__all__ = ["TrainingConfig", "TrainingResult", "refit", "refit_schedule",
           "train"]
