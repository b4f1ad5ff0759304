import json
from dataclasses import replace

import pytest
import torch

from jmere_pyg.data.sample import Entity, Quintuple, Sample
from jmere_pyg.data.scene_graph import (SceneGraph, SceneObject, SceneRelation,
                                       attach_scene_graphs)
from jmere_pyg.graphs import (DEP, OBJECT, PAIR, REL, UPOS_TAGS, WORD,
                              GraphBuilder, PMIStatistics, TextParser)
from jmere_pyg.labels import TAG_TO_ID
from jmere_pyg.tagging import encode_grid

CURRY = Sample(
    tokens=["So", "happy", "NBA", "stars", "Thompson", "and", "Curry"],
    image_id="imgs/curry.jpg",
    quintuples=[Quintuple(Entity(6, 7, "per"), Entity(2, 3, "org"),
                          "member_of")],
)
PLAIN = Sample(tokens=["rain", "again", "today"], image_id="rain.jpg")
TRAIN = [CURRY, PLAIN, Sample(["NBA", "Finals", "tonight"], "nba.jpg")]


def scene_graph(labels, relations=(), feature_dim=None):
    objects = [SceneObject(label, 1.0 - i / 100, (0, 0, 1, 1),
                           None if feature_dim is None
                           else [float(i)] * feature_dim)
               for i, label in enumerate(labels)]
    return SceneGraph(objects, [SceneRelation(*r) for r in relations])


def with_graph(sample: Sample, graph: SceneGraph) -> Sample:
    """``sample`` carrying ``graph``."""
    return replace(sample, scene_graph=graph)


GRAPHS = {
    "curry.jpg": scene_graph(["man", "trophy", "man"],
                             [(0, "holding", 1), (2, "near", 0)]),
    "other.jpg": scene_graph(["dog"], []),  # not a training image
}


@pytest.fixture
def builder(chain_parser):
    return GraphBuilder(chain_parser).fit(attach_scene_graphs(TRAIN, GRAPHS))


def test_fit_vocabularies(builder):
    assert builder.dep_vocab.to_list()[:2] == ["<unk>", "<self>"]
    assert set(builder.dep_vocab.to_list()[2:]) == {"dep0", "dep1", "dep2"}
    assert builder.pos_vocab.to_list() == ["<unk>"] + list(UPOS_TAGS)
    assert len(builder.pos_vocab) == 18
    # only the graphs of training samples: no "dog"
    assert builder.object_vocab.to_list() == ["<unk>", "man", "trophy"]
    assert builder.predicate_vocab.to_list() == ["<unk>", "<self>",
                                                 "holding", "near"]
    assert builder.pmi.num_sentences == 3


def test_build_layout(builder):
    data = builder.build(with_graph(CURRY, GRAPHS["curry.jpg"]),
                         sample_index=7)
    n, k = 7, 3
    assert data["word"].num_nodes == n
    assert data["word"].pos.dtype == torch.long
    assert data["word"].pos.tolist() == [
        builder.pos_vocab["PROPN" if w[0].isupper() else "NOUN"]
        for w in CURRY.tokens]

    dep = data["word", "dep", "word"]
    # chain: i -> i + 1 both ways, plus self loops, sorted by (source, target)
    expected = sorted([(i, i + 1) for i in range(n - 1)]
                      + [(i + 1, i) for i in range(n - 1)]
                      + [(i, i) for i in range(n)])
    assert [tuple(e) for e in dep.edge_index.t().tolist()] == expected
    for (s, t), edge_type in zip(dep.edge_index.t().tolist(),
                                 dep.edge_type.tolist()):
        label = "<self>" if s == t else f"dep{min(s, t) % 3}"
        assert edge_type == builder.dep_vocab[label]

    pair = data["word", "pair", "word"]
    assert pair.edge_index.shape == (2, n * n)
    for i, j in [(0, 0), (2, 5), (6, 2), (n - 1, n - 1)]:
        assert pair.edge_index[:, i * n + j].tolist() == [i, j]
    assert torch.equal(pair.edge_label, encode_grid(n, CURRY.quintuples)
                       .reshape(-1))
    assert pair.edge_label[6 * n + 2] == TAG_TO_ID["member_of"]
    assert pair.edge_label[2 * n + 6] == TAG_TO_ID["none"]
    assert pair.distance.view(n, n)[0].tolist() == [0, 1, 2, 3, 4, 5, 6]
    assert torch.equal(pair.pmi, builder.pmi.matrix(CURRY.tokens)
                       .reshape(-1))
    for name in ("edge_index", "edge_label", "distance", "pmi"):
        assert pair[name].dtype == torch.long

    assert data["object"].num_nodes == k
    assert data["object"].label.tolist() == [1, 2, 1]
    assert data["object"].x.shape == (k, 0)
    rel = data["object", "rel", "object"]
    assert rel.edge_index.tolist() == [[0, 2, 0, 1, 2], [1, 0, 0, 1, 2]]
    assert rel.edge_type.tolist() == [2, 3, 1, 1, 1]

    assert data.tokens == CURRY.tokens
    assert data.sample_index == 7
    assert data.validate()
    assert set(data.node_types) == {WORD, OBJECT}
    assert set(data.edge_types) == {DEP, PAIR, REL}


