import json

import pytest
import torch
from PIL import Image

from jmere_pyg.data import (Sample, attach_scene_graphs, read_scene_graphs,
                            write_scene_graphs)
from jmere_pyg.graphs import OBJECT, REL, GraphBuilder
from jmere_pyg.vision import (EXTRACTOR_FILE, PREDICATES, DetectorLoadError,
                              ExtractionResult, ExtractorConfig,
                              SceneGraphExtractor)
from jmere_pyg.vision.extractor import MAX_ASPECT_RATIO, pad_to_aspect_ratio

from vision_testing import FAMILIES, ID2LABEL, NUM_QUERIES, draw_scene

FEATURE_DIMS = {"detr": 16, "conditional_detr": 16, "deformable_detr": 32,
                "yolos": 16, "rt_detr": 16}


def extractor(tiny_detector_paths, family, device="cpu", **settings):
    settings = {"score_threshold": 0.0, **settings}
    config = ExtractorConfig(detector=tiny_detector_paths[family], **settings)
    return SceneGraphExtractor(config, device=device)


@pytest.mark.parametrize("family", FAMILIES)
def test_every_family_extracts_scene_graphs(tiny_detector_paths, image_files,
                                            family):
    ex = extractor(tiny_detector_paths, family, top_k=5, batch_size=2)
    assert ex.feature_dim == FEATURE_DIMS[family]
    paths = sorted(image_files.iterdir())
    result = ex.extract(paths)
    assert sorted(result.graphs) == ["a.jpg", "b.png", "c.jpg"]
    assert result.failed == {}
    for path in paths:
        graph = result.graphs[path.name]
        width, height = Image.open(path).size
        assert graph.num_objects == 5
        scores = [obj.score for obj in graph.objects]
        assert scores == sorted(scores, reverse=True)
        for obj in graph.objects:
            assert obj.label in ID2LABEL.values()
            assert 0 <= obj.score <= 1
            x1, y1, x2, y2 = obj.box
            assert 0 <= x1 <= x2 <= width and 0 <= y1 <= y2 <= height
            assert len(obj.feature) == ex.feature_dim
        assert len(graph.relations) == 5 * 4
        assert {r.predicate for r in graph.relations} <= set(PREDICATES)


@pytest.mark.parametrize("family", FAMILIES)
def test_objects_are_the_post_processed_detections(tiny_detector_paths,
                                                   family):
    """Our per-query selection agrees with the image processor's
    post_process_object_detection, and each feature is the hidden state
    of the query the detection came from."""
    top_k = 3
    ex = extractor(tiny_detector_paths, family, top_k=top_k)
    images = [draw_scene((160, 120), 0), draw_scene((90, 140), 1)]
    graphs = ex.extract_images(images)
    inputs = ex.image_processor(images=images, return_tensors="pt")
    with torch.no_grad():
        outputs = ex.model(**{k: inputs[k] for k in ex.input_names
                              if k in inputs})
    options = ({"top_k": NUM_QUERIES * len(ID2LABEL)}
               if family in ("conditional_detr", "deformable_detr") else {})
    detections = ex.image_processor.post_process_object_detection(
        outputs, threshold=0.0,
        target_sizes=[image.size[::-1] for image in images], **options)
    hidden = outputs.last_hidden_state[:, -NUM_QUERIES:]
    for b, (graph, image) in enumerate(zip(graphs, images)):
        width, height = image.size
        boxes = detections[b]["boxes"].clone()
        boxes[:, 0::2] = boxes[:, 0::2].clamp(0, width)
        boxes[:, 1::2] = boxes[:, 1::2].clamp(0, height)
        best = {}  # box -> best (score, label) of that query
        for score, label, box in zip(detections[b]["scores"].tolist(),
                                     detections[b]["labels"].tolist(),
                                     boxes.tolist()):
            key = tuple(round(v, 3) for v in box)
            best[key] = max(best.get(key, (-1.0, -1)), (score, label))
        expected = sorted(best.items(), key=lambda item: -item[1][0])[:top_k]
        assert len(graph.objects) == top_k
        for obj, (box, (score, label)) in zip(graph.objects, expected):
            assert obj.score == pytest.approx(score, abs=1e-6)
            assert obj.label == ID2LABEL[label]
            assert obj.box == pytest.approx(box, abs=2e-3)
            matches = [q for q in range(NUM_QUERIES)
                       if torch.allclose(hidden[b, q],
                                         torch.tensor(obj.feature))]
            assert len(matches) == 1
            cx, cy, w, h = outputs.pred_boxes[b, matches[0]].tolist()
            corners = [min(max(v, 0.0), 1.0) for v in
                       (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)]
            assert obj.box == pytest.approx(
                [corners[0] * width, corners[1] * height,
                 corners[2] * width, corners[3] * height], abs=1e-3)


