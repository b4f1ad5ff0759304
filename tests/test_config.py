"""Typed configurations: values of the wrong type fail naming the field, in
both configs, the nested model config and experiment files."""
import json

import pytest

from jmere_pyg import EEGAConfig
from jmere_pyg.training import TrainingConfig


@pytest.mark.parametrize("values, field", [
    ({"use_image": "false"}, "EEGAConfig.use_image"),
    ({"heads": "4"}, "EEGAConfig.heads"),
    ({"heads": True}, "EEGAConfig.heads"),
    ({"heads": 4.0}, "EEGAConfig.heads"),
    ({"dropout": "0.1"}, "EEGAConfig.dropout"),
    ({"encoder": 3}, "EEGAConfig.encoder"),
])
def test_model_config_rejects_wrong_types(values, field):
    with pytest.raises(ValueError, match=field):
        EEGAConfig.from_dict(values)
    with pytest.raises(ValueError, match=field):
        EEGAConfig().replace(**values)


def test_model_config_accepts_right_types():
    config = EEGAConfig.from_dict({"use_image": False, "heads": 4,
                                   "dropout": 0, "encoder": None})
    assert config.use_image is False and config.heads == 4
    assert isinstance(config.dropout, float) and config.encoder is None


@pytest.mark.parametrize("values, field", [
    ({"epochs": "3"}, "TrainingConfig.epochs"),
    ({"lr": "fast"}, "TrainingConfig.lr"),
    ({"max_words": 1.5}, "TrainingConfig.max_words"),
    ({"model": {"use_image": "false"}}, "EEGAConfig.use_image"),
    ({"model": {"heads": "4"}}, "EEGAConfig.heads"),
    ({"model": "big"}, "EEGAConfig: expected a mapping"),
])
def test_training_config_rejects_wrong_types(values, field):
    with pytest.raises(ValueError, match=field):
        TrainingConfig.from_dict(values)


def test_nested_model_config_is_typed():
    config = TrainingConfig.from_dict({"model": {"heads": 2}, "lr": 1})
    assert isinstance(config.model, EEGAConfig) and config.model.heads == 2
    assert config.lr == 1.0 and isinstance(config.lr, float)
    assert TrainingConfig.from_dict(config.to_dict()) == config


@pytest.mark.parametrize("suffix, text", [
    (".json", json.dumps({"model": {"use_image": "false"}})),
    (".yaml", "model:\n  use_image: 'false'\n"),
])
def test_experiment_file_errors_name_the_file(tmp_path, suffix, text):
    path = tmp_path / f"experiment{suffix}"
    path.write_text(text)
    with pytest.raises(ValueError) as info:
        TrainingConfig.from_file(path)
    assert str(path) in str(info.value)
    assert "EEGAConfig.use_image" in str(info.value)


@pytest.mark.parametrize("suffix, text, message", [
    (".json", '{"epochs": 3,', "invalid JSON at line 1"),
    (".json", '{"model":\n' + "[" * 100_000 + "]" * 100_000 + "}",
     "nested 100,001 levels deep at line 2"),
    (".yaml", "model: [1, 2\n", "invalid YAML"),
    (".yaml", "model: " + "[" * 100_000 + "]" * 100_000, "YAML nested"),
])
def test_broken_experiment_files_name_the_file(tmp_path, suffix, text,
                                               message):
    path = tmp_path / f"experiment{suffix}"
    path.write_text(text)
    with pytest.raises(ValueError, match=message) as info:
        TrainingConfig.from_file(path)
    assert str(path) in str(info.value)


def test_saved_model_config_errors_name_the_file(tmp_path):
    path = tmp_path / "config.json"
    EEGAConfig().save(path)
    state = json.loads(path.read_text())
    state["heads"] = "4"
    path.write_text(json.dumps(state))
    with pytest.raises(ValueError, match="EEGAConfig.heads") as info:
        EEGAConfig.load(path)
    assert str(path) in str(info.value)
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ValueError, match="nested") as info:
        EEGAConfig.load(path)
    assert str(path) in str(info.value)
