import ot
import pytest
import torch

from jmere_pyg.alignment import wasserstein_distance
from jmere_pyg.alignment.costs import cosine_distance_dense
from jmere_pyg.testing import per_sample_pot_distances

from conftest import OBJECT_COUNTS, WORD_COUNTS, random_alignment_batch


def node_inputs(inputs):
    return (inputs.x_word, inputs.batch_word, inputs.x_obj, inputs.batch_obj,
            inputs.num_graphs)


def per_sample_costs(inputs):
    words = inputs.x_word.split(list(WORD_COUNTS))
    objects = inputs.x_obj.split(list(OBJECT_COUNTS))
    return [cosine_distance_dense(o[None], w[None])[0] if o.size(0) else None
            for w, o in zip(words, objects)]


def test_batch_equals_one_sample_at_a_time_with_pot():
    """Zero-mass padding is exact: every sample of the padded batch gets the
    plan of POT's batched Sinkhorn run on that sample alone, at the same 20
    iterations."""
    inputs = random_alignment_batch(WORD_COUNTS, OBJECT_COUNTS)
    result = wasserstein_distance(*node_inputs(inputs))
    with torch.no_grad():
        costs = per_sample_costs(inputs)
    for sample, cost in enumerate(costs):
        plan = result.plan[sample]
        if cost is None:
            assert result.value[sample] == 0 and (plan == 0).all()
            continue
        k, n = cost.shape
        alone = ot.batch.solve_batch(cost[None], reg=0.1, max_iter=20,
                                     tol=0.0, method="log_sinkhorn",
                                     grad="detach")
        assert torch.allclose(plan[:k, :n], alone.plan[0], rtol=1e-12,
                              atol=1e-15)
        assert result.value[sample].item() == pytest.approx(
            alone.value_linear.item(), rel=1e-12)
        assert (plan[k:] == 0).all() and (plan[:, n:] == 0).all()


def test_converged_value_equals_per_sample_ot_sinkhorn():
    inputs = random_alignment_batch(WORD_COUNTS, OBJECT_COUNTS, seed=3)
    batched = wasserstein_distance(*node_inputs(inputs), iterations=500)
    loop = per_sample_pot_distances(*node_inputs(inputs),
                                    sinkhorn_iterations=500)
    assert torch.allclose(batched.value, loop.wd, rtol=1e-9, atol=1e-12)
    for sample, plan in enumerate(loop.node_plans):
        k, n = plan.shape
        assert torch.allclose(batched.plan[sample, :k, :n], plan,
                              atol=1e-9)


def test_envelope_gradient_is_the_plan():
    """With the plan fixed, d value / d cost = plan: gradients reach the
    features through the cosine costs only."""
    inputs = random_alignment_batch(WORD_COUNTS, OBJECT_COUNTS)
    result = wasserstein_distance(*node_inputs(inputs))
    result.value.sum().backward()
    x_word_grad, x_obj_grad = inputs.x_word.grad, inputs.x_obj.grad
    inputs.x_word.grad = inputs.x_obj.grad = None
    total = 0
    for sample, cost in enumerate(per_sample_costs(inputs)):
        if cost is not None:
            k, n = cost.shape
            total = total + (result.plan[sample, :k, :n] * cost).sum()
    total.backward()
    assert torch.allclose(x_word_grad, inputs.x_word.grad)
    assert torch.allclose(x_obj_grad, inputs.x_obj.grad)


def test_grad_modes():
    inputs = random_alignment_batch(WORD_COUNTS, OBJECT_COUNTS)
    envelope = wasserstein_distance(*node_inputs(inputs))
    assert envelope.value.requires_grad
    assert not envelope.plan.requires_grad
    autodiff = wasserstein_distance(*node_inputs(inputs), grad="autodiff")
    assert autodiff.plan.requires_grad
    assert torch.allclose(autodiff.value, envelope.value)
    autodiff.value.sum().backward()
    assert torch.isfinite(inputs.x_word.grad).all()
    detached = wasserstein_distance(*node_inputs(inputs), grad="detach")
    assert not detached.value.requires_grad
    with pytest.raises(ValueError, match="envelope"):
        wasserstein_distance(*node_inputs(inputs), grad="exact")
    with pytest.raises(ValueError, match="reg"):
        wasserstein_distance(*node_inputs(inputs), reg=0.0)
