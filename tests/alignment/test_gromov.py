import pytest
import torch

from jmere_pyg.alignment import gromov_wasserstein_distance, sparse_kernel
from jmere_pyg.testing import per_sample_pot_distances

from conftest import OBJECT_COUNTS, WORD_COUNTS, random_alignment_batch

RTOL = 1e-5


def solve_with_gradients(inputs, **options):
    inputs.x_word.grad = inputs.x_obj.grad = None
    result = gromov_wasserstein_distance(*inputs, **options)
    result.value.sum().backward()
    return (result.value.detach(), result.plan.detach(),
            inputs.x_word.grad.clone(), inputs.x_obj.grad.clone())


def assert_close(actual, expected, rtol=RTOL):
    scale = expected.abs().max().clamp_min(1e-30)
    assert (actual - expected).abs().max() <= rtol * scale


def marginal_errors(plan, inputs):
    """Largest L1 violations of the row (object) and column (word)
    marginals."""
    num_graphs = inputs.num_graphs
    object_counts = torch.bincount(inputs.batch_obj, minlength=num_graphs)
    word_counts = torch.bincount(inputs.batch_word, minlength=num_graphs)
    rows, cols = [0.0], [0.0]
    for sample, (k, n) in enumerate(zip(object_counts.tolist(),
                                        word_counts.tolist())):
        if k == 0:
            assert (plan[sample] == 0).all()
            continue
        block = plan[sample, :k, :n]
        assert plan[sample].sum().item() == pytest.approx(
            block.sum().item(), abs=1e-12)
        rows.append((block.sum(1) - 1 / k).abs().sum().item())
        cols.append((block.sum(0) - 1 / n).abs().sum().item())
    return max(rows), max(cols)


# DGMC's habit: the sparse implementation equals the dense one.
@pytest.mark.parametrize("grad", ["envelope", "autodiff"])
@pytest.mark.parametrize("directed_objects,directed_words",
                         [(True, False), (False, False), (True, True),
                          (False, True)])
def test_sparse_equals_masked_dense(grad, directed_objects, directed_words):
    inputs = random_alignment_batch(WORD_COUNTS, OBJECT_COUNTS,
                                    directed_objects=directed_objects,
                                    directed_words=directed_words)
    sparse = solve_with_gradients(inputs, mode="sparse", grad=grad)
    masked = solve_with_gradients(inputs, mode="masked_dense", grad=grad)
    for ours, reference in zip(sparse, masked):
        assert torch.isfinite(ours).all()
        assert_close(ours, reference)
    value = sparse[0]
    assert value[1] == 0  # no objects
    assert (value[[0, 2, 3, 4]] > 0).all()


def test_sparse_blocks_do_not_change_the_result(monkeypatch):
    inputs = random_alignment_batch(WORD_COUNTS, OBJECT_COUNTS)
    whole = solve_with_gradients(inputs, mode="sparse")
    monkeypatch.setattr(sparse_kernel, "CPU_MESSAGE_BLOCK", 5)
    blocked = solve_with_gradients(inputs, mode="sparse")
    for ours, reference in zip(blocked, whole):
        assert_close(ours, reference, rtol=1e-12)


def single_sample(inputs, sample):
    """Sample ``sample`` of ``inputs`` as a batch of its own."""
    words = inputs.batch_word == sample
    objects = inputs.batch_obj == sample
    word_edges = inputs.edge_index_word[:, words[inputs.edge_index_word[0]]]
    object_edges = inputs.edge_index_obj[
        :, objects[inputs.edge_index_obj[0]]]
    first_object = objects.nonzero().min() if objects.any() else 0
    return (inputs.x_word[words], word_edges - words.nonzero().min(),
            torch.zeros(int(words.sum()), dtype=torch.long),
            inputs.x_obj[objects], object_edges - first_object,
            torch.zeros(int(objects.sum()), dtype=torch.long), 1)


@pytest.mark.parametrize("mode", ["sparse", "masked_dense"])
def test_restricted_batch_equals_one_sample_at_a_time(mode):
    """Zero-mass padding is exact: a sample solved inside a padded batch and
    alone give the same value."""
    inputs = random_alignment_batch(WORD_COUNTS, OBJECT_COUNTS)
    batched = gromov_wasserstein_distance(*inputs, mode=mode).value
    for sample in range(inputs.num_graphs):
        alone = gromov_wasserstein_distance(*single_sample(inputs, sample),
                                            mode=mode).value
        assert alone.item() == pytest.approx(batched[sample].item(),
                                             rel=1e-10, abs=1e-14)


