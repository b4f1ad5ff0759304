"""Entropic projections onto the transport polytope with POT's batched
log-domain Sinkhorn, padding excluded exactly."""
from typing import Tuple

import ot
import torch
from torch import Tensor

#: Log-affinity of padding pairs. Finite, so that no ``-inf - (-inf)`` turns
#: into NaN, and so low that ``exp`` gives exactly zero against real pairs,
#: from POT's very first update on (whose column scaling starts at one).
PADDING_LOGIT = -1e30


def entropic_projection(logits: Tensor, object_mass: Tensor, word_mass: Tensor,
                        pair_mask: Tensor, iterations: int,
                        differentiable: bool) -> Tuple[Tensor, Tensor]:
    r"""The plan closest to :math:`\exp(\mathbf{L})` (``L = logits``) in KL
    divergence with the given marginals,

    .. math::
        \mathbf{T} = \mathop{\arg\min}_{\mathbf{T} \in
        \Pi(\mathbf{a}, \mathbf{b})}
        \mathrm{KL}(\mathbf{T} \,\|\, \exp(\mathbf{L})),

    by ``iterations`` log-domain Sinkhorn iterations
    (``ot.batch.bregman_log_projection_batch``, no early stop). Padding has
    zero mass and :data:`PADDING_LOGIT`, so it receives exactly zero mass and
    does not perturb the real entries: a padded sample solves as if alone.

    Args:
        logits: ``[B', K, N]``.
        object_mass: ``[B', K]``, zero at padding.
        word_mass: ``[B', N]``, zero at padding.
        pair_mask: bool ``[B', K, N]``, real (object, word) pairs.
        iterations: Sinkhorn iterations.
        differentiable: differentiate through the iterations.

    Returns:
        ``(plan, log_plan)``, both ``[B', K, N]``.
    """
    logits = torch.where(pair_mask, logits,
                         torch.full_like(logits, PADDING_LOGIT))
    result = ot.batch.bregman_log_projection_batch(
        logits, object_mass, word_mass, max_iter=iterations, tol=0.0,
        grad="autodiff" if differentiable else "detach")
    return result["T"], result["log_T"]
