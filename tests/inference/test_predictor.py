"""The Predictor, the one inference path: batching by length, ensembles,
windows, graphs built before, and evaluation equal to prediction."""
import json

import pytest
import torch
from torch_geometric.data import Batch

from jmere_pyg import EEGA, Predictor
from jmere_pyg.data import (Entity, Quintuple, Sample, attach_scene_graphs,
                            write_jsonl)
from jmere_pyg.graphs import GraphBuilder
from jmere_pyg.inference import evaluate, evaluate_file, predict_to_jsonl
from jmere_pyg.inference import predictor as predictor_module
from jmere_pyg.metrics import QuintupleMetrics
from jmere_pyg.tagging import decode_grid

from tiny_eega import WORDS, fit_builder, graphs, make_model, make_samples


@pytest.fixture(scope="module")
def builder():
    return fit_builder()


@pytest.fixture
def model(builder, tiny_encoder_path):
    return make_model(builder, tiny_encoder_path).eval()


def test_batches_follow_length_and_results_input_order(model):
    samples = make_samples()[::-1]
    lengths = model.encoder.subword_lengths([s.tokens for s in samples])
    assert lengths != sorted(lengths)
    batched = list(Predictor(model, batch_size=3).grids(samples))
    for grid, sample in zip(batched, samples):
        alone = next(Predictor(model, batch_size=1).grids([sample]))
        assert grid.shape[:2] == (len(sample.tokens),) * 2
        torch.testing.assert_close(grid, alone, atol=1e-5, rtol=0)
    assert (Predictor(model, batch_size=3).extract(samples)
            == [decode_grid(g) for g in batched])


def same_predictions(found, expected):
    """The same quintuples, with confidences equal up to the rounding of
    other batch shapes."""
    assert [[q for q, _ in f] for f in found] == [[q for q, _ in f]
                                                  for f in expected]
    torch.testing.assert_close([[c for _, c in f] for f in found],
                               [[c for _, c in f] for f in expected],
                               atol=1e-5, rtol=0)


def test_chunks_and_streams_give_the_same_result(model):
    samples = make_samples() * 2
    whole = Predictor(model).predict(samples)
    assert any(whole)
    same_predictions(Predictor(model, chunk_size=3).predict(samples), whole)
    same_predictions(list(Predictor(model, chunk_size=2).iter_predict(
        iter(samples))), whole)


def test_an_ensemble_decodes_the_mean_probabilities(builder, model,
                                                    tiny_encoder_path):
    samples = make_samples()
    alone = Predictor(model).predict(samples)
    assert any(alone)  # random weights still extract something
    twice = Predictor([model, model]).predict(samples)
    assert ([[q for q, _ in found] for found in twice]
            == [[q for q, _ in found] for found in alone])
    for found_twice, found_alone in zip(twice, alone):
        for (_, c2), (_, c1) in zip(found_twice, found_alone):
            assert c2 == pytest.approx(c1, abs=1e-5)

    torch.manual_seed(1)
    second = EEGA.from_builder(builder, model.config).eval()
    batch = Batch.from_data_list(graphs(builder, samples))
    with torch.no_grad():
        mean = [(a.softmax(-1) + b.softmax(-1)) / 2 for a, b in zip(
            model.sample_grids(batch, model(batch).logits),
            second.sample_grids(batch, second(batch).logits))]
    assert (Predictor([model, second]).extract(samples)
            == [decode_grid(m.log()) for m in mean])
    probabilities = list(Predictor([model, second]).tag_probabilities(
        samples))
    for got, expected in zip(probabilities, mean):
        torch.testing.assert_close(got, expected)

    with pytest.raises(ValueError, match="at least one model"):
        Predictor([])
    second.config = second.config.replace(entity_decoding="diagonal")
    with pytest.raises(ValueError, match="decode entities differently"):
        Predictor([model, second])


def test_gold_is_ignored_and_a_post_needs_no_image(model):
    plain = Sample(tokens=["Curry", "won", "the", "trophy"])
    found = Predictor(model).predict([plain, make_samples()[0]])
    assert len(found) == 2
    assert all(isinstance(q, Quintuple) and 0.0 <= c <= 1.0
               for q, c in found[0] + found[1])
    stripped = [Sample(s.tokens, s.image_id, [], s.scene_graph)
                for s in make_samples()]
    assert (Predictor(model).predict(stripped)
            == Predictor(model).predict(make_samples()))


def test_scene_graphs_are_joined_once_before_prediction(model, monkeypatch):
    """Samples joined with a mapping by image name give the model the same
    objects and logits as samples that carry their graphs; the given samples
    are left as they were."""
    carrying = make_samples()
    mapping = {s.image_id: s.scene_graph for s in carrying if s.scene_graph}
    bare = [Sample(s.tokens, s.image_id, list(s.quintuples), source="x")
            for s in carrying]
    seen = []
    forward = model.forward
    monkeypatch.setattr(model, "forward", lambda batch: seen.append(
        (batch["object"].label.tolist(), forward(batch).logits)) or
        forward(batch))
    joined = attach_scene_graphs(bare, mapping)
    assert Predictor(model).predict(joined) == Predictor(model).predict(
        carrying)
    Predictor(model).predict(bare)  # not joined: no objects
    (mapped, mapped_logits), (carried, carried_logits), (none, _) = seen
    assert sorted(mapped) == sorted(carried) and len(mapped) == 10
    assert none == []
    torch.testing.assert_close(mapped_logits, carried_logits)
    assert all(s.scene_graph is None and s.source == "x" for s in bare)


