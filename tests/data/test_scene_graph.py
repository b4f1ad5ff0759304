import json
import re

import numpy as np
import pytest
import torch

from jmere_pyg.data import (Sample, SceneGraph, SceneGraphFormatError,
                            SceneObject, SceneRelation, attach_scene_graphs,
                            lookup_scene_graph, read_scene_graphs,
                            read_sgb_output, write_scene_graphs)
from jmere_pyg.data.scene_graph import (scene_graph_line,
                                        scene_graph_object_pieces)


def make_graph(num_objects=15):
    """Objects with scores 0.0, 0.05, ... (object i has score i / 20), a
    relation between every neighbour pair and one 14 -> 0."""
    objects = [SceneObject(f"class{i}", i / 20, (i, i, i + 1, i + 1),
                           [float(i), 1.0]) for i in range(num_objects)]
    relations = [SceneRelation(i, "near", i + 1, 0.5)
                 for i in range(num_objects - 1)]
    relations.append(SceneRelation(num_objects - 1, "holding", 0))
    return SceneGraph(objects, relations)


def test_top_k_keeps_best_objects_and_reindexes_relations():
    graph = make_graph(15)
    top = graph.top_k(10)
    assert [o.label for o in top.objects] == [f"class{i}"
                                              for i in range(5, 15)]
    # the relations among objects 5..14, shifted down by 5; 14 -> 0 dropped
    assert [(r.subject, r.predicate, r.object) for r in top.relations] == [
        (i, "near", i + 1) for i in range(9)]
    assert graph.num_objects == 15  # untouched
    assert graph.top_k(20) is graph
    assert graph.top_k(0).objects == [] and graph.top_k(0).relations == []


def test_top_k_ties_keep_earlier_objects_and_their_order():
    objects = [SceneObject(label, score, (0, 0, 1, 1)) for label, score in
               [("a", 0.5), ("b", 0.9), ("c", 0.5), ("d", 0.5)]]
    graph = SceneGraph(objects, [SceneRelation(3, "on", 1),
                                 SceneRelation(2, "on", 0)])
    top = graph.top_k(3)
    assert [o.label for o in top.objects] == ["a", "b", "c"]
    assert [(r.subject, r.object) for r in top.relations] == [(2, 0)]


def test_relations_must_index_objects():
    with pytest.raises(ValueError, match="out of range"):
        SceneGraph([SceneObject("a", 1.0, (0, 0, 1, 1))],
                   [SceneRelation(0, "near", 1)])


def test_json_round_trip_without_object_limit(tmp_path):
    graphs = {"img1.jpg": make_graph(15), "img2.jpg": SceneGraph()}
    path = tmp_path / "graphs.json"
    write_scene_graphs(path, graphs)
    assert read_scene_graphs(path) == graphs
    assert len(read_scene_graphs(path)["img1.jpg"].objects) == 15


def test_keys_are_file_base_names(tmp_path):
    path = tmp_path / "graphs.json"
    path.write_text(json.dumps({"images/x/img1.jpg": {"objects": []}}))
    graphs = read_scene_graphs(path)
    assert list(graphs) == ["img1.jpg"]
    assert lookup_scene_graph(graphs, "other/dir/img1.jpg") is graphs[
        "img1.jpg"]
    assert lookup_scene_graph(graphs, "img2.jpg") is None
    assert lookup_scene_graph(graphs, None) is None


GOOD_OBJECT = {"label": "man", "score": 0.9, "box": [0, 0, 10, 20]}


@pytest.mark.parametrize("graph, field, detail", [
    ({"objects": [{"label": "man", "score": 0.9}]}, "objects[0].box",
     "missing"),
    ({"objects": [dict(GOOD_OBJECT, box=[1, 2, 3])]}, "objects[0].box",
     "4 numbers"),
    ({"objects": [dict(GOOD_OBJECT, score="high")]}, "objects[0].score",
     "number"),
    ({"objects": [dict(GOOD_OBJECT, label="")]}, "objects[0].label",
     "non-empty"),
    ({"objects": [dict(GOOD_OBJECT, feature=[1, "x"])]},
     "objects[0].feature", "numbers"),
    ({"objects": [GOOD_OBJECT],
      "relations": [{"subject": 0, "predicate": "near", "object": 1}]},
     "relations[0].object", "out of range"),
    ({"objects": [GOOD_OBJECT],
      "relations": [{"subject": "0", "predicate": "near", "object": 0}]},
     "relations[0].subject", "object index"),
    ({"objects": [GOOD_OBJECT], "relations": [{"subject": 0, "object": 0}]},
     "relations[0].predicate", "missing"),
    ({"objects": {}}, "objects", "list"),
    ({"objects": [], "edges": []}, "", "unknown keys"),
])
def test_malformed_json_names_file_and_field(tmp_path, graph, field, detail):
    path = tmp_path / "graphs.json"
    path.write_text(json.dumps({"ok.jpg": {"objects": [GOOD_OBJECT]},
                                "bad.jpg": graph}))
    with pytest.raises(SceneGraphFormatError, match=detail) as error:
        read_scene_graphs(path)
    assert str(path) in str(error.value)
    assert error.value.field == f'["bad.jpg"].{field}'


