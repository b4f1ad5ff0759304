"""The distillation loss and the teachers' soft targets."""
import pytest
import torch
from torch_geometric.data import HeteroData
from torch_geometric.loader import DataLoader

from jmere_pyg.data import DataNotice, Sample
from jmere_pyg.graphs import PAIR
from jmere_pyg.records import KIND_KEY, VERSION_KEY
from jmere_pyg.nn.word_pair_classifier import word_pair_loss
from jmere_pyg.training import TrainingConfig
from jmere_pyg.training.distillation import (TEACHER_ATTR, attach_teacher,
                                             distillation_loss,
                                             load_teacher_cache,
                                             load_teacher_targets,
                                             save_teacher_cache,
                                             save_teacher_targets,
                                             teacher_fingerprint)


def test_one_hot_teacher_gives_the_gold_loss():
    logits = torch.randn(7, 5, requires_grad=True)
    labels = torch.tensor([0, 4, 1, 1, 3, 0, 2])
    one_hot = torch.nn.functional.one_hot(labels, 5).half()
    torch.testing.assert_close(distillation_loss(logits, one_hot),
                               word_pair_loss(logits, labels))


def test_soft_teacher_loss_is_its_cross_entropy():
    logits = torch.randn(4, 3)
    teacher = torch.randn(4, 3).softmax(dim=-1)
    expected = -(teacher * logits.log_softmax(dim=-1)).sum(dim=-1).mean()
    torch.testing.assert_close(distillation_loss(logits, teacher), expected)


def test_distillation_loss_checks_shapes_and_empty_batches():
    with pytest.raises(ValueError, match="differ"):
        distillation_loss(torch.zeros(3, 4), torch.zeros(3, 5))
    logits = torch.zeros(0, 4, requires_grad=True)
    loss = distillation_loss(logits, torch.zeros(0, 4))
    assert loss.item() == 0.0
    loss.backward()
    assert logits.grad is not None


def graph(words: int, tags: int = 3) -> HeteroData:
    data = HeteroData()
    data["word"].num_nodes = words
    data[PAIR].edge_index = torch.cartesian_prod(
        torch.arange(words), torch.arange(words)).t()
    data[PAIR].edge_label = torch.zeros(words * words, dtype=torch.long)
    return data


def posts(graphs):
    """The post of each graph: as many words as the graph, words and image
    named after its sample index."""
    return [Sample([f"w{int(g.sample_index)}_{i}"
                    for i in range(g["word"].num_nodes)],
                   f"{int(g.sample_index)}.jpg") for g in graphs]


def save(path, probs, graphs, **kwargs):
    return save_teacher_targets(path, probs, graphs, posts(graphs), "train",
                                ["a"], **kwargs)


def load(path, graphs):
    return load_teacher_targets(path, graphs, posts(graphs), "train")


def test_teacher_rows_follow_their_pairs_through_batching():
    graphs = [graph(2), graph(3)]
    probs = [torch.rand(4, 3).half(), torch.rand(9, 3).half()]
    attach_teacher(graphs, probs)
    batch = next(iter(DataLoader(graphs, batch_size=2)))
    assert batch[PAIR].edge_index.size(1) == 13
    torch.testing.assert_close(batch[PAIR][TEACHER_ATTR], torch.cat(probs))
    with pytest.raises(ValueError, match="graph 1: 9 word pairs but 4"):
        attach_teacher(graphs, [probs[0], probs[0]])
    with pytest.raises(ValueError, match="2 graphs but 1"):
        attach_teacher(graphs, probs[:1])


def test_distillation_settings_are_checked():
    assert TrainingConfig.from_dict(
        {"teachers": ["runs/a/best"], "distill_weight": 1}).distill_weight == 1.0
    with pytest.raises(ValueError, match="teachers"):
        TrainingConfig(teachers=[])
    with pytest.raises(ValueError, match="teachers"):
        TrainingConfig.from_dict({"teachers": "runs/a/best"})
    with pytest.raises(ValueError, match="distill_weight"):
        TrainingConfig(distill_weight=1.5)


