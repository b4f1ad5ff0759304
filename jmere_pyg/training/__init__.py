"""Training, evaluation and prediction."""
from .config import TrainingConfig
from .evaluation import evaluate, predict_graphs
from .trainer import TrainingResult, train

__all__ = ["TrainingConfig", "TrainingResult", "evaluate", "predict_graphs",
           "train"]
