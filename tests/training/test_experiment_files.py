"""Experiment files as data: one file extends another, paths are relative to
the file, and the seven experiments of experiments/ give exactly the
settings they gave before they were rewritten as extensions."""
import json
import os
from pathlib import Path

import pytest

from jmere_pyg.cli import main
from jmere_pyg.training import TrainingConfig
from jmere_pyg.training.experiment_files import read_experiment

ROOT = Path(__file__).resolve().parents[2]

_MAIN = {"data_root": "data/jmere", "mnre_dir": "../shared/data/mnre",
         "epochs": 30, "batch_size": 16, "lr": 0.001, "patience": 5,
         "lr_schedule": "plateau", "bucket_by_length": True, "seed": 42}
#: What each file of experiments/ read as at 7fb4bf2, before the files
#: extended each other (paths relative to the repository's root, where the
#: README runs them).
BEFORE = {
    "eega_minilm.json": {
        **_MAIN, "run_dir": "runs/eega_minilm", "encoder_lr": 5e-05,
        "ema_decay": 0.998, "model": {}},
    "eega_minilm_student.json": {
        **_MAIN, "run_dir": "runs/eega_minilm_student", "encoder_lr": 5e-05,
        "ema_decay": 0.998,
        "teacher_targets": "benchmarks/targets/minilm_four_top4.pt",
        "distill_weight": 0.5, "model": {}},
    "eega_mpnet.json": {
        **_MAIN, "run_dir": "runs/eega_mpnet", "encoder_lr": 2e-05,
        "model": {"encoder": "all-mpnet-base-v2"}},
    "eega_mpnet_distil.json": {
        **_MAIN, "run_dir": "runs/eega_mpnet_distil", "encoder_lr": 2e-05,
        "teachers": ["runs/eega_mpnet/best", "runs/eega_mpnet_seed43/best",
                     "runs/eega_mpnet_seed44/best"],
        "distill_weight": 0.5, "model": {"encoder": "all-mpnet-base-v2"}},
    "eega_mpnet_ema.json": {
        **_MAIN, "run_dir": "runs/eega_mpnet_ema", "encoder_lr": 2e-05,
        "ema_decay": 0.998, "model": {"encoder": "all-mpnet-base-v2"}},
    "eega_mpnet_student.json": {
        **_MAIN, "run_dir": "runs/eega_mpnet_student", "encoder_lr": 2e-05,
        "teacher_targets": "benchmarks/targets/minilm_four_top4.pt",
        "distill_weight": 0.5, "model": {"encoder": "all-mpnet-base-v2"}},
    "eega_mpnet_student_bf16.json": {
        **_MAIN, "run_dir": "runs/eega_mpnet_student_bf16",
        "encoder_lr": 2e-05,
        "teacher_targets": "benchmarks/targets/minilm_four_top4.pt",
        "distill_weight": 0.5, "mixed_precision": "bf16",
        "model": {"encoder": "all-mpnet-base-v2"}},
}


def write(path: Path, values: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(values))
    return path


def test_every_experiment_file_is_listed():
    assert sorted(p.name for p in (ROOT / "experiments").glob("*.json")) == \
        sorted(BEFORE)


@pytest.mark.parametrize("name", sorted(BEFORE))
def test_experiment_files_give_the_settings_they_gave_before(name,
                                                             monkeypatch):
    monkeypatch.chdir(ROOT)  # where the README runs them
    config = TrainingConfig.from_file(f"experiments/{name}")
    assert config.to_dict() == TrainingConfig.from_dict(BEFORE[name]).to_dict()