@pytest.mark.parametrize("mode", ["sparse", "masked_dense", "dense"])
def test_plans_meet_the_marginals(mode):
    inputs = random_alignment_batch(WORD_COUNTS, OBJECT_COUNTS, seed=1)
    # Well-conditioned projections converge: both marginals hold (the dense
    # mode's padding carries 1e-12 mass, hence ~1e-11 errors there).
    plan = gromov_wasserstein_distance(*inputs, mode=mode, reg=0.5,
                                       inner_iterations=100).plan
    rows, cols = marginal_errors(plan, inputs)
    assert rows < 1e-9 and cols < 1e-9
    # At the default 20 inner iterations Sinkhorn ends on an exact column
    # update; rows keep the truncation error of the last projection.
    plan = gromov_wasserstein_distance(*inputs, mode=mode).plan
    rows, cols = marginal_errors(plan, inputs)
    assert cols < 1e-9 and rows < 0.05


def per_sample_gwd(inputs, **options):
    return per_sample_pot_distances(
        inputs.x_word, inputs.batch_word, inputs.x_obj, inputs.batch_obj,
        inputs.num_graphs, **options).gwd


def test_dense_equals_per_sample_pot_when_projections_converge():
    """POT's batched solver and POT's single-sample PPA solver run the same
    proximal iteration; once each Sinkhorn projection has converged (reg
    0.5, 100 inner iterations: marginal errors ~1e-11) they visit the same
    plans, and the values differ only by the 1e-12 mass of the padding."""
    inputs = random_alignment_batch(WORD_COUNTS, OBJECT_COUNTS, seed=2)
    dense = gromov_wasserstein_distance(*inputs, mode="dense", reg=0.5,
                                        inner_iterations=100).value
    loop = per_sample_gwd(inputs, reg=0.5, gw_inner_iterations=100)
    assert torch.allclose(dense, loop, rtol=1e-8, atol=1e-12)


def test_dense_close_to_per_sample_pot_at_default_iterations():
    """At the default 20 inner iterations both solvers truncate every
    projection, in opposite orders (POT's single-sample Sinkhorn updates
    the column scaling first, the batched one the row scaling), so after 5
    proximal steps their plans are different points near the same path:
    the values agree to the size of the marginal violations (up to 3e-2 L1
    here), 0.6 to 1.3 % measured on these graphs, not to machine
    precision."""
    for seed in range(3):
        inputs = random_alignment_batch(WORD_COUNTS, OBJECT_COUNTS,
                                        seed=seed)
        dense = gromov_wasserstein_distance(*inputs, mode="dense").value
        loop = per_sample_gwd(inputs)
        assert torch.allclose(dense, loop, rtol=5e-2, atol=1e-12)


def test_dense_is_fully_connected_gw():
    """Only the restricted modes look at the edges."""
    inputs = random_alignment_batch(WORD_COUNTS, OBJECT_COUNTS)
    no_edges = torch.zeros(2, 0, dtype=torch.long)
    without_edges = (inputs.x_word, no_edges, inputs.batch_word,
                     inputs.x_obj, no_edges, inputs.batch_obj,
                     inputs.num_graphs)
    dense = gromov_wasserstein_distance(*inputs, mode="dense").value
    assert torch.equal(
        gromov_wasserstein_distance(*without_edges, mode="dense").value,
        dense)
    restricted = gromov_wasserstein_distance(*without_edges,
                                             mode="sparse").value
    assert (restricted == 0).all()


def test_detach_and_options():
    inputs = random_alignment_batch(WORD_COUNTS, OBJECT_COUNTS)
    result = gromov_wasserstein_distance(*inputs, grad="detach")
    assert not result.value.requires_grad
    assert result.has_objects.tolist() == [True, False, True, True, True]
    assert result.plan.shape == (5, 5, 12)
    with pytest.raises(ValueError, match="sparse.*dense.*masked_dense"):
        gromov_wasserstein_distance(*inputs, mode="fast")
    with pytest.raises(ValueError, match="grad"):
        gromov_wasserstein_distance(*inputs, grad="implicit")
    with pytest.raises(ValueError, match="inner_iterations"):
        gromov_wasserstein_distance(*inputs, inner_iterations=0)


def test_no_sample_with_objects():
    inputs = random_alignment_batch((4, 3), (0, 0))
    for mode in ("sparse", "dense", "masked_dense"):
        result = gromov_wasserstein_distance(*inputs, mode=mode)
        assert result.value.tolist() == [0.0, 0.0]
        assert result.plan.shape == (2, 0, 0)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("grad", ["envelope", "autodiff"])
def test_sparse_equals_masked_dense_on_cuda(grad):
    inputs = random_alignment_batch(WORD_COUNTS, OBJECT_COUNTS,
                                    device="cuda")
    sparse = solve_with_gradients(inputs, mode="sparse", grad=grad)
    masked = solve_with_gradients(inputs, mode="masked_dense", grad=grad)
    for ours, reference in zip(sparse, masked):
        assert ours.is_cuda
        assert_close(ours, reference)
    cpu = solve_with_gradients(
        random_alignment_batch(WORD_COUNTS, OBJECT_COUNTS), mode="sparse",
        grad=grad)
    for ours, reference in zip(sparse, cpu):
        assert_close(ours.cpu(), reference)
