"""EEGA end to end on tiny random encoders: masks, gradients, save/load."""
import pytest
import torch
from torch_geometric.data import Batch

from jmere_pyg import EEGA, EEGAConfig
from jmere_pyg.data import Entity, Quintuple, Sample
from jmere_pyg.data import SceneGraph, SceneObject, SceneRelation
from jmere_pyg.graphs import GraphBuilder
from jmere_pyg.models.eega import extract_with_confidence
from jmere_pyg.tagging import decode_grid

WORDS = ["Curry", "and", "Thompson", "won", "the", "NBA", "trophy", "in",
         "New", "York", "with", "the", "team", "so", "happy", "stars"]


def scene(num_objects: int) -> SceneGraph:
    labels = ["man", "trophy", "shirt", "ball", "court"]
    objects = [SceneObject(labels[i % 5], 1.0 - 0.05 * i,
                           [0.0, 0.0, 10.0, 10.0]) for i in range(num_objects)]
    relations = [SceneRelation(i, "holding" if i % 2 else "near", i + 1)
                 for i in range(num_objects - 1)]
    return SceneGraph(objects, relations)


def make_samples():
    per = lambda s, e: Entity(s, e, "per")
    org = lambda s, e: Entity(s, e, "org")
    return [
        Sample(WORDS[:7], "a.jpg",
               [Quintuple(per(0, 1), per(2, 3), "peer"),
                Quintuple(per(2, 3), org(5, 6), "member_of")], scene(3)),
        Sample(WORDS, "b.jpg",
               [Quintuple(org(5, 6), Entity(8, 10, "loc"), "locate_at")],
               scene(6)),
        Sample(WORDS[:4], None, [Quintuple(per(2, 3), per(0, 1), "peer")]),
        Sample(WORDS[2:13], "d.jpg", [], scene(1)),
    ]


def fit_builder(parser=None) -> GraphBuilder:
    """A builder fitted on :func:`make_samples` (``parser``: the default
    spaCy one when ``None``)."""
    samples = make_samples()
    return GraphBuilder(parser=parser).fit(samples, scene_graphs={
        s.image_id: s.scene_graph for s in samples if s.scene_graph})


@pytest.fixture(scope="module")
def builder():
    return fit_builder()


def make_model(builder, tiny_encoder_path, **overrides):
    torch.manual_seed(0)
    config = EEGAConfig(encoder=tiny_encoder_path, heads=2, edge_dim=8,
                        channel_dim=8, object_dim=16, **overrides)
    return EEGA.from_builder(builder, config)


def graphs(builder, samples):
    return [builder.build(s, sample_index=i) for i, s in enumerate(samples)]


@pytest.mark.parametrize("mode,overrides", [
    ("sparse", {}), ("dense", {}), ("sparse", {"pair_conv_channels": 4}),
    ("sparse", {"pair_bilinear_dim": 4})])
def test_sample_alone_equals_sample_in_batch(builder, tiny_encoder_path, mode,
                                             overrides):
    model = make_model(builder, tiny_encoder_path, alignment_mode=mode,
                       **overrides).eval()
    data = graphs(builder, make_samples())
    with torch.no_grad():
        alone = model(Batch.from_data_list([data[0]])).logits
        batched = model(Batch.from_data_list([data[1], data[0], data[2],
                                              data[3]])).logits
    n1, n0 = data[1]["word"].num_nodes, data[0]["word"].num_nodes
    start = n1 * n1
    torch.testing.assert_close(batched[start:start + n0 * n0], alone,
                               atol=1e-5, rtol=1e-5)


def test_graph_term_keeps_the_papers_balance(builder, tiny_encoder_path):
    model = make_model(builder, tiny_encoder_path)
    batch = Batch.from_data_list(graphs(builder, make_samples()))
    output = model(batch)
    pairs_per_sample = batch["word", "pair", "word"].num_edges / batch.num_graphs
    expected = model.config.graph_loss_weight * output.graph_loss / pairs_per_sample
    torch.testing.assert_close(output.graph_term, expected)
    torch.testing.assert_close(output.loss, output.main_loss + expected)


