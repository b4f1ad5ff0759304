"""A JMERE dataset with an images folder: scene graphs extracted once, cached
in ``raw/`` with the extractor's identity; training records the extractor."""
import pytest

from jmere_pyg.data import (Entity, Quintuple, Sample, read_scene_graphs,
                            write_jsonl, write_scene_graphs)
from jmere_pyg.datasets import JMEREDataset
from jmere_pyg.graphs import OBJECT
from jmere_pyg.training import TrainingConfig
from jmere_pyg.vision import (EXTRACTOR_FILE, ExtractorConfig,
                              ExtractorRecord, SceneGraphExtractor,
                              read_extractor_file)


def post(words, image_id, head, tail, relation):
    return Sample(words, image_id, [Quintuple(Entity(*head, "per"),
                                              Entity(*tail, "org"),
                                              relation)])


@pytest.fixture
def data_root(tmp_path):
    """train: posts on a.jpg, b.png and a missing image; val: c.jpg."""
    raw = tmp_path / "data" / "raw"
    raw.mkdir(parents=True)
    member = ((0, 1), (3, 4), "member_of")
    write_jsonl([post(["Curry", "joins", "the", "Warriors"], "a.jpg",
                      *member),
                 post(["Tatum", "joins", "the", "Celtics"], "b.png", *member),
                 post(["Irving", "joins", "the", "Mavericks"], "gone.jpg",
                      *member)], raw / "train.jsonl")
    write_jsonl([post(["Thompson", "joins", "the", "Kings"], "c.jpg",
                      *member)], raw / "val.jsonl")
    return tmp_path / "data"


@pytest.fixture
def detr(tiny_detector_paths):
    return ExtractorConfig(detector=tiny_detector_paths["detr"],
                           score_threshold=0.0, top_k=4)


@pytest.fixture
def count_extractions(monkeypatch):
    """How many times SceneGraphExtractor.extract ran."""
    calls = []
    extract = SceneGraphExtractor.extract

    def counted(self, paths, **kwargs):
        calls.append(len(paths))
        return extract(self, paths, **kwargs)
    monkeypatch.setattr(SceneGraphExtractor, "extract", counted)
    return calls


def test_images_are_extracted_once_and_cached(data_root, image_files, detr,
                                              count_extractions):
    train_set = JMEREDataset(data_root, "train", images=image_files,
                             extractor=detr, progress=False, log=False)
    assert count_extractions == [4]  # every image of every split, once
    assert train_set.image_failures == {"gone.jpg": "missing"}
    raw = data_root / "raw"
    cached = read_scene_graphs(raw / "scene_graphs.json")
    assert sorted(cached) == ["a.jpg", "b.png", "c.jpg"]
    assert read_extractor_file(raw / EXTRACTOR_FILE) == ExtractorRecord.of(
        detr)
    assert train_set.extractor_record == ExtractorRecord.of(detr)

    feature_dim = SceneGraphExtractor(detr).feature_dim
    assert train_set.builder.object_feature_dim == feature_dim
    objects = [data[OBJECT] for data in train_set]
    assert [o.num_nodes for o in objects] == [
        cached["a.jpg"].num_objects, cached["b.png"].num_objects, 0]
    assert objects[0].x.shape == (cached["a.jpg"].num_objects, feature_dim)

    val_set = JMEREDataset(data_root, "val", images=image_files,
                           extractor=detr, progress=False, log=False)
    again = JMEREDataset(data_root, "train", images=image_files,
                         extractor=detr, progress=False, log=False)
    assert count_extractions == [4]  # read from the cache
    assert val_set[0][OBJECT].num_nodes == cached["c.jpg"].num_objects > 0
    assert len(again) == 3


def test_another_extractor_config_is_an_error_unless_force_reload(
        data_root, image_files, detr, count_extractions):
    JMEREDataset(data_root, "train", images=image_files, extractor=detr,
                 progress=False, log=False)
    other = detr.replace(top_k=2)
    with pytest.raises(ValueError, match=EXTRACTOR_FILE) as error:
        JMEREDataset(data_root, "train", images=image_files, extractor=other,
                     progress=False, log=False)
    assert "top_k: 4 -> 2" in str(error.value)
    assert "force_reload" in str(error.value)
    reloaded = JMEREDataset(data_root, "train", images=image_files,
                            extractor=other, force_reload=True,
                            progress=False, log=False)
    assert len(count_extractions) == 2
    assert reloaded.extractor_record == ExtractorRecord.of(other)
    assert max(g.num_objects for g in read_scene_graphs(
        data_root / "raw" / "scene_graphs.json").values()) <= 2


def test_scene_graphs_not_made_from_images_are_not_overwritten(
        data_root, image_files, detr):
    write_scene_graphs(data_root / "raw" / "scene_graphs.json", {})
    with pytest.raises(ValueError, match="not made from images"):
        JMEREDataset(data_root, "train", images=image_files, extractor=detr,
                     progress=False, log=False)


def test_training_with_images_records_the_extractor(
        data_root, image_files, detr, tmp_path, tiny_encoder_path,
        builtin_training_defaults):
    from jmere_pyg.cli import main
    assert main(["train", "--data-root", str(data_root), "--run-dir",
                 str(tmp_path / "run"), "--epochs", "1", "--batch-size", "2",
                 "--device", "cpu", "--encoder", tiny_encoder_path,
                 "--set", "heads=2", "--set", "edge_dim=8", "--set",
                 "channel_dim=8", "--show", "0", "--images", str(image_files),
                 "--detector", detr.detector]) == 0
    recorded = read_extractor_file(tmp_path / "run" / "best" / EXTRACTOR_FILE)
    assert recorded == ExtractorRecord.of(
        ExtractorConfig(detector=detr.detector))
    assert (data_root / "raw" / "scene_graphs.json").is_file()
    with pytest.raises(ValueError, match="images is not"):
        TrainingConfig(detector="x")


def test_scene_graphs_command_output_in_raw_is_used_with_its_features(
        data_root, image_files, detr):
    from jmere_pyg.cli import main
    assert main(["scene-graphs", "--images", str(image_files), "--output",
                 str(data_root / "raw" / "scene_graphs.json"), "--detector",
                 detr.detector, "--top-k", "4", "--score-threshold", "0",
                 "--device", "cpu"]) == 0
    dataset = JMEREDataset(data_root, "train", progress=False, log=False)
    assert dataset.extractor_record == ExtractorRecord.of(detr)
    feature_dim = SceneGraphExtractor(detr).feature_dim
    assert dataset.builder.object_feature_dim == feature_dim
    assert dataset[0][OBJECT].x.shape[1] == feature_dim
