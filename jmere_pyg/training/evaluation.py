"""Scoring a model against the quintuples of a data file."""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from torch_geometric.data import HeteroData
from torch_geometric.loader import DataLoader
from tqdm.auto import tqdm

from ..data.sample import Quintuple, Sample
from ..metrics import QuintupleMetrics


def length_order(model, graphs: Sequence[HeteroData]) -> List[int]:
    """The indices of ``graphs`` by increasing sub-word length
    (:meth:`jmere_pyg.nn.WordEncoder.subword_lengths`, stable): batches
    taken in this order pad the encoder little."""
    lengths = model.encoder.subword_lengths([g.tokens for g in graphs])
    return sorted(range(len(graphs)), key=lengths.__getitem__)


@torch.no_grad()
def predict_graphs(model, graphs: Sequence[HeteroData], batch_size: int = 32,
                   progress: bool = False, desc: str = "predict"
                   ) -> Tuple[List[List[Quintuple]], List[int]]:
    """Decode the quintuples of every graph.

    The graphs are batched in :func:`length_order`, so that the encoder
    pads little; the results come back in the order of ``graphs``.

    Returns:
        the predicted quintuples and, aligned with them, each graph's
        ``sample_index``.
    """
    was_training = model.training
    model.eval()
    graphs = list(graphs)
    order = length_order(model, graphs)
    predictions: List[Optional[List[Quintuple]]] = [None] * len(graphs)
    indices: List[int] = [0] * len(graphs)
    loader = DataLoader([graphs[i] for i in order], batch_size=batch_size,
                        shuffle=False)
    position = iter(order)
    for batch in tqdm(loader, desc=desc, disable=not progress, leave=False):
        batch = batch.to(model.device)
        for found, index in zip(model.decode(batch, model(batch).logits),
                                batch.sample_index.tolist()):
            at = next(position)
            predictions[at], indices[at] = found, index
    model.train(was_training)
    return predictions, indices


def evaluate(model, graphs: Sequence[HeteroData], samples: Sequence[Sample],
             batch_size: int = 32, progress: bool = False,
             predictions: Optional[List[List[Quintuple]]] = None) -> Dict:
    """Quintuple, MNER and triple P/R/F1 of ``model`` on ``graphs``.

    Gold quintuples are always those of ``samples`` (the data file), looked
    up by each graph's ``sample_index``, never decoded from a gold grid.
    """
    if predictions is None:
        predictions, indices = predict_graphs(model, graphs, batch_size,
                                              progress, desc="evaluate")
    else:
        indices = [int(g.sample_index) for g in graphs]
    metrics = QuintupleMetrics()
    metrics.update(predictions, [samples[i].quintuples for i in indices])
    return metrics.compute()
