r"""Node term :math:`D_{wd}` (eq. 5): entropic optimal transport between
the objects and the words of every sample, with POT's batched Sinkhorn."""
from typing import Tuple

import torch
from torch import Tensor

from .batching import AlignmentProblem
from .common import (GRAD_MODES, TransportResult, check_choice,
                     check_positive)
from .projection import entropic_projection


def solve_wasserstein(problem: AlignmentProblem, reg: float,
                      iterations: int, grad: str,
                      compile: bool = False) -> Tuple[Tensor, Tensor]:
    """The node term of the aligned samples: ``value [B']``,
    ``plan [B', K, N]``; ``compile``: see
    :func:`~jmere_pyg.alignment.projection.entropic_projection`."""
    if problem.layout.num_aligned == 0:
        return problem.empty_result()
    cost = problem.node_cost()
    layout, dtype = problem.layout, cost.dtype
    differentiable = grad == "autodiff"
    plan, _ = entropic_projection(
        -(cost if differentiable else cost.detach()) / reg,
        layout.objects.uniform_mass(dtype), layout.words.uniform_mass(dtype),
        layout.pair_mask, iterations, differentiable, compile)
    value = (plan * cost).sum(dim=(1, 2))
    return value, plan


def wasserstein_distance(x_word: Tensor, batch_word: Tensor, x_obj: Tensor,
                         batch_obj: Tensor, num_graphs: int, *,
                         reg: float = 0.1, iterations: int = 20,
                         grad: str = "envelope") -> TransportResult:
    r"""Entropic Wasserstein distance between the objects and the words of
    every sample (eq. 5 of the EEGA paper):

    .. math::
        \mathbf{T}^\star = \mathop{\arg\min}_{\mathbf{T} \in \Pi(\mathbf{a},
        \mathbf{b})} \langle \mathbf{T}, \mathbf{M} \rangle
        - \epsilon H(\mathbf{T}), \qquad
        D_{wd} = \langle \mathbf{T}^\star, \mathbf{M} \rangle, \qquad
        M_{ij} = 1 - \cos(\mathbf{h}^I_i, \mathbf{h}^T_j)

    with :math:`\mathbf{a}` uniform over the sample's objects and
    :math:`\mathbf{b}` uniform over its words. Solved for all samples at
    once by batched log-domain Sinkhorn (the iterations of POT's
    ``ot.batch.bregman_log_projection_batch``, on the logits
    :math:`-\mathbf{M} / \epsilon`, as ``ot.batch.solve_batch`` does) on
    padded ``[B', K, N]`` problems where padding carries zero mass (exact,
    see :func:`~jmere_pyg.alignment.projection.entropic_projection`).

    Args:
        x_word: word features ``[N_w, F]``.
        batch_word: long ``[N_w]``, sample of every word (sorted).
        x_obj: object features ``[N_o, F]``.
        batch_obj: long ``[N_o]``, sample of every object (sorted).
        num_graphs: ``B``.
        reg: entropic regularisation :math:`\epsilon`. (default: ``0.1``)
        iterations: Sinkhorn iterations (no early stop). (default: ``20``)
        grad: ``"envelope"`` (plan fixed, gradient into the features through
            the costs), ``"autodiff"`` (through the Sinkhorn iterations) or
            ``"detach"``. (default: ``"envelope"``)

    Returns:
        :class:`TransportResult`: ``value [B]``, ``plan [B, K, N]``,
        ``has_objects [B]``; samples without objects have value 0.
    """
    check_positive("reg", reg)
    check_positive("iterations", iterations, integer=True)
    check_choice("grad", grad, GRAD_MODES)
    problem = AlignmentProblem(x_word, batch_word, x_obj, batch_obj,
                               num_graphs)
    with torch.set_grad_enabled(torch.is_grad_enabled()
                                and grad != "detach"):
        value, plan = solve_wasserstein(problem, reg, iterations, grad)
    return TransportResult(problem.per_sample(value),
                           problem.per_sample(plan),
                           problem.layout.has_objects)