def test_top_k_and_threshold(tiny_detector_paths):
    image = [draw_scene((160, 120), 0)]
    all_ = extractor(tiny_detector_paths, "yolos",
                     top_k=NUM_QUERIES).extract_images(image)[0]
    scores = [obj.score for obj in all_.objects]
    assert len(scores) == NUM_QUERIES
    top3 = extractor(tiny_detector_paths, "yolos",
                     top_k=3).extract_images(image)[0]
    assert [o.score for o in top3.objects] == scores[:3]
    threshold = (scores[4] + scores[5]) / 2
    above = extractor(tiny_detector_paths, "yolos", top_k=NUM_QUERIES,
                      score_threshold=threshold).extract_images(image)[0]
    assert [o.score for o in above.objects] == scores[:5]
    none = extractor(tiny_detector_paths, "yolos",
                     score_threshold=0.999).extract_images(image)[0]
    assert none.objects == [] and none.relations == []


def test_extraction_is_deterministic(tiny_detector_paths, image_files):
    paths = sorted(image_files.iterdir())
    first = extractor(tiny_detector_paths, "rt_detr").extract(paths)
    second = extractor(tiny_detector_paths, "rt_detr").extract(paths)
    assert first.graphs == second.graphs


def test_batches_give_the_graphs_of_single_images(tiny_detector_paths,
                                                  image_files):
    """RT-DETR resizes every image to the same size (no padding), so a
    batch of three gives each image's own graph."""
    paths = sorted(image_files.iterdir())
    batched = extractor(tiny_detector_paths, "rt_detr",
                        batch_size=3).extract(paths)
    single = extractor(tiny_detector_paths, "rt_detr",
                       batch_size=1).extract(paths)
    for key, graph in single.graphs.items():
        other = batched.graphs[key]
        assert [o.label for o in other.objects] == [
            o.label for o in graph.objects]
        assert [r.predicate for r in other.relations] == [
            r.predicate for r in graph.relations]
        for a, b in zip(graph.objects, other.objects):
            assert b.score == pytest.approx(a.score, abs=1e-5)
            assert b.box == pytest.approx(a.box, abs=1e-3)
            assert b.feature == pytest.approx(a.feature, abs=1e-4)


def test_boxes_are_in_full_resolution_pixels(tiny_detector_paths, tmp_path):
    """An image downscaled before the detector gives the boxes of the
    full-size image."""
    small = tmp_path / "small" / "x.png"
    large = tmp_path / "large" / "x.png"
    small.parent.mkdir(), large.parent.mkdir()
    draw_scene((100, 80)).save(small)
    draw_scene((100, 80)).resize((400, 320), Image.NEAREST).save(large)
    ex = extractor(tiny_detector_paths, "rt_detr", max_image_side=100)
    box_small = ex.extract([small]).graphs["x.png"].objects[0].box
    box_large = ex.extract([large]).graphs["x.png"].objects[0].box
    assert box_large == pytest.approx([4 * v for v in box_small], abs=2.0)


@pytest.mark.parametrize("family", FAMILIES)
def test_very_long_and_tiny_images(tiny_detector_paths, tmp_path, family):
    """A 2 x 300 strip, a 300 x 2 strip and a 1 x 1 image: padded to the
    largest aspect ratio before the image processor, boxes inside each."""
    sizes = [(2, 300), (300, 2), (1, 1)]
    paths = []
    for width, height in sizes:
        paths.append(tmp_path / f"{width}x{height}.png")
        Image.new("RGB", (width, height), (200, 30, 30)).save(paths[-1])
    result = extractor(tiny_detector_paths, family, top_k=3).extract(paths)
    assert result.failed == {}
    for path, (width, height) in zip(paths, sizes):
        for obj in result.graphs[path.name].objects:
            x1, y1, x2, y2 = obj.box
            assert 0 <= x1 <= x2 <= width and 0 <= y1 <= y2 <= height