def test_malformed_json_file(tmp_path):
    path = tmp_path / "graphs.json"
    path.write_text("{not json")
    with pytest.raises(SceneGraphFormatError, match="invalid JSON"):
        read_scene_graphs(path)
    path.write_text("[]")
    with pytest.raises(SceneGraphFormatError, match="image file names"):
        read_scene_graphs(path)
    path.write_text(json.dumps({"a/x.jpg": {}, "b/x.jpg": {}}))
    with pytest.raises(SceneGraphFormatError, match="second graph"):
        read_scene_graphs(path)


# ------------------------------------------------- Scene-Graph-Benchmark
CLASSES = ["__background__", "man", "shirt", "ball", "tree"]
PREDICATES = ["__background__", "near", "wearing", "holding"]


def sgb_prediction(num_boxes):
    return {
        "bbox": [[i, i, i + 5.0, i + 5.0] for i in range(num_boxes)],
        "bbox_labels": [1 + i % 4 for i in range(num_boxes)],
        "bbox_scores": [1.0 - i / 100 for i in range(num_boxes)],
        "rel_pairs": [[i, i + 1] for i in range(num_boxes - 1)],
        "rel_labels": [1 + i % 3 for i in range(num_boxes - 1)],
        "rel_scores": [0.5] * (num_boxes - 1),
        "rel_all_scores": [[0.1] * 4] * (num_boxes - 1),
    }


def write_sgb(tmp_path, predictions, files=None):
    prediction_path = tmp_path / "custom_prediction.json"
    info_path = tmp_path / "custom_data_info.json"
    prediction_path.write_text(json.dumps(predictions))
    info_path.write_text(json.dumps({
        "idx_to_files": files or ["/data/imgs/a.jpg", "/data/imgs/b.jpg",
                                  "/data/imgs/c.jpg"],
        "ind_to_classes": CLASSES,
        "ind_to_predicates": PREDICATES,
    }))
    return prediction_path, info_path


def test_read_sgb_output(tmp_path):
    paths = write_sgb(tmp_path, {"0": sgb_prediction(16),
                                 "2": sgb_prediction(2)})
    graphs = read_sgb_output(*paths)
    assert set(graphs) == {"a.jpg", "c.jpg"}
    graph = graphs["a.jpg"]
    assert graph.num_objects == 16
    assert graph.objects[1] == SceneObject("shirt", 0.99, (1, 1, 6, 6))
    assert graph.relations[2] == SceneRelation(2, "holding", 3, 0.5)
    assert graph.top_k(10).num_objects == 10


def save_features(path, kind, features):
    """Saves ``features`` (image index -> [num_boxes, F] array) as ``kind``."""
    if kind == "dict.pt":
        torch.save({k: torch.from_numpy(v) for k, v in features.items()}, path)
    elif kind == "npz":
        np.savez(path, **{str(k): v for k, v in features.items()})
    elif kind == "array.npy":
        np.save(path, np.stack([features[i] for i in sorted(features)]))
    elif kind == "list.pt":
        torch.save([torch.from_numpy(features[i]) for i in sorted(features)],
                   path)


@pytest.mark.parametrize("kind", ["dict.pt", "npz", "array.npy", "list.pt"])
def test_read_sgb_output_with_features(tmp_path, kind):
    paths = write_sgb(tmp_path, {"0": sgb_prediction(12),
                                 "1": sgb_prediction(12)})
    rng = np.random.default_rng(0)
    features = {0: rng.random((12, 6), dtype=np.float32),
                1: rng.random((12, 6), dtype=np.float32)}
    path = tmp_path / f"features.{kind.split('.')[-1]}"
    save_features(path, kind, features)
    graphs = read_sgb_output(*paths, features=path)
    for index, name in [(0, "a.jpg"), (1, "b.jpg")]:
        got = np.array([obj.feature for obj in graphs[name].objects])
        np.testing.assert_allclose(got, features[index], rtol=1e-6)


def test_sgb_images_without_features_in_a_dict(tmp_path):
    paths = write_sgb(tmp_path, {"0": sgb_prediction(2),
                                 "1": sgb_prediction(2)})
    graphs = read_sgb_output(*paths, features={"1": np.ones((2, 3))})
    assert graphs["a.jpg"].objects[0].feature is None
    assert graphs["b.jpg"].objects[0].feature == [1.0, 1.0, 1.0]


def broken(field, value, num_boxes=3):
    prediction = sgb_prediction(num_boxes)
    prediction[field] = value
    return prediction


