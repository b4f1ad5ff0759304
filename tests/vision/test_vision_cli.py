"""Images through the command line: ``jmere-pyg scene-graphs`` and
``jmere-pyg predict --image / --images``, with a tiny random detector and a
tiny EEGA."""
import json

import pytest
import torch

from jmere_pyg import EEGA, EEGAConfig, GraphBuilder, Predictor
from jmere_pyg.cli import main
from jmere_pyg.data import (Entity, Quintuple, Sample, attach_scene_graphs,
                            read_scene_graphs, write_jsonl,
                            write_scene_graphs)
from jmere_pyg.graphs import OBJECT, REL
from jmere_pyg.vision import (EXTRACTOR_FILE, ExtractorConfig,
                              ExtractorRecord, SceneGraphExtractor,
                              read_extractor_file)

TEXT = "Curry joins the Warriors"


@pytest.fixture
def detr(tiny_detector_paths):
    """An extractor config of the tiny DETR that keeps every query it can
    (random weights score low)."""
    return ExtractorConfig(detector=tiny_detector_paths["detr"],
                           score_threshold=0.0, top_k=5)


def tiny_eega(builder, encoder, **config):
    torch.manual_seed(0)
    return EEGA.from_builder(builder, EEGAConfig(
        encoder=encoder, heads=2, edge_dim=8, channel_dim=8, **config))


@pytest.fixture
def image_checkpoint(tmp_path, image_files, detr, tiny_encoder_path):
    """A tiny EEGA whose builder was fitted on the detector's scene graphs
    (object classes, feature size) and that records the extractor."""
    extractor = SceneGraphExtractor(detr)
    graphs = extractor.extract(sorted(image_files.iterdir())).graphs
    assert all(graph.num_objects > 0 for graph in graphs.values())
    samples = [Sample(["Curry", "joins", "the", "Warriors"], "a.jpg",
                      [Quintuple(Entity(0, 1, "per"), Entity(3, 4, "org"),
                                 "member_of")])]
    builder = GraphBuilder(object_feature_dim=extractor.feature_dim).fit(
        attach_scene_graphs(samples, graphs))
    model = tiny_eega(builder, tiny_encoder_path)
    model.extractor_record = ExtractorRecord.of(detr)
    model.save_pretrained(tmp_path / "ckpt")
    return tmp_path / "ckpt"


