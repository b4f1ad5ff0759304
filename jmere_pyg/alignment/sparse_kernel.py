r"""Our batched gather/scatter kernel for the adjacency-restricted
Gromov-Wasserstein objective over the edge lists of a whole PyG batch.

For one sample with transport plan :math:`\mathbf{T} \in \mathbb{R}^{k
\times n}` (objects x words), object edges :math:`E_I` with costs
:math:`c^I_e` and word edges :math:`E_T` with costs :math:`c^T_f`, the
objective is

.. math::
    \mathcal{E}(\mathbf{T})
    = \sum_{e = (i, i') \in E_I} \sum_{f = (j, j') \in E_T}
      (c^I_e - c^T_f)^2 \, T_{ij} T_{i'j'}
    = \sum_{c=1}^{3} \langle \mathbf{T},
      \mathbf{X}_c \mathbf{T} \mathbf{Y}_c^\top \rangle

with :math:`\mathbf{X}_c` supported on :math:`E_I` carrying
:math:`((c^I)^2, 1, -2 c^I)` and :math:`\mathbf{Y}_c` supported on
:math:`E_T` carrying :math:`(1, (c^T)^2, c^T)`. Every product
:math:`\mathbf{X} \mathbf{T} \mathbf{Y}^\top` is two sparse-times-dense
products over the edge lists, a gather of plan rows at the edges' columns
and a sum at their rows (``torch_geometric.utils.scatter``, plain torch's
``scatter_add_``, with or without torch-scatter; on CPU faster than
torch-scatter's ``segment_csr`` and equal to it bit for bit):
``O(k |E_T| + n |E_I|)`` work and memory per sample, never an ``n x n`` or
``k x k`` matrix. All samples are processed at once in the padded slot layout
of :class:`~jmere_pyg.alignment.batching.AlignmentLayout`; CPU and CUDA.

The gradient in the plan, :math:`\sum_c \mathbf{X}_c \mathbf{T}
\mathbf{Y}_c^\top + \mathbf{X}_c^\top \mathbf{T} \mathbf{Y}_c`, folds into a
single product when either graph is symmetric (the usual case: undirected
graphs stored with both directions).
"""
import bisect
from typing import Dict, List, Optional, Tuple

import torch
from torch import Tensor
from torch_geometric.utils import scatter

#: On CPU, edges are processed in blocks of rows whose messages hold at most
#: this many entries, so that temporaries stay in cache instead of being
#: allocated (and page-faulted) at full size; CUDA uses one block.
CPU_MESSAGE_BLOCK = 1 << 19


def object_edge_channels(cost: Tensor) -> Tensor:
    """The three object-side weights ``[E_I, 3]``: ``(c^2, 1, -2 c)``."""
    return torch.stack([cost * cost, torch.ones_like(cost), -2.0 * cost], 1)


def word_edge_channels(cost: Tensor) -> Tensor:
    """The three word-side weights ``[E_T, 3]``: ``(1, c^2, c)``."""
    return torch.stack([torch.ones_like(cost), cost * cost, cost], 1)


