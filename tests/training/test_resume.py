"""An interrupted and resumed run equals a run that was never interrupted,
and a run folder is never replaced or rewritten by mistake."""
import json

import pytest
import torch

from jmere_pyg.training import TrainingConfig, train
from jmere_pyg.training import trainer as trainer_module

from test_trainer import data_root, settings  # noqa: F401 (a fixture)


def interrupt_in_epoch(monkeypatch, epoch: int, after_batches: int):
    """Make epoch ``epoch`` raise KeyboardInterrupt (as Ctrl-C would) after
    ``after_batches`` optimisation steps."""
    original = trainer_module.train_one_epoch

    def stop_after(loader):
        for done, batch in enumerate(loader):
            if done == after_batches:
                raise KeyboardInterrupt
            yield batch

    def patched(wrapped, model, loader, optimizer, step_scheduler, config,
                this_epoch, *args):
        if this_epoch == epoch:
            loader = stop_after(loader)
        return original(wrapped, model, loader, optimizer, step_scheduler,
                        config, this_epoch, *args)
    monkeypatch.setattr(trainer_module, "train_one_epoch", patched)


def saved_weights(run_dir):
    """The weights in the run's last state, and their average if any."""
    saved = torch.load(run_dir / "last_state.pt", weights_only=True)
    return {**saved["model"], **{f"averaged.{name}": value for name, value
                                 in saved.get("averaged", {}).items()}}


@pytest.fixture
def one_thread():
    """Bitwise reproducible CPU sums: with several threads, scatter sums
    (PyG's softmax and aggregation) may add in another order from run to
    run, and Adam turns those 1e-9 differences in a parameter whose
    gradient is zero in exact arithmetic (an attention key bias) into
    1e-5."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("ema_decay", [None, 0.9])
def test_interrupted_then_resumed_run_equals_uninterrupted(
        data_root, tmp_path, tiny_encoder_path, monkeypatch, one_thread,
        ema_decay):
    # Dropout on: the random generators must be restored too.
    def config(run_dir):
        values = settings(data_root, run_dir, tiny_encoder_path, epochs=3,
                          batch_size=2, patience=10,
                          ema_decay=ema_decay).to_dict()
        values["model"]["dropout"] = 0.1
        return TrainingConfig.from_dict(values)

    straight = train(config(tmp_path / "straight"), progress=False)

    with monkeypatch.context() as patch:
        interrupt_in_epoch(patch, epoch=2, after_batches=2)
        with pytest.raises(KeyboardInterrupt):
            train(config(tmp_path / "resumed"), progress=False)
    saved = torch.load(tmp_path / "resumed" / "last_state.pt",
                       weights_only=True)
    assert saved["state"]["epoch"] == 1  # the last finished epoch
    resumed = train(config(tmp_path / "resumed"), resume=True,
                    progress=False)

    def losses(history):
        return [value for r in history
                for value in (r["epoch"], r["loss"], r["main_loss"])]
    assert len(straight.history) == 3
    assert losses(resumed.history) == pytest.approx(losses(straight.history),
                                                    abs=1e-6)
    log = [json.loads(line) for line in
           (tmp_path / "resumed" / "log.jsonl").read_text().splitlines()]
    assert losses(log) == losses(resumed.history)
    expected = saved_weights(tmp_path / "straight")
    got = saved_weights(tmp_path / "resumed")
    assert expected.keys() == got.keys()
    for name in expected:
        torch.testing.assert_close(got[name], expected[name], rtol=0,
                                   atol=1e-6, msg=name)


def test_used_run_folder_needs_resume_or_overwrite(data_root, tmp_path,
                                                   tiny_encoder_path):
    run_dir = tmp_path / "run"
    train(settings(data_root, run_dir, tiny_encoder_path, epochs=1),
          progress=False)
    log = (run_dir / "log.jsonl").read_text()
    best = (run_dir / "best" / "model.safetensors").read_bytes()
    with pytest.raises(FileExistsError, match="overwrite=True"):
        train(settings(data_root, run_dir, tiny_encoder_path, epochs=1),
              progress=False)
    assert (run_dir / "log.jsonl").read_text() == log
    assert (run_dir / "best" / "model.safetensors").read_bytes() == best
    with pytest.raises(ValueError, match="not both"):
        train(settings(data_root, run_dir, tiny_encoder_path), resume=True,
              overwrite=True, progress=False)
    replaced = train(settings(data_root, run_dir, tiny_encoder_path,
                              epochs=1, seed=8), overwrite=True,
                     progress=False)
    assert [r["epoch"] for r in replaced.history] == [1]
    assert len((run_dir / "log.jsonl").read_text().splitlines()) == 1
    assert not list(run_dir.glob("*.tmp")) + list(run_dir.glob(".*.tmp"))


def test_resume_with_other_model_settings_writes_nothing(
        data_root, tmp_path, tiny_encoder_path):
    run_dir = tmp_path / "run"
    train(settings(data_root, run_dir, tiny_encoder_path, epochs=1),
          progress=False)
    before = {path.name: path.read_bytes() for path in run_dir.iterdir()
              if path.is_file()}
    changed = settings(data_root, run_dir, tiny_encoder_path, epochs=2)
    changed = changed.replace(model=changed.model.replace(heads=4,
                                                          edge_dim=16))
    with pytest.raises(ValueError, match=r"heads: 2 -> 4.*edge_dim: 8 -> 16"
                                         r"|edge_dim: 8 -> 16.*heads: 2 -> 4"):
        train(changed, resume=True, progress=False)
    after = {path.name: path.read_bytes() for path in run_dir.iterdir()
             if path.is_file()}
    assert after == before
