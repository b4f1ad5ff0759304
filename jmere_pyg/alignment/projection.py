"""Entropic projections onto the transport polytope: batched log-domain
Sinkhorn with a fixed iteration count, in plain torch, padding excluded
exactly.

The iterations are those of POT's ``ot.batch.bregman_log_projection_batch``
(the reference in the tests) without its convergence check, which reads a
value back to the host every 10 iterations: here the loop never waits on
the device, and ``torch.compile`` can capture it whole (``compile=True``,
CUDA only).
"""
from typing import Callable, Optional, Tuple

import torch
from torch import Tensor

#: Log-affinity of padding pairs. Finite, so that no ``-inf - (-inf)`` turns
#: into NaN, and so low that ``exp`` gives exactly zero against real pairs,
#: from the very first update on (whose column scaling starts at one).
PADDING_LOGIT = -1e30


def log_sinkhorn(logits: Tensor, log_object_mass: Tensor,
                 log_word_mass: Tensor, iterations: int) -> Tensor:
    r"""``iterations`` batched log-domain Sinkhorn iterations from zero
    potentials,

    .. math::
        \mathbf{u} \leftarrow \log \mathbf{a}
        - \mathrm{LSE}_j(\mathbf{L} + \mathbf{v}), \qquad
        \mathbf{v} \leftarrow \log \mathbf{b}
        - \mathrm{LSE}_i(\mathbf{L} + \mathbf{u}),

    the same operations in the same order as POT's
    ``bregman_log_projection_batch`` (so the same floats), no early stop.

    Args:
        logits: ``[B', K, N]``.
        log_object_mass: ``[B', K]``, ``log a`` (``-inf`` at padding).
        log_word_mass: ``[B', N]``, ``log b``.
        iterations: number of (row, column) update pairs.

    Returns:
        ``log_plan`` ``[B', K, N]``: ``L + u 1^T + 1 v^T``.
    """
    u = logits.new_zeros(logits.shape[:2])
    v = logits.new_zeros(logits.size(0), logits.size(2))
    for _ in range(iterations):
        u = log_object_mass - torch.logsumexp(logits + v.unsqueeze(1), dim=2)
        v = log_word_mass - torch.logsumexp(logits + u.unsqueeze(2), dim=1)
    return logits + u.unsqueeze(2) + v.unsqueeze(1)


_compiled_log_sinkhorn: Optional[Callable[..., Tensor]] = None


def _compiled() -> Callable[..., Tensor]:
    """:func:`log_sinkhorn` under ``torch.compile`` (built once; shapes
    marked dynamic so that new batch shapes do not recompile)."""
    global _compiled_log_sinkhorn
    if _compiled_log_sinkhorn is None:
        _compiled_log_sinkhorn = torch.compile(log_sinkhorn, dynamic=True)
    return _compiled_log_sinkhorn


def entropic_projection(logits: Tensor, object_mass: Tensor, word_mass: Tensor,
                        pair_mask: Tensor, iterations: int,
                        differentiable: bool,
                        compile: bool = False) -> Tuple[Tensor, Tensor]:
    r"""The plan closest to :math:`\exp(\mathbf{L})` (``L = logits``) in KL
    divergence with the given marginals,

    .. math::
        \mathbf{T} = \mathop{\arg\min}_{\mathbf{T} \in
        \Pi(\mathbf{a}, \mathbf{b})}
        \mathrm{KL}(\mathbf{T} \,\|\, \exp(\mathbf{L})),

    by ``iterations`` log-domain Sinkhorn iterations (:func:`log_sinkhorn`,
    no early stop). Padding has zero mass and :data:`PADDING_LOGIT`, so it
    receives exactly zero mass and does not perturb the real entries: a
    padded sample solves as if alone.

    Args:
        logits: ``[B', K, N]``.
        object_mass: ``[B', K]``, zero at padding.
        word_mass: ``[B', N]``, zero at padding.
        pair_mask: bool ``[B', K, N]``, real (object, word) pairs.
        iterations: Sinkhorn iterations.
        differentiable: differentiate through the iterations.
        compile: run the iterations under ``torch.compile`` when ``logits``
            is on CUDA (ignored on other devices). (default: ``False``)

    Returns:
        ``(plan, log_plan)``, both ``[B', K, N]``.
    """
    logits = torch.where(pair_mask, logits,
                         torch.full_like(logits, PADDING_LOGIT))
    if not differentiable:
        logits = logits.detach()
    solve = _compiled() if compile and logits.is_cuda else log_sinkhorn
    log_plan = solve(logits, object_mass.log(), word_mass.log(), iterations)
    return log_plan.exp(), log_plan
