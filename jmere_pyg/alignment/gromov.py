r"""Edge term :math:`D_{gwd}` (eq. 6): entropic Gromov-Wasserstein between
the object graph and the word graph of every sample, three implementations.

* ``"dense"``: the original graph optimal transport over *fully connected*
  graphs, all node pairs counting, with POT's batched solver
  (``ot.batch.solve_gromov_batch``) on padded tensors.
* ``"sparse"``: the paper's restriction, only node pairs adjacent in their
  own graph counting,

  .. math::
      \mathcal{E}(\mathbf{T}) = \sum_{(i, i') \in E_I}
      \sum_{(j, j') \in E_T} (C^I_{ii'} - C^T_{jj'})^2 \, T_{ij} T_{i'j'},

  computed by our gather/scatter kernel over the edge lists of the batch
  (:mod:`~jmere_pyg.alignment.sparse_kernel`), intra-graph costs on edges
  only.
* ``"masked_dense"``: the same restricted objective with dense padded
  tensors and dense adjacency masks in plain torch: the test reference of
  ``"sparse"``.

Intra-graph costs are cosine distances between node features. The
restricted modes run the proximal point iteration of POT's batched solver
(Xu et al. 2019): from :math:`\mathbf{T}_0 = \mathbf{a}\mathbf{b}^\top`,

.. math::
    \mathbf{T}_{t+1} = \mathop{\arg\min}_{\mathbf{T} \in
    \Pi(\mathbf{a}, \mathbf{b})}
    \langle \nabla \mathcal{E}(\mathbf{T}_t), \mathbf{T} \rangle
    + \epsilon \, \mathrm{KL}(\mathbf{T} \,\|\, \mathbf{T}_t),

each step an entropic projection by batched log-domain Sinkhorn (the
iterations of POT's ``ot.batch.bregman_log_projection_batch``, see
:func:`~jmere_pyg.alignment.projection.entropic_projection`), and
:math:`D_{gwd} = \mathcal{E}(\mathbf{T}_{\text{last}})`.
"""
from typing import Callable, Tuple

import ot
import torch
from torch import Tensor

from .batching import AlignmentProblem
from .common import (GRAD_MODES, GROMOV_MODES, TransportResult, check_choice,
                     check_positive)
from .costs import cosine_distance_dense, edge_cosine_distance
from .projection import entropic_projection
from .sparse_kernel import (RestrictedGromovKernel, object_edge_channels,
                            word_edge_channels)

#: Mass of a padding node in POT's batched GW: zero mass gives NaN plans.
DENSE_PADDING_MASS = 1e-12


def proximal_gromov_plan(gradient: Callable[[Tensor], Tensor],
                         object_mass: Tensor, word_mass: Tensor,
                         pair_mask: Tensor, reg: float,
                         outer_iterations: int, inner_iterations: int,
                         differentiable: bool, compile: bool = False
                         ) -> Tensor:
    """Proximal point GW plans ``[B', K, N]`` for the objective whose
    gradient in the plan is ``gradient(plan)``; padding has zero mass
    (exact).

    Args:
        gradient: plan ``[B', K, N]`` -> gradient ``[B', K, N]``.
        object_mass: ``[B', K]``, zero at padding.
        word_mass: ``[B', N]``, zero at padding.
        pair_mask: bool ``[B', K, N]``, real pairs.
        reg: proximal (entropic) step.
        outer_iterations: proximal steps.
        inner_iterations: Sinkhorn iterations per step.
        differentiable: keep the autograd graph of the iterations.
        compile: see
            :func:`~jmere_pyg.alignment.projection.entropic_projection`.
    """
    log_plan = object_mass.log().unsqueeze(2) + word_mass.log().unsqueeze(1)
    plan = log_plan.exp()
    for _ in range(outer_iterations):
        plan, log_plan = entropic_projection(
            log_plan - gradient(plan) / reg, object_mass, word_mass,
            pair_mask, inner_iterations, differentiable, compile)
    return plan


def _dense(problem: AlignmentProblem, edge_index_word: Tensor,
           edge_index_obj: Tensor, reg: float, outer_iterations: int,
           inner_iterations: int, grad: str,
           compile: bool = False) -> Tuple[Tensor, Tensor]:
    words, objects = problem.padded_words, problem.padded_objects
    layout, dtype = problem.layout, words.dtype
    result = ot.batch.solve_gromov_batch(
        cosine_distance_dense(objects, objects),
        cosine_distance_dense(words, words), reg=reg,
        a=layout.objects.uniform_mass(dtype, DENSE_PADDING_MASS),
        b=layout.words.uniform_mass(dtype, DENSE_PADDING_MASS),
        loss="sqeuclidean", symmetric=True, max_iter=outer_iterations,
        tol=0.0, max_iter_inner=inner_iterations, tol_inner=0.0, grad=grad)
    return result.value_quad, result.plan * layout.pair_mask


