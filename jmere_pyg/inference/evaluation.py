"""Scoring extracted quintuples against the gold ones of a data file."""
from typing import Dict, List, Optional, Sequence

from ..data.sample import Quintuple, Sample
from ..metrics import QuintupleMetrics
from .predictor import BuiltGraphs, Predictor


def score(predictions: Sequence[List[Quintuple]],
          samples: Sequence[Sample]) -> Dict:
    """Quintuple, MNER and triple P/R/F1 of ``predictions`` against the
    gold quintuples of ``samples`` (the data file's, never decoded from a
    gold grid), post by post."""
    if len(predictions) != len(samples):
        raise ValueError(f"{len(predictions)} predictions for "
                         f"{len(samples)} posts")
    metrics = QuintupleMetrics()
    metrics.update(predictions, [sample.quintuples for sample in samples])
    return metrics.compute()


def evaluate(predictor: Predictor, samples: Sequence[Sample], *,
             built: Optional[BuiltGraphs] = None) -> Dict:
    """:func:`score` of the quintuples ``predictor`` extracts from
    ``samples`` (:meth:`Predictor.extract`, ``built`` as there): the same
    path as prediction, long posts read in the same windows."""
    return score(predictor.extract(samples, built=built), samples)
