"""A detector is known by what it is (the digest of its files), not by how
its path is typed, and no model reads scene graphs of a detector it was not
trained with: checked for ``--detector``, for the recorded folder, for
``--scene-graphs`` files and for every member of an ensemble."""
import json
import shutil
from pathlib import Path

import pytest
import torch

from jmere_pyg import EEGA, EEGAConfig, GraphBuilder
from jmere_pyg.cli import main
from jmere_pyg.data import (Entity, Quintuple, Sample, attach_scene_graphs,
                            write_jsonl)
from jmere_pyg.vision import (EXTRACTOR_FILE, ExtractorConfig,
                              ExtractorRecord, SceneGraphExtractor,
                              detector_identity, read_extractor_file,
                              write_extractor_file)
from jmere_pyg.vision.record import same_detector

TEXT = "Curry joins the Warriors"


def settings(detector: str) -> ExtractorConfig:
    """Random weights score low: threshold 0 keeps objects."""
    return ExtractorConfig(detector=detector, score_threshold=0.0, top_k=5)


def checkpoint(folder, detector: str, images, encoder):
    """A tiny EEGA fitted on ``detector``'s scene graphs of ``images``,
    recording that extractor."""
    config = settings(detector)
    extractor = SceneGraphExtractor(config)
    graphs = extractor.extract(sorted(images.iterdir())).graphs
    samples = [Sample(["Curry", "joins", "the", "Warriors"], "a.jpg",
                      [Quintuple(Entity(0, 1, "per"), Entity(3, 4, "org"),
                                 "member_of")])]
    builder = GraphBuilder(object_feature_dim=extractor.feature_dim).fit(
        attach_scene_graphs(samples, graphs))
    torch.manual_seed(0)
    model = EEGA.from_builder(builder, EEGAConfig(
        encoder=encoder, heads=2, edge_dim=8, channel_dim=8))
    model.extractor_record = ExtractorRecord.of(config)
    model.save_pretrained(folder)
    return folder


@pytest.fixture
def detr_checkpoint(tmp_path, image_files, tiny_detector_paths,
                    tiny_encoder_path):
    return checkpoint(tmp_path / "ckpt", tiny_detector_paths["detr"],
                      image_files, tiny_encoder_path)


def run(capsys, *argv):
    capsys.readouterr()  # what came before, e.g. a detector's loading bar
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def predict_image(capsys, ckpt, image_files, *more):
    return run(capsys, "predict", "--checkpoint", *ckpt, "--text", TEXT,
               "--image", image_files / "a.jpg", *more)


# ------------------------------------------------------- detector identity
def test_the_same_detector_under_another_path_is_accepted(
        detr_checkpoint, image_files, tiny_detector_paths, other_detr_path,
        tmp_path, monkeypatch, capsys):
    shutil.copytree(tiny_detector_paths["detr"], tmp_path / "copy")
    monkeypatch.chdir(tmp_path)
    for typed in ("./copy", "copy", str(tmp_path / "copy")):
        code, _, err = predict_image(capsys, [detr_checkpoint], image_files,
                                     "--detector", typed)
        assert code == 0, err
    # Another model, whatever its path, needs --force-detector.
    code, _, err = predict_image(capsys, [detr_checkpoint], image_files,
                                 "--detector", other_detr_path)
    assert code == 1 and len(err.splitlines()) == 1
    assert other_detr_path in err and "--force-detector" in err
    assert "sha256" in err


def test_a_relative_detector_folder_is_found_from_another_directory(
        tmp_path, image_files, tiny_detector_paths, other_detr_path,
        tiny_encoder_path, monkeypatch, capsys):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    shutil.copytree(tiny_detector_paths["detr"], tmp_path / "a" / "det")
    monkeypatch.chdir(tmp_path / "a")
    ckpt = checkpoint(tmp_path / "ckpt", "det", image_files,
                      tiny_encoder_path)
    recorded = json.loads((ckpt / EXTRACTOR_FILE).read_text())
    assert recorded["detector"] == str(tmp_path / "a" / "det")
    assert recorded["format_version"] == 2
    monkeypatch.chdir(tmp_path / "b")
    code, _, err = predict_image(capsys, [ckpt], image_files)
    assert code == 0, err

    # Another model put at the recorded path is refused, not used.
    for name in ("config.json", "model.safetensors"):
        shutil.copy(Path(other_detr_path) / name,
                    tmp_path / "a" / "det" / name)
    code, _, err = predict_image(capsys, [ckpt], image_files)
    assert code == 1 and len(err.splitlines()) == 1
    assert "is not the one" in err and "--force-detector" in err
    code, _, err = predict_image(capsys, [ckpt], image_files, "--detector",
                                 tmp_path / "a" / "det", "--force-detector")
    assert code == 0, err


def test_a_record_without_identity_is_compared_by_path(
        detr_checkpoint, image_files, tiny_detector_paths, tmp_path, capsys):
    # A record written before detector identities: the settings only.
    old = settings(tiny_detector_paths["detr"]).to_dict()
    (detr_checkpoint / EXTRACTOR_FILE).write_text(json.dumps(old))
    record = read_extractor_file(detr_checkpoint / EXTRACTOR_FILE)
    assert record.detector_identity is None
    code, _, err = predict_image(capsys, [detr_checkpoint], image_files)
    assert code == 0, err
    assert "notice" in err and "compared by name" in err
    shutil.copytree(tiny_detector_paths["detr"], tmp_path / "copy")
    code, _, err = predict_image(capsys, [detr_checkpoint], image_files,
                                 "--detector", tmp_path / "copy")
    assert code == 1 and "--force-detector" in err


