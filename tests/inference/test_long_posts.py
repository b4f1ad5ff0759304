"""Prediction from long posts in windows, and from posts without words."""
import pytest
import torch

from jmere_pyg import Predictor
from jmere_pyg.data import Entity, Quintuple, Sample
from jmere_pyg.graphs import GraphBuilder, window_spans
from jmere_pyg.inference import predictor as predictor_module

from test_predictor import one_quintuple
from tiny_eega import WORDS, make_model, make_samples


@pytest.fixture
def model(tiny_encoder_path, monkeypatch):
    builder = GraphBuilder().fit(make_samples())
    monkeypatch.setattr(predictor_module, "decode_grid", one_quintuple)
    return make_model(builder, tiny_encoder_path, use_image=False).eval()


def extract(model, samples, **options):
    return Predictor(model, **options).extract(samples)


def shift(found, offset):
    return [(Quintuple(Entity(q.head.start + offset, q.head.end + offset,
                              q.head.type),
                       Entity(q.tail.start + offset, q.tail.end + offset,
                              q.tail.type), q.relation), c)
            for q, c in found]


def test_long_post_is_extracted_window_by_window(model):
    tokens = (WORDS + ["."]) * 5  # 85 words, several sentences
    post = Sample(tokens, image_id="x.jpg")
    heads = model.graph_builder.parser.parse(tokens).heads
    windows = window_spans(heads, 20)
    assert len(windows) > 2
    expected = []
    for start, end in windows:
        alone = Predictor(model).predict([Sample(tokens[start:end])])[0]
        expected.extend(shift(alone, start))
    found = Predictor(model, batch_size=3, window_words=20).predict(
        [post])[0]
    assert [q for q, _ in found] == [q for q, _ in expected]
    assert len(found) == len(windows)
    torch.testing.assert_close([c for _, c in found],
                               [c for _, c in expected])
    # every quintuple lies within one window
    for q, _ in found:
        assert any(s <= min(q.head.start, q.tail.start)
                   and max(q.head.end, q.tail.end) <= e for s, e in windows)


def test_posts_within_the_limit_are_read_whole(model):
    samples = make_samples()
    assert extract(model, samples, window_words=16) == extract(
        model, samples, window_words=1000)
    assert extract(model, samples, window_words=4) != extract(model, samples)


def test_a_post_without_words_gets_nothing_and_spares_its_batch(model):
    samples = make_samples()
    found = extract(model, [Sample([])] + samples + [Sample([])])
    assert found[0] == [] and found[-1] == []
    assert found[1:-1] == extract(model, samples)
    assert all(found[1:-1])
