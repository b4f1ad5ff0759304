"""Running trained models: the one inference path.

:class:`Predictor` turns posts into quintuples with one model or an
ensemble (windows for long posts, length-ordered batches, mean tag
probabilities, decoding, confidences); :func:`evaluate` scores what it
extracts; :mod:`.files` reads data files and images and writes predictions
and metrics (the ``evaluate`` and ``predict`` commands), a corpus of any
size through the chunked, resumable, sharded runs of :mod:`.stream`.
"""
from .evaluation import evaluate, score
from .files import evaluate_file, predict_file, predict_to_jsonl
from .predictor import WINDOW_WORDS, Prediction, Predictor

__all__ = ["Prediction", "Predictor", "WINDOW_WORDS", "evaluate",
           "evaluate_file", "predict_file", "predict_to_jsonl", "score"]
