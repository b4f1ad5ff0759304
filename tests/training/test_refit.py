"""The refit on train + val: epochs and learning rates of the run, every
post trained on, no val figure, clear refusals."""
import json

import pytest
import torch

from jmere_pyg import EEGA
from jmere_pyg.cli import main
from jmere_pyg.data import write_jsonl
from jmere_pyg.nn import word_pair_loss
from jmere_pyg.training import refit, refit_schedule, train
from jmere_pyg.training.distillation import distillation_loss
from jmere_pyg.training.refit import REFIT_RECORD, gold_targets

from test_trainer import corpus, settings


@pytest.fixture
def data_root(tmp_path):
    raw = tmp_path / "data" / "raw"
    raw.mkdir(parents=True)
    write_jsonl(corpus(2), raw / "train.jsonl")
    write_jsonl(corpus(1)[:3], raw / "val.jsonl")
    return tmp_path / "data"


def finished_run(data_root, run_dir, encoder, **overrides):
    config = settings(data_root, run_dir, encoder, epochs=3, patience=10,
                      **overrides)
    train(config, progress=False)
    return config


def rewrite_log(run_dir, change):
    path = run_dir / "log.jsonl"
    records = [json.loads(line) for line in path.read_text().splitlines()]
    for record in records:
        change(record)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def test_refit_trains_every_post_for_the_best_epochs_at_the_runs_rates(
        data_root, tmp_path, tiny_encoder_path):
    run_dir = tmp_path / "run"
    config = finished_run(data_root, run_dir, tiny_encoder_path)
    # A run whose plateau schedule halved the rates after its first epoch
    # and whose best epoch is the second.
    rewrite_log(run_dir, lambda r: r.update(
        lr=[rate / 2 ** min(r["epoch"], 2) for rate in (2e-5, 1e-3)]))
    metrics = json.loads((run_dir / "metrics.json").read_text())
    (run_dir / "metrics.json").write_text(json.dumps({**metrics,
                                                      "best_epoch": 2}))
    schedule = refit_schedule(run_dir)
    assert schedule == [[1e-5, 5e-4], [5e-6, 2.5e-4]]

    folder = refit(config, schedule=schedule, progress=False)
    assert folder == run_dir / "refit"
    record = json.loads((folder / REFIT_RECORD).read_text())
    assert record["splits"] == ["train", "val"]
    assert (record["epochs"], record["train_posts"],
            record["val_posts"]) == (2, 8, 3)
    assert [r["lr"] for r in record["log"]] == schedule
    # A model like best/, and no val figure beside it: it trained on val.
    model = EEGA.from_pretrained(folder)
    assert model.config == EEGA.from_pretrained(run_dir / "best").config
    card = (folder / "README.md").read_text()
    assert "| strict |" not in card and "Validation metrics" not in card
    assert "| refit_epochs | `2` |" in card
    assert "| refit_posts | `11` |" in card
    with pytest.raises(FileExistsError, match="holds a refit"):
        refit(config, schedule=schedule, progress=False)


def test_refit_of_the_same_run_is_the_same_model(data_root, tmp_path,
                                                 tiny_encoder_path):
    """Seeded: two refits of a run give the same weights; the weight
    average is what is saved."""
    run_dir = tmp_path / "run"
    config = finished_run(data_root, run_dir, tiny_encoder_path,
                          ema_decay=0.9)
    schedule = refit_schedule(run_dir)
    first = EEGA.from_pretrained(refit(config, schedule=schedule,
                                       progress=False))
    second = EEGA.from_pretrained(refit(config, schedule=schedule,
                                        overwrite=True, progress=False))
    for (name, a), (_, b) in zip(first.state_dict().items(),
                                 second.state_dict().items()):
        torch.testing.assert_close(a, b, msg=name)


