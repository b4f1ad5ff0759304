"""From a PyG batch of words and objects to padded per-sample problems.

Only the samples that have at least one object and one word take part in
alignment; they are called *aligned* samples below and get consecutive
positions ``0 .. B' - 1``. A node of an aligned sample has a *slot*: its
position in the flattened padded layout, ``position * L + local_index`` with
``L`` the largest node count of its kind among the aligned samples, so that
``dense.view(B' * L, ...)[slot]`` is that node.
"""
from dataclasses import dataclass
from typing import List, Optional, Tuple

import torch
from torch import Tensor

from .costs import (grouped_cosine_distance, norms_from_squares,
                    padded_cosine_distance)


@dataclass
class NodeSlots:
    """The nodes of one kind (words or objects) in the padded layout.

    Attributes:
        keep: bool ``[N_nodes]``, whether the node belongs to an aligned
            sample.
        slot_of_node: long ``[N_nodes]``, the padded slot of every node;
            ``B' * L`` (one past the last slot) for nodes not kept.
        counts: long ``[B']``, the node count of every aligned sample.
        starts: long ``[B']``, index of the first node of every aligned
            sample.
        mask: bool ``[B', L]``, real (``True``) or padding positions.
        size: ``L``, the largest node count among the aligned samples.
    """
    keep: Tensor
    slot_of_node: Tensor
    counts: Tensor
    starts: Tensor
    mask: Tensor
    size: int

    def pad(self, x: Tensor) -> Tensor:
        """Padded per-sample values ``[B', L, *]`` (zeros at padding) from
        node values ``x [N_nodes, *]``; differentiable."""
        num_samples, trailing = self.mask.size(0), tuple(x.shape[1:])
        out = x.new_zeros((num_samples * self.size + 1, ) + trailing)
        out = out.index_copy(0, self.slot_of_node, x)
        return out[:-1].view((num_samples, self.size) + trailing)

    def ranges(self) -> List[Tuple[int, int]]:
        """``(start, count)`` of the nodes of every aligned sample."""
        return list(zip(self.starts.tolist(), self.counts.tolist()))

    def kept_edges(self, edge_index: Tensor) -> Tuple[Tensor, Tensor]:
        """The edges among kept nodes, ``[2, E_kept]`` twice: in global node
        indices (as in ``edge_index [2, E]``) and in slot coordinates."""
        edge_index = edge_index[:, self.keep[edge_index[0]]]
        return edge_index, self.slot_of_node[edge_index]

    def uniform_mass(self, dtype: torch.dtype,
                     padding_mass: float = 0.0) -> Tensor:
        """Uniform probability over the real nodes of every aligned sample:
        ``[B', L]``, ``padding_mass`` at padding positions, each row then
        renormalised to sum to one."""
        mass = self.mask.to(dtype) / self.counts.unsqueeze(1).to(dtype)
        if padding_mass > 0:
            mass = torch.where(self.mask, mass,
                               torch.full_like(mass, padding_mass))
            mass = mass / mass.sum(dim=1, keepdim=True)
        return mass


@dataclass
class AlignmentLayout:
    """Which samples are aligned and where their words and objects sit.

    Attributes:
        has_objects: bool ``[B]``, the aligned samples (at least one object
            and one word).
        sample_index: long ``[B']``, indices of the aligned samples.
        words: :class:`NodeSlots` of the words (``N = words.size``).
        objects: :class:`NodeSlots` of the objects (``K = objects.size``).
    """
    has_objects: Tensor
    sample_index: Tensor
    words: NodeSlots
    objects: NodeSlots

    @property
    def num_aligned(self) -> int:
        return int(self.sample_index.numel())

    @property
    def pair_mask(self) -> Tensor:
        """bool ``[B', K, N]``: real (object, word) pairs."""
        return self.objects.mask.unsqueeze(2) & self.words.mask.unsqueeze(1)

    @classmethod
    def from_batch(cls, batch_word: Tensor, batch_obj: Tensor,
                   num_graphs: int) -> "AlignmentLayout":
        """Layout of a PyG batch.

        Args:
            batch_word: long ``[N_w]``, sample of every word, sorted (as PyG
                batches are).
            batch_obj: long ``[N_o]``, sample of every object, sorted.
            num_graphs: ``B``, the number of samples.
        """
        device = batch_word.device
        counts = torch.zeros(2, num_graphs, dtype=torch.long, device=device)
        counts[0].index_add_(0, batch_word, torch.ones_like(batch_word))
        counts[1].index_add_(0, batch_obj, torch.ones_like(batch_obj))
        # The layout's only read-back from the device: the sizes it needs
        # on the host come from these counts, the rest is copied over.
        word_counts, obj_counts = counts.cpu()
        has_objects = (obj_counts > 0) & (word_counts > 0)
        sample_index = has_objects.nonzero().view(-1)
        position = torch.cumsum(has_objects.long(), 0) - 1
        host = (has_objects, sample_index, position)
        on_device = tuple(t.to(device, non_blocking=True) for t in host)
        return cls(
            has_objects=on_device[0], sample_index=on_device[1],
            words=_node_slots(batch_word, word_counts, *host, *on_device),
            objects=_node_slots(batch_obj, obj_counts, *host, *on_device))


