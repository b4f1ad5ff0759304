import ot
import pytest
import torch

from jmere_pyg.alignment.projection import entropic_projection, log_sinkhorn


def random_padded_problem(dtype, seed=0):
    """Three samples of 2-4 objects and 3-7 words padded to [3, 4, 7]."""
    generator = torch.Generator().manual_seed(seed)
    object_counts, word_counts = torch.tensor([4, 2, 3]), torch.tensor(
        [7, 3, 5])
    object_mask = torch.arange(4) < object_counts.unsqueeze(1)
    word_mask = torch.arange(7) < word_counts.unsqueeze(1)
    object_mass = object_mask.to(dtype) / object_counts.unsqueeze(1)
    word_mass = word_mask.to(dtype) / word_counts.unsqueeze(1)
    logits = torch.randn(3, 4, 7, dtype=dtype, generator=generator) / 0.1
    pair_mask = object_mask.unsqueeze(2) & word_mask.unsqueeze(1)
    return logits, object_mass, word_mass, pair_mask


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("iterations", [1, 20])
def test_equals_pot_batched_log_projection(dtype, iterations):
    """The plain-torch iterations give POT's plans, padding included."""
    logits, object_mass, word_mass, pair_mask = random_padded_problem(dtype)
    plan, log_plan = entropic_projection(logits, object_mass, word_mass,
                                         pair_mask, iterations,
                                         differentiable=False)
    masked = torch.where(pair_mask, logits, torch.full_like(logits, -1e30))
    pot = ot.batch.bregman_log_projection_batch(
        masked, object_mass, word_mass, max_iter=iterations, tol=0.0)
    assert torch.equal(plan, pot["T"])
    assert (plan[~pair_mask] == 0).all()
    real = pair_mask
    assert torch.equal(log_plan[real], pot["log_T"][real])


def test_gradients_equal_pot_autodiff():
    logits, object_mass, word_mass, pair_mask = random_padded_problem(
        torch.float64, seed=1)
    weights = torch.rand_like(logits)
    grads = []
    for solver in ("ours", "pot"):
        x = logits.clone().requires_grad_()
        if solver == "ours":
            plan, _ = entropic_projection(x, object_mass, word_mass,
                                          pair_mask, 10, differentiable=True)
        else:
            masked = torch.where(pair_mask, x, torch.full_like(x, -1e30))
            plan = ot.batch.bregman_log_projection_batch(
                masked, object_mass, word_mass, max_iter=10, tol=0.0,
                grad="autodiff")["T"]
        (plan * weights).sum().backward()
        grads.append(x.grad)
    assert torch.allclose(grads[0], grads[1], rtol=1e-12, atol=1e-15)


def test_not_differentiable_detaches():
    logits, object_mass, word_mass, pair_mask = random_padded_problem(
        torch.float64)
    plan, log_plan = entropic_projection(logits.requires_grad_(), object_mass,
                                         word_mass, pair_mask, 5,
                                         differentiable=False)
    assert not plan.requires_grad and not log_plan.requires_grad


def test_compile_is_ignored_off_cuda(monkeypatch):
    """``compile=True`` leaves CPU runs on the eager iterations."""
    from jmere_pyg.alignment import projection

    def fail():
        raise AssertionError("torch.compile must not be used on CPU")
    monkeypatch.setattr(projection, "_compiled", fail)
    problem = random_padded_problem(torch.float32)
    eager = entropic_projection(*problem, 20, differentiable=False)
    flagged = entropic_projection(*problem, 20, differentiable=False,
                                  compile=True)
    assert torch.equal(eager[0], flagged[0])


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("differentiable", [False, True])
def test_compiled_equals_eager_on_cuda(differentiable):
    logits, object_mass, word_mass, pair_mask = (
        t.cuda() for t in random_padded_problem(torch.float32))
    logits.requires_grad_(differentiable)
    eager, _ = entropic_projection(logits, object_mass, word_mass, pair_mask,
                                   20, differentiable)
    compiled, _ = entropic_projection(logits, object_mass, word_mass,
                                      pair_mask, 20, differentiable,
                                      compile=True)
    assert torch.allclose(compiled, eager, rtol=1e-5, atol=1e-6)
    if differentiable:
        weights = torch.rand_like(eager)
        expected, = torch.autograd.grad((eager * weights).sum(), logits)
        ours, = torch.autograd.grad((compiled * weights).sum(), logits)
        assert torch.allclose(ours, expected, rtol=1e-4, atol=1e-5)


def test_log_sinkhorn_marginals_converge():
    logits, object_mass, word_mass, pair_mask = random_padded_problem(
        torch.float64, seed=2)
    logits = torch.where(pair_mask, logits, torch.full_like(logits, -1e30))
    plan = log_sinkhorn(logits / 100, object_mass.log(), word_mass.log(),
                        200).exp()
    assert torch.allclose(plan.sum(2), object_mass, atol=1e-10)
    assert torch.allclose(plan.sum(1), word_mass, atol=1e-10)