def test_loss_and_gradients_reach_every_part(builder, tiny_encoder_path):
    model = make_model(builder, tiny_encoder_path)
    batch = Batch.from_data_list(graphs(builder, make_samples()))
    output = model(batch)
    assert torch.isfinite(output.loss)
    assert output.graph_loss is not None and output.graph_loss > 0
    output.loss.backward()
    for name, module in [("encoder", model.encoder),
                         ("word graph", model.word_graph),
                         ("object graph", model.object_graph),
                         ("object classes", model.object_class_embedding)]:
        grads = [p.grad for p in module.parameters() if p.grad is not None]
        assert grads, f"no gradient reaches the {name}"
        assert all(torch.isfinite(g).all() for g in grads)
        assert any(g.abs().sum() > 0 for g in grads), name


def test_object_features_get_gradients_only_with_image(tiny_encoder_path):
    samples = make_samples()
    for sample in samples:
        if sample.scene_graph is not None:
            for obj in sample.scene_graph.objects:
                obj.feature = [0.5, -1.0, 2.0, 0.1]
    builder = GraphBuilder(object_feature_dim=4).fit(
        samples, scene_graphs={s.image_id: s.scene_graph
                               for s in samples if s.scene_graph})
    for use_image in (True, False):
        model = make_model(builder, tiny_encoder_path, use_image=use_image)
        batch = Batch.from_data_list(graphs(builder, samples))
        batch["object"].x.requires_grad_(True)
        model(batch).loss.backward()
        grad = batch["object"].x.grad
        if use_image:
            assert grad is not None and torch.isfinite(grad).all()
            assert grad.abs().sum() > 0
        else:
            assert grad is None


def test_batch_without_objects_has_no_graph_loss_and_no_nan(
        builder, tiny_encoder_path):
    model = make_model(builder, tiny_encoder_path)
    sample = make_samples()[2]
    assert sample.scene_graph is None
    output = model(Batch.from_data_list(graphs(builder, [sample])))
    assert torch.isfinite(output.loss)
    assert float(output.graph_loss.detach()) == 0.0
    output.loss.backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters()
               if p.grad is not None)


@pytest.mark.parametrize("overrides", [
    {"use_image": False}, {"use_alignment": False},
    {"use_edge_types": False}, {"use_multi_channel": False},
    {"alignment_nodes_only": True}, {"pair_conv_channels": 4},
    {"pair_bilinear_dim": 4}])
def test_ablations_run(builder, tiny_encoder_path, overrides):
    model = make_model(builder, tiny_encoder_path, **overrides)
    output = model(Batch.from_data_list(graphs(builder, make_samples())))
    assert torch.isfinite(output.loss)
    output.loss.backward()


@pytest.mark.parametrize("overrides", [{}, {"pair_conv_channels": 4},
                                       {"pair_bilinear_dim": 4}])
def test_save_and_reload_predict_the_same(builder, tiny_encoder_path,
                                          tmp_path, overrides):
    model = make_model(builder, tiny_encoder_path, **overrides).eval()
    samples = make_samples()
    batch = Batch.from_data_list(graphs(builder, samples))
    model.save_pretrained(tmp_path / "ckpt")
    for name in ("config.json", "model.safetensors", "graph_builder.json",
                 "encoder/config.json"):
        assert (tmp_path / "ckpt" / name).is_file(), name
    reloaded = EEGA.from_pretrained(tmp_path / "ckpt").eval()
    with torch.no_grad():
        torch.testing.assert_close(reloaded(batch).logits,
                                   model(batch).logits)
    assert reloaded.extract(samples) == model.extract(samples)


def test_extract_with_an_ensemble_decodes_the_mean(builder,
                                                  tiny_encoder_path):
    samples = make_samples()
    first = make_model(builder, tiny_encoder_path).eval()
    alone = first.extract_with_confidence(samples)
    assert any(alone)  # random weights still extract something
    twice = extract_with_confidence([first, first], samples)
    assert ([[q for q, _ in found] for found in twice]
            == [[q for q, _ in found] for found in alone])
    for found_twice, found_alone in zip(twice, alone):
        for (_, c2), (_, c1) in zip(found_twice, found_alone):
            assert c2 == pytest.approx(c1, abs=1e-5)

    torch.manual_seed(1)
    second = EEGA.from_builder(builder, first.config).eval()
    batch = Batch.from_data_list(graphs(builder, samples))
    with torch.no_grad():
        mean = [(a.softmax(-1) + b.softmax(-1)) / 2 for a, b in zip(
            first.sample_grids(batch, first(batch).logits),
            second.sample_grids(batch, second(batch).logits))]
    expected = [decode_grid(m.log()) for m in mean]
    found = extract_with_confidence([first, second], samples)
    assert [[q for q, _ in f] for f in found] == expected

    with pytest.raises(ValueError, match="at least one model"):
        extract_with_confidence([], samples)
    second.config = second.config.replace(entity_decoding="diagonal")
    with pytest.raises(ValueError, match="decode entities differently"):
        extract_with_confidence([first, second], samples)


