import pytest
import torch

from jmere_pyg.alignment import sparse_kernel
from jmere_pyg.alignment.sparse_kernel import (EdgeList,
                                               RestrictedGromovKernel,
                                               object_edge_channels,
                                               word_edge_channels)


def dense_matrices(row, col, weights, num_rows):
    """``[C, num_rows, num_rows]`` with duplicates summed."""
    dense = torch.zeros(weights.size(1), num_rows, num_rows,
                        dtype=weights.dtype)
    for channel in range(weights.size(1)):
        dense[channel].index_put_((row, col), weights[:, channel],
                                  accumulate=True)
    return dense


@pytest.mark.parametrize("block", [sparse_kernel.CPU_MESSAGE_BLOCK, 1, 7])
def test_edge_list_matmul_equals_dense(monkeypatch, block):
    monkeypatch.setattr(sparse_kernel, "CPU_MESSAGE_BLOCK", block)
    generator = torch.Generator().manual_seed(0)
    num_rows, num_edges = 9, 25
    # The last row has no edge.
    row = torch.randint(0, num_rows - 1, (num_edges, ), generator=generator)
    col = torch.randint(0, num_rows, (num_edges, ), generator=generator)
    weights = torch.randn(num_edges, 3, dtype=torch.float64,
                          generator=generator)
    edges = EdgeList(row, col, torch.arange(num_edges), num_rows)
    dense = dense_matrices(row, col, weights, num_rows)

    rows = torch.randn(num_rows, 4, dtype=torch.float64, generator=generator)
    expanded = edges.matmul(rows, weights, contract=False)
    assert torch.allclose(expanded, (dense @ rows).transpose(0, 1))

    channel_rows = torch.randn(num_rows, 3, 4, dtype=torch.float64,
                               generator=generator)
    contracted = edges.matmul(channel_rows, weights, contract=True)
    expected = (dense @ channel_rows.transpose(0, 1)).sum(0)
    assert torch.allclose(contracted, expected)


def test_edge_list_without_edges():
    empty = torch.zeros(0, dtype=torch.long)
    edges = EdgeList(empty, empty, empty, num_rows=3)
    out = edges.matmul(torch.ones(3, 2), torch.ones(0, 3), contract=False)
    assert out.shape == (3, 3, 2) and (out == 0).all()


def random_edges(generator, num_samples, size, count, directed):
    source = torch.randint(0, size, (num_samples, count), generator=generator)
    target = torch.randint(0, size, (num_samples, count), generator=generator)
    offset = (torch.arange(num_samples) * size).unsqueeze(1)
    edge_index = torch.stack([(source + offset).flatten(),
                              (target + offset).flatten()])
    if directed:
        return edge_index
    return torch.cat([edge_index, edge_index.flip(0)], 1)


def random_costs(generator, num_edges, directed):
    """Costs of a symmetric edge list are symmetric."""
    if directed:
        return torch.rand(num_edges, dtype=torch.float64, generator=generator)
    half = torch.rand(num_edges // 2, dtype=torch.float64,
                      generator=generator)
    return torch.cat([half, half])


def random_problem(directed_objects, directed_words, seed=0):
    """Two samples in slot coordinates: K = 3 objects, N = 4 words."""
    generator = torch.Generator().manual_seed(seed)
    num_samples, num_objects, num_words = 2, 3, 4
    object_edges = random_edges(generator, num_samples, num_objects, 4,
                                directed_objects)
    word_edges = random_edges(generator, num_samples, num_words, 5,
                              directed_words)
    kernel = RestrictedGromovKernel(object_edges, word_edges, num_samples,
                                    num_objects, num_words)
    object_cost = random_costs(generator, object_edges.size(1),
                               directed_objects)
    word_cost = random_costs(generator, word_edges.size(1), directed_words)
    plan = torch.rand(num_samples, num_objects, num_words,
                      dtype=torch.float64, generator=generator)
    return kernel, object_edges, word_edges, object_cost, word_cost, plan


def brute_force_value(object_edges, word_edges, object_cost, word_cost,
                      plan):
    num_samples, num_objects, num_words = plan.shape
    flat = plan.reshape(-1, num_words)
    value = torch.zeros(num_samples, dtype=plan.dtype)
    for e in range(object_edges.size(1)):
        i, i2 = object_edges[:, e].tolist()
        for f in range(word_edges.size(1)):
            j, j2 = word_edges[:, f].tolist()
            if i // num_objects != j // num_words:
                continue
            weight = (object_cost[e] - word_cost[f])**2
            value[i // num_objects] += (weight * flat[i, j % num_words]
                                        * flat[i2, j2 % num_words])
    return value


