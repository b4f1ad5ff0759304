"""Samples of different sizes, with and without objects, batch with PyG."""
import pytest
import torch
from torch_geometric.data import Batch
from torch_geometric.loader import DataLoader

from jmere_pyg.data.sample import Entity, Quintuple, Sample
from jmere_pyg.data.scene_graph import SceneGraph, SceneObject, SceneRelation
from jmere_pyg.graphs import GraphBuilder

FEATURE_DIM = 3


def graph(num_objects):
    return SceneGraph(
        [SceneObject(f"c{i}", 1.0, (0, 0, 1, 1), [float(i)] * FEATURE_DIM)
         for i in range(num_objects)],
        [SceneRelation(i, "near", i + 1) for i in range(num_objects - 1)])


SAMPLES = [
    Sample(["Curry", "joins", "NBA"], scene_graph=graph(2),
           quintuples=[Quintuple(Entity(0, 1, "per"), Entity(2, 3, "org"),
                                 "member_of")]),
    Sample(["no", "image", "here", "at", "all"]),
    Sample(["one"], scene_graph=graph(4)),
    Sample(["two", "words"], scene_graph=SceneGraph()),
]


@pytest.fixture
def data_list(chain_parser):
    builder = GraphBuilder(chain_parser, object_feature_dim=FEATURE_DIM)
    builder.fit(SAMPLES)
    return builder.build_many(SAMPLES, progress=False)


def check_batch(batch, data_list):
    word_offset = object_offset = 0
    pair_offset = dep_offset = rel_offset = 0
    words = batch["word"]
    assert words.num_nodes == sum(d["word"].num_nodes for d in data_list)
    assert batch["object"].x.shape == (
        sum(d["object"].num_nodes for d in data_list), FEATURE_DIM)
    for b, data in enumerate(data_list):
        n, k = data["word"].num_nodes, data["object"].num_nodes
        assert (words.batch == b).sum() == n
        assert (batch["object"].batch == b).sum() == k
        for key, offset, size in [
                (("word", "pair", "word"), pair_offset, n * n),
                (("word", "dep", "word"), dep_offset,
                 data["word", "dep", "word"].num_edges)]:
            got = batch[key].edge_index[:, offset:offset + size]
            assert torch.equal(got, data[key].edge_index + word_offset)
        pair = batch["word", "pair", "word"]
        for name in ("edge_label", "distance", "pmi"):
            assert torch.equal(pair[name][pair_offset:pair_offset + n * n],
                               data["word", "pair", "word"][name])
        rel = data["object", "rel", "object"]
        got = batch["object", "rel", "object"].edge_index[
            :, rel_offset:rel_offset + rel.num_edges]
        assert torch.equal(got, rel.edge_index + object_offset)
        assert torch.equal(
            batch["object"].x[object_offset:object_offset + k],
            data["object"].x)
        word_offset += n
        object_offset += k
        pair_offset += n * n
        dep_offset += data["word", "dep", "word"].num_edges
        rel_offset += rel.num_edges
    assert batch.tokens == [d.tokens for d in data_list]
    assert batch.sample_index.tolist() == [d.sample_index for d in data_list]


def test_batch_from_data_list_offsets_every_edge_index(data_list):
    assert [d["object"].num_nodes for d in data_list] == [2, 0, 4, 0]
    check_batch(Batch.from_data_list(data_list), data_list)


def test_data_loader(data_list):
    loader = DataLoader(data_list, batch_size=3, shuffle=False)
    batches = list(loader)
    assert len(batches) == 2
    check_batch(batches[0], data_list[:3])
    check_batch(batches[1], data_list[3:])
    # a batch of samples without any object
    check_batch(Batch.from_data_list([data_list[1], data_list[3]]),
                [data_list[1], data_list[3]])


def test_batch_separates_back(data_list):
    batch = Batch.from_data_list(data_list)
    for b, data in enumerate(data_list):
        again = batch.get_example(b)
        assert again.tokens == data.tokens
        assert torch.equal(again["word", "pair", "word"].edge_index,
                           data["word", "pair", "word"].edge_index)
        assert torch.equal(again["object"].x, data["object"].x)