def test_teacher_cache_is_read_back_only_for_the_same_teachers_and_posts(
        tmp_path):
    teacher = tmp_path / "teacher"
    teacher.mkdir()
    (teacher / "model.safetensors").write_bytes(b"weights")
    graphs = [graph(2), graph(3)]
    for index, data in enumerate(graphs):
        data.sample_index = torch.tensor(index)
    fingerprint = teacher_fingerprint([teacher], graphs)
    probs = [torch.rand(4, 3).half(), torch.rand(9, 3).half()]
    cache = tmp_path / "teacher_probs.pt"
    save_teacher_cache(cache, fingerprint, probs)
    for read, written in zip(load_teacher_cache(cache, fingerprint), probs):
        assert torch.equal(read, written)

    # Other posts, other word pairs or a changed teacher file: stale.
    assert teacher_fingerprint([teacher], graphs[::-1]) != fingerprint
    longer = graph(4)
    longer.sample_index = torch.tensor(1)
    assert teacher_fingerprint([teacher], [graphs[0], longer]) != fingerprint
    (teacher / "model.safetensors").write_bytes(b"other weights")
    with pytest.raises(ValueError, match="other teacher checkpoints"):
        load_teacher_cache(cache, teacher_fingerprint([teacher], graphs))
    # A hub name is never cached; a damaged or missing file is named.
    assert teacher_fingerprint(["org/model", teacher], graphs) is None
    cache.write_bytes(b"not a cache")
    with pytest.raises(ValueError, match="teacher_probs.pt"):
        load_teacher_cache(cache, fingerprint)
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        load_teacher_cache(tmp_path / "missing.pt", fingerprint)


def test_teacher_targets_keep_each_pairs_top_tags(tmp_path):
    graphs = [graph(2), graph(3)]
    for index, data in enumerate(graphs):
        data.sample_index = torch.tensor(index + 5)
    probs = [torch.randn(4, 6).softmax(dim=-1).half(),
             torch.randn(9, 6).softmax(dim=-1).half()]
    path = tmp_path / "targets.pt"

    # Every tag kept: the probabilities come back (renormalised in float32
    # from their float16 values).
    report = save(path, probs, graphs, top_k=6)
    assert report["pairs"] == 13 and report["dropped_mass_max"] < 1e-2
    for read, written in zip(load(path, graphs), probs):
        assert read.dtype == torch.float16 and read.shape == written.shape
        torch.testing.assert_close(read.float(), written.float(), atol=2e-3,
                                   rtol=0)

    # Two tags kept: the two largest of each pair, scaled to sum to one.
    report = save(path, probs, graphs, top_k=2)
    rows = torch.cat(probs).float()
    top, tags = rows.topk(2, dim=1)
    expected = torch.zeros_like(rows).scatter_(
        1, tags, top / top.sum(dim=1, keepdim=True))
    read = torch.cat(load(path, graphs)).float()
    torch.testing.assert_close(read, expected, atol=2e-3, rtol=0)
    assert (read > 0).sum(dim=1).max() == 2
    dropped = 1 - top.sum(dim=1)
    assert report["dropped_mass_max"] == pytest.approx(
        float(dropped.max()), abs=1e-3)
    assert report["dropped_mass_mean"] == pytest.approx(
        float(dropped.mean()), abs=1e-3)


def test_teacher_targets_are_checked_against_the_students_posts(tmp_path):
    graphs = [graph(2), graph(3)]
    for index, data in enumerate(graphs):
        data.sample_index = torch.tensor(index)
    probs = [torch.rand(4, 3).softmax(dim=-1).half(),
             torch.rand(9, 3).softmax(dim=-1).half()]
    path = tmp_path / "targets.pt"
    save(path, probs, graphs, top_k=2)
    # Some of the posts, in another order: each reads its own rows.
    reversed_read = load(path, graphs[::-1])
    for read, graph_probs in zip(reversed_read, load(path, graphs)[::-1]):
        assert torch.equal(read, graph_probs)
    (second,) = load(path, graphs[1:])
    assert torch.equal(second, reversed_read[0]) and second.shape == (9, 3)
    other = graph(2)
    other.sample_index = torch.tensor(7)
    with pytest.raises(ValueError, match="targets.pt: written for other "
                                         "training posts .*sample 7"):
        load(path, [graphs[0], other])
    longer = graph(4)
    longer.sample_index = torch.tensor(1)
    with pytest.raises(ValueError, match="other word pairs .*sample 1 has 16"):
        load(path, [graphs[0], longer])
    with pytest.raises(ValueError, match="top_k"):
        save(path, probs, graphs, top_k=4)
    saved = torch.load(path, weights_only=True)
    saved["tags"][0, 0] = 3  # a tag beyond the 3 of the file
    torch.save(saved, tmp_path / "damaged.pt")
    with pytest.raises(ValueError, match="damaged.pt: damaged"):
        load(tmp_path / "damaged.pt", graphs)
    saved = torch.load(path, weights_only=True)
    saved["sample_indices"][1] = 0  # one post twice
    torch.save(saved, tmp_path / "twice.pt")
    with pytest.raises(ValueError, match="twice.pt: damaged .*twice"):
        load(tmp_path / "twice.pt", graphs)
    cache = tmp_path / "teacher_probs.pt"
    save_teacher_cache(cache, {}, probs)
    with pytest.raises(ValueError, match="teacher_probs.pt: a jmere_pyg "
                                         "teacher cache, not a jmere_pyg "
                                         "teacher-targets file"):
        load(cache, graphs)
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        load(tmp_path / "missing.pt", graphs)
    with pytest.raises(ValueError, match="without teachers"):
        TrainingConfig(teachers=["runs/a/best"], teacher_targets=str(path))