class EdgeList:
    """A block-diagonal sparse matrix ``A[row, col] = sum of weights`` over
    slots, its entries sorted by row (so that CPU blocks of rows are
    contiguous ranges of entries).

    Args:
        row: long ``[E]``.
        col: long ``[E]``.
        weight_index: long ``[E]``, which weight (row of a per-edge weight
            tensor) each entry carries.
        num_rows: number of slots.
    """

    def __init__(self, row: Tensor, col: Tensor, weight_index: Tensor,
                 num_rows: int):
        order = torch.argsort(row, stable=True)
        self.row = row[order]
        self.col = col[order]
        self.weight_index = weight_index[order]
        # The first entry of every row (searchsorted, unlike bincount, does
        # not read the largest row back to the host on CUDA).
        self.ptr = torch.searchsorted(
            self.row, torch.arange(num_rows + 1, device=row.device))
        self._host_ptr: Optional[List[int]] = (
            self.ptr.tolist() if self.ptr.device.type == "cpu" else None)
        self._blocks: Dict[int, List[Tuple[int, int]]] = {}

    def matmul(self, rows: Tensor, weights: Tensor, contract: bool) -> Tensor:
        """``A_c @ rows`` for every weight channel ``c``.

        Args:
            rows: ``[num_rows, F]`` (``contract=False``) or
                ``[num_rows, C, F]`` (``contract=True``).
            weights: ``[E_weights, C]``, indexed by ``weight_index``.
            contract: sum the channels (``sum_c A_c @ rows[:, c]``,
                ``[num_rows, F]``) instead of expanding them
                (``[num_rows, C, F]``).
        """
        edge_weights = weights[self.weight_index]
        edges_per_block = max(
            1, CPU_MESSAGE_BLOCK // (weights.size(1) * rows.size(-1)))
        outputs = [self._block(rows, edge_weights, contract, start, end)
                   for start, end in self.blocks(edges_per_block)]
        return outputs[0] if len(outputs) == 1 else torch.cat(outputs)

    def _block(self, rows: Tensor, edge_weights: Tensor, contract: bool,
               row_start: int, row_end: int) -> Tensor:
        if self._host_ptr is None:
            edge_start, edge_end = 0, self.col.numel()
        else:
            edge_start = self._host_ptr[row_start]
            edge_end = self._host_ptr[row_end]
        gathered = rows.index_select(0, self.col[edge_start:edge_end])
        block_weights = edge_weights[edge_start:edge_end]
        if contract:
            messages = torch.bmm(block_weights.unsqueeze(1), gathered)
            messages = messages.squeeze(1)
        else:
            messages = block_weights.unsqueeze(2) * gathered.unsqueeze(1)
        return scatter(messages, self.row[edge_start:edge_end] - row_start,
                       dim=0, dim_size=row_end - row_start, reduce="sum")

    def blocks(self, edges_per_block: int) -> List[Tuple[int, int]]:
        """Row ranges ``(start, end)`` holding about ``edges_per_block``
        edges each (one range on CUDA)."""
        num_rows = self.ptr.numel() - 1
        if self._host_ptr is None:
            return [(0, num_rows)]
        if edges_per_block not in self._blocks:
            ptr, blocks, start = self._host_ptr, [], 0
            while start < num_rows:
                end = bisect.bisect_right(ptr, ptr[start] + edges_per_block,
                                          start + 1) - 1
                end = min(max(end, start + 1), num_rows)
                blocks.append((start, end))
                start = end
            self._blocks[edges_per_block] = blocks
        return self._blocks[edges_per_block]


class Adjacency:
    """A graph's edges in slot coordinates and the sparse matrices built on
    them: ``A`` (``A[source, target]``), its transpose and ``A + A^T``.

    Args:
        edge_index: long ``[2, E]`` in slot coordinates.
        num_slots: ``B' * L``.
    """

    def __init__(self, edge_index: Tensor, num_slots: int):
        self.source, self.target = edge_index[0], edge_index[1]
        self.num_slots = num_slots
        self.matrix = EdgeList(self.source, self.target, self._identity(),
                               num_slots)
        self.symmetric = _is_symmetric(self.source, self.target, num_slots)
        self._transpose: Optional[EdgeList] = None
        self._union: Optional[EdgeList] = None

    def _identity(self) -> Tensor:
        return torch.arange(self.source.numel(), device=self.source.device)

    @property
    def transpose(self) -> EdgeList:
        """``A^T``."""
        if self._transpose is None:
            self._transpose = EdgeList(self.target, self.source,
                                       self._identity(), self.num_slots)
        return self._transpose

    @property
    def union(self) -> EdgeList:
        """``A + A^T``."""
        if self._union is None:
            identity = self._identity()
            self._union = EdgeList(torch.cat([self.source, self.target]),
                                   torch.cat([self.target, self.source]),
                                   torch.cat([identity, identity]),
                                   self.num_slots)
        return self._union


def _is_symmetric(source: Tensor, target: Tensor, num_slots: int) -> bool:
    """Whether the edge multiset is closed under reversal."""
    forward = torch.sort(source * num_slots + target).values
    backward = torch.sort(target * num_slots + source).values
    return bool(torch.equal(forward, backward))


class RestrictedGromovKernel:
    """Products, gradient and value of the adjacency-restricted GW objective
    for all aligned samples of a batch.

    Args:
        object_edges: long ``[2, E_I]``, object edges in slot coordinates
            (``sample * K + local``).
        word_edges: long ``[2, E_T]``, word edges in slot coordinates
            (``sample * N + local``).
        num_samples: ``B'``.
        num_objects: ``K``.
        num_words: ``N``.

    Shapes:
        plans ``[B', K, N]``; object edge weights ``[E_I, C]`` (e.g.
        :func:`object_edge_channels`), word edge weights ``[E_T, C]`` (e.g.
        :func:`word_edge_channels`).
    """

    def __init__(self, object_edges: Tensor, word_edges: Tensor,
                 num_samples: int, num_objects: int, num_words: int):
        self.shape = (num_samples, num_objects, num_words)
        self.objects = Adjacency(object_edges, num_samples * num_objects)
        self.words = Adjacency(word_edges, num_samples * num_words)

    def _object_major(self, plan: Tensor) -> Tensor:
        """``[B' K, N]``."""
        num_samples, num_objects, num_words = self.shape
        return plan.reshape(num_samples * num_objects, num_words)

    def _word_major(self, plan: Tensor) -> Tensor:
        """``[B' N, K]``."""
        num_samples, num_objects, num_words = self.shape
        return plan.transpose(1, 2).reshape(num_samples * num_words,
                                            num_objects)

    def _word_side(self, plan: Tensor, matrix: EdgeList,
                   weights: Tensor) -> Tensor:
        """``T Y_c^T`` for every channel, object-major ``[B' K, C, N]``."""
        num_samples, num_objects, num_words = self.shape
        product = matrix.matmul(self._word_major(plan), weights,
                                contract=False)
        product = product.view(num_samples, num_words, -1, num_objects)
        return product.permute(0, 3, 2, 1).reshape(
            num_samples * num_objects, -1, num_words)

    def _object_side(self, rows: Tensor, matrix: EdgeList,
                     weights: Tensor) -> Tensor:
        """``sum_c X_c rows_c`` as ``[B', K, N]``."""
        return matrix.matmul(rows, weights, contract=True).view(self.shape)

    def product(self, plan: Tensor, object_weights: Tensor,
                word_weights: Tensor) -> Tensor:
        """``sum_c X_c T Y_c^T``, ``[B', K, N]``; differentiable in all
        inputs."""
        rows = self._word_side(plan, self.words.matrix, word_weights)
        return self._object_side(rows, self.objects.matrix, object_weights)

    def gradient(self, plan: Tensor, object_weights: Tensor,
                 word_weights: Tensor) -> Tensor:
        """Gradient of the objective in the plan, ``[B', K, N]``:
        ``sum_c X_c T Y_c^T + X_c^T T Y_c``."""
        objects, words = self.objects, self.words
        if words.symmetric:  # (X + X^T) T Y^T
            rows = self._word_side(plan, words.matrix, word_weights)
            if objects.symmetric:
                return 2.0 * self._object_side(rows, objects.matrix,
                                               object_weights)
            return self._object_side(rows, objects.union, object_weights)
        if objects.symmetric:  # X T (Y + Y^T)^T
            rows = self._word_side(plan, words.union, word_weights)
            return self._object_side(rows, objects.matrix, object_weights)
        forward = self._object_side(
            self._word_side(plan, words.matrix, word_weights),
            objects.matrix, object_weights)
        backward = self._object_side(
            self._word_side(plan, words.transpose, word_weights),
            objects.transpose, object_weights)
        return forward + backward

    def value(self, plan: Tensor, object_cost: Tensor,
              word_cost: Tensor) -> Tensor:
        """The objective per sample ``[B']``, differentiable in the plan and
        the edge costs (``[E_I]``, ``[E_T]``)."""
        product = self.product(plan, object_edge_channels(object_cost),
                               word_edge_channels(word_cost))
        return (plan * product).sum(dim=(1, 2))

    def value_at_fixed_plan(self, plan: Tensor, object_cost: Tensor,
                            word_cost: Tensor) -> Tensor:
        r"""The objective per sample ``[B']`` with the plan held fixed,
        differentiable in the edge costs, keeping only ``O(E)`` tensors for
        the backward pass.

        With :math:`W_{ef} = T_{ij} T_{i'j'}` for :math:`e = (i, i')`,
        :math:`f = (j, j')` the objective is
        :math:`\sum_e (c^I_e)^2 S^0_e + \sum_f (c^T_f)^2 R^0_f
        - 2 \sum_{e, f} c^I_e W_{ef} c^T_f` with edge statistics
        :math:`S^0 = W \mathbf{1}`, :math:`S^1 = W c^T`,
        :math:`R^0 = W^\top \mathbf{1}`, :math:`R^1 = W^\top c^I`, computed
        without gradient; the bilinear term is written so that its value is
        exact and its gradients are :math:`-2 S^1` and :math:`-2 R^1`.
        """
        num_samples, num_objects, num_words = self.shape
        plan = plan.detach()
        with torch.no_grad():
            object_stats = self._object_edge_statistics(plan,
                                                        word_cost.detach())
            word_stats = self._word_edge_statistics(plan,
                                                    object_cost.detach())
        per_object_edge = (object_cost * object_cost * object_stats[:, 0]
                           - 2.0 * (object_cost - object_cost.detach())
                           * object_stats[:, 1])
        per_word_edge = (word_cost * word_cost * word_stats[:, 0]
                         - 2.0 * word_cost * word_stats[:, 1])
        value = plan.new_zeros(num_samples)
        value = value.index_add(0, self.objects.source // num_objects,
                                per_object_edge)
        return value.index_add(0, self.words.source // num_words,
                               per_word_edge)

    def _object_edge_statistics(self, plan: Tensor,
                                word_cost: Tensor) -> Tensor:
        """``[E_I, 2]``: ``S^0_e, S^1_e = sum_f W_ef (1, c^T_f)``."""
        weights = torch.stack([torch.ones_like(word_cost), word_cost], 1)
        rows = self._word_side(plan, self.words.matrix, weights)
        return _paired_dots(self._object_major(plan), self.objects.source,
                            rows, self.objects.target)

    def _word_edge_statistics(self, plan: Tensor,
                              object_cost: Tensor) -> Tensor:
        """``[E_T, 2]``: ``R^0_f, R^1_f = sum_e W_ef (1, c^I_e)``."""
        num_samples, num_objects, num_words = self.shape
        weights = torch.stack([torch.ones_like(object_cost), object_cost], 1)
        rows = self.objects.matrix.matmul(self._object_major(plan), weights,
                                          contract=False)
        rows = rows.view(num_samples, num_objects, 2, num_words)
        word_rows = rows.permute(0, 3, 2, 1).reshape(
            num_samples * num_words, 2, num_objects)
        return _paired_dots(self._word_major(plan), self.words.source,
                            word_rows, self.words.target)


def _paired_dots(left: Tensor, left_index: Tensor, right: Tensor,
                 right_index: Tensor) -> Tensor:
    """``out[e, c] = <left[left_index[e]], right[right_index[e], c]>``,
    ``[E, C]`` from ``left [R, F]`` and ``right [R', C, F]``, in blocks of
    edges on CPU (see :data:`CPU_MESSAGE_BLOCK`)."""
    num_edges = left_index.numel()
    step = max(1, num_edges)
    if left.device.type == "cpu":
        step = max(1, CPU_MESSAGE_BLOCK // (right.size(1) * right.size(2)))
    out = left.new_empty(num_edges, right.size(1))
    for start in range(0, num_edges, step):
        stop = min(start + step, num_edges)
        gathered = right.index_select(0, right_index[start:stop])
        own = left.index_select(0, left_index[start:stop]).unsqueeze(2)
        out[start:stop] = torch.bmm(gathered, own).squeeze(2)
    return out
