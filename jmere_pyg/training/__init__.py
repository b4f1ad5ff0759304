"""Training, evaluation and prediction."""
from .config import TrainingConfig
from .evaluation import (evaluate, predict_ensemble, predict_graphs,
                         predict_grids)
from .trainer import TrainingResult, train

__all__ = ["TrainingConfig", "TrainingResult", "evaluate", "predict_graphs",
           "predict_grids", "predict_ensemble",
           "train"]