def test_graphs_built_before_are_read_not_parsed_again(builder, model,
                                                       monkeypatch):
    samples = make_samples()
    built = graphs(builder, samples)
    expected = Predictor(model).predict(samples)

    def no_parsing(*args, **kwargs):
        raise AssertionError("the posts were parsed again")
    monkeypatch.setattr(GraphBuilder, "build_many", no_parsing)
    assert Predictor(model).predict(samples, built=(builder, built)) == expected
    other = GraphBuilder(parser=builder.parser, max_distance=3).fit(samples)
    with pytest.raises(AssertionError, match="parsed again"):
        Predictor(model).predict(samples, built=(other, built))


@pytest.mark.parametrize("entity_decoding", ["segment", "diagonal"])
def test_decoding_follows_the_configured_entity_decoding(
        builder, tiny_encoder_path, entity_decoding, monkeypatch):
    used, original = [], predictor_module.decode_grid

    def recording_decode(grid, **kwargs):
        used.append(kwargs.get("entity_decoding"))
        return original(grid, **kwargs)

    monkeypatch.setattr(predictor_module, "decode_grid", recording_decode)
    model = make_model(builder, tiny_encoder_path,
                       entity_decoding=entity_decoding).eval()
    Predictor(model).predict(make_samples())
    assert used and set(used) == {entity_decoding}


def test_options_are_checked(model):
    for option in ("batch_size", "window_words", "chunk_size"):
        with pytest.raises(ValueError, match=option):
            Predictor(model, **{option: 0})
    with pytest.raises(ValueError, match="more than window_words"):
        list(Predictor(model, window_words=4).grids(make_samples()))


# ------------------------------------------- evaluate equals predict
def test_evaluate_scores_what_predict_writes(builder, tiny_encoder_path,
                                             tmp_path, monkeypatch):
    """The metrics of ``evaluate`` are those computed from the output of
    ``predict`` on the same posts, a post longer than the window included;
    the trainer's route (graphs built before) gives the same metrics."""
    monkeypatch.setattr(predictor_module, "decode_grid", one_quintuple)
    model = make_model(builder, tiny_encoder_path, use_image=False).eval()
    model.save_pretrained(tmp_path / "ckpt")
    samples = [Sample(s.tokens, s.image_id, s.quintuples)
               for s in make_samples()]
    long_post = Sample((WORDS + ["."]) * 3, None, list(
        make_samples()[1].quintuples))
    samples.append(long_post)
    write_jsonl(samples, tmp_path / "posts.jsonl")
    window = 20
    assert len(long_post.tokens) > window

    metrics = evaluate_file(str(tmp_path / "ckpt"),
                            str(tmp_path / "posts.jsonl"), max_words=None,
                            window_words=window)
    lines = predict_to_jsonl(str(tmp_path / "ckpt"),
                             path=str(tmp_path / "posts.jsonl"),
                             window_words=window)
    predicted = [[_quintuple(q) for q in json.loads(line)["quintuples"]]
                 for line in lines]
    assert any(predicted[-1])  # the long post contributes
    from_predict = QuintupleMetrics()
    from_predict.update(predicted, [s.quintuples for s in samples])
    expected = from_predict.compute()
    for key in ("strict", "paper", "mner", "triple", "per_relation"):
        assert metrics[key] == expected[key], key

    predictor = Predictor(EEGA.from_pretrained(tmp_path / "ckpt"),
                          window_words=window)
    built = (predictor.models[0].graph_builder,
             graphs(predictor.models[0].graph_builder, samples))
    assert evaluate(predictor, samples, built=built) == evaluate(
        predictor, samples)
    assert evaluate(predictor, samples)["strict"] == metrics["strict"]


def one_quintuple(grid, **options):
    """One quintuple per grid, placed by the logits (a random model decodes
    to nothing, which would make a comparison vacuous): head and tail on the
    two words with the largest diagonal logit of tag 1."""
    if grid.size(0) < 2:
        return []
    head, tail = grid[..., 1].diagonal().argsort(descending=True)[:2].tolist()
    return [Quintuple(Entity(head, head + 1, "per"),
                      Entity(tail, tail + 1, "org"), "member_of")]


def _quintuple(record) -> Quintuple:
    head, tail = record["head"], record["tail"]
    return Quintuple(Entity(head["start"], head["end"], head["type"]),
                     Entity(tail["start"], tail["end"], tail["type"]),
                     record["relation"])