def test_sample_without_quintuples_or_image(builder):
    data = builder.build(PLAIN)
    assert data["word", "pair", "word"].edge_label.tolist() == [0] * 9
    assert data["object"].num_nodes == 0
    assert data["object"].label.shape == (0, )
    assert data["object"].x.shape == (0, 0)
    assert data["object", "rel", "object"].edge_index.shape == (2, 0)
    assert data["object", "rel", "object"].edge_type.shape == (0, )
    assert data.validate()


def test_objects_come_from_the_sample_joined_with_its_scene_graph(builder):
    sample = Sample(CURRY.tokens, CURRY.image_id, CURRY.quintuples,
                    scene_graph=scene_graph(["trophy"]))
    assert builder.build(sample)["object"].label.tolist() == [2]
    # attach_scene_graphs: the mapping by image base name first, then
    # sample.scene_graph
    data = builder.build_many(attach_scene_graphs([sample, PLAIN], GRAPHS),
                              progress=False)
    assert data[0]["object"].label.tolist() == [1, 2, 1]
    assert data[1]["object"].num_nodes == 0
    assert [d.sample_index for d in data] == [0, 1]
    assert sample.scene_graph.num_objects == 1  # the given sample is kept
    with pytest.raises(TypeError, match="SceneGraph"):
        builder.build(Sample(["a"], scene_graph={"objects": []}))


def test_top_k_objects_and_unknown_classes(chain_parser):
    graph = scene_graph([f"c{i}" for i in range(15)],
                        [(i, "near", i + 1) for i in range(14)])
    builder = GraphBuilder(chain_parser, top_k_objects=10).fit(
        [with_graph(CURRY, graph)])
    data = builder.build(with_graph(CURRY, graph))
    assert data["object"].num_nodes == 10
    assert data["object"].label.tolist() == list(range(1, 11))
    rel = data["object", "rel", "object"]
    assert rel.edge_index.shape == (2, 9 + 10)
    unknown = builder.build(with_graph(CURRY, scene_graph(["zebra"], [
        (0, "eating", 0)])))
    assert unknown["object"].label.tolist() == [0]
    assert unknown["object", "rel", "object"].edge_type.tolist() == [0, 1]


def test_object_features(chain_parser):
    graph = scene_graph(["man", "ball"], [(0, "holding", 1)], feature_dim=4)
    builder = GraphBuilder(chain_parser, object_feature_dim=4).fit([CURRY])
    x = builder.build(with_graph(CURRY, graph))["object"].x
    assert x.dtype == torch.float and x.tolist() == [[0.0] * 4, [1.0] * 4]
    assert builder.build(PLAIN)["object"].x.shape == (0, 4)
    with pytest.raises(ValueError, match="size 4, object_feature_dim is 5"):
        GraphBuilder(chain_parser, object_feature_dim=5).fit([CURRY]).build(
            with_graph(CURRY, graph))
    with pytest.raises(ValueError, match="no feature"):
        builder.build(with_graph(CURRY, scene_graph(["man"])))


