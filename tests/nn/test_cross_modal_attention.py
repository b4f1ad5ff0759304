import math

import pytest
import torch

from jmere_pyg.nn import CrossModalAttention, sample_bipartite_edge_index
from torch_geometric.utils import scatter


def test_sample_bipartite_edge_index():
    edge_index = sample_bipartite_edge_index(torch.tensor([0, 1, 1]),
                                             torch.tensor([0, 0, 1]))
    assert edge_index.tolist() == [[0, 0, 1, 2], [0, 1, 2, 2]]

    # Unsorted batch vectors, a sample without sources, a sample without
    # destinations.
    batch_src = torch.tensor([2, 0, 2, 3])
    batch_dst = torch.tensor([1, 2, 0, 2])
    edge_index = sample_bipartite_edge_index(batch_src, batch_dst)
    assert edge_index.tolist() == [[0, 2, 1, 0, 2], [1, 1, 2, 3, 3]]

    empty = torch.zeros(0, dtype=torch.long)
    assert sample_bipartite_edge_index(empty, batch_dst).size() == (2, 0)
    assert sample_bipartite_edge_index(batch_src, empty).size() == (2, 0)
    assert sample_bipartite_edge_index(empty, empty).size() == (2, 0)


def dense_reference(layer, x_word, x_obj):
    """Eq. 8 for one sample, written densely."""
    H, C = layer.heads, layer.head_channels
    query = layer.lin_query(x_word).view(-1, H, C)
    key = layer.lin_key(x_obj).view(-1, H, C)
    value = layer.lin_value(x_obj).view(-1, H, C)
    alpha = torch.softmax(
        torch.einsum('ihc,khc->hik', query, key) / math.sqrt(C), dim=-1)
    attended = torch.einsum('hik,khc->ihc', alpha, value)
    return layer.norm(x_word + layer.lin_out(attended.reshape(len(x_word),
                                                              -1)))


def make_batch(seed=0):
    generator = torch.Generator().manual_seed(seed)
    num_words, num_objects = [3, 2, 4], [2, 0, 3]
    x_word = torch.randn(sum(num_words), 8, generator=generator)
    x_obj = torch.randn(sum(num_objects), 8, generator=generator)
    batch_word = torch.repeat_interleave(torch.arange(3),
                                         torch.tensor(num_words))
    batch_obj = torch.repeat_interleave(torch.arange(3),
                                        torch.tensor(num_objects))
    return x_word, batch_word, x_obj, batch_obj


def test_sample_alone_equals_sample_in_batch():
    torch.manual_seed(0)
    layer = CrossModalAttention(8, heads=2).eval()
    x_word, batch_word, x_obj, batch_obj = make_batch()
    out = layer(x_word, batch_word, x_obj, batch_obj)
    assert out.size() == (9, 8)

    for sample in range(3):
        words, objects = batch_word == sample, batch_obj == sample
        alone = layer(x_word[words], torch.zeros(int(words.sum()),
                                                 dtype=torch.long),
                      x_obj[objects], torch.zeros(int(objects.sum()),
                                                  dtype=torch.long))
        assert torch.allclose(alone, out[words], atol=1e-5)
        if objects.any():
            expected = dense_reference(layer, x_word[words], x_obj[objects])
            assert torch.allclose(alone, expected, atol=1e-5)

    perm_word, perm_obj = torch.randperm(9), torch.randperm(5)
    shuffled = layer(x_word[perm_word], batch_word[perm_word],
                     x_obj[perm_obj], batch_obj[perm_obj])
    assert torch.allclose(shuffled, out[perm_word], atol=1e-5)


def test_words_without_objects_are_layer_normalised():
    layer = CrossModalAttention(8, heads=2)
    x_word, batch_word, x_obj, batch_obj = make_batch()
    out = layer.eval()(x_word, batch_word, x_obj, batch_obj)
    words = batch_word == 1
    assert torch.allclose(out[words], layer.norm(x_word[words]))

    layer.train()
    out = layer(x_word, batch_word, torch.zeros(0, 8),
                torch.zeros(0, dtype=torch.long))
    assert torch.isfinite(out).all()
    assert torch.allclose(out, layer.norm(x_word))
    out.sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in layer.parameters()
               if p.grad is not None)


def test_gradients_reach_objects_and_attention_sums_to_one():
    layer = CrossModalAttention(8, heads=2)
    x_word, batch_word, x_obj, batch_obj = make_batch()
    x_obj.requires_grad_(True)
    out, (edge_index, alpha) = layer(x_word, batch_word, x_obj, batch_obj,
                                     return_attention_weights=True)
    (out * torch.randn_like(out)).sum().backward()
    assert x_obj.grad is not None and x_obj.grad.abs().sum() > 0
    assert edge_index.size(1) == 3 * 2 + 4 * 3
    assert torch.equal(batch_obj[edge_index[0]], batch_word[edge_index[1]])
    total = scatter(alpha, edge_index[1], dim=0, dim_size=9, reduce='sum')
    has_object = batch_word != 1
    assert torch.allclose(total[has_object], torch.ones(7, 2), atol=1e-6)


def test_repr_and_options():
    assert str(CrossModalAttention(16, heads=4)) == (
        'CrossModalAttention(16, heads=4)')
    with pytest.raises(ValueError, match='divisible'):
        CrossModalAttention(10, heads=4)