def test_pad_to_aspect_ratio():
    strip = Image.new("RGB", (3, 100), (255, 0, 0))
    padded = pad_to_aspect_ratio(strip)
    assert padded.size == (100 // MAX_ASPECT_RATIO, 100)
    assert padded.getpixel((2, 99)) == (255, 0, 0)
    assert padded.getpixel((3, 0)) == (0, 0, 0)
    assert pad_to_aspect_ratio(strip.rotate(90, expand=True)).size == (
        100, 100 // MAX_ASPECT_RATIO)
    square = Image.new("RGB", (50, 40))
    assert pad_to_aspect_ratio(square) is square


def test_unreadable_images_are_counted_not_raised(tiny_detector_paths,
                                                  image_files):
    (image_files / "empty.jpg").write_bytes(b"")
    (image_files / "notes.png").write_text("not an image")
    paths = sorted(image_files.iterdir()) + [image_files / "gone.jpg"]
    result = extractor(tiny_detector_paths, "detr", batch_size=2).extract(
        paths, progress=True)
    assert sorted(result.graphs) == ["a.jpg", "b.png", "c.jpg"]
    assert result.failed == {"empty.jpg": "empty", "notes.png":
                             "not-an-image", "gone.jpg": "missing"}
    assert "gone.jpg" in result.errors["gone.jpg"]
    assert result.summary() == ("6 images: 3 scene graphs, 3 failed "
                                "(empty 1, missing 1, not-an-image 1)")


def test_summary_of_an_empty_result():
    assert ExtractionResult().summary() == "0 images: 0 scene graphs, 0 failed"


def test_duplicate_file_names_are_an_error(tiny_detector_paths, image_files,
                                           tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    draw_scene().save(other / "a.jpg")
    with pytest.raises(ValueError, match="a.jpg"):
        extractor(tiny_detector_paths, "detr").extract(
            [image_files / "a.jpg", other / "a.jpg"])


def test_scene_graph_json_round_trip(tiny_detector_paths, image_files,
                                     tmp_path):
    config = ExtractorConfig(detector=tiny_detector_paths["deformable_detr"],
                             score_threshold=0.0)
    result = SceneGraphExtractor(config).extract(
        sorted(image_files.iterdir()))
    path = tmp_path / "scene_graphs.json"
    write_scene_graphs(path, result.graphs)
    read_back = read_scene_graphs(path)
    assert read_back == result.graphs
    samples = [Sample(["a", "dog", "in", "the", "city"], image_id=name)
               for name in ("a.jpg", "images/b.png", "c.jpg")]
    builder = GraphBuilder(object_feature_dim=32).fit(
        attach_scene_graphs(samples, result.graphs))
    for in_memory, from_file in zip(
            builder.build_many(attach_scene_graphs(samples, result.graphs),
                               False),
            builder.build_many(attach_scene_graphs(samples, read_back),
                               False)):
        assert in_memory[OBJECT].num_nodes == 10
        assert torch.equal(in_memory[OBJECT].x, from_file[OBJECT].x)
        assert torch.equal(in_memory[OBJECT].label, from_file[OBJECT].label)
        assert torch.equal(in_memory[REL].edge_index,
                           from_file[REL].edge_index)
        assert torch.equal(in_memory[REL].edge_type, from_file[REL].edge_type)
    (tmp_path / EXTRACTOR_FILE).write_text(json.dumps(config.to_dict()))
    saved = json.loads((tmp_path / EXTRACTOR_FILE).read_text())
    assert ExtractorConfig.from_dict(saved) == config


def test_config_checks_its_settings():
    assert ExtractorConfig().top_k == 10
    with pytest.raises(ValueError, match="top_k"):
        ExtractorConfig(top_k=0)
    with pytest.raises(ValueError, match="score_threshold"):
        ExtractorConfig.from_dict({"score_threshold": 1.5})
    with pytest.raises(ValueError, match="batch_size"):
        ExtractorConfig.from_dict({"batch_size": "4"})
    with pytest.raises(ValueError, match="unknown scene-graph extractor"):
        ExtractorConfig.from_dict({"topk": 3})
    assert ExtractorConfig().replace(top_k=3).top_k == 3


def test_detector_load_errors_say_how_to_point_at_a_folder(tmp_path):
    with pytest.raises(DetectorLoadError, match="does not exist.*--detector"):
        SceneGraphExtractor(ExtractorConfig(detector=str(tmp_path / "no")))
    with pytest.raises(DetectorLoadError, match="does not hold an object"):
        SceneGraphExtractor(ExtractorConfig(detector=str(tmp_path)))
    with pytest.raises(DetectorLoadError,
                       match="not in the local Hugging Face.*--detector"):
        SceneGraphExtractor(ExtractorConfig(detector="no-org/no-detector"),
                            local_files_only=True)


def test_offline_without_a_detector_folder_answers_at_once(monkeypatch):
    from jmere_pyg.vision import extractor as module

    monkeypatch.setattr(module, "_hub_reachable", lambda: False)
    with pytest.raises(DetectorLoadError,
                       match="cannot be reached.*--detector DIR"):
        SceneGraphExtractor()


def test_the_hub_is_not_probed_behind_a_proxy(monkeypatch):
    from jmere_pyg.vision import extractor as module

    def no_connection(*args, **kwargs):
        raise OSError("no network")

    monkeypatch.setattr(module.socket, "create_connection", no_connection)
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy",
                 "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    assert module._hub_reachable() is False
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    assert module._hub_reachable() is True


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("family", FAMILIES)
def test_cuda_matches_cpu(tiny_detector_paths, image_files, family,
                          monkeypatch):
    # Full float32 on the GPU: TF32 convolutions (PyTorch's default) round
    # to 10 bits, and a random detector's near-equal scores then reorder.
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)
    monkeypatch.setattr(torch.backends.cuda.matmul, "allow_tf32", False)
    paths = sorted(image_files.iterdir())
    cpu = extractor(tiny_detector_paths, family).extract(paths)
    cuda = extractor(tiny_detector_paths, family, device="cuda").extract(
        paths)
    for key, graph in cpu.graphs.items():
        other = cuda.graphs[key]
        assert [o.label for o in other.objects] == [
            o.label for o in graph.objects]
        for a, b in zip(graph.objects, other.objects):
            assert b.score == pytest.approx(a.score, abs=1e-4)
            assert b.box == pytest.approx(a.box, abs=0.05)
