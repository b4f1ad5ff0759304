"""``L_graph`` (eq. 7) as a module over a PyG batch."""
from dataclasses import dataclass

import torch
from torch import Tensor

from .batching import AlignmentProblem
from .common import check_positive
from .gromov import check_options, solve_gromov
from .wasserstein import solve_wasserstein


@dataclass
class AlignmentOutput:
    """What :class:`GraphAlignment` returns.

    Attributes:
        loss: scalar ``L_graph``, the mean over the samples with objects of
            ``alpha * wd + (1 - alpha) * gwd``; exactly ``0`` (still attached
            to the features' autograd graph) when no sample has objects.
        wd: ``[B]``, node term ``D_wd`` per sample (``0`` without objects).
        gwd: ``[B]``, edge term ``D_gwd`` per sample (``0`` without objects,
            and everywhere when ``alpha == 1``: then it is not computed).
        has_objects: bool ``[B]``, samples with at least one object (and
            one word).
        node_plan: ``[B, K, N]``, the node transport plans (objects x
            words), zero-padded; ``K``, ``N``: largest object and word counts
            among the samples with objects.
        edge_plan: ``[B, K, N]``, the Gromov-Wasserstein plans, likewise.
    """
    loss: Tensor
    wd: Tensor
    gwd: Tensor
    has_objects: Tensor
    node_plan: Tensor
    edge_plan: Tensor


class GraphAlignment(torch.nn.Module):
    r"""Edge-enhanced graph optimal transport between the object graph and
    the word graph of every sample (eq. 5-7 of the EEGA paper):

    .. math::
        \mathcal{L}_{graph} = \frac{1}{|\mathcal{B}_I|}
        \sum_{s \in \mathcal{B}_I}
        \alpha \, D_{wd}^{(s)} + (1 - \alpha) \, D_{gwd}^{(s)}

    over the samples :math:`\mathcal{B}_I` that have objects, with
    :math:`D_{wd}` from :func:`~jmere_pyg.alignment.wasserstein_distance`
    (entropic OT between objects and words, cosine cost) and
    :math:`D_{gwd}` from
    :func:`~jmere_pyg.alignment.gromov_wasserstein_distance` (entropic
    Gromov-Wasserstein between the graphs, adjacency-restricted unless
    ``mode="dense"``). Has no parameters.

    Args:
        alpha (float): weight of the node term. (default: ``0.4``)
        mode (str): edge term implementation, ``"sparse"`` (restricted, our
            batched kernel), ``"dense"`` (fully connected graphs, POT's
            batched solver) or ``"masked_dense"`` (restricted, dense
            reference). (default: ``"sparse"``)
        reg (float): entropic regularisation of both terms.
            (default: ``0.1``)
        sinkhorn_iterations (int): Sinkhorn iterations of the node term.
            (default: ``20``)
        gw_outer_iterations (int): proximal steps of the edge term.
            (default: ``5``)
        gw_inner_iterations (int): Sinkhorn iterations per proximal step.
            (default: ``20``)
        grad (str): ``"envelope"``, ``"autodiff"`` or ``"detach"``, see
            :mod:`jmere_pyg.alignment`. (default: ``"envelope"``)
        compile (bool): run the Sinkhorn iterations of the node term and of
            the restricted edge terms under ``torch.compile`` when the inputs
            are on CUDA (ignored elsewhere; the first batch of each new shape
            pays the compilation). (default: ``False``)

    Shapes:
        - **input:** word features :math:`(|V_T|, F)`, word edges
          :math:`(2, |E_T|)`, word batch vector :math:`(|V_T|)`, object
          features :math:`(|V_I|, F)`, object edges :math:`(2, |E_I|)`,
          object batch vector :math:`(|V_I|)`, number of samples :math:`B`
        - **output:** :class:`AlignmentOutput`
    """

    def __init__(self, alpha: float = 0.4, mode: str = "sparse",
                 reg: float = 0.1, sinkhorn_iterations: int = 20,
                 gw_outer_iterations: int = 5, gw_inner_iterations: int = 20,
                 grad: str = "envelope", compile: bool = False):
        super().__init__()
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must lie in [0, 1], got {alpha!r}")
        check_options(mode, reg, gw_outer_iterations, gw_inner_iterations,
                      grad)
        check_positive("sinkhorn_iterations", sinkhorn_iterations,
                       integer=True)
        self.alpha = alpha
        self.mode = mode
        self.reg = reg
        self.sinkhorn_iterations = sinkhorn_iterations
        self.gw_outer_iterations = gw_outer_iterations
        self.gw_inner_iterations = gw_inner_iterations
        self.grad = grad
        self.compile = compile

    def forward(self, x_word: Tensor, edge_index_word: Tensor,
                batch_word: Tensor, x_obj: Tensor, edge_index_obj: Tensor,
                batch_obj: Tensor, num_graphs: int) -> AlignmentOutput:
        # The solvers run in float32 at least, outside any autocast region.
        with torch.autocast(x_word.device.type, enabled=False):
            return self._align(_at_least_float32(x_word), edge_index_word,
                               batch_word, _at_least_float32(x_obj),
                               edge_index_obj, batch_obj, num_graphs)

    def _align(self, x_word: Tensor, edge_index_word: Tensor,
               batch_word: Tensor, x_obj: Tensor, edge_index_obj: Tensor,
               batch_obj: Tensor, num_graphs: int) -> AlignmentOutput:
        problem = AlignmentProblem(x_word, batch_word, x_obj, batch_obj,
                                   num_graphs)
        with torch.set_grad_enabled(torch.is_grad_enabled()
                                    and self.grad != "detach"):
            wd, node_plan = solve_wasserstein(
                problem, self.reg, self.sinkhorn_iterations, self.grad,
                self.compile)
            if self.alpha < 1.0:
                gwd, edge_plan = solve_gromov(
                    problem, edge_index_word, edge_index_obj, self.mode,
                    self.reg, self.gw_outer_iterations,
                    self.gw_inner_iterations, self.grad, self.compile)
            else:
                gwd = torch.zeros_like(wd)
                edge_plan = torch.zeros_like(node_plan)
            if problem.layout.num_aligned > 0:
                loss = (self.alpha * wd + (1.0 - self.alpha) * gwd).mean()
            else:
                loss = (x_word.sum() + x_obj.sum()) * 0.0
        return AlignmentOutput(
            loss=loss, wd=problem.per_sample(wd),
            gwd=problem.per_sample(gwd),
            has_objects=problem.layout.has_objects,
            node_plan=problem.per_sample(node_plan),
            edge_plan=problem.per_sample(edge_plan))

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(alpha={self.alpha}, "
                f"mode={self.mode}, reg={self.reg})")


def _at_least_float32(x: Tensor) -> Tensor:
    """``x`` in float32 if it has fewer bits (bfloat16 or float16 from
    autocast), unchanged otherwise (float32, float64)."""
    return x.float() if x.dtype in (torch.float16, torch.bfloat16) else x