def _node_slots(batch: Tensor, counts: Tensor, has_objects: Tensor,
                sample_index: Tensor, position: Tensor,
                has_objects_on_device: Tensor,
                sample_index_on_device: Tensor,
                position_on_device: Tensor) -> NodeSlots:
    """Slots of the nodes of one kind; ``counts [B]``, ``has_objects``,
    ``sample_index`` and ``position`` on the host, the latter three also on
    ``batch``'s device."""
    device = batch.device
    aligned_counts = counts[sample_index]
    size = int(aligned_counts.max()) if aligned_counts.numel() > 0 else 0
    start = torch.cumsum(counts, 0) - counts
    mask = torch.arange(size).unsqueeze(0) < aligned_counts.unsqueeze(1)
    aligned_counts, starts, mask, start = (
        t.to(device, non_blocking=True)
        for t in (aligned_counts, start[sample_index], mask, start))
    keep = has_objects_on_device[batch]
    local = torch.arange(batch.numel(), device=device) - start[batch]
    slot_of_node = torch.where(keep, position_on_device[batch] * size + local,
                               sample_index.numel() * size)
    return NodeSlots(keep=keep, slot_of_node=slot_of_node,
                     counts=aligned_counts, starts=starts, mask=mask,
                     size=size)


class AlignmentProblem:
    """Node features of a batch with their layout, and what several terms
    derive from them, computed once.

    Args:
        x_word: word features ``[N_w, F]``.
        batch_word: long ``[N_w]``, sorted.
        x_obj: object features ``[N_o, F]``.
        batch_obj: long ``[N_o]``, sorted.
        num_graphs: ``B``.
    """

    def __init__(self, x_word: Tensor, batch_word: Tensor, x_obj: Tensor,
                 batch_obj: Tensor, num_graphs: int):
        if (x_word.dim() != 2 or x_obj.dim() != 2
                or x_word.size(1) != x_obj.size(1)):
            raise ValueError(
                f"x_word [N_w, F] and x_obj [N_o, F] must share F, got "
                f"{tuple(x_word.shape)} and {tuple(x_obj.shape)}")
        if x_word.dtype != x_obj.dtype or x_word.device != x_obj.device:
            raise ValueError("x_word and x_obj must share dtype and device")
        self.x_word, self.x_obj = x_word, x_obj
        self.num_graphs = num_graphs
        self.layout = AlignmentLayout.from_batch(batch_word, batch_obj,
                                                 num_graphs)
        self._padded_words: Optional[Tensor] = None
        self._padded_objects: Optional[Tensor] = None
        self._word_squared_norms: Optional[Tensor] = None

    @property
    def padded_words(self) -> Tensor:
        """``[B', N, F]``."""
        if self._padded_words is None:
            self._padded_words = self.layout.words.pad(self.x_word)
        return self._padded_words

    @property
    def padded_objects(self) -> Tensor:
        """``[B', K, F]``."""
        if self._padded_objects is None:
            self._padded_objects = self.layout.objects.pad(self.x_obj)
        return self._padded_objects

    @property
    def word_squared_norms(self) -> Tensor:
        """``[N_w]``, ``(x_word * x_word).sum(-1)``."""
        if self._word_squared_norms is None:
            self._word_squared_norms = (self.x_word * self.x_word).sum(-1)
        return self._word_squared_norms

    def node_cost(self) -> Tensor:
        """Cosine distances ``[B', K, N]`` between the objects and the words
        of every aligned sample (1 at padding): on CPU one product per
        sample, without padding the word features; elsewhere one batched
        product over the padded words (no loop over samples, no host
        read)."""
        words = self.layout.words
        word_norms = norms_from_squares(words.pad(self.word_squared_norms))
        if self.x_word.device.type != "cpu":
            return padded_cosine_distance(self.padded_objects,
                                          self.padded_words, word_norms)
        return grouped_cosine_distance(self.padded_objects, self.x_word,
                                       words.ranges(), word_norms)

    def empty_result(self) -> Tuple[Tensor, Tensor]:
        """``(value [0], plan [0, 0, 0])``: no aligned sample."""
        return self.x_word.new_zeros(0), self.x_word.new_zeros(0, 0, 0)

    def per_sample(self, values: Tensor) -> Tensor:
        """``[B, ...]`` from per-aligned-sample ``values [B', ...]`` (zeros
        for the other samples); differentiable."""
        out = values.new_zeros((self.num_graphs, ) + tuple(values.shape[1:]))
        return out.index_copy(0, self.layout.sample_index, values)