def test_the_main_job_reads_the_same_folders_from_anywhere(tmp_path,
                                                           monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = TrainingConfig.from_file(ROOT / "experiments"
                                      / "eega_minilm.json")
    assert Path(config.data_root) == ROOT / "data" / "jmere"
    assert Path(config.mnre_dir) == ROOT.parent / "shared" / "data" / "mnre"
    assert Path(config.run_dir) == ROOT / "runs" / "eega_minilm"


def test_a_file_extends_another_and_merges_the_model_settings(tmp_path):
    write(tmp_path / "base.json", {"epochs": 30, "lr": 0.01, "ema_decay": 0.9,
                                   "model": {"heads": 2, "dropout": 0.3}})
    write(tmp_path / "middle.json", {"extends": "base.json", "epochs": 5})
    leaf = write(tmp_path / "variants" / "leaf.json", {
        "extends": "../middle.json", "ema_decay": None,
        "model": {"heads": 8}})
    config = TrainingConfig.from_file(leaf)
    assert (config.epochs, config.lr, config.ema_decay) == (5, 0.01, None)
    assert (config.model.heads, config.model.dropout) == (8, 0.3)
    _, files = read_experiment(leaf)
    assert [f.name for f in files] == ["leaf.json", "middle.json",
                                       "base.json"]


def test_a_cycle_or_a_missing_parent_is_an_error_naming_the_file(tmp_path):
    a = write(tmp_path / "a.json", {"extends": "b.json"})
    write(tmp_path / "b.json", {"extends": "a.json"})
    with pytest.raises(ValueError, match="a.json: the files it extends make a "
                                         "cycle .*a.json -> .*b.json -> "
                                         ".*a.json"):
        TrainingConfig.from_file(a)
    itself = write(tmp_path / "self.json", {"extends": "self.json"})
    with pytest.raises(ValueError, match="self.json: the files it extends"):
        TrainingConfig.from_file(itself)
    orphan = write(tmp_path / "orphan.json", {"extends": "gone.json"})
    with pytest.raises(FileNotFoundError, match="orphan.json: extends "
                                                "'gone.json', but .*gone.json "
                                                "does not exist"):
        TrainingConfig.from_file(orphan)
    with pytest.raises(ValueError, match=r"bad.json: extends names one "
                                         r"experiment file, got \['a.json'\]"):
        TrainingConfig.from_file(write(tmp_path / "bad.json",
                                       {"extends": ["a.json"]}))


def test_a_bad_setting_names_the_file_and_those_it_extends(tmp_path):
    write(tmp_path / "base.json", {"epochs": "30"})
    leaf = write(tmp_path / "leaf.json", {"extends": "base.json"})
    with pytest.raises(ValueError, match=r"leaf.json \(extending .*base.json\)"
                                         r": TrainingConfig.epochs: expected "
                                         r"int"):
        TrainingConfig.from_file(leaf)


def test_paths_are_relative_to_the_file_not_the_working_directory(
        tmp_path, monkeypatch):
    (tmp_path / "detectors" / "detr").mkdir(parents=True)
    experiment = write(tmp_path / "experiments" / "x.json", {
        "data_root": "../data", "mnre_dir": "../mnre", "run_dir": "../runs/x",
        "images": "../images", "teacher_targets": "../targets.pt",
        "detector": "../detectors/detr", "model": {"encoder": "bert-base"}})
    student = write(tmp_path / "experiments" / "student.json", {
        "teachers": ["../runs/a/best", "org/teacher", "/abs/teacher"]})
    monkeypatch.chdir(tmp_path / "detectors")
    config = TrainingConfig.from_file(experiment)
    for name, where in (("data_root", "data"), ("mnre_dir", "mnre"),
                        ("run_dir", "runs/x"), ("images", "images"),
                        ("teacher_targets", "targets.pt"),
                        ("detector", "detectors/detr")):
        assert Path(getattr(config, name)) == tmp_path / where, name
    assert config.model.encoder == "bert-base"  # a Hugging Face name
    assert TrainingConfig.from_file(student).teachers == [
        str(tmp_path / "runs" / "a" / "best"), "org/teacher", "/abs/teacher"]
    # Run from the file's folder, the paths are as short as written.
    monkeypatch.chdir(tmp_path)
    relative = TrainingConfig.from_file(os.path.join("experiments", "x.json"))
    assert (relative.data_root, relative.run_dir) == ("data", "runs/x")


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_train_reads_an_experiments_mnre_folder_from_anywhere(tmp_path,
                                                              monkeypatch,
                                                              capsys):
    # The folder named in the file, beside it, holds no MNRE file: the error
    # names it (resolved against the file) and only the files training reads.
    (tmp_path / "mnre").mkdir()
    experiment = write(tmp_path / "experiments" / "x.json", {
        "data_root": "../data", "mnre_dir": "../mnre", "run_dir": "../run"})
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    code, _, err = run(capsys, "train", "--config", experiment)
    assert code == 1 and len(err.splitlines()) == 1
    assert f"{tmp_path / 'mnre'}" in err and "elsewhere" not in err
    assert "mnre_train.txt" in err and "mnre_val.txt" in err
    assert "mnre_test.txt" not in err
    assert not (tmp_path / "run").exists()
