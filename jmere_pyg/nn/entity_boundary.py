"""An auxiliary entity boundary head: one begin/inside/outside tag per word.

The word-pair grid already holds the entities (a span's upper triangle
carries its type), but a boundary is only implicit there: two adjacent
entities of one type differ from one long entity by a single chain cell
``(i, i + 1)``. This head asks the word states that feed the word-pair
classifier to say each word's boundary tag outright, as a second loss
during training (multi-task learning); decoding still reads the grid.
"""
import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn import Dropout, Linear

from ..labels import ENTITY_TYPES

#: Boundary tags: 0 outside, ``t`` the first word of an entity of type
#: ``t`` (the grid's tag id, 1-based), ``len(ENTITY_TYPES) + t`` a later word.
NUM_BOUNDARY_TAGS = 1 + 2 * len(ENTITY_TYPES)


def boundary_labels(pair_index: Tensor, pair_labels: Tensor,
                    num_words: int) -> Tensor:
    r"""Each word's boundary tag, read from the gold word-pair grid as
    ``"diagonal"`` decoding reads it (:mod:`jmere_pyg.tagging`): a word is
    in an entity of type :math:`t` when its diagonal cell carries
    :math:`t`, and continues the entity of the word before it when their
    chain cell :math:`(i - 1, i)` and both diagonal cells carry :math:`t`.

    Args:
        pair_index (Tensor): ``[2, P]`` (head word, tail word) of every
            word pair, words numbered over the batch.
        pair_labels (Tensor): ``[P]`` gold tag ids of the pairs.
        num_words (int): words in the batch.

    Returns:
        LongTensor ``[num_words]`` of boundary tags (:data:`NUM_BOUNDARY_TAGS`).
    """
    head, tail = pair_index
    types = len(ENTITY_TYPES)
    diagonal = head == tail
    word_type = pair_labels.new_zeros(num_words)
    word_type[head[diagonal]] = pair_labels[diagonal]
    word_type = torch.where(word_type <= types, word_type, 0)
    # Pairs exist only within a post, so i + 1 is the next word of i's post.
    chain = tail == head + 1
    before, word = head[chain], tail[chain]
    continues = torch.zeros(num_words, dtype=torch.bool,
                            device=pair_labels.device)
    continues[word] = ((word_type[word] > 0)
                       & (word_type[before] == word_type[word])
                       & (pair_labels[chain] == word_type[word]))
    return torch.where(continues, word_type + types, word_type)


class EntityBoundaryHead(torch.nn.Module):
    r"""Boundary tag logits ``[N, NUM_BOUNDARY_TAGS]`` from word states
    ``[N, d]``: :math:`\mathbf{W}\, \textrm{Dropout}(\mathbf{s}_i) +
    \mathbf{b}`.

    Args:
        channels (int): size of each word state :math:`d`.
        dropout (float): dropout on the word states. (default: ``0.1``)
    """

    def __init__(self, channels: int, dropout: float = 0.1):
        super().__init__()
        self.dropout = Dropout(dropout)
        self.lin = Linear(channels, NUM_BOUNDARY_TAGS)

    def forward(self, x: Tensor) -> Tensor:
        return self.lin(self.dropout(x))

    def loss(self, x: Tensor, pair_index: Tensor, pair_labels: Tensor
             ) -> Tensor:
        """The cross-entropy of the head's tags against the gold grid's
        (:func:`boundary_labels`), a mean over words; zero, with a gradient
        path, for a batch without words."""
        logits = self(x)
        if x.size(0) == 0:
            return logits.sum() * 0.0
        return F.cross_entropy(
            logits, boundary_labels(pair_index, pair_labels, x.size(0)))
