"""Scoring a model against the quintuples of a data file."""
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import torch
from torch import Tensor
from torch_geometric.data import HeteroData
from torch_geometric.loader import DataLoader
from tqdm.auto import tqdm

from ..data.sample import Quintuple, Sample
from ..metrics import QuintupleMetrics
from ..models.eega import shared_entity_decoding
from ..tagging import decode_grid, probability_logits


def length_order(model, graphs: Sequence[HeteroData]) -> List[int]:
    """The indices of ``graphs`` by increasing sub-word length
    (:meth:`jmere_pyg.nn.WordEncoder.subword_lengths`, stable): batches
    taken in this order pad the encoder little."""
    lengths = model.encoder.subword_lengths([g.tokens for g in graphs])
    return sorted(range(len(graphs)), key=lengths.__getitem__)


@torch.no_grad()
def _grids_in_length_order(model, graphs: List[HeteroData], batch_size: int,
                           progress: bool, desc: str
                           ) -> Iterator[Tuple[int, Tensor]]:
    """Yields each graph's position in ``graphs`` and its word-pair logits
    ``[n, n, C]`` (on the CPU), batched in :func:`length_order`."""
    was_training = model.training
    model.eval()
    order = length_order(model, graphs)
    loader = DataLoader([graphs[i] for i in order], batch_size=batch_size,
                        shuffle=False)
    position = iter(order)
    try:
        for batch in tqdm(loader, desc=desc, disable=not progress,
                          leave=False):
            batch = batch.to(model.device)
            for grid in model.sample_grids(batch, model(batch).logits):
                yield next(position), grid.cpu()
    finally:
        model.train(was_training)


def predict_grids(model, graphs: Sequence[HeteroData], batch_size: int = 32,
                  progress: bool = False, desc: str = "predict"
                  ) -> List[Tensor]:
    """The word-pair logits ``[n, n, C]`` of every graph, on the CPU, in the
    order of ``graphs``; the batches follow :func:`length_order`, so that
    the encoder pads little."""
    graphs = list(graphs)
    grids: List[Optional[Tensor]] = [None] * len(graphs)
    for at, grid in _grids_in_length_order(model, graphs, batch_size,
                                           progress, desc):
        grids[at] = grid
    return grids


def predict_graphs(model, graphs: Sequence[HeteroData], batch_size: int = 32,
                   progress: bool = False, desc: str = "predict"
                   ) -> Tuple[List[List[Quintuple]], List[int]]:
    """Decode the quintuples of every graph, batched as in
    :func:`predict_grids` (each grid is decoded as it comes, so memory does
    not grow with the number of graphs).

    Returns:
        the predicted quintuples and, aligned with them, each graph's
        ``sample_index``.
    """
    graphs = list(graphs)
    predictions: List[Optional[List[Quintuple]]] = [None] * len(graphs)
    for at, grid in _grids_in_length_order(model, graphs, batch_size,
                                           progress, desc):
        predictions[at] = decode_grid(
            grid, entity_decoding=model.config.entity_decoding)
    return predictions, [int(graph.sample_index) for graph in graphs]


def predict_ensemble(models: Sequence, graphs: Sequence[Sequence[HeteroData]],
                     batch_size: int = 32, progress: bool = False,
                     chunk_size: int = 1024) -> List[List[Quintuple]]:
    r"""Decode the mean of several models' tag probabilities.

    On this project's val split, averaging three models trained with
    different seeds raised strict F1 by 0.8 to 2.1 points over the models'
    mean (``benchmarks/results/relation_decoding.md``). Entities are decoded
    as the models are configured to (they must agree).

    Args:
        models (sequence of EEGA): the models.
        graphs (sequence of sequences of HeteroData): for each model, the
            graphs of the same samples in the same order, each built by that
            model's own graph builder.
        batch_size (int): graphs per forward pass.
        progress (bool): show progress bars.
        chunk_size (int): samples whose probabilities are held at once.

    Returns:
        the predicted quintuples of every sample.
    """
    if not models or len(models) != len(graphs):
        raise ValueError(f"give one list of graphs per model, got "
                         f"{len(graphs)} lists for {len(models)} models")
    graphs = [list(g) for g in graphs]
    if len({len(g) for g in graphs}) != 1:
        raise ValueError(f"the models' graph lists differ in length: "
                         f"{[len(g) for g in graphs]}")
    entity_decoding = shared_entity_decoding(models)
    predictions: List[List[Quintuple]] = []
    for first in range(0, len(graphs[0]), chunk_size):
        mean = mean_probabilities(
            models, [own[first:first + chunk_size] for own in graphs],
            batch_size, progress, first_index=first)
        predictions += [decode_grid(probability_logits(p),
                                    entity_decoding=entity_decoding)
                        for p in mean]
    return predictions


def mean_probabilities(models: Sequence,
                       graphs: Sequence[Sequence[HeteroData]],
                       batch_size: int = 32, progress: bool = False,
                       first_index: int = 0) -> List[Tensor]:
    """The models' mean tag probabilities ``[n, n, C]`` of every sample,
    each model reading its own list of the samples' graphs (as in
    :func:`predict_ensemble`); ``first_index`` numbers the samples in
    errors.

    Raises:
        ValueError: when two models read a sample with different numbers
            of words.
    """
    total: List[Tensor] = []
    for k, (model, own) in enumerate(zip(models, graphs)):
        grids = predict_grids(model, own, batch_size, progress,
                              desc=f"model {k + 1}/{len(models)}")
        if k == 0:
            total = [grid.float().softmax(dim=-1) for grid in grids]
            continue
        for i, grid in enumerate(grids):
            if grid.shape != total[i].shape:
                raise ValueError(
                    f"sample {first_index + i}: model {k + 1} reads "
                    f"{grid.size(0)} words, model 1 {total[i].size(0)}")
            total[i] += grid.float().softmax(dim=-1)
    return [t / len(models) for t in total]


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