def test_val_posts_learn_their_gold_tags_when_the_run_distils(
        data_root, tmp_path, tiny_encoder_path):
    """The teachers' targets cover train: a val post's soft targets are
    its gold tags, so both terms of its loss are the gold cross-entropy."""
    from jmere_pyg.datasets import JMEREDataset
    from jmere_pyg.graphs import PAIR

    finished_run(data_root, tmp_path / "teacher", tiny_encoder_path)
    graph = JMEREDataset(str(data_root), split="val", max_words=128)[0]
    targets = gold_targets(graph)
    assert targets.dtype == torch.float16
    logits = torch.randn(graph[PAIR].num_edges, targets.size(1))
    torch.testing.assert_close(distillation_loss(logits, targets),
                               word_pair_loss(logits, graph[PAIR].edge_label))

    student = finished_run(data_root, tmp_path / "student", tiny_encoder_path,
                           teachers=[str(tmp_path / "teacher" / "best")])
    folder = refit(student, schedule=refit_schedule(student.run_dir),
                   progress=False)
    assert json.loads((folder / REFIT_RECORD).read_text())["val_posts"] == 3


def test_refit_refuses_an_unfinished_run_naming_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="metrics.json does not exist"):
        refit_schedule(tmp_path)
    (tmp_path / "metrics.json").write_text(json.dumps({"best_epoch": 2}))
    (tmp_path / "log.jsonl").write_text(json.dumps(
        {"epoch": 1, "lr": [1e-5, 1e-3]}) + "\n")
    with pytest.raises(ValueError, match="no line for epoch 2"):
        refit_schedule(tmp_path)
    (tmp_path / "log.jsonl").write_text(json.dumps({"epoch": 1}) + "\n")
    with pytest.raises(ValueError, match="line 1: field 'lr'"):
        refit_schedule(tmp_path)


def test_command_line_refits_after_training_and_on_its_own(
        data_root, tmp_path, tiny_encoder_path, capsys,
        builtin_training_defaults):
    run_dir = tmp_path / "run"
    flags = ["--data-root", str(data_root), "--run-dir", str(run_dir),
             "--epochs", "2", "--batch-size", "4", "--seed", "7", "--device",
             "cpu", "--encoder", tiny_encoder_path, "--set", "heads=2",
             "--set", "edge_dim=8", "--set", "channel_dim=8", "--show", "0"]
    assert main(["train", *flags, "--refit"]) == 0
    assert '"refit": ' in capsys.readouterr().out
    best_epoch = json.loads((run_dir / "metrics.json").read_text())[
        "best_epoch"]
    record = json.loads((run_dir / "refit" / REFIT_RECORD).read_text())
    assert record["epochs"] == best_epoch
    # Again on its own: an existing refit needs --overwrite.
    assert main(["refit", str(run_dir)]) == 1
    assert "--overwrite" in capsys.readouterr().err
    assert main(["refit", str(run_dir), "--overwrite"]) == 0
    # Training over the run removes its refit with the rest.
    assert main(["train", *flags, "--epochs", "1", "--overwrite"]) == 0
    assert not (run_dir / "refit").exists()
    # Not a run folder: one line naming the file.
    assert main(["refit", str(tmp_path / "nothing")]) == 1
    error = capsys.readouterr().err
    assert "training_config.json does not exist" in error
    assert "Traceback" not in error


def test_refit_names_the_line_of_a_damaged_log(tmp_path):
    (tmp_path / "metrics.json").write_text(json.dumps({"best_epoch": 1}))
    (tmp_path / "log.jsonl").write_text('{"epoch": 1, "lr": [1e-5, 1e-3]\n')
    with pytest.raises(ValueError, match=r"log.jsonl, line 1: not JSON"):
        refit_schedule(tmp_path)
    (tmp_path / "metrics.json").write_text("[2]")
    with pytest.raises(ValueError, match="metrics.json: not a JSON object"):
        refit_schedule(tmp_path)


def test_refit_of_a_bf16_run_on_a_cpu_without_it_trains_in_float32(
        data_root, tmp_path, tiny_encoder_path, monkeypatch, capsys):
    from jmere_pyg.training import precision
    monkeypatch.setattr(precision, "has_native_bf16", lambda device: False)
    run_dir = tmp_path / "run"
    config = finished_run(data_root, run_dir, tiny_encoder_path,
                          mixed_precision="bf16")
    capsys.readouterr()
    folder = refit(config, schedule=refit_schedule(run_dir), progress=True)
    assert "training in float32" in capsys.readouterr().out
    card = (folder / "README.md").read_text()
    assert "| mixed_precision | `no` |" in card
