"""JMEREDataset on small raw folders (a slice of the shared MNRE files and
hand-made JSON lines), parsed with the real offline spaCy pipeline."""
import json
import os
from pathlib import Path

import pytest
import torch
from torch_geometric.loader import DataLoader

from jmere_pyg.datasets import JMEREDataset, link_mnre_files
from jmere_pyg.data.readers import read_samples, write_jsonl
from jmere_pyg.data.sample import Entity, Quintuple, Sample
from jmere_pyg.data.scene_graph import (SceneGraph, SceneObject,
                                        SceneRelation, write_scene_graphs)
from jmere_pyg.graphs import GraphBuilder

pytestmark = pytest.mark.integration

VAL = [
    Sample(["Curry", "joins", "the", "NBA", "#", "Warriors"], "a/curry.jpg",
           [Quintuple(Entity(0, 1, "per"), Entity(3, 4, "org"),
                      "member_of")]),
    Sample(["RT", "@user", ":", "Paris", "in", "spring", "🌸"], "paris.jpg",
           [Quintuple(Entity(3, 4, "loc"), Entity(5, 6, "misc"),
                      "held_on")]),
]


@pytest.fixture(scope="module")
def mnre_slice(shared_data, tmp_path_factory) -> Path:
    """``mnre_train.txt`` with the first 300 lines of the shared file."""
    folder = tmp_path_factory.mktemp("mnre")
    lines = (shared_data / "mnre" / "mnre_train.txt").read_text(
        encoding="utf-8").splitlines(keepends=True)[:300]
    (folder / "mnre_train.txt").write_text("".join(lines), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def root(mnre_slice, tmp_path_factory) -> Path:
    """A processed root: train (MNRE slice), val (JSON lines), scene
    graphs."""
    root = tmp_path_factory.mktemp("jmere")
    link_mnre_files(root, mnre_slice)
    write_jsonl(VAL, root / "raw" / "val.jsonl")
    train, _ = read_samples(mnre_slice / "mnre_train.txt")
    graphs = {
        os.path.basename(train[0].image_id): SceneGraph(
            [SceneObject(f"c{i}", i / 20, (0, 0, 1, 1)) for i in range(15)],
            [SceneRelation(i, "near", i + 1) for i in range(14)]),
        "curry.jpg": SceneGraph([SceneObject("man", 0.9, (0, 0, 5, 5)),
                                 SceneObject("c14", 0.8, (1, 1, 2, 2))],
                                [SceneRelation(0, "holding", 1)]),
    }
    write_scene_graphs(root / "raw" / "scene_graphs.json", graphs)
    JMEREDataset(root, "train", progress=False)
    return root


def test_process_builds_every_split(root):
    processed = root / "processed"
    for name in ["train.pt", "val.pt", "train_samples.jsonl",
                 "val_samples.jsonl", "train_report.json", "val_report.json",
                 "graph_builder.json"]:
        assert (processed / name).is_file(), name
    train = JMEREDataset(root, "train")
    expected, report = read_samples(root / "raw" / "mnre_train.txt")
    assert len(train) == len(train.samples) == len(expected) > 50
    assert train.read_report.summary() == report.summary()
    report_file = json.loads((processed / "train_report.json").read_text())
    assert report_file["summary"] == report.summary()
    for index in [0, 17, len(train) - 1]:
        data = train[index]
        sample = train.samples[int(data.sample_index)]
        assert data.tokens == sample.tokens == expected[index].tokens
        assert sample.quintuples == expected[index].quintuples
        n = len(sample.tokens)
        assert data["word"].num_nodes == n
        assert data["word", "pair", "word"].edge_index.shape == (2, n * n)


def test_builder_is_fitted_on_train_only(root):
    train = JMEREDataset(root, "train")
    assert train.builder.pmi.num_sentences == len(train.samples)
    assert "paris" not in train.builder.pmi.word_counts
    assert train.builder.to_dict() == GraphBuilder.load(
        root / "processed").to_dict()
    # the curry.jpg graph belongs to val: its "man" is not in the vocabulary
    assert "man" not in train.builder.object_vocab
    assert "c14" in train.builder.object_vocab


def test_scene_graphs_are_matched_by_file_name(root):
    train, val = JMEREDataset(root, "train"), JMEREDataset(root, "val")
    assert train[0]["object"].num_nodes == 10  # top 10 of 15
    assert train[0]["object", "rel", "object"].edge_index.shape == (2, 19)
    assert val[0]["object"].num_nodes == 2
    assert val[0]["object"].label.tolist() == [
        0, val.builder.object_vocab["c14"]]
    assert val[1]["object"].num_nodes == 0
    assert val[0]["word", "pair", "word"].edge_label.sum() > 0
    assert [s.quintuples for s in val.samples] == [s.quintuples for s in VAL]


def test_loading_does_not_process_again(root):
    before = {p.name: p.stat().st_mtime_ns
              for p in (root / "processed").iterdir()}
    JMEREDataset(root, "val")
    after = {p.name: p.stat().st_mtime_ns
             for p in (root / "processed").iterdir()}
    assert before == after


def test_data_loader_over_the_dataset(root):
    train = JMEREDataset(root, "train")
    batch = next(iter(DataLoader(train, batch_size=8)))
    sizes = [len(t) for t in batch.tokens]
    assert batch["word"].num_nodes == sum(sizes)
    assert batch["word", "pair", "word"].edge_index.shape[1] == sum(
        n * n for n in sizes)
    assert batch["word", "pair", "word"].edge_index.max() < sum(sizes)
    assert batch.sample_index.tolist() == list(range(8))


def test_missing_split_names_the_expected_files(root):
    with pytest.raises(FileNotFoundError) as error:
        JMEREDataset(root, "test")
    for name in ["mnre_test.txt", "test.json", "test.jsonl"]:
        assert name in str(error.value)


def test_missing_train_cannot_fit(tmp_path):
    (tmp_path / "raw").mkdir()
    write_jsonl(VAL, tmp_path / "raw" / "val.jsonl")
    with pytest.raises(FileNotFoundError, match="mnre_train.txt"):
        JMEREDataset(tmp_path, "val", progress=False)


def test_given_fitted_builder_is_used(root, tmp_path):
    (tmp_path / "raw").mkdir()
    write_jsonl(VAL, tmp_path / "raw" / "test.jsonl")
    fitted = JMEREDataset(root, "train").builder
    test = JMEREDataset(tmp_path, "test", builder=fitted, progress=False)
    assert len(test) == 2
    assert test.builder.to_dict() == fitted.to_dict()
    with pytest.warns(UserWarning, match="force_reload"):
        JMEREDataset(tmp_path, "test",
                     builder=GraphBuilder(max_distance=3).fit(VAL))


def test_unfitted_builder_settings_are_kept(tmp_path, mnre_slice):
    link_mnre_files(tmp_path, mnre_slice)
    dataset = JMEREDataset(tmp_path, "train", progress=False,
                           builder=GraphBuilder(max_distance=2))
    assert dataset.builder.max_distance == 2
    assert int(dataset[0]["word", "pair", "word"].distance.max()) <= 2


def test_ambiguous_raw_files(tmp_path):
    (tmp_path / "raw").mkdir()
    write_jsonl(VAL, tmp_path / "raw" / "train.jsonl")
    write_jsonl(VAL, tmp_path / "raw" / "train.json")
    with pytest.raises(ValueError, match="several raw files"):
        JMEREDataset(tmp_path, "train", progress=False)


def test_bad_split_name(tmp_path):
    with pytest.raises(ValueError, match="train, val, test"):
        JMEREDataset(tmp_path, "dev")


def test_link_mnre_files(shared_data, tmp_path):
    mnre = shared_data / "mnre"
    targets = link_mnre_files(tmp_path / "a", mnre)
    assert [t.name for t in targets] == ["mnre_train.txt", "mnre_val.txt"]
    assert all(t.is_symlink() and t.resolve() == (mnre / t.name).resolve()
               for t in targets)
    # idempotent
    assert JMEREDataset.prepare_root_from_mnre(tmp_path / "a", mnre) == targets
    copies = link_mnre_files(tmp_path / "b", mnre, copy=True)
    assert not copies[0].is_symlink()
    assert copies[1].read_bytes() == (mnre / "mnre_val.txt").read_bytes()
    (tmp_path / "c" / "raw").mkdir(parents=True)
    (tmp_path / "c" / "raw" / "mnre_val.txt").write_text("other")
    with pytest.raises(FileExistsError):
        link_mnre_files(tmp_path / "c", mnre)
    with pytest.raises(FileNotFoundError, match="mnre_train.txt"):
        link_mnre_files(tmp_path / "d", tmp_path)


def test_required_mnre_files_are_the_only_ones_named(tmp_path):
    mnre = tmp_path / "mnre"
    mnre.mkdir()
    (mnre / "mnre_train.txt").write_text("")
    with pytest.raises(FileNotFoundError) as error:
        link_mnre_files(tmp_path / "root", mnre, required=("train", "val"))
    assert str(error.value) == f"no mnre_val.txt in {mnre}"
    assert not (tmp_path / "root").exists()
    (mnre / "mnre_val.txt").write_text("")
    assert [t.name for t in link_mnre_files(
        tmp_path / "root", mnre, required=("train", "val"))] == [
        "mnre_train.txt", "mnre_val.txt"]


def test_from_mnre(mnre_slice, tmp_path):
    dataset = JMEREDataset.from_mnre(tmp_path, mnre_slice, progress=False)
    assert (tmp_path / "raw" / "mnre_train.txt").is_symlink()
    assert len(dataset) == len(dataset.samples) > 0
    assert torch.is_tensor(dataset[0]["word"].pos)
