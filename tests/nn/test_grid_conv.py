import pytest
import torch
import torch.nn.functional as F

from jmere_pyg.nn import GridConv, WordPairClassifier


def _pairs(sizes):
    """Row-major word pairs of samples of ``sizes`` words, and the sample
    of every word."""
    pair_index, batch, offset = [], [], 0
    for sample, n in enumerate(sizes):
        words = torch.arange(n) + offset
        pair_index.append(torch.cartesian_prod(words, words).t())
        batch.append(torch.full((n, ), sample))
        offset += n
    return torch.cat(pair_index, dim=1), torch.cat(batch)


def _reference(conv: GridConv, h: torch.Tensor, n: int) -> torch.Tensor:
    """One sample's grid alone, as a dense ``[1, c, n, n]`` image."""
    x = F.gelu(conv.reduce(h)).view(1, n, n, -1).permute(0, 3, 1, 2)
    out = torch.cat([F.gelu(c(x)) for c in conv.convs], dim=1)
    return h + conv.expand(out.permute(0, 2, 3, 1).reshape(n * n, -1))


def test_batched_grids_match_each_sample_alone():
    torch.manual_seed(0)
    sizes = [3, 1, 5, 4]
    conv = GridConv(6, conv_channels=4, dilations=(1, 2)).eval()
    assert str(conv) == 'GridConv(6, conv_channels=4, dilations=(1, 2))'
    pair_index, batch = _pairs(sizes)
    h = torch.randn(pair_index.size(1), 6)
    out = conv(h, pair_index, batch)
    assert out.size() == h.size()
    expected = torch.cat([
        _reference(conv, chunk, n)
        for chunk, n in zip(h.split([n * n for n in sizes]), sizes)])
    assert torch.allclose(out, expected, atol=1e-6)


def test_cells_see_their_neighbours_only_within_their_sample():
    torch.manual_seed(0)
    conv = GridConv(3, conv_channels=2, dilations=(1, )).eval()
    pair_index, batch = _pairs([3, 3])
    h = torch.randn(18, 3)
    changed = h.clone()
    changed[0] += 1.0  # cell (0, 0) of the first sample
    delta = (conv(changed, pair_index, batch)
             - conv(h, pair_index, batch)).abs().sum(-1)
    # (0, 0) reaches (0, 1), (1, 0), (1, 1) and itself; the residual moves
    # the cell itself; nothing reaches the second sample.
    assert (delta[:9] > 0).tolist() == [True, True, False, True, True,
                                        False, False, False, False]
    assert torch.equal(delta[9:], torch.zeros(9))


def test_gradients_and_empty_input():
    conv = GridConv(4, conv_channels=2)
    pair_index, batch = _pairs([2, 3])
    h = torch.randn(13, 4, requires_grad=True)
    conv(h, pair_index, batch).sum().backward()
    assert h.grad is not None and conv.convs[0].weight.grad is not None
    empty = conv(h[:0], pair_index[:, :0], batch[:0])
    assert empty.size() == (0, 4)
    with pytest.raises(ValueError, match='dilations'):
        GridConv(4, conv_channels=2, dilations=(0, ))


def test_word_pair_classifier_with_grid_conv():
    torch.manual_seed(0)
    classifier = WordPairClassifier(8, num_tags=5, hidden_channels=6,
                                    conv_channels=4).eval()
    assert str(classifier) == ('WordPairClassifier(8, num_tags=5, '
                               'hidden_channels=6, conv_channels=4)')
    pair_index, batch = _pairs([2, 3])
    s = torch.randn(5, 8)
    distance = torch.zeros(13, dtype=torch.long)
    assert classifier(s, pair_index, distance, batch).size() == (13, 5)
    with pytest.raises(ValueError, match="'batch'"):
        classifier(s, pair_index, distance)
    with pytest.raises(ValueError, match='hidden layer'):
        WordPairClassifier(8, num_tags=5, conv_channels=4)
