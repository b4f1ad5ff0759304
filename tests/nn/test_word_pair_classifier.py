import pytest
import torch
import torch.nn.functional as F

from jmere_pyg.nn import WordPairClassifier, word_pair_loss


def test_logits_match_linear_on_concatenation():
    torch.manual_seed(0)
    classifier = WordPairClassifier(8, num_tags=5, dropout=0.3).eval()
    assert str(classifier) == 'WordPairClassifier(8, num_tags=5)'
    s = torch.randn(4, 8)
    pair_index = torch.cartesian_prod(torch.arange(4), torch.arange(4)).t()
    logits = classifier(s, pair_index)
    assert logits.size() == (16, 5)
    pairs = torch.cat([s[pair_index[0]], s[pair_index[1]]], dim=-1)
    assert torch.allclose(logits, classifier.lin(pairs), atol=1e-6)
    # Direction is kept: (i, j) and (j, i) differ.
    assert not torch.allclose(logits[1], logits[4])


def test_word_pair_loss():
    logits = torch.randn(6, 4, requires_grad=True)
    labels = torch.tensor([0, 1, 2, 3, 0, 0])
    loss = word_pair_loss(logits, labels)
    assert loss.dim() == 0
    assert torch.allclose(loss, F.cross_entropy(logits, labels))

    empty = word_pair_loss(logits[:0], labels[:0])
    assert empty.item() == 0.0
    empty.backward()
    assert torch.equal(logits.grad, torch.zeros(6, 4))

    with pytest.raises(ValueError, match='same number'):
        word_pair_loss(logits, labels[:3])


def test_reset_parameters():
    classifier = WordPairClassifier(8, num_tags=5)
    torch.manual_seed(3)
    classifier.reset_parameters()
    weight = classifier.lin.weight.clone()
    torch.manual_seed(3)
    classifier.reset_parameters()
    assert torch.equal(weight, classifier.lin.weight)


@pytest.mark.parametrize("hidden_channels", [None, 6])
def test_bilinear_term_adds_head_tail_products(hidden_channels):
    torch.manual_seed(0)
    classifier = WordPairClassifier(8, num_tags=5, dropout=0.3,
                                    hidden_channels=hidden_channels,
                                    bilinear_channels=3).eval()
    assert str(classifier).endswith('bilinear_channels=3)')
    s = torch.randn(4, 8)
    pair_index = torch.cartesian_prod(torch.arange(4), torch.arange(4)).t()
    distance = torch.randint(0, 4, (16, ))
    logits = classifier(s, pair_index, distance)
    # Without the bilinear term: the same layer with it switched off.
    classifier.bilinear_out, bilinear_out = None, classifier.bilinear_out
    base = classifier(s, pair_index, distance)
    head = classifier.bilinear_head(s)[pair_index[0]]
    tail = classifier.bilinear_tail(s)[pair_index[1]]
    expected = base + (head * tail) @ bilinear_out.weight.t()
    torch.testing.assert_close(logits, expected)
    # The term is not additive in head and tail: it models their interaction.
    i, j, k, m = 0, 1, 2, 3  # cells (i,k), (i,m), (j,k), (j,m)
    term = logits - base
    interaction = (term[i * 4 + k] - term[i * 4 + m]
                   - term[j * 4 + k] + term[j * 4 + m])
    assert interaction.abs().max() > 1e-4


def test_bilinear_term_trains_and_checks_its_rank():
    torch.manual_seed(0)
    classifier = WordPairClassifier(8, num_tags=5, bilinear_channels=3)
    s = torch.randn(3, 8)
    pair_index = torch.cartesian_prod(torch.arange(3), torch.arange(3)).t()
    classifier(s, pair_index).sum().backward()
    for layer in (classifier.bilinear_head, classifier.bilinear_tail,
                  classifier.bilinear_out):
        assert layer.weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match='bilinear_channels'):
        WordPairClassifier(8, num_tags=5, bilinear_channels=0)
