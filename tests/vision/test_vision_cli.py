"""Images through the command line: ``jmere-pyg scene-graphs`` and
``jmere-pyg predict --image / --images``, with a tiny random detector and a
tiny EEGA."""
import errno
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


def evaluate(capsys, *args):
    capsys.readouterr()  # what came before, e.g. a detector's loading bar
    code = main(["evaluate", *map(str, args)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_scene_graphs_json_round_trips_into_the_same_graphs(
        tmp_path, image_files, detr, capsys):
    (image_files / "broken.jpg").write_bytes(b"")  # a counted skip
    output = tmp_path / "out" / "scene_graphs.json"
    output.parent.mkdir()
    assert main(["scene-graphs", "--images", str(image_files), "--output",
                 str(output), "--detector", detr.detector, "--top-k", "5",
                 "--score-threshold", "0", "--device", "cpu", "--plot",
                 str(tmp_path / "plots")]) == 0
    report = capsys.readouterr().out
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == [
        "a.png", "b.png", "c.png"]  # named after the images
    assert (tmp_path / "plots" / "a.png").read_bytes()[:4] == b"\x89PNG"
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


def test_evaluate_reads_raw_images_as_predict_does(image_checkpoint,
                                                   image_files, tmp_path,
                                                   capsys):
    """``evaluate --images`` scores the posts with the scene graphs that
    ``predict --images`` extracts for them: the same quintuples, the same
    count of unreadable images, the same extractor checks."""
    (image_files / "broken.jpg").write_bytes(b"not a picture")
    gold = [Quintuple(Entity(0, 1, "per"), Entity(3, 4, "org"), "member_of")]
    posts = [Sample(["Curry", "joins", "the", "Warriors"], "a.jpg", gold),
             Sample(["Thompson", "joins", "the", "Celtics"], "broken.jpg",
                    gold)]
    write_jsonl(posts, tmp_path / "posts.jsonl")
    code, out, err = evaluate(capsys, "--checkpoint", image_checkpoint,
                              "--data", tmp_path / "posts.jsonl", "--images",
                              image_files)
    assert code == 0, err
    assert "2 posts: 1 with a scene graph, 1 image unreadable" in err
    metrics = json.loads(out)
    code, _, err = predict(capsys, "--checkpoint", image_checkpoint,
                           "--input", tmp_path / "posts.jsonl", "--images",
                           image_files, "--output", tmp_path / "out.jsonl")
    assert code == 0, err
    found = sum(len(json.loads(line)["quintuples"]) for line in
                (tmp_path / "out.jsonl").read_text().splitlines())
    strict = metrics["strict"]
    assert strict["tp"] + strict["fp"] == found
    assert metrics["images"]["with_scene_graph"] == 1
    # Another detector is refused unless forced, and files and images
    # cannot both give scene graphs.
    for extra in (["--detector", image_files], ["--scene-graphs",
                                                tmp_path / "posts.jsonl"]):
        code, _, err = evaluate(capsys, "--checkpoint", image_checkpoint,
                                "--data", tmp_path / "posts.jsonl",
                                "--images", image_files, *extra)
        assert code == 1 and len(err.strip().splitlines()) == 1, err


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


# ---------------------------------------- scene-graphs --output (issue 39)
def scene_graphs(capsys, *args):
    code = main(["scene-graphs", *map(str, args)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_scene_graphs_output_may_not_be_an_input(image_files, capsys):
    """``--output photos/rocket.jpg`` replaced the photo with JSON; the
    check comes before the detector is loaded (here it does not exist)."""
    photo = image_files / "a.jpg"
    before = photo.read_bytes()
    for images, output in ((image_files, photo),
                           (image_files, image_files / "graphs.json"),
                           (photo, photo)):
        code, _, err = scene_graphs(capsys, "--images", images, "--output",
                                    output, "--overwrite", "--detector",
                                    "no/such-detector")
        assert code == 1 and "input" in err and len(err.splitlines()) == 1
    assert photo.read_bytes() == before
    assert not (image_files / "graphs.json").exists()
    assert not (image_files / EXTRACTOR_FILE).exists()


def test_scene_graphs_existing_output_needs_overwrite(tmp_path, image_files,
                                                      detr, capsys):
    output = tmp_path / "graphs.json"
    output.write_text("keep me\n")
    args = ["--images", image_files, "--output", output, "--detector",
            detr.detector, "--top-k", "5", "--score-threshold", "0",
            "--device", "cpu"]
    code, _, err = scene_graphs(capsys, *args)
    assert code == 1 and "--overwrite" in err
    assert output.read_text() == "keep me\n"
    assert scene_graphs(capsys, *args, "--overwrite")[0] == 0
    assert sorted(read_scene_graphs(output)) == ["a.jpg", "b.png", "c.jpg"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([
        EXTRACTOR_FILE, "graphs.json", "images"])  # no temporary file left


@pytest.mark.parametrize("held, what", [
    (["config.json", "model.safetensors"], "holds a checkpoint"),
    (["log.jsonl"], "holds a training run"),
])
def test_scene_graphs_never_write_into_a_checkpoint_or_run(
        tmp_path, image_files, capsys, held, what):
    """An output inside a checkpoint folder silently rewrote the detector
    that the checkpoint records, which predict then used."""
    folder = tmp_path / "ckpt"
    folder.mkdir()
    for name in held:
        (folder / name).write_text("{}")
    code, _, err = scene_graphs(capsys, "--images", image_files, "--output",
                                folder / "graphs.json", "--overwrite",
                                "--detector", "no/such-detector")
    assert code == 1 and what in err and len(err.splitlines()) == 1
    assert sorted(p.name for p in folder.iterdir()) == sorted(held)


def test_scene_graphs_keep_another_extractors_record(tmp_path, image_files,
                                                     detr, capsys):
    """Graphs of another detector in the same folder keep their record
    unless --overwrite; a failed write leaves the old files whole."""
    record = tmp_path / EXTRACTOR_FILE
    record.write_text(json.dumps(detr.replace(top_k=9).to_dict()))
    args = ["--images", image_files, "--output", tmp_path / "graphs.json",
            "--detector", detr.detector, "--top-k", "5",
            "--score-threshold", "0", "--device", "cpu"]
    code, _, err = scene_graphs(capsys, *args)
    assert code == 1 and "records another extractor" in err
    assert read_extractor_file(record).config.top_k == 9
    assert scene_graphs(capsys, *args, "--overwrite")[0] == 0
    assert read_extractor_file(record).config == detr


def test_scene_graphs_write_atomically(tmp_path, image_files, detr, capsys,
                                       monkeypatch):
    """A disk that fills while the output is written leaves the old output
    whole and no temporary file; what was extracted stays in the partial
    file, for --resume."""
    import jmere_pyg.inference.images as images_module

    output = tmp_path / "graphs.json"
    output.write_text("old graphs\n")

    def disk_full(lines):
        yield "{\"a.jpg\": "
        raise OSError(errno.ENOSPC, "No space left on device", str(output))

    monkeypatch.setattr(images_module, "scene_graph_object_pieces",
                        disk_full)
    code, _, err = scene_graphs(capsys, "--images", image_files, "--output",
                                output, "--overwrite", "--detector",
                                detr.detector, "--device", "cpu")
    assert code == 1 and "Traceback" not in err
    assert err.splitlines()[-1].startswith("jmere-pyg scene-graphs: error: ")
    assert "No space left" in err
    assert output.read_text() == "old graphs\n"
    assert not [p.name for p in tmp_path.iterdir()
                if p.name.endswith(".tmp")]