@pytest.mark.parametrize("prediction, field, detail", [
    (broken("bbox_labels", [1, 2, 9]), '["0"].bbox_labels[2]',
     "out of range for 5 ind_to_classes"),
    (broken("rel_labels", [1, 7]), '["0"].rel_labels[1]',
     "out of range for 4 ind_to_predicates"),
    (broken("rel_pairs", [[0, 1], [1, 3]]), '["0"].rel_pairs[1]',
     "below 3"),
    (broken("bbox_scores", [0.5]), '["0"].bbox', "differ in length"),
    (broken("rel_scores", [0.5]), '["0"].rel_pairs', "differ in length"),
    (broken("bbox", [[0, 0, 1], [0, 0, 1, 1], [0, 0, 1, 1]]),
     '["0"].bbox[0]', "4 numbers"),
    ({k: v for k, v in sgb_prediction(3).items() if k != "rel_labels"},
     '["0"].rel_labels', "missing"),
])
def test_sgb_errors_name_file_and_field(tmp_path, prediction, field, detail):
    paths = write_sgb(tmp_path, {"0": prediction})
    with pytest.raises(SceneGraphFormatError, match=detail) as error:
        read_sgb_output(*paths)
    assert error.value.field == field
    assert error.value.path == str(paths[0])


def test_sgb_file_level_errors(tmp_path):
    paths = write_sgb(tmp_path, {"5": sgb_prediction(2)})
    with pytest.raises(SceneGraphFormatError, match="image index 5 out of"):
        read_sgb_output(*paths)
    paths = write_sgb(tmp_path, {"0": sgb_prediction(2),
                                 "1": sgb_prediction(2)},
                      files=["x/a.jpg", "y/a.jpg"])
    with pytest.raises(SceneGraphFormatError, match="second graph"):
        read_sgb_output(*paths)
    paths = write_sgb(tmp_path, {"0": sgb_prediction(2)})
    paths[1].write_text(json.dumps({"idx_to_files": ["a.jpg"]}))
    with pytest.raises(SceneGraphFormatError) as error:
        read_sgb_output(*paths)
    assert error.value.field == "ind_to_classes"


def test_sgb_feature_errors(tmp_path):
    paths = write_sgb(tmp_path, {"0": sgb_prediction(3)})
    with pytest.raises(SceneGraphFormatError, match=r"\[3, F\]"):
        read_sgb_output(*paths, features={0: np.zeros((2, 4))})
    with pytest.raises(SceneGraphFormatError, match="holds 0 images"):
        read_sgb_output(*paths, features=[])
    with pytest.raises(ValueError, match="suffix"):
        read_sgb_output(*paths, features=tmp_path / "features.h5")


def test_scene_graphs_are_joined_to_samples_by_image_name():
    own = SceneGraph([SceneObject("ball", 0.5, [0, 0, 1, 1])], [])
    mapped = SceneGraph([SceneObject("man", 0.9, [0, 0, 2, 2])], [])
    samples = [Sample(["a"], "photos/x.jpg"), Sample(["b"], "y.jpg",
                                                     scene_graph=own),
               Sample(["c"], None, scene_graph=own)]
    joined = attach_scene_graphs(samples, {"x.jpg": mapped, "y.jpg": mapped})
    assert [s.scene_graph for s in joined] == [mapped, mapped, own]
    assert samples[0].scene_graph is None and samples[1].scene_graph is own
    assert joined[2] is samples[2]  # nothing to join: the sample itself
    assert attach_scene_graphs(samples, None) == samples


def test_json_lines_form_reads_the_graphs_of_the_one_object_form(tmp_path):
    graphs = {"a.jpg": make_graph(3), "b.png": SceneGraph()}
    write_scene_graphs(tmp_path / "one.json", graphs)
    lines = [scene_graph_line(name, graph) for name, graph in graphs.items()]
    (tmp_path / "lines.jsonl").write_text("\n".join(lines) + "\n\n")
    assert read_scene_graphs(tmp_path / "lines.jsonl") == graphs
    assert "".join(scene_graph_object_pieces(lines)) == (
        tmp_path / "one.json").read_text()
    assert "".join(scene_graph_object_pieces([])) == "{}"
    # One image named "image" in the one-object form is not a line.
    write_scene_graphs(tmp_path / "image.json", {"image": make_graph(1)})
    assert read_scene_graphs(tmp_path / "image.json") == {
        "image": make_graph(1)}


@pytest.mark.parametrize("second, message", [
    ('{"image": "c.jpg", "objects": [{"label": "x"}]}',
     ":2: field 'objects[0].score': missing"),
    ('{"image": "a.jpg"}', ":2: field 'image': a second graph"),
    ('{"objects": []}', ":2: expected an object with a string 'image'"),
    ("{oops", ":2: invalid JSON"),
])
def test_malformed_json_lines_name_the_line(tmp_path, second, message):
    path = tmp_path / "lines.jsonl"
    path.write_text(scene_graph_line("a.jpg", make_graph(2)) + "\n" + second)
    with pytest.raises(SceneGraphFormatError, match=re.escape(message)):
        read_scene_graphs(path)
