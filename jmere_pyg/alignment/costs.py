r"""Cosine distances: dense (padded per sample), grouped (objects against the
words of their sample, words unpadded) and on edges only.

.. math::
    c(\mathbf{u}, \mathbf{v}) = 1 - \frac{\mathbf{u}^\top \mathbf{v}}
    {\max(\|\mathbf{u}\|, \epsilon) \, \max(\|\mathbf{v}\|, \epsilon)}

A zero vector (padding) is at distance 1 from everything.
"""
from typing import List, Optional, Tuple

import torch
from torch import Tensor

NORM_EPS = 1e-12

#: Number of gathered feature entries (edges times features) one chunk of
#: :func:`edge_cosine_distance` holds at a time.
EDGE_CHUNK_ELEMENTS = 1 << 20


def _norms(x: Tensor) -> Tensor:
    return x.norm(dim=-1).clamp_min(NORM_EPS)


def norms_from_squares(squared_norms: Tensor) -> Tensor:
    """``max(sqrt(s), NORM_EPS)`` with a finite gradient at ``s = 0``."""
    return squared_norms.clamp_min(NORM_EPS**2).sqrt()


def cosine_distance_dense(x: Tensor, y: Tensor) -> Tensor:
    """All-pairs cosine distances of padded per-sample node sets.

    Args:
        x: ``[B, L1, F]``.
        y: ``[B, L2, F]``.

    Returns:
        ``[B, L1, L2]``.
    """
    dots = torch.bmm(x, y.transpose(1, 2))
    return 1.0 - dots / (_norms(x).unsqueeze(2) * _norms(y).unsqueeze(1))


class _GroupedDot(torch.autograd.Function):
    """``out[p, j] = objects[p] @ x[start_p + j]`` for the nodes of every
    sample ``p``: one matrix product per sample, into ``[B', N, K]``, without
    a padded copy of ``x`` in either pass."""

    @staticmethod
    def forward(ctx, x: Tensor, objects: Tensor,
                ranges: List[Tuple[int, int]], size: int) -> Tensor:
        ctx.save_for_backward(x, objects)
        ctx.ranges = ranges
        out = x.new_zeros(objects.size(0), size, objects.size(1))
        for position, (start, count) in enumerate(ranges):
            torch.mm(x[start:start + count], objects[position].t(),
                     out=out[position, :count])
        return out

    @staticmethod
    def backward(ctx, grad_out: Tensor):
        x, objects = ctx.saved_tensors
        need_x, need_objects = ctx.needs_input_grad[:2]
        grad_x = torch.zeros_like(x) if need_x else None
        grad_objects = torch.zeros_like(objects) if need_objects else None
        for position, (start, count) in enumerate(ctx.ranges):
            grad = grad_out[position, :count]
            if need_x:
                torch.mm(grad, objects[position],
                         out=grad_x[start:start + count])
            if need_objects:
                torch.mm(grad.t(), x[start:start + count],
                         out=grad_objects[position])
        return grad_x, grad_objects, None, None


def grouped_cosine_distance(objects: Tensor, x: Tensor,
                            ranges: List[Tuple[int, int]],
                            x_norms: Tensor) -> Tensor:
    """Cosine distances between the padded objects of every sample and its
    rows of ``x``, without padding ``x``.

    Args:
        objects: ``[B', K, F]``, zero-padded.
        x: ``[N_x, F]``; sample ``p`` owns ``count_p`` rows from ``start_p``.
        ranges: ``(start_p, count_p)`` per sample.
        x_norms: ``[B', N]``, the norms of those rows clamped at
            ``NORM_EPS``, padded.

    Returns:
        ``[B', K, N]``.
    """
    dots = _GroupedDot.apply(x, objects, ranges, x_norms.size(1))
    norms = _norms(objects).unsqueeze(2) * x_norms.unsqueeze(1)
    return 1.0 - dots.transpose(1, 2) / norms


def padded_cosine_distance(objects: Tensor, words: Tensor,
                           word_norms: Tensor) -> Tensor:
    """:func:`grouped_cosine_distance` from padded words: one batched
    matrix product, no per-sample loop and no host read (the CUDA path).

    Args:
        objects: ``[B', K, F]``, zero-padded.
        words: ``[B', N, F]``, zero-padded.
        word_norms: ``[B', N]``, as in :func:`grouped_cosine_distance`.

    Returns:
        ``[B', K, N]``.
    """
    dots = torch.bmm(objects, words.transpose(1, 2))
    norms = _norms(objects).unsqueeze(2) * word_norms.unsqueeze(1)
    return 1.0 - dots / norms


class _EdgeDot(torch.autograd.Function):
    """``out[e] = <x[source[e]], x[target[e]]>`` computed in chunks of
    edges, so that neither pass holds ``[E, F]`` gathered features."""

    @staticmethod
    def forward(ctx, x: Tensor, source: Tensor, target: Tensor) -> Tensor:
        ctx.save_for_backward(x, source, target)
        out = x.new_empty(source.numel())
        for start, stop in _chunks(source.numel(), x.size(1)):
            out[start:stop] = (x.index_select(0, source[start:stop])
                               * x.index_select(0, target[start:stop])).sum(-1)
        return out

    @staticmethod
    def backward(ctx, grad_out: Tensor):
        x, source, target = ctx.saved_tensors
        grad_x = torch.zeros_like(x)
        for start, stop in _chunks(source.numel(), x.size(1)):
            src, dst = source[start:stop], target[start:stop]
            weight = grad_out[start:stop].unsqueeze(1)
            grad_x.index_add_(0, src, weight * x.index_select(0, dst))
            grad_x.index_add_(0, dst, weight * x.index_select(0, src))
        return grad_x, None, None


def _chunks(num_edges: int, num_features: int):
    step = max(1, EDGE_CHUNK_ELEMENTS // max(1, num_features))
    return ((start, min(start + step, num_edges))
            for start in range(0, num_edges, step))


def edge_cosine_distance(x: Tensor, edge_index: Tensor,
                         squared_norms: Optional[Tensor] = None) -> Tensor:
    """Cosine distances between the end points of every edge, and only
    those.

    Each unordered node pair is computed once (an undirected graph stores
    both directions) and self loops come from the squared norms. Memory is
    ``O(E + N)`` besides ``x``: features are gathered in chunks of edges, in
    the backward pass too.

    Args:
        x: node features ``[N, F]``.
        edge_index: long ``[2, E]``.
        squared_norms: ``[N]``, ``(x * x).sum(-1)`` if already computed.

    Returns:
        ``[E]``.
    """
    source, target = edge_index[0], edge_index[1]
    num_nodes = x.size(0)
    low = torch.minimum(source, target)
    high = torch.maximum(source, target)
    loop = low == high
    pairs, pair_of_edge = torch.unique(low[~loop] * num_nodes + high[~loop],
                                       return_inverse=True)
    pair_dots = _EdgeDot.apply(x, pairs // num_nodes, pairs % num_nodes)
    if squared_norms is None:
        squared_norms = (x * x).sum(-1)
    # Every edge reads its dot product from [pair_dots; squared_norms].
    lookup = torch.empty_like(source)
    lookup[~loop] = pair_of_edge
    lookup[loop] = pairs.numel() + source[loop]
    dots = torch.cat([pair_dots, squared_norms])[lookup]
    norms = norms_from_squares(squared_norms)
    return 1.0 - dots / (norms[source] * norms[target])
