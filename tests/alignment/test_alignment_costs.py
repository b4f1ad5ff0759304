import pytest
import torch

from jmere_pyg.alignment import costs
from jmere_pyg.alignment.costs import (cosine_distance_dense,
                                       edge_cosine_distance,
                                       grouped_cosine_distance,
                                       padded_cosine_distance)


def test_cosine_distance_dense():
    x = torch.tensor([[[1.0, 0.0], [1.0, 1.0], [0.0, 0.0]]])
    distance = cosine_distance_dense(x, x)
    half = 1 - 2**-0.5
    expected = torch.tensor([[[0.0, half, 1.0], [half, 0.0, 1.0],
                              [1.0, 1.0, 1.0]]])
    assert torch.allclose(distance, expected, atol=1e-6)


def dense_entries(x, edge_index):
    dense = cosine_distance_dense(x[None], x[None])[0]
    return dense[edge_index[0], edge_index[1]]


@pytest.mark.parametrize("chunk_elements", [costs.EDGE_CHUNK_ELEMENTS, 8])
def test_edge_cosine_distance_equals_dense_entries(monkeypatch,
                                                    chunk_elements):
    monkeypatch.setattr(costs, "EDGE_CHUNK_ELEMENTS", chunk_elements)
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(7, 5, dtype=torch.float64, generator=generator)
    x[3] = 0.0  # a zero vector: distance 1 to everything, itself included
    # Both directions, self loops, a duplicate edge.
    edge_index = torch.tensor([[0, 1, 2, 2, 3, 3, 4, 5, 6, 6, 0],
                               [1, 0, 2, 3, 2, 3, 6, 5, 4, 6, 1]])
    distance = edge_cosine_distance(x, edge_index)
    assert torch.allclose(distance, dense_entries(x, edge_index))
    assert distance[5].item() == pytest.approx(1.0)

    x.requires_grad_()
    weights = torch.rand(edge_index.size(1), dtype=torch.float64,
                         generator=generator)
    (edge_cosine_distance(x, edge_index) * weights).sum().backward()
    sparse_grad, x.grad = x.grad, None
    (dense_entries(x, edge_index) * weights).sum().backward()
    assert torch.isfinite(sparse_grad).all()
    assert torch.allclose(sparse_grad, x.grad)


def test_edge_cosine_distance_gradcheck():
    x = torch.randn(5, 3, dtype=torch.float64, requires_grad=True)
    edge_index = torch.tensor([[0, 1, 1, 2, 4, 4], [1, 0, 3, 2, 0, 4]])
    assert torch.autograd.gradcheck(
        lambda x: edge_cosine_distance(x, edge_index), (x, ))


def test_grouped_cosine_distance():
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(9, 4, dtype=torch.float64, generator=generator,
                    requires_grad=True)
    objects = torch.randn(2, 3, 4, dtype=torch.float64, generator=generator,
                          requires_grad=True)
    ranges = [(0, 4), (6, 3)]  # rows 4 and 5 belong to no sample
    padded = torch.zeros(2, 4, 4, dtype=torch.float64)
    padded[0], padded[1, :3] = x[0:4], x[6:9]
    norms = padded.norm(dim=-1).clamp_min(costs.NORM_EPS)
    grouped = grouped_cosine_distance(objects, x, ranges, norms)
    assert torch.allclose(grouped, cosine_distance_dense(objects, padded))
    assert torch.autograd.gradcheck(
        lambda x, o: grouped_cosine_distance(o, x, ranges, norms.detach()),
        (x, objects))


def test_padded_equals_grouped_cosine_distance():
    """The CUDA path (one batched product) gives the CPU path's costs and
    gradients."""
    generator = torch.Generator().manual_seed(2)
    x = torch.randn(9, 4, dtype=torch.float64, generator=generator,
                    requires_grad=True)
    objects = torch.randn(2, 3, 4, dtype=torch.float64, generator=generator,
                          requires_grad=True)
    ranges = [(0, 4), (6, 3)]
    padded = torch.zeros(2, 4, 4, dtype=torch.float64)
    padded[0], padded[1, :3] = x[0:4], x[6:9]
    norms = padded.detach().norm(dim=-1).clamp_min(costs.NORM_EPS)
    weights = torch.rand(2, 3, 4, dtype=torch.float64, generator=generator)
    grouped = grouped_cosine_distance(objects, x, ranges, norms)
    expected = torch.autograd.grad((grouped * weights).sum(), (x, objects))
    ours = padded_cosine_distance(objects, padded, norms)
    grads = torch.autograd.grad((ours * weights).sum(), (x, objects))
    assert torch.allclose(ours, grouped, rtol=1e-12, atol=1e-15)
    for got, want in zip(grads, expected):
        assert torch.allclose(got, want, rtol=1e-12, atol=1e-15)