def test_extract_ignores_gold_and_runs_without_image(builder,
                                                     tiny_encoder_path):
    model = make_model(builder, tiny_encoder_path)
    plain = Sample(tokens=["Curry", "won", "the", "trophy"])
    found = model.extract([plain, make_samples()[0]])
    assert len(found) == 2
    assert all(isinstance(q, Quintuple) for q in found[0] + found[1])
    scored = model.extract_with_confidence([plain])
    assert all(0.0 <= c <= 1.0 for _, c in scored[0])


def test_scene_graphs_reach_extract_by_mapping(builder, tiny_encoder_path,
                                               monkeypatch):
    """A mapping by image name gives the model the same objects and logits as
    samples that carry their graphs, and leaves the samples as they were."""
    model = make_model(builder, tiny_encoder_path).eval()
    carrying = make_samples()
    mapping = {s.image_id: s.scene_graph for s in carrying if s.scene_graph}
    bare = [Sample(s.tokens, s.image_id, list(s.quintuples), source="x")
            for s in carrying]
    seen = []
    forward = model.forward
    monkeypatch.setattr(model, "forward", lambda batch: seen.append(
        (batch["object"].label.tolist(), forward(batch).logits)) or
        forward(batch))
    scored = model.extract_with_confidence(bare, scene_graphs=mapping)
    assert scored == model.extract_with_confidence(carrying)
    model.extract(bare)  # no mapping: no objects
    (mapped, mapped_logits), (carried, carried_logits), (none, _) = seen
    assert mapped == carried and len(mapped) == 10 and none == []
    torch.testing.assert_close(mapped_logits, carried_logits)
    assert all(s.scene_graph is None and s.source == "x" for s in bare)
    assert [s.quintuples for s in bare] == [s.quintuples for s in carrying]


def test_config_rejects_unknown_mode_and_fields():
    with pytest.raises(ValueError, match="alignment_mode"):
        EEGAConfig(alignment_mode="fast")
    with pytest.raises(ValueError, match="unknown EEGAConfig fields"):
        EEGAConfig.from_dict({"hidden": 3})
    with pytest.raises(ValueError, match="pair_conv_channels"):
        EEGAConfig(pair_hidden_dim=None, pair_conv_channels=8)
    with pytest.raises(ValueError, match="pair_bilinear_dim"):
        EEGAConfig(pair_bilinear_dim=0)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_cuda_matches_cpu(chain_parser, tiny_encoder_path):
    # The stub parser: GPU machines often lack spaCy.
    builder = fit_builder(chain_parser)
    model = make_model(builder, tiny_encoder_path).eval()
    batch = Batch.from_data_list(graphs(builder, make_samples()))
    with torch.no_grad():
        cpu = model(batch).logits
        gpu = model.to("cuda")(batch.to("cuda")).logits.cpu()
    torch.testing.assert_close(gpu, cpu, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("entity_decoding", ["segment", "diagonal"])
def test_decoding_follows_the_configured_entity_decoding(
        builder, tiny_encoder_path, entity_decoding, monkeypatch):
    from jmere_pyg.models import eega
    used, original = [], eega.decode_grid

    def recording_decode(grid, **kwargs):
        used.append(kwargs.get("entity_decoding"))
        return original(grid, **kwargs)

    monkeypatch.setattr(eega, "decode_grid", recording_decode)
    model = make_model(builder, tiny_encoder_path,
                       entity_decoding=entity_decoding).eval()
    samples = make_samples()
    batch = Batch.from_data_list(graphs(builder, samples))
    with torch.no_grad():
        model.decode(batch, model(batch).logits)
    model.extract_with_confidence(samples)
    assert used and set(used) == {entity_decoding}


def test_config_rejects_an_unknown_entity_decoding():
    with pytest.raises(ValueError, match="entity_decoding"):
        EEGAConfig(entity_decoding="greedy")
