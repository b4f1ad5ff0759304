r"""Edge-enhanced graph optimal transport between object and word graphs
(EEGA, eq. 5-7): the only part of jmere_pyg that imports POT.

* :class:`GraphAlignment`: ``L_graph = alpha * D_wd + (1 - alpha) * D_gwd``
  over a PyG batch, averaged over the samples that have objects.
* :func:`wasserstein_distance`: node term ``D_wd`` (entropic OT, cosine
  cost).
* :func:`gromov_wasserstein_distance`: edge term ``D_gwd`` (entropic
  Gromov-Wasserstein), ``mode="sparse"`` (adjacency-restricted as in the
  paper, our batched gather/scatter kernel), ``"dense"`` (fully connected
  graphs, POT's batched solver) or ``"masked_dense"`` (restricted, dense
  reference).

Gradients (``grad`` option):

* ``"envelope"`` (default): transport plans are computed without gradient
  and the value is recomputed with the plan fixed, so gradients reach the
  node features through the cost matrices only. For an optimum
  :math:`\mathbf{T}^\star(C)` of :math:`\min_{\mathbf{T} \in \Pi}
  f(\mathbf{T}, C)` the envelope (Danskin) theorem gives
  :math:`\frac{d}{dC} f(\mathbf{T}^\star(C), C) = \partial_C f(\mathbf{T},
  C)|_{\mathbf{T} = \mathbf{T}^\star}`: the plan's own dependence on the
  costs contributes nothing at the optimum (for the node term the gradient
  in the cost matrix is the plan itself). This is exact for the entropic
  objective at convergence and a first-order approximation for the reported
  linear value :math:`\langle \mathbf{T}, \mathbf{M} \rangle`, for truncated
  iterations and for GW's local optima; in exchange the backward pass costs
  one evaluation of the value (``O(E)`` saved tensors in the sparse mode) and
  no solver iteration is kept in memory.
* ``"autodiff"``: differentiate through every Sinkhorn and proximal
  iteration (exact for the truncated solver; memory grows with the
  iterations).
* ``"detach"``: values without gradient.

Samples without objects are left out of every solve (value 0, no NaN).

:mod:`jmere_pyg.testing` makes random batches of inputs for tests and
benchmarks, and holds the per-sample POT reference.
"""
from .common import GRAD_MODES, GROMOV_MODES, TransportResult
from .gromov import gromov_wasserstein_distance
from .module import AlignmentOutput, GraphAlignment
from .wasserstein import wasserstein_distance

__all__ = [
    "GraphAlignment",
    "AlignmentOutput",
    "TransportResult",
    "wasserstein_distance",
    "gromov_wasserstein_distance",
    "GRAD_MODES",
    "GROMOV_MODES",
]
