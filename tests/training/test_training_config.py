"""TrainingConfig holds a typed EEGAConfig; configs derive with replace() and
EEGAConfig files carry a format version."""
import json

import pytest

from jmere_pyg import EEGAConfig
from jmere_pyg.training import TrainingConfig


def test_model_settings_are_a_typed_config(tmp_path):
    path = tmp_path / "experiment.json"
    path.write_text(json.dumps({"epochs": 3, "model": {"heads": 2,
                                                       "use_image": False}}))
    config = TrainingConfig.from_file(path)
    assert isinstance(config.model, EEGAConfig)
    assert (config.model.heads, config.model.use_image) == (2, False)
    assert config.to_dict()["model"]["heads"] == 2
    assert TrainingConfig.from_dict(config.to_dict()) == config


def test_replace_checks_names_and_types():
    config = TrainingConfig()
    changed = config.replace(epochs=4, model=config.model.replace(heads=8))
    assert (changed.epochs, changed.model.heads) == (4, 8)
    assert (config.epochs, config.model.heads) == (20, 4)  # unchanged
    with pytest.raises(ValueError, match="unknown EEGAConfig fields"):
        config.model.replace(head=8)
    with pytest.raises(ValueError, match=r"EEGAConfig\.heads: expected int"):
        config.model.replace(heads="8")


def test_saved_config_has_a_format_version(tmp_path):
    path = tmp_path / "config.json"
    EEGAConfig(heads=2).save(path)
    state = json.loads(path.read_text())
    assert state["format_version"] == 1
    assert EEGAConfig.load(path) == EEGAConfig(heads=2)
    del state["kind"], state["format_version"]  # written before versions
    path.write_text(json.dumps(state))
    assert EEGAConfig.load(path) == EEGAConfig(heads=2)
    state["format_version"] = 2
    path.write_text(json.dumps(state))
    with pytest.raises(ValueError, match="config.json: jmere_pyg EEGA config "
                                         "format version 2 was written by a "
                                         "newer jmere_pyg"):
        EEGAConfig.load(path)