def predict(capsys, *args):
    code = main(["predict", *map(str, args)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_scene_graphs_json_round_trips_into_the_same_graphs(
        tmp_path, image_files, detr, capsys):
    (image_files / "broken.jpg").write_bytes(b"")  # a counted skip
    output = tmp_path / "out" / "scene_graphs.json"
    assert main(["scene-graphs", "--images", str(image_files), "--output",
                 str(output), "--detector", detr.detector, "--top-k", "5",
                 "--score-threshold", "0", "--device", "cpu", "--plot",
                 str(tmp_path / "plots")]) == 0
    report = capsys.readouterr().out
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == [
        "a.jpg.png", "b.png.png", "c.jpg.png"]
    assert (tmp_path / "plots" / "a.jpg.png").read_bytes()[:4] == b"\x89PNG"
    assert "4 images: 3 scene graphs, 1 failed (empty 1)" in report
    assert "skipped broken.jpg: empty" in report
    assert read_extractor_file(output.parent / EXTRACTOR_FILE) == (
        ExtractorRecord.of(detr))

    from_file = read_scene_graphs(output)
    extractor = SceneGraphExtractor(detr)
    in_memory = extractor.extract(
        [image_files / name for name in ("a.jpg", "b.png", "c.jpg")]).graphs
    assert sorted(from_file) == sorted(in_memory) == ["a.jpg", "b.png",
                                                       "c.jpg"]
    samples = [Sample(["Curry", "joins", "the", "Warriors"], name)
               for name in sorted(in_memory)]
    builder = GraphBuilder(object_feature_dim=extractor.feature_dim).fit(
        attach_scene_graphs(samples, in_memory))
    for expected, read in zip(
            builder.build_many(attach_scene_graphs(samples, in_memory),
                               progress=False),
            builder.build_many(attach_scene_graphs(samples, from_file),
                               progress=False)):
        assert expected[OBJECT].num_nodes > 0
        assert torch.equal(read[OBJECT].label, expected[OBJECT].label)
        assert torch.equal(read[OBJECT].x, expected[OBJECT].x)
        assert torch.equal(read[REL].edge_index, expected[REL].edge_index)
        assert torch.equal(read[REL].edge_type, expected[REL].edge_type)


def test_scene_graphs_names_a_missing_input(tmp_path, capsys):
    assert main(["scene-graphs", "--images", str(tmp_path / "nowhere"),
                 "--output", str(tmp_path / "g.json")]) == 1
    assert "nowhere" in capsys.readouterr().err


def test_scene_graphs_offline_detector_is_one_clear_line(tmp_path, image_files,
                                                         capsys):
    assert main(["scene-graphs", "--images", str(image_files), "--output",
                 str(tmp_path / "g.json"), "--detector",
                 str(tmp_path / "no_detector")]) == 1
    error = capsys.readouterr().err
    assert "no_detector" in error and "--detector DIR" in error


def test_checkpoint_records_its_extractor(image_checkpoint, detr):
    record = EEGA.from_pretrained(image_checkpoint).extractor_record
    assert record == ExtractorRecord.of(detr)
    assert len(record.detector_identity["sha256"]) == 64
    model = EEGA.from_pretrained(image_checkpoint)
    model.extractor_record = None
    model.save_pretrained(image_checkpoint)  # the old record goes
    assert not (image_checkpoint / EXTRACTOR_FILE).exists()
    assert EEGA.from_pretrained(image_checkpoint).extractor_record is None


def test_predict_image_end_to_end(image_checkpoint, image_files, detr,
                                  tmp_path, capsys):
    code, out, err = predict(capsys, "--checkpoint", image_checkpoint,
                             "--text", TEXT, "--image",
                             image_files / "a.jpg", "--plot",
                             tmp_path / "plots")
    assert code == 0, err
    assert "1 posts: 1 with a scene graph, 0 image unreadable" in err
    picture = tmp_path / "plots" / "post0_a.png"
    assert picture.read_bytes()[:4] == b"\x89PNG"
    record = json.loads(out.strip().splitlines()[-1])
    assert record["image_id"] == "a.jpg" and "image_error" not in record

    # The same as extracting the image's scene graph in memory.
    model = EEGA.from_pretrained(image_checkpoint)
    graphs = SceneGraphExtractor(detr).extract([image_files / "a.jpg"]).graphs
    sample = Sample(record["tokens"], "a.jpg")
    [joined] = attach_scene_graphs([sample], graphs)
    built = model.graph_builder.build(joined)
    assert built[OBJECT].num_nodes == graphs["a.jpg"].num_objects > 0
    assert built[OBJECT].label.gt(0).all()  # classes known to the model
    expected = Predictor(model).predict([joined])[0]
    assert [(q["head"]["start"], q["tail"]["start"], q["relation"])
            for q in record["quintuples"]] == [
        (q.head.start, q.tail.start, q.relation) for q, _ in expected]


def test_predict_input_counts_unreadable_images(image_checkpoint, image_files,
                                                tmp_path, capsys):
    (image_files / "broken.jpg").write_bytes(b"not a picture")
    posts = [Sample(["Curry", "joins", "the", "Warriors"], "a.jpg"),
             Sample(["Thompson", "in", "Boston"], "broken.jpg"),
             Sample(["Curry", "at", "home"], "gone.jpg"),
             Sample(["no", "image", "here"], None)]
    write_jsonl(posts, tmp_path / "posts.jsonl")
    output = tmp_path / "out.jsonl"
    code, _, err = predict(capsys, "--checkpoint", image_checkpoint,
                           "--input", tmp_path / "posts.jsonl", "--images",
                           image_files, "--output", output)
    assert code == 0, err
    assert ("4 posts: 1 with a scene graph, 2 image unreadable, 1 without "
            "image (missing 1, not-an-image 1)") in err
    records = [json.loads(line) for line in output.read_text().splitlines()]
    assert len(records) == 4
    assert "image_error" not in records[0] and "image_error" not in records[3]
    assert "not-an-image" in records[1]["image_error"]
    assert "missing" in records[2]["image_error"]
    assert all(isinstance(r["quintuples"], list) for r in records)


def test_detector_mismatch_is_an_error_unless_forced(
        image_checkpoint, image_files, tiny_detector_paths, capsys):
    other = tiny_detector_paths["conditional_detr"]
    args = ["--checkpoint", image_checkpoint, "--text", TEXT, "--image",
            image_files / "a.jpg", "--detector", other]
    code, _, err = predict(capsys, *args)
    assert code == 1
    assert tiny_detector_paths["detr"] in err and other in err
    assert "--force-detector" in err
    code, out, err = predict(capsys, *args, "--force-detector")
    assert code == 0, err
    assert json.loads(out.strip().splitlines()[-1])["image_id"] == "a.jpg"


def test_checkpoint_trained_without_images_ignores_the_image(
        tmp_path, image_files, tiny_encoder_path, capsys):
    samples = [Sample(["Curry", "joins", "the", "Warriors"], None)]
    tiny_eega(GraphBuilder().fit(samples), tiny_encoder_path).save_pretrained(
        tmp_path / "text_only")
    code, out, err = predict(capsys, "--checkpoint", tmp_path / "text_only",
                             "--text", TEXT, "--image", image_files / "a.jpg")
    assert code == 0, err
    assert "trained without images" in err and "ignored" in err
    text_only = predict(capsys, "--checkpoint", tmp_path / "text_only",
                        "--text", TEXT)[1]
    with_image = json.loads(out.strip().splitlines()[-1])
    assert with_image["image_id"] == "a.jpg"
    assert with_image["quintuples"] == json.loads(
        text_only.strip().splitlines()[-1])["quintuples"]


def test_checkpoint_without_recorded_extractor_needs_forcing(
        image_checkpoint, image_files, detr, capsys):
    model = EEGA.from_pretrained(image_checkpoint)
    model.extractor_record = None  # trained on scene graphs from a file
    model.save_pretrained(image_checkpoint)
    args = ["--checkpoint", image_checkpoint, "--text", TEXT, "--image",
            image_files / "a.jpg"]
    code, _, err = predict(capsys, *args)
    assert code == 1 and "records no scene-graph extractor" in err
    assert "--scene-graphs" in err
    code, _, err = predict(capsys, *args, "--detector", detr.detector,
                           "--force-detector")
    assert code == 0, err


def test_image_and_scene_graphs_together_is_an_error(
        image_checkpoint, image_files, tmp_path, capsys):
    write_scene_graphs(tmp_path / "g.json", {})
    code, _, err = predict(capsys, "--checkpoint", image_checkpoint, "--text",
                           TEXT, "--image", image_files / "a.jpg",
                           "--scene-graphs", tmp_path / "g.json")
    assert code == 1 and "pick one" in err