def test_a_hub_detector_is_known_by_its_cached_revision(
        tmp_path, tiny_detector_paths, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    name = "org/tiny-detr"
    assert detector_identity(name) == {"hub_id": name, "revision": None}
    repo = tmp_path / "hub" / "models--org--tiny-detr"
    commit = "a" * 40
    shutil.copytree(tiny_detector_paths["detr"], repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    hub = ExtractorRecord.of(settings(name))
    assert hub.detector_identity["revision"] == commit
    # A downloaded copy in a local folder is the same detector.
    assert same_detector(hub, ExtractorRecord.of(
        settings(tiny_detector_paths["detr"])))
    # Another revision is another detector; an unknown one matches any.
    newer = ExtractorRecord(hub.config, {"hub_id": name, "revision": "b" * 40})
    assert not same_detector(hub, newer)
    assert same_detector(newer, ExtractorRecord(
        hub.config, {"hub_id": name, "revision": None}))


def test_cached_scene_graphs_know_their_detector_by_content(
        tmp_path, image_files, tiny_detector_paths, other_detr_path):
    from jmere_pyg.datasets import JMEREDataset

    raw = tmp_path / "data" / "raw"
    raw.mkdir(parents=True)
    write_jsonl([Sample(["Curry", "joins", "the", "Warriors"], "a.jpg")],
                raw / "train.jsonl")
    detr = settings(tiny_detector_paths["detr"])
    JMEREDataset(tmp_path / "data", images=image_files, extractor=detr,
                 progress=False, log=False)
    shutil.copytree(tiny_detector_paths["detr"], tmp_path / "copy")
    cached = (raw / "scene_graphs.json").read_bytes()
    JMEREDataset(tmp_path / "data", images=image_files,
                 extractor=detr.replace(detector=str(tmp_path / "copy")),
                 progress=False, log=False)
    assert (raw / "scene_graphs.json").read_bytes() == cached  # not redone
    with pytest.raises(ValueError, match="detector: .*sha256") as error:
        JMEREDataset(tmp_path / "data", images=image_files,
                     extractor=detr.replace(detector=other_detr_path),
                     progress=False, log=False)
    assert "force_reload" in str(error.value)


# ------------------------------------------ one extractor, every model
def test_an_ensemble_of_two_detectors_is_refused(
        detr_checkpoint, image_files, other_detr_path, tmp_path,
        tiny_encoder_path, tiny_detector_paths, capsys):
    other = checkpoint(tmp_path / "other_ckpt", other_detr_path, image_files,
                       tiny_encoder_path)
    write_jsonl([Sample(["Curry", "joins", "the", "Warriors"], "a.jpg")],
                tmp_path / "posts.jsonl")
    for command in (["predict", "--text", TEXT, "--image",
                     image_files / "a.jpg"],
                    ["evaluate", "--data", tmp_path / "posts.jsonl"]):
        code, _, err = run(capsys, command[0], "--checkpoint",
                           detr_checkpoint, other, *command[1:])
        assert code == 1 and len(err.splitlines()) == 1
        for name in (detr_checkpoint, other, tiny_detector_paths["detr"],
                     other_detr_path):
            assert str(name) in err
    # Members trained with one detector make an ensemble.
    shutil.copytree(detr_checkpoint, tmp_path / "twin")
    code, _, err = run(capsys, "predict", "--checkpoint", detr_checkpoint,
                       tmp_path / "twin", "--text", TEXT, "--image",
                       image_files / "a.jpg")
    assert code == 0, err


def test_scene_graphs_of_another_detector_are_refused(
        detr_checkpoint, image_files, tiny_detector_paths, other_detr_path,
        tmp_path, capsys):
    write_jsonl([Sample(["Curry", "joins", "the", "Warriors"], "a.jpg")],
                tmp_path / "posts.jsonl")

    def graphs_of(detector: str, folder: str):
        output = tmp_path / folder / "graphs.json"
        output.parent.mkdir()
        code, _, err = run(capsys, "scene-graphs", "--images", image_files,
                           "--output", output, "--detector", detector,
                           "--top-k", "5", "--score-threshold", "0",
                           "--device", "cpu")
        assert code == 0, err
        return output

    # The same feature size: only the record tells them apart.
    other = graphs_of(other_detr_path, "other")
    for command, source in (("evaluate", "--data"), ("predict", "--input")):
        code, _, err = run(capsys, command, "--checkpoint", detr_checkpoint,
                           source, tmp_path / "posts.jsonl",
                           "--scene-graphs", other)
        assert code == 1 and len(err.splitlines()) == 1
        assert str(other) in err and str(detr_checkpoint) in err
        assert other_detr_path in err
    same = graphs_of(tiny_detector_paths["detr"], "same")
    code, _, err = run(capsys, "evaluate", "--checkpoint", detr_checkpoint,
                       "--data", tmp_path / "posts.jsonl", "--scene-graphs",
                       same)
    assert code == 0, err
    # Without a record nothing can be checked: a notice says so.
    (same.parent / EXTRACTOR_FILE).unlink()
    code, _, err = run(capsys, "evaluate", "--checkpoint", detr_checkpoint,
                       "--data", tmp_path / "posts.jsonl", "--scene-graphs",
                       same)
    assert code == 0 and f"no {EXTRACTOR_FILE} beside it" in err


def test_record_round_trip_and_future_versions(tmp_path, tiny_detector_paths):
    record = ExtractorRecord.of(settings(tiny_detector_paths["detr"]))
    path = write_extractor_file(tmp_path, record)
    assert path.name == EXTRACTOR_FILE
    assert read_extractor_file(path) == record
    saved = json.loads(path.read_text())
    path.write_text(json.dumps({**saved, "format_version": 3}))
    with pytest.raises(ValueError, match=f"{EXTRACTOR_FILE}: .*version 3"):
        read_extractor_file(path)
