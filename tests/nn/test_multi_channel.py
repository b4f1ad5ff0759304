import pytest
import torch

from jmere_pyg.nn import MultiChannelLayer

NUM_POS, MAX_DISTANCE, MAX_PMI = 6, 4, 3


def make_sample(num_words, seed):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(num_words, 8, generator=generator)
    pos = torch.randint(NUM_POS, (num_words, ), generator=generator)
    pair_index = torch.cartesian_prod(torch.arange(num_words),
                                      torch.arange(num_words)).t()
    distance = torch.randint(MAX_DISTANCE + 1, (num_words**2, ),
                             generator=generator)
    pmi = torch.randint(-1, MAX_PMI + 1, (num_words**2, ),
                        generator=generator)
    return x, pair_index, pos, distance, pmi


def make_batch(sizes=(3, 1, 4)):
    samples = [make_sample(n, seed) for seed, n in enumerate(sizes)]
    offsets = torch.tensor((0, ) + sizes[:-1]).cumsum(0)
    x = torch.cat([s[0] for s in samples])
    pair_index = torch.cat([s[1] + o for s, o in zip(samples, offsets)], 1)
    pos = torch.cat([s[2] for s in samples])
    distance = torch.cat([s[3] for s in samples])
    pmi = torch.cat([s[4] for s in samples])
    return samples, (x, pair_index, pos, distance, pmi)


def dense_reference(layer, x, pos, distance, pmi):
    """Eq. 9-10 for one sample with an explicit [n, n, d_l] embedding."""
    n = x.size(0)
    embedding = layer.embedding
    pair_embedding = {
        'pos': lambda: (embedding['pos'](pos).unsqueeze(1) +
                        embedding['pos'](pos).unsqueeze(0)),
        'distance': lambda: embedding['distance'](distance.view(n, n)),
        'pmi': lambda: embedding['pmi'](pmi.view(n, n) + 1),
    }
    outputs = []
    for name in layer.channels_used:
        score = torch.relu(layer.lin_score[name](pair_embedding[name]()))
        alpha = torch.softmax(score.squeeze(-1), dim=1)
        outputs.append(alpha @ layer.lin_channel[name](x))
    return layer.mlp(torch.cat(outputs, dim=-1))


def test_shapes_repr_and_dense_reference():
    torch.manual_seed(0)
    layer = MultiChannelLayer(8, NUM_POS, MAX_DISTANCE, MAX_PMI,
                              channel_dim=5).eval()
    assert str(layer) == ("MultiChannelLayer(8, channels_used=('pos', "
                          "'distance', 'pmi'))")
    x, pair_index, pos, distance, pmi = make_sample(5, seed=0)
    out = layer(x, pair_index, pos, distance, pmi)
    assert out.size() == (5, 8)
    assert torch.allclose(out, dense_reference(layer, x, pos, distance, pmi),
                          atol=1e-5)


def test_sample_alone_equals_sample_in_batch():
    torch.manual_seed(0)
    layer = MultiChannelLayer(8, NUM_POS, MAX_DISTANCE, MAX_PMI).eval()
    samples, batch = make_batch()
    out = layer(*batch)
    assert out.size() == (8, 8)
    start = 0
    for sample in samples:
        n = sample[0].size(0)
        assert torch.allclose(layer(*sample), out[start:start + n],
                              atol=1e-5)
        start += n


def test_channel_subset():
    torch.manual_seed(0)
    layer = MultiChannelLayer(8, NUM_POS, MAX_DISTANCE, MAX_PMI,
                              channels_used=('pmi', 'distance')).eval()
    assert layer.channels_used == ('distance', 'pmi')
    assert set(layer.embedding.keys()) == {'distance', 'pmi'}
    assert layer.mlp[0].in_features == 16
    x, pair_index, pos, distance, pmi = make_sample(4, seed=1)
    out = layer(x, pair_index, distance=distance, pmi=pmi)
    assert torch.allclose(out, dense_reference(layer, x, pos, distance, pmi),
                          atol=1e-5)

    pos_only = MultiChannelLayer(8, NUM_POS, MAX_DISTANCE, MAX_PMI,
                                 channels_used=('pos', ))
    assert pos_only(x, pair_index, pos).size() == (4, 8)
    with pytest.raises(ValueError, match="'pos' must be given"):
        pos_only(x, pair_index, distance=distance)


def test_invalid_channels():
    for channels_used in [(), ('pos', 'syntax'), ('pos', 'pos')]:
        with pytest.raises(ValueError, match='non-empty subset'):
            MultiChannelLayer(8, NUM_POS, MAX_DISTANCE, MAX_PMI,
                              channels_used=channels_used)


def test_gradients_reach_every_channel():
    torch.manual_seed(0)
    layer = MultiChannelLayer(8, NUM_POS, MAX_DISTANCE, MAX_PMI)
    _, batch = make_batch()
    x = batch[0].requires_grad_(True)
    (layer(*batch) * torch.randn(8, 8)).sum().backward()
    assert x.grad.abs().sum() > 0
    for name in layer.channels_used:
        assert layer.embedding[name].weight.grad.abs().sum() > 0