def test_pmi_is_fitted_on_training_samples_only(chain_parser):
    builder = GraphBuilder(chain_parser, max_pmi=3).fit(TRAIN)
    expected = PMIStatistics(max_pmi=3).fit(s.tokens for s in TRAIN)
    test = Sample(["Curry", "NBA", "unseen"])
    assert torch.equal(builder.build(test)["word", "pair", "word"].pmi,
                       expected.matrix(test.tokens).reshape(-1))
    assert builder.pmi.value("unseen", "curry") == 0


def test_build_many_parses_once_in_a_batch(chain_parser):
    builder = GraphBuilder(chain_parser).fit(TRAIN)
    chain_parser.parsed.clear()
    samples = [Sample(["x", "y"]), Sample(["z"]), Sample(["x", "y"])]
    builder.build_many(samples, progress=False)
    builder.build_many(samples, progress=False)
    assert chain_parser.parsed == [("x", "y"), ("z", )]


def test_model_sizes(builder):
    assert builder.model_sizes() == {
        "num_dep_labels": 5, "num_pos": 18, "num_object_classes": 3,
        "num_predicates": 4, "object_feature_dim": 0, "max_distance": 10,
        "max_pmi": 10}


def test_unfitted_builder_refuses_to_build(chain_parser):
    with pytest.raises(RuntimeError, match="fit"):
        GraphBuilder(chain_parser).build(PLAIN)
    with pytest.raises(RuntimeError, match="fit"):
        GraphBuilder(chain_parser).build_many([PLAIN])
    assert chain_parser.parsed == []


def test_options_are_checked():
    with pytest.raises(ValueError, match="max_distance"):
        GraphBuilder("x", max_distance=0)
    with pytest.raises(ValueError, match="object_feature_dim"):
        GraphBuilder("x", object_feature_dim=-1)


def test_save_and_load(builder, chain_parser, tmp_path):
    assert not GraphBuilder.saved_in(tmp_path)
    path = builder.save(tmp_path)
    assert GraphBuilder.saved_in(tmp_path)
    assert path.name == "graph_builder.json"
    state = json.loads(path.read_text())
    assert state["settings"] == {
        "parser": "chain-stub", "max_distance": 10, "max_pmi": 10,
        "top_k_objects": 10, "object_feature_dim": 0}
    loaded = GraphBuilder.load(tmp_path)
    assert isinstance(loaded.parser, TextParser)
    assert loaded.parser.name == "chain-stub"
    assert loaded.to_dict() == builder.to_dict()
    loaded = GraphBuilder.load(tmp_path, parser=chain_parser)
    original = builder.build(with_graph(CURRY, GRAPHS["curry.jpg"]))
    again = loaded.build(with_graph(CURRY, GRAPHS["curry.jpg"]))
    for key in original.node_types + original.edge_types:
        for name, value in original[key].items():
            assert torch.equal(torch.as_tensor(value),
                               torch.as_tensor(again[key][name])), (key, name)


@pytest.mark.integration
def test_dependency_edges_equal_spacy_heads(spacy_parser):
    tweet = Sample(["RT", "@user", ":", "Curry", "wins", "#NBA",
                    "https://t.co/x9", "🏆", "Go", "@warriors", "!"],
                   quintuples=[Quintuple(Entity(3, 4, "per"),
                                         Entity(9, 10, "org"), "member_of")])
    builder = GraphBuilder(spacy_parser).fit([tweet])
    data = builder.build(tweet)
    n = len(tweet.tokens)
    assert data["word"].num_nodes == n == len(data.tokens)
    parse = spacy_parser.parse(tweet.tokens)
    expected = {(i, i): builder.dep_vocab["<self>"] for i in range(n)}
    for i, head in enumerate(parse.heads):
        if head != i:
            label = builder.dep_vocab[parse.deps[i]]
            assert label >= 2
            expected[(head, i)] = expected[(i, head)] = label
    dep = data["word", "dep", "word"]
    got = dict(zip(map(tuple, dep.edge_index.t().tolist()),
                   dep.edge_type.tolist()))
    assert got == expected
    assert data["word"].pos.tolist() == builder.pos_vocab.lookup(parse.pos)
