"""``jmere-pyg train`` without ``--config``: the best configuration on a GPU
with bfloat16, the main job's elsewhere, and a line saying which."""
import pytest
import torch

from jmere_pyg.cli import main
from jmere_pyg.training import TrainingConfig
from jmere_pyg.training.defaults import (BEST, EXPERIMENTS, MAIN_JOB,
                                         default_experiment)


def gpu(monkeypatch, present: bool, bf16: bool = True):
    """A GPU with native bfloat16 (``bf16``) or one that only emulates it,
    which torch counts as bfloat16 unless told not to."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: present)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported",
                        lambda including_emulation=True:
                        bf16 or including_emulation)


@pytest.mark.parametrize("present, bf16, device, expected", [
    (False, False, "auto", MAIN_JOB),
    (True, True, "auto", BEST),
    (True, True, "cuda", BEST),
    (True, True, "cpu", MAIN_JOB),  # the device asked for, not the machine
    (True, False, "auto", MAIN_JOB),
])
def test_the_experiment_follows_the_device(monkeypatch, present, bf16, device,
                                           expected):
    gpu(monkeypatch, present, bf16)
    picked = default_experiment(device)
    assert picked.path == EXPERIMENTS / expected
    assert str(picked.path) in picked.reason
    assert picked.reason.startswith(
        "no --config: training the best configuration" if expected == BEST
        else "no --config: training the main job")


def test_both_experiments_are_valid_settings():
    main_job = TrainingConfig.from_file(EXPERIMENTS / MAIN_JOB)
    best = TrainingConfig.from_file(EXPERIMENTS / BEST)
    assert main_job.model.encoder != best.model.encoder
    assert best.mixed_precision == "bf16" and best.teacher_targets


def test_without_the_source_tree_the_builtin_defaults(tmp_path, monkeypatch):
    gpu(monkeypatch, False)
    picked = default_experiment("auto", experiments=tmp_path)
    assert picked.path is None and "built-in defaults" in picked.reason


def test_train_says_which_it_picked(tmp_path, monkeypatch, capsys):
    import jmere_pyg.training

    gpu(monkeypatch, False)
    seen = {}

    def stop(config, **kwargs):
        seen["config"] = config
        raise SystemExit(0)

    monkeypatch.setattr(jmere_pyg.training, "train", stop)
    with pytest.raises(SystemExit):
        main(["train", "--run-dir", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert err.startswith("jmere-pyg train: no --config: training the main "
                          "job (MiniLM-L6): no GPU is used") and MAIN_JOB in err
    assert seen["config"] == TrainingConfig.from_file(
        EXPERIMENTS / MAIN_JOB).replace(run_dir=str(tmp_path / "run"))

    with pytest.raises(SystemExit):
        main(["train", "--config", str(EXPERIMENTS / MAIN_JOB)])
    assert "no --config" not in capsys.readouterr().err