def dense_adjacency(edge_slots: Tensor, num_samples: int, size: int,
                    dtype: torch.dtype) -> Tensor:
    """Edge counts ``[B', L, L]`` from slot edges ``[2, E]``."""
    source, target = edge_slots
    flat = source * size + target % size
    counts = torch.zeros(num_samples * size * size, dtype=dtype,
                         device=edge_slots.device)
    counts.index_add_(0, flat, torch.ones_like(flat, dtype=dtype))
    return counts.view(num_samples, size, size)


def _masked_dense(problem: AlignmentProblem, edge_index_word: Tensor,
                  edge_index_obj: Tensor, reg: float, outer_iterations: int,
                  inner_iterations: int, grad: str,
           compile: bool = False) -> Tuple[Tensor, Tensor]:
    layout = problem.layout
    words, objects = problem.padded_words, problem.padded_objects
    num_samples, dtype = layout.num_aligned, words.dtype
    object_adjacency = dense_adjacency(
        layout.objects.kept_edges(edge_index_obj)[1], num_samples,
        layout.objects.size, dtype)
    word_adjacency = dense_adjacency(
        layout.words.kept_edges(edge_index_word)[1], num_samples,
        layout.words.size, dtype)
    object_cost = cosine_distance_dense(objects, objects)
    word_cost = cosine_distance_dense(words, words)
    # x [B', 3, K, K], y [B', 3, N, N]: objective <T, sum_c x_c T y_c^T>.
    x = object_adjacency.unsqueeze(1) * torch.stack(
        [object_cost**2, torch.ones_like(object_cost), -2.0 * object_cost], 1)
    y = word_adjacency.unsqueeze(1) * torch.stack(
        [torch.ones_like(word_cost), word_cost**2, word_cost], 1)

    def product(plan, x, y):
        return (x @ plan.unsqueeze(1) @ y.transpose(2, 3)).sum(dim=1)

    def gradient(plan):
        return (product(plan, x, y)
                + product(plan, x.transpose(2, 3), y.transpose(2, 3)))

    plan = _restricted_plan(gradient, problem, reg, outer_iterations,
                            inner_iterations, grad, compile)
    value = (plan * product(plan, x, y)).sum(dim=(1, 2))
    return value, plan


def _sparse(problem: AlignmentProblem, edge_index_word: Tensor,
            edge_index_obj: Tensor, reg: float, outer_iterations: int,
            inner_iterations: int, grad: str,
           compile: bool = False) -> Tuple[Tensor, Tensor]:
    layout = problem.layout
    word_edges, word_slots = layout.words.kept_edges(edge_index_word)
    object_edges, object_slots = layout.objects.kept_edges(edge_index_obj)
    word_cost = edge_cosine_distance(problem.x_word, word_edges,
                                     problem.word_squared_norms)
    object_cost = edge_cosine_distance(problem.x_obj, object_edges)
    kernel = RestrictedGromovKernel(object_slots, word_slots,
                                    layout.num_aligned, layout.objects.size,
                                    layout.words.size)
    object_weights = object_edge_channels(object_cost)
    word_weights = word_edge_channels(word_cost)

    def gradient(plan):
        return kernel.gradient(plan, object_weights, word_weights)

    plan = _restricted_plan(gradient, problem, reg, outer_iterations,
                            inner_iterations, grad, compile)
    if grad == "autodiff":
        return kernel.value(plan, object_cost, word_cost), plan
    return kernel.value_at_fixed_plan(plan, object_cost, word_cost), plan


def _restricted_plan(gradient: Callable[[Tensor], Tensor],
                     problem: AlignmentProblem, reg: float,
                     outer_iterations: int, inner_iterations: int,
                     grad: str, compile: bool) -> Tensor:
    layout, dtype = problem.layout, problem.x_word.dtype
    differentiable = grad == "autodiff"
    with torch.set_grad_enabled(torch.is_grad_enabled() and differentiable):
        return proximal_gromov_plan(
            gradient, layout.objects.uniform_mass(dtype),
            layout.words.uniform_mass(dtype), layout.pair_mask, reg,
            outer_iterations, inner_iterations, differentiable, compile)


