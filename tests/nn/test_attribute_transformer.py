import math

import pytest
import torch

from jmere_pyg.nn import AttributeTransformerConv
from torch_geometric.utils import scatter


def make_graph(num_nodes=6, num_edge_types=5, seed=0):
    generator = torch.Generator().manual_seed(seed)
    adjacency = torch.rand(num_nodes, num_nodes, generator=generator) < 0.4
    adjacency.fill_diagonal_(True)
    adjacency[:, num_nodes - 1] = False  # the last node has no incoming edge
    edge_index = adjacency.nonzero().t()
    edge_type = torch.randint(num_edge_types, (edge_index.size(1), ),
                              generator=generator)
    return edge_index, edge_type


def dense_reference(conv, x, edge_index, edge_type):
    """Eq. 3-4 with an [N, N] masked attention, then the transformer block."""
    num_nodes = x.size(0)
    H, C = conv.heads, conv.head_channels
    query = conv.lin_query(x).view(num_nodes, H, C)
    key = conv.lin_key(x).view(num_nodes, H, C)
    value = conv.lin_value(x).view(num_nodes, H, C)
    mask = torch.zeros(num_nodes, num_nodes, dtype=torch.bool)
    mask[edge_index[1], edge_index[0]] = True  # [target i, source j]
    key_pair = key.unsqueeze(0).expand(num_nodes, -1, -1, -1)
    value_pair = value.unsqueeze(0).expand(num_nodes, -1, -1, -1)
    if conv.use_edge_types:
        types = torch.zeros(num_nodes, num_nodes, dtype=torch.long)
        types[edge_index[1], edge_index[0]] = edge_type
        z = conv.edge_embedding.weight
        key_pair = key_pair + conv.lin_edge_key(z)[types].view(
            num_nodes, num_nodes, H, C)
        value_pair = value_pair + conv.lin_edge_value(z)[types].view(
            num_nodes, num_nodes, H, C)
    scores = torch.einsum('ihc,ijhc->ihj', query, key_pair) / math.sqrt(C)
    scores = scores.masked_fill(~mask.unsqueeze(1), float('-inf'))
    alpha = torch.softmax(scores, dim=-1).nan_to_num(0.0)
    attended = torch.einsum('ihj,ijhc->ihc', alpha, value_pair)
    u = conv.norm_attention(x + conv.lin_out(attended.reshape(num_nodes, -1)))
    f = conv.lin_ffn2(torch.relu(conv.lin_ffn1(u)))
    if conv.in_channels == conv.out_channels:
        f = u + f
    return conv.norm_ffn(f)


@pytest.mark.parametrize('out_channels', [8, 12])
@pytest.mark.parametrize('use_edge_types', [True, False])
def test_matches_dense_masked_attention(out_channels, use_edge_types):
    torch.manual_seed(0)
    edge_index, edge_type = make_graph()
    x = torch.randn(6, 8)
    conv = AttributeTransformerConv(8, out_channels, heads=2,
                                    num_edge_types=5, edge_dim=7,
                                    use_edge_types=use_edge_types).eval()
    out = conv(x, edge_index, edge_type)
    assert out.size() == (6, out_channels)
    expected = dense_reference(conv, x, edge_index, edge_type)
    assert torch.allclose(out, expected, atol=1e-5)


def test_shapes_and_repr():
    conv = AttributeTransformerConv(16, 8, heads=4, num_edge_types=3)
    assert str(conv) == ('AttributeTransformerConv(16, 8, heads=4, '
                         'num_edge_types=3, use_edge_types=True)')
    assert conv.edge_embedding.weight.size() == (3, 100)
    assert conv.lin_ffn1.out_features == 32
    edge_index = torch.tensor([[0, 1, 2, 0], [1, 0, 2, 0]])
    edge_type = torch.tensor([0, 1, 2, 1])
    assert conv(torch.randn(3, 16), edge_index, edge_type).size() == (3, 8)

    with pytest.raises(ValueError, match='divisible'):
        AttributeTransformerConv(10, 10, heads=4, num_edge_types=3)
    with pytest.raises(ValueError, match='edge_type'):
        conv(torch.randn(3, 16), edge_index)


def test_attention_sums_to_one_per_node():
    edge_index, edge_type = make_graph()
    conv = AttributeTransformerConv(8, 8, heads=2, num_edge_types=5)
    _, (returned_index, alpha) = conv(torch.randn(6, 8), edge_index,
                                      edge_type,
                                      return_attention_weights=True)
    assert torch.equal(returned_index, edge_index)
    assert alpha.size() == (edge_index.size(1), 2)
    total = scatter(alpha, edge_index[1], dim=0, dim_size=6, reduce='sum')
    assert torch.allclose(total[:5], torch.ones(5, 2), atol=1e-6)
    assert torch.equal(total[5], torch.zeros(2))  # no incoming edge


def test_isolated_node_sees_only_itself():
    torch.manual_seed(0)
    edge_index, edge_type = make_graph()
    conv = AttributeTransformerConv(8, 8, heads=2, num_edge_types=5).eval()
    x = torch.randn(6, 8)
    out = conv(x, edge_index, edge_type)
    assert torch.isfinite(out).all()

    changed = x.clone()
    changed[:5] = torch.randn(5, 8)
    assert torch.allclose(conv(changed, edge_index, edge_type)[5], out[5])

    u = conv.norm_attention(x[5] + conv.lin_out.bias)
    expected = conv.norm_ffn(u + conv.lin_ffn2(torch.relu(conv.lin_ffn1(u))))
    assert torch.allclose(out[5], expected, atol=1e-6)


def test_zero_nodes_and_edges():
    conv = AttributeTransformerConv(8, 12, heads=2, num_edge_types=5)
    out = conv(torch.zeros(0, 8), torch.zeros(2, 0, dtype=torch.long),
               torch.zeros(0, dtype=torch.long))
    assert out.size() == (0, 12)


def test_edge_types_change_output_and_get_gradients():
    edge_index, edge_type = make_graph()
    x = torch.randn(6, 8)
    conv = AttributeTransformerConv(8, 8, heads=2, num_edge_types=5).eval()
    out = conv(x, edge_index, edge_type)
    assert not torch.allclose(out, conv(x, edge_index, (edge_type + 1) % 5))
    out.sum().backward()
    assert conv.edge_embedding.weight.grad.abs().sum() > 0

    vanilla = AttributeTransformerConv(8, 8, heads=2, num_edge_types=5,
                                       use_edge_types=False).eval()
    assert vanilla.edge_embedding is None
    assert torch.equal(vanilla(x, edge_index), vanilla(x, edge_index,
                                                       edge_type))


def test_reset_parameters_is_deterministic():
    conv = AttributeTransformerConv(8, 8, heads=2, num_edge_types=5)
    torch.manual_seed(1)
    conv.reset_parameters()
    first = [p.clone() for p in conv.parameters()]
    torch.manual_seed(1)
    conv.reset_parameters()
    assert all(torch.equal(a, b) for a, b in zip(first, conv.parameters()))
