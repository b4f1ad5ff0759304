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


@pytest.mark.parametrize("values, message", [
    ({"heads": 0}, r"EEGAConfig.heads must lie in \[1, 65536\], got 0"),
    ({"heads": -4}, r"EEGAConfig.heads must lie in \[1, 65536\], got -4"),
    ({"channel_dim": 10 ** 9}, r"EEGAConfig.channel_dim must lie in "
     r"\[1, 65536\], got 1000000000"),
    ({"edge_dim": 0}, r"EEGAConfig.edge_dim must lie in \[1, 65536\]"),
    ({"max_subwords": 10 ** 400}, r"EEGAConfig.max_subwords must lie in"),
    ({"dropout": 1.0}, r"EEGAConfig.dropout must lie in \[0, 1\)"),
    ({"dropout": float("nan")}, r"EEGAConfig.dropout must lie in"),
    ({"graph_loss_weight": float("inf")},
     r"EEGAConfig.graph_loss_weight must be >= 0"),
    ({"ot_reg": 0}, r"EEGAConfig.ot_reg must be > 0"),
    ({"gw_inner_iterations": 10 ** 6},
     r"EEGAConfig.gw_inner_iterations must lie in \[1, 10000\]"),
    ({"num_object_classes": 0}, r"EEGAConfig.num_object_classes must lie "
     r"in \[1, 1000000\]"),
    ({"pair_bilinear_dim": 0}, r"EEGAConfig.pair_bilinear_dim must lie in"),
    ({"heads": 3}, r"object_dim \(256\) must be divisible by heads \(3\)"),
])
def test_model_config_rejects_senseless_values(values, message):
    """Values of the right type outside their range fail when the config is
    made, naming the field and the range (``heads=0`` was a
    ZeroDivisionError, ``channel_dim=1e9`` tried to allocate 72 GB)."""
    with pytest.raises(ValueError, match=message):
        EEGAConfig.from_dict(values)
    with pytest.raises(ValueError, match=message):
        EEGAConfig().replace(**values)


def test_model_config_range_limits_are_allowed():
    config = EEGAConfig(heads=1, channel_dim=65536, dropout=0.0, alpha=1.0,
                        pair_hidden_dim=None, object_feature_dim=0)
    assert config.channel_dim == 65536
    assert EEGAConfig(heads=8, use_image=False, object_dim=100).heads == 8


@pytest.mark.parametrize("values, message", [
    ({"lr": float("inf")}, "TrainingConfig.lr must be > 0"),
    ({"lr": 0}, "TrainingConfig.lr must be > 0"),
    ({"epochs": 0}, "TrainingConfig.epochs must be >= 1"),
    ({"max_words": 0}, "TrainingConfig.max_words must be >= 1"),
    ({"seed": -1}, r"TrainingConfig.seed must lie in \[0, 4294967295\]"),
    ({"warmup_ratio": 1}, r"TrainingConfig.warmup_ratio must lie in "
     r"\[0, 1\)"),
    ({"ema_decay": 1}, r"TrainingConfig.ema_decay must lie in \(0, 1\)"),
    ({"distill_weight": -0.5}, r"TrainingConfig.distill_weight must lie in "
     r"\[0, 1\]"),
    ({"lr_decay": 0}, r"TrainingConfig.lr_decay must lie in \(0, 1\]"),
    ({"num_workers": -1}, "TrainingConfig.num_workers must be >= 0"),
])
def test_training_config_rejects_senseless_values(values, message):
    with pytest.raises(ValueError, match=message):
        TrainingConfig.from_dict(values)
