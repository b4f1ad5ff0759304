import pytest
import torch
from torch_geometric.data import Batch, HeteroData

from jmere_pyg.alignment import (AlignmentOutput, GraphAlignment,
                                 gromov_wasserstein_distance,
                                 wasserstein_distance)

from conftest import OBJECT_COUNTS, WORD_COUNTS, random_alignment_batch


@pytest.mark.parametrize("mode", ["sparse", "dense", "masked_dense"])
def test_loss_is_the_mean_over_samples_with_objects(mode):
    inputs = random_alignment_batch(WORD_COUNTS, OBJECT_COUNTS)
    output = GraphAlignment(alpha=0.4, mode=mode)(*inputs)
    assert isinstance(output, AlignmentOutput)
    assert output.has_objects.tolist() == [True, False, True, True, True]
    assert output.wd.shape == output.gwd.shape == (5, )
    assert output.node_plan.shape == output.edge_plan.shape == (5, 5, 12)
    wd = wasserstein_distance(inputs.x_word, inputs.batch_word,
                              inputs.x_obj, inputs.batch_obj, 5).value
    gwd = gromov_wasserstein_distance(*inputs, mode=mode).value
    assert torch.allclose(output.wd, wd)
    assert torch.allclose(output.gwd, gwd)
    expected = (0.4 * wd + 0.6 * gwd)[output.has_objects].mean()
    assert output.loss.item() == pytest.approx(expected.item(), rel=1e-12)
    output.loss.backward()
    assert torch.isfinite(inputs.x_word.grad).all()
    assert torch.isfinite(inputs.x_obj.grad).all()
    assert inputs.x_word.grad[inputs.batch_word == 1].abs().sum() == 0


def test_no_objects_gives_an_exact_zero_with_a_graph():
    inputs = random_alignment_batch((5, 3), (0, 0), dtype=torch.float32)
    output = GraphAlignment()(*inputs)
    assert output.loss.item() == 0.0 and output.loss.requires_grad
    output.loss.backward()
    assert (inputs.x_word.grad == 0).all()
    assert output.wd.tolist() == [0.0, 0.0]
    assert output.node_plan.shape == (2, 0, 0)


def test_zero_and_one_object_in_float32_default_settings():
    inputs = random_alignment_batch((4, 6, 5), (0, 1, 3),
                                    dtype=torch.float32)
    output = GraphAlignment()(*inputs)
    assert output.loss.dtype == torch.float32
    output.loss.backward()
    assert torch.isfinite(inputs.x_word.grad).all()
    assert torch.isfinite(inputs.x_obj.grad).all()
    plan = output.node_plan[1, :1, :6]
    assert torch.allclose(plan, torch.full_like(plan, 1 / 6))


def test_alpha_one_skips_the_edge_term():
    inputs = random_alignment_batch(WORD_COUNTS, OBJECT_COUNTS)
    output = GraphAlignment(alpha=1.0)(*inputs)
    assert (output.gwd == 0).all()
    expected = output.wd[output.has_objects].mean()
    assert output.loss.item() == pytest.approx(expected.item())


def test_options_are_checked():
    with pytest.raises(ValueError,
                       match="'sparse', 'dense', 'masked_dense'"):
        GraphAlignment(mode="fast")
    with pytest.raises(ValueError, match="alpha"):
        GraphAlignment(alpha=1.5)
    with pytest.raises(ValueError, match="sinkhorn_iterations"):
        GraphAlignment(sinkhorn_iterations=0)
    with pytest.raises(ValueError, match="grad"):
        GraphAlignment(grad="none")
    assert (repr(GraphAlignment())
            == "GraphAlignment(alpha=0.4, mode=sparse, reg=0.1)")
    assert list(GraphAlignment().parameters()) == []


def make_sample(num_words, num_objects, seed):
    generator = torch.Generator().manual_seed(seed)
    data = HeteroData()
    data["word"].num_nodes = num_words
    tree = torch.stack([torch.arange(1, num_words),
                        torch.zeros(num_words - 1, dtype=torch.long)])
    loops = torch.arange(num_words).repeat(2, 1)
    data["word", "dep", "word"].edge_index = torch.cat(
        [tree, tree.flip(0), loops], 1)
    data["object"].num_nodes = num_objects
    data["object"].x = torch.randn(num_objects, 4, generator=generator)
    predicates = torch.tensor([[0], [1]]) if num_objects > 1 else (
        torch.zeros(2, 0, dtype=torch.long))
    loops = torch.arange(num_objects).repeat(2, 1)
    data["object", "rel", "object"].edge_index = torch.cat(
        [predicates, loops], 1)
    return data


def test_on_a_pyg_batch():
    batch = Batch.from_data_list([make_sample(5, 2, 0), make_sample(3, 0, 1),
                                  make_sample(7, 3, 2)])
    x_word = torch.randn(batch["word"].num_nodes, 4, requires_grad=True)
    dep, rel = batch["word", "dep", "word"], batch["object", "rel", "object"]
    inputs = (x_word, dep.edge_index, batch["word"].batch, batch["object"].x,
              rel.edge_index, batch["object"].batch, batch.num_graphs)
    sparse = GraphAlignment(mode="sparse")(*inputs)
    masked = GraphAlignment(mode="masked_dense")(*inputs)
    assert sparse.has_objects.tolist() == [True, False, True]
    assert sparse.loss.item() == pytest.approx(masked.loss.item(), rel=1e-5)
    assert sparse.node_plan.shape == (3, 3, 7)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("mode", ["sparse", "dense", "masked_dense"])
def test_cuda_matches_cpu(mode):
    cpu = random_alignment_batch(WORD_COUNTS, OBJECT_COUNTS)
    cuda = random_alignment_batch(WORD_COUNTS, OBJECT_COUNTS, device="cuda")
    expected = GraphAlignment(mode=mode)(*cpu)
    output = GraphAlignment(mode=mode)(*cuda)
    assert output.loss.is_cuda
    assert output.loss.item() == pytest.approx(expected.loss.item(),
                                               rel=1e-6)
    output.loss.backward()
    expected.loss.backward()
    assert torch.allclose(cuda.x_word.grad.cpu(), cpu.x_word.grad,
                          rtol=1e-5, atol=1e-9)


@pytest.mark.parametrize("mode", ["sparse", "dense"])
def test_compile_changes_nothing_on_cpu(mode):
    """``compile=True`` is a CUDA option: on CPU the same floats come out."""
    outputs = []
    for compile in (False, True):
        inputs = random_alignment_batch(WORD_COUNTS, OBJECT_COUNTS)
        output = GraphAlignment(mode=mode, compile=compile)(*inputs)
        output.loss.backward()
        outputs.append((output.loss.detach(), output.node_plan,
                        output.edge_plan, inputs.x_word.grad,
                        inputs.x_obj.grad))
    for ours, theirs in zip(*outputs):
        assert torch.equal(ours, theirs)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("mode", ["sparse", "masked_dense"])
def test_compiled_matches_eager_on_cuda(mode):
    outputs = []
    for compile in (False, True):
        inputs = random_alignment_batch(WORD_COUNTS, OBJECT_COUNTS,
                                        dtype=torch.float32, device="cuda")
        output = GraphAlignment(mode=mode, compile=compile)(*inputs)
        output.loss.backward()
        outputs.append((output.loss.detach(), inputs.x_word.grad))
    (loss, grad), (compiled_loss, compiled_grad) = outputs
    assert compiled_loss.item() == pytest.approx(loss.item(), rel=1e-5)
    assert torch.allclose(compiled_grad, grad, rtol=1e-4, atol=1e-7)