@pytest.mark.parametrize("directed_objects", [False, True])
@pytest.mark.parametrize("directed_words", [False, True])
def test_kernel_value_gradient_and_fixed_plan_value(directed_objects,
                                                    directed_words):
    kernel, object_edges, word_edges, object_cost, word_cost, plan = (
        random_problem(directed_objects, directed_words))
    assert kernel.objects.symmetric == (not directed_objects)
    assert kernel.words.symmetric == (not directed_words)
    expected = brute_force_value(object_edges, word_edges, object_cost,
                                 word_cost, plan)
    assert torch.allclose(kernel.value(plan, object_cost, word_cost),
                          expected)

    # The gradient in the plan is the derivative of the value.
    plan.requires_grad_()
    value = kernel.value(plan, object_cost, word_cost).sum()
    (autograd_gradient, ) = torch.autograd.grad(value, plan)
    gradient = kernel.gradient(plan.detach(),
                               object_edge_channels(object_cost),
                               word_edge_channels(word_cost))
    assert torch.allclose(gradient, autograd_gradient)

    # Same value and cost gradients with the plan fixed, from edge
    # statistics.
    plan = plan.detach()
    edge_costs = [object_cost.clone().requires_grad_(),
                  word_cost.clone().requires_grad_()]
    reference = kernel.value(plan, *edge_costs)
    reference_grads = torch.autograd.grad(reference.sum(), edge_costs)
    fixed = kernel.value_at_fixed_plan(plan, *edge_costs)
    fixed_grads = torch.autograd.grad(fixed.sum(), edge_costs)
    assert torch.allclose(fixed, reference)
    for ours, theirs in zip(fixed_grads, reference_grads):
        assert torch.allclose(ours, theirs)


@pytest.mark.parametrize("block", [sparse_kernel.CPU_MESSAGE_BLOCK, 7])
def test_same_floats_with_and_without_torch_scatter(monkeypatch, block):
    """PyG with its torch-scatter path switched off gives the kernel
    bit-identical products, gradients and values."""
    import torch_geometric.typing

    monkeypatch.setattr(sparse_kernel, "CPU_MESSAGE_BLOCK", block)
    results = {}
    for with_torch_scatter in (True, False):
        monkeypatch.setattr(torch_geometric.typing, "WITH_TORCH_SCATTER",
                            with_torch_scatter)
        kernel, _, _, object_cost, word_cost, plan = random_problem(
            directed_objects=True, directed_words=False, seed=3)
        costs = [object_cost.requires_grad_(), word_cost.requires_grad_()]
        value = kernel.value_at_fixed_plan(plan, *costs)
        results[with_torch_scatter] = (
            kernel.gradient(plan, object_edge_channels(object_cost),
                            word_edge_channels(word_cost)).detach(),
            kernel.value(plan, *costs).detach(), value.detach(),
            *torch.autograd.grad(value.sum(), costs))
    for ours, theirs in zip(results[False], results[True]):
        assert torch.equal(ours, theirs)


@pytest.mark.parametrize("block", [sparse_kernel.CPU_MESSAGE_BLOCK, 7])
def test_row_sums_equal_torch_scatter_segment_csr(monkeypatch, block):
    """The row sums (``scatter_add_``) give torch-scatter's ``segment_csr``
    floats exactly, on CPU."""
    torch_scatter = pytest.importorskip("torch_scatter")
    monkeypatch.setattr(sparse_kernel, "CPU_MESSAGE_BLOCK", block)
    generator = torch.Generator().manual_seed(4)
    num_rows, num_edges = 40, 300
    row = torch.randint(0, num_rows - 2, (num_edges, ), generator=generator)
    col = torch.randint(0, num_rows, (num_edges, ), generator=generator)
    weights = torch.randn(num_edges, 3, generator=generator)
    rows = torch.randn(num_rows, 5, generator=generator)
    edges = EdgeList(row, col, torch.arange(num_edges), num_rows)
    order = torch.argsort(row, stable=True)
    messages = (weights[order].unsqueeze(2)
                * rows[col[order]].unsqueeze(1))
    expected = torch_scatter.segment_csr(messages, edges.ptr, reduce="sum")
    assert torch.equal(edges.matmul(rows, weights, contract=False), expected)