_SOLVERS = {"dense": _dense, "masked_dense": _masked_dense,
            "sparse": _sparse}


def solve_gromov(problem: AlignmentProblem, edge_index_word: Tensor,
                 edge_index_obj: Tensor, mode: str, reg: float,
                 outer_iterations: int, inner_iterations: int,
                 grad: str, compile: bool = False) -> Tuple[Tensor, Tensor]:
    """The edge term of the aligned samples: ``value [B']``,
    ``plan [B', K, N]``; ``compile`` (restricted modes only): see
    :func:`~jmere_pyg.alignment.projection.entropic_projection`."""
    if problem.layout.num_aligned == 0:
        return problem.empty_result()
    return _SOLVERS[mode](problem, edge_index_word, edge_index_obj, reg,
                          outer_iterations, inner_iterations, grad, compile)


def gromov_wasserstein_distance(
        x_word: Tensor, edge_index_word: Tensor, batch_word: Tensor,
        x_obj: Tensor, edge_index_obj: Tensor, batch_obj: Tensor,
        num_graphs: int, *, mode: str = "sparse", reg: float = 0.1,
        outer_iterations: int = 5, inner_iterations: int = 20,
        grad: str = "envelope") -> TransportResult:
    r"""Entropic Gromov-Wasserstein distance between the object graph and
    the word graph of every sample (eq. 6 of the EEGA paper), with square
    loss and cosine-distance intra-graph costs :math:`C^I, C^T`.

    ``mode="sparse"`` and ``"masked_dense"`` compute the paper's objective,
    restricted to node pairs adjacent in their own graph (the edges as
    given: pass both directions for an undirected graph, and self loops if
    they should count),

    .. math::
        D_{gwd} = \sum_{(i, i') \in E_I} \sum_{(j, j') \in E_T}
        (C^I_{ii'} - C^T_{jj'})^2 \, \hat T_{ij} \hat T_{i'j'},

    ``mode="dense"`` the original one over fully connected graphs (all pairs
    :math:`i, i'` and :math:`j, j'`). See :mod:`~jmere_pyg.alignment.gromov`
    for the solvers. Masses are uniform over real nodes.

    Args:
        x_word: word features ``[N_w, F]``.
        edge_index_word: long ``[2, E_T]``, word edges (global indices).
        batch_word: long ``[N_w]`` (sorted).
        x_obj: object features ``[N_o, F]``.
        edge_index_obj: long ``[2, E_I]``, object edges (global indices).
        batch_obj: long ``[N_o]`` (sorted).
        num_graphs: ``B``.
        mode: ``"sparse"``, ``"dense"`` or ``"masked_dense"``.
            (default: ``"sparse"``)
        reg: entropic (proximal) regularisation :math:`\epsilon`.
            (default: ``0.1``)
        outer_iterations: proximal steps. (default: ``5``)
        inner_iterations: Sinkhorn iterations per step. (default: ``20``)
        grad: ``"envelope"`` (plan fixed, gradient into the features through
            the intra-graph costs), ``"autodiff"`` (through the iterations)
            or ``"detach"``. (default: ``"envelope"``)

    Returns:
        :class:`TransportResult`: ``value [B]``, ``plan [B, K, N]``,
        ``has_objects [B]``; samples without objects have value 0.
    """
    check_options(mode, reg, outer_iterations, inner_iterations, grad)
    problem = AlignmentProblem(x_word, batch_word, x_obj, batch_obj,
                               num_graphs)
    with torch.set_grad_enabled(torch.is_grad_enabled()
                                and grad != "detach"):
        value, plan = solve_gromov(problem, edge_index_word, edge_index_obj,
                                   mode, reg, outer_iterations,
                                   inner_iterations, grad)
    return TransportResult(problem.per_sample(value),
                           problem.per_sample(plan),
                           problem.layout.has_objects)


def check_options(mode: str, reg: float, outer_iterations: int,
                  inner_iterations: int, grad: str) -> None:
    """ValueError naming the allowed values for a bad edge-term option."""
    check_choice("mode", mode, GROMOV_MODES)
    check_positive("reg", reg)
    check_positive("outer_iterations", outer_iterations, integer=True)
    check_positive("inner_iterations", inner_iterations, integer=True)
    check_choice("grad", grad, GRAD_MODES)
