"""Values that would give silently wrong answers are rejected naming the
field: impossible boxes and scores in both scene-graph readers, training
settings out of range."""
import json

import pytest

from jmere_pyg.data import (SceneGraphFormatError, read_scene_graphs,
                            read_sgb_output)
from jmere_pyg.training import TrainingConfig

OBJECT = {"label": "man", "score": 0.9, "box": [0, 0, 10, 20]}


@pytest.mark.parametrize("change, field, detail", [
    ({"box": [-1, 0, 10, 20]}, "objects[0].box", "must be >= 0"),
    ({"box": [10, 0, 5, 20]}, "objects[0].box", "x1 <= x2"),
    ({"box": [0, 30, 10, 20]}, "objects[0].box", "y1 <= y2"),
    ({"score": 1.5}, "objects[0].score", r"in \[0, 1\]"),
    ({"score": -0.1}, "objects[0].score", r"in \[0, 1\]"),
])
def test_our_scene_graphs_reject_impossible_boxes_and_scores(
        tmp_path, change, field, detail):
    path = tmp_path / "graphs.json"
    path.write_text(json.dumps({"a.jpg": {"objects": [dict(OBJECT,
                                                           **change)]}}))
    with pytest.raises(SceneGraphFormatError, match=detail) as error:
        read_scene_graphs(path)
    assert error.value.field == f'["a.jpg"].{field}'
    assert str(path) in str(error.value)


def test_relation_scores_lie_in_zero_one(tmp_path):
    path = tmp_path / "graphs.json"
    path.write_text(json.dumps({"a.jpg": {
        "objects": [OBJECT, OBJECT],
        "relations": [{"subject": 0, "predicate": "near", "object": 1,
                       "score": 2.0}]}}))
    with pytest.raises(SceneGraphFormatError, match=r"\[0, 1\]") as error:
        read_scene_graphs(path)
    assert error.value.field == '["a.jpg"].relations[0].score'


@pytest.mark.parametrize("key, value, field", [
    ("bbox", [[-5, 0, 5, 5]], "bbox[0]"),
    ("bbox", [[5, 0, 1, 5]], "bbox[0]"),
    ("bbox_scores", [1.2], "bbox_scores[0]"),
    ("rel_scores", [-0.5], "rel_scores[0]"),
])
def test_sgb_output_rejects_impossible_boxes_and_scores(tmp_path, key,
                                                         value, field):
    prediction = {"bbox": [[0, 0, 5, 5]], "bbox_labels": [1],
                  "bbox_scores": [0.9], "rel_pairs": [[0, 0]],
                  "rel_labels": [1], "rel_scores": [0.5], key: value}
    (tmp_path / "p.json").write_text(json.dumps({"0": prediction}))
    (tmp_path / "i.json").write_text(json.dumps({
        "idx_to_files": ["a.jpg"], "ind_to_classes": ["bg", "man"],
        "ind_to_predicates": ["bg", "near"]}))
    with pytest.raises(SceneGraphFormatError) as error:
        read_sgb_output(tmp_path / "p.json", tmp_path / "i.json")
    assert error.value.field == f'["0"].{field}'


@pytest.mark.parametrize("name, value", [
    ("lr", -1e-3), ("lr", 0.0), ("encoder_lr", -2e-5), ("epochs", 0),
    ("batch_size", 0), ("eval_batch_size", 0), ("patience", 0),
    ("max_train_samples", 0), ("max_eval_samples", 0), ("grad_clip", 0.0),
    ("lr_decay", 0.0), ("lr_decay", 1.5), ("lr", float("nan")),
    ("weight_decay", -0.1), ("num_workers", -1),
])
def test_training_settings_out_of_range(name, value):
    with pytest.raises(ValueError, match=name):
        TrainingConfig.from_dict({name: value})


def test_training_settings_at_their_limits():
    config = TrainingConfig.from_dict({
        "epochs": 1, "batch_size": 1, "patience": 1, "lr_decay": 1.0,
        "max_train_samples": 1, "max_eval_samples": 1})
    assert config.lr_decay == 1.0 and config.max_train_samples == 1