def test_teacher_targets_name_the_first_post_that_differs(tmp_path):
    graphs = [graph(3), graph(3), graph(3)]
    for index, data in enumerate(graphs):
        data.sample_index = torch.tensor(index)
    samples = [Sample(["Curry", "joins", "Golden"], "a.jpg"),
               Sample(["Tatum", "leaves", "Boston"], "b.jpg"),
               Sample(["Irving", "in", "Dallas"], "c.jpg")]
    probs = [torch.rand(9, 4).softmax(dim=-1).half() for _ in graphs]
    path = tmp_path / "targets.pt"
    save_teacher_targets(path, probs, graphs, samples, "train", ["a"])
    read = load_teacher_targets(path, graphs, samples, "train")
    assert [r.shape for r in read] == [(9, 4)] * 3
    # Two posts of one length swapped in the data: same sample indices and
    # pair counts, other posts.
    swapped = [samples[0], samples[2], samples[1]]
    with pytest.raises(ValueError, match=r"targets.pt: written for other "
                                         r"training posts \(sample 1, "
                                         r"'Irving in Dallas' with image "
                                         r"'c.jpg'"):
        load_teacher_targets(path, graphs, swapped, "train")
    # The same words with another image.
    moved = [samples[0], Sample(samples[1].tokens, "d.jpg"), samples[2]]
    with pytest.raises(ValueError, match=r"sample 1, 'Tatum leaves Boston' "
                                         r"with image 'd.jpg'"):
        load_teacher_targets(path, graphs, moved, "train")
    with pytest.raises(ValueError, match="targets.pt: computed on the "
                                         "'train' split, not on 'val'"):
        load_teacher_targets(path, graphs, samples, "val")

    # A file written before posts were recorded still serves, matched by
    # sample index and pair count, with a notice.
    saved = torch.load(path, weights_only=True)
    for key in ("post_digests", "split", KIND_KEY, VERSION_KEY):
        del saved[key]
    saved["format"] = "jmere_pyg teacher targets 1"
    torch.save(saved, tmp_path / "format1.pt")
    with pytest.warns(DataNotice, match="format1.pt was written before "
                                        "teacher targets recorded"):
        old = load_teacher_targets(tmp_path / "format1.pt", graphs, swapped,
                                   "val")
    for before, now in zip(old, read):
        assert torch.equal(before, now)


@pytest.mark.parametrize("value, why", [
    (float("nan"), "a probability is nan"),
    (float("inf"), "a probability is inf"),
    (-0.5, "a probability is -0.5"),
    (0.95, "its probabilities sum to 1.9")])
def test_teacher_targets_that_are_no_distribution_are_refused(
        tmp_path, value, why):
    graphs = [graph(2), graph(3)]
    for index, data in enumerate(graphs):
        data.sample_index = torch.tensor(index + 3)
    probs = [torch.rand(4, 3).softmax(dim=-1).half(),
             torch.rand(9, 3).softmax(dim=-1).half()]
    save(tmp_path / "targets.pt", probs, graphs, top_k=2)
    saved = torch.load(tmp_path / "targets.pt", weights_only=True)
    saved["probabilities"][5] = value  # row 5: the second pair of sample 4
    torch.save(saved, tmp_path / "bad.pt")
    with pytest.raises(ValueError, match=rf"bad.pt: bad teacher targets at "
                                         rf"row 5 \(sample 4, word pair 1\): "
                                         rf"{why}"):
        load(tmp_path / "bad.pt", graphs)
