"""POT one sample at a time: the reference of the batched dense solvers
(tests) and the ``pot_loop`` baseline of ``benchmarks/speed/alignment.py``.

The problems of ``wasserstein_distance`` and
``gromov_wasserstein_distance(..., mode="dense")``: ``ot.sinkhorn`` (log
domain) for the node term and ``ot.gromov.entropic_gromov_wasserstein`` with
the proximal point solver (``solver="PPA"``, the algorithm of POT's batched
GW) over fully connected graphs for the edge term, at fixed iteration counts.
Gradients are envelope-style, like the batched default: plans are solved on
detached costs and the values recomputed with the plans fixed.
"""
from typing import List, NamedTuple

import ot
import torch
from torch import Tensor

from ..alignment.costs import cosine_distance_dense


class PerSampleResult(NamedTuple):
    """Node and edge terms, one POT solve per sample.

    Attributes:
        wd: ``[B]``, node term (``0`` for samples without objects).
        gwd: ``[B]``, fully connected edge term (likewise).
        node_plans: per sample ``[k, n]``.
        edge_plans: per sample ``[k, n]``.
    """
    wd: Tensor
    gwd: Tensor
    node_plans: List[Tensor]
    edge_plans: List[Tensor]


def per_sample_pot_distances(x_word: Tensor, batch_word: Tensor,
                             x_obj: Tensor, batch_obj: Tensor,
                             num_graphs: int, *, reg: float = 0.1,
                             sinkhorn_iterations: int = 20,
                             gw_outer_iterations: int = 5,
                             gw_inner_iterations: int = 20
                             ) -> PerSampleResult:
    """Node and (fully connected) edge terms, one POT solve per sample.

    Args:
        x_word: ``[N_w, F]``.
        batch_word: long ``[N_w]`` (sorted).
        x_obj: ``[N_o, F]``.
        batch_obj: long ``[N_o]`` (sorted).
        num_graphs: ``B``.
        reg, sinkhorn_iterations, gw_outer_iterations, gw_inner_iterations:
            as in :class:`~jmere_pyg.alignment.GraphAlignment`.
    """
    word_counts = torch.bincount(batch_word, minlength=num_graphs).tolist()
    object_counts = torch.bincount(batch_obj, minlength=num_graphs).tolist()
    wd, gwd, node_plans, edge_plans = [], [], [], []
    for words, objects in zip(x_word.split(word_counts),
                              x_obj.split(object_counts)):
        k, n = objects.size(0), words.size(0)
        if k == 0 or n == 0:
            wd.append(x_word.new_zeros(()))
            gwd.append(x_word.new_zeros(()))
            node_plans.append(x_word.new_zeros(k, n))
            edge_plans.append(x_word.new_zeros(k, n))
            continue
        object_mass = x_word.new_full((k, ), 1.0 / k)
        word_mass = x_word.new_full((n, ), 1.0 / n)

        cost = cosine_distance_dense(objects[None], words[None])[0]
        plan = ot.sinkhorn(object_mass, word_mass, cost.detach(), reg,
                           method="sinkhorn_log",
                           numItermax=sinkhorn_iterations, stopThr=0.0,
                           warn=False)
        wd.append((plan * cost).sum())
        node_plans.append(plan)

        object_cost = cosine_distance_dense(objects[None], objects[None])[0]
        word_cost = cosine_distance_dense(words[None], words[None])[0]
        plan = ot.gromov.entropic_gromov_wasserstein(
            object_cost.detach(), word_cost.detach(), object_mass, word_mass,
            loss_fun="square_loss", epsilon=reg, symmetric=True,
            solver="PPA", max_iter=gw_outer_iterations, tol=0.0,
            numItermax=gw_inner_iterations, stopThr=0.0, warn=False)
        constant, h_objects, h_words = ot.gromov.init_matrix(
            object_cost, word_cost, plan.sum(1), plan.sum(0), "square_loss")
        gwd.append(ot.gromov.gwloss(constant, h_objects, h_words, plan))
        edge_plans.append(plan)
    return PerSampleResult(torch.stack(wd), torch.stack(gwd), node_plans,
                           edge_plans)
