"""Random batches of word graphs and object graphs, shaped like a PyG batch:
inputs for tests and benchmarks of
:class:`~jmere_pyg.alignment.GraphAlignment`."""
from typing import NamedTuple, Sequence

import torch
from torch import Tensor


class AlignmentInputs(NamedTuple):
    """The arguments of :meth:`~jmere_pyg.alignment.GraphAlignment.forward`,
    in order."""
    x_word: Tensor
    edge_index_word: Tensor
    batch_word: Tensor
    x_obj: Tensor
    edge_index_obj: Tensor
    batch_obj: Tensor
    num_graphs: int


def random_alignment_batch(word_counts: Sequence[int],
                           object_counts: Sequence[int],
                           num_features: int = 8,
                           directed_words: bool = False,
                           directed_objects: bool = True,
                           dtype: torch.dtype = torch.float64, device="cpu",
                           seed: int = 0) -> AlignmentInputs:
    """Sample ``s`` has ``word_counts[s]`` words on a random dependency tree
    (``n - 1`` edges, both directions unless ``directed_words``) and
    ``object_counts[s]`` objects with ``2 k`` random predicate edges (one
    direction unless ``directed_objects`` is False); self loops everywhere;
    global indices as in a PyG batch; features ``[*, num_features]`` ~
    N(0, 1) requiring grad."""
    generator = torch.Generator().manual_seed(seed)
    word_edges, object_edges = [], []
    word_offset = object_offset = 0
    for n, k in zip(word_counts, object_counts):
        child = torch.arange(1, n)
        parent = (torch.rand(max(n - 1, 0), generator=generator)
                  * child).long()
        tree = torch.stack([child, parent])
        if not directed_words:
            tree = torch.cat([tree, tree.flip(0)], 1)
        loops = torch.arange(n).repeat(2, 1)
        word_edges.append(torch.cat([tree, loops], 1) + word_offset)
        predicates = torch.randint(0, max(k, 1), (2, 2 * k),
                                   generator=generator)
        if not directed_objects:
            predicates = torch.cat([predicates, predicates.flip(0)], 1)
        loops = torch.arange(k).repeat(2, 1)
        object_edges.append(torch.cat([predicates, loops], 1)
                            + object_offset)
        word_offset, object_offset = word_offset + n, object_offset + k
    x_word = torch.randn(word_offset, num_features, generator=generator,
                         dtype=dtype)
    x_obj = torch.randn(object_offset, num_features, generator=generator,
                        dtype=dtype)
    samples = torch.arange(len(word_counts))
    batch_word = samples.repeat_interleave(torch.tensor(word_counts))
    batch_obj = samples.repeat_interleave(torch.tensor(object_counts))
    return AlignmentInputs(
        x_word.to(device).requires_grad_(),
        torch.cat(word_edges, 1).to(device), batch_word.to(device),
        x_obj.to(device).requires_grad_(),
        torch.cat(object_edges, 1).to(device), batch_obj.to(device),
        len(word_counts))
