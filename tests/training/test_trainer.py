"""Training runs end to end on a tiny corpus: run folder, resume, DDP."""
import json
import os
import subprocess
import sys

import pytest
import torch

from jmere_pyg import EEGA
from jmere_pyg.data import Entity, Quintuple, Sample, write_jsonl
from jmere_pyg.datasets import JMEREDataset
from jmere_pyg.graphs import PAIR, GraphBuilder
from jmere_pyg.inference import Predictor
from jmere_pyg.training import TrainingConfig, train
from jmere_pyg.training.distillation import (load_teacher_targets,
                                             teacher_probabilities)

WORDS = [
    ["Curry", "and", "Thompson", "won", "the", "NBA", "trophy"],
    ["RT", "@nba", ":", "Thompson", "joins", "the", "Warriors", "today"],
    ["Happy", "birthday", "to", "Curry", "from", "New", "York", "!"],
    ["The", "team", "won", "in", "Boston", "with", "Tatum"],
]


def corpus(copies: int):
    per, org, loc = (lambda s, e, t=t: Entity(s, e, t)
                     for t in ("per", "org", "loc"))
    gold = [[Quintuple(per(0, 1), per(2, 3), "peer"),
             Quintuple(per(2, 3), org(5, 6), "member_of")],
            [Quintuple(per(3, 4), org(6, 7), "member_of")],
            [Quintuple(per(3, 4), loc(5, 7), "place_of_residence")],
            [Quintuple(per(6, 7), loc(4, 5), "place_of_residence")]]
    return [Sample(list(words), f"{i}.jpg", list(quintuples))
            for _ in range(copies)
            for i, (words, quintuples) in enumerate(zip(WORDS, gold))]


@pytest.fixture
def data_root(tmp_path):
    raw = tmp_path / "data" / "raw"
    raw.mkdir(parents=True)
    write_jsonl(corpus(2), raw / "train.jsonl")
    write_jsonl(corpus(1), raw / "val.jsonl")
    return tmp_path / "data"


def settings(data_root, run_dir, encoder, **overrides):
    values = dict(data_root=str(data_root), run_dir=str(run_dir), epochs=2,
                  batch_size=4, lr=1e-3, seed=7, device="cpu",
                  model={"encoder": encoder, "heads": 2, "edge_dim": 8,
                         "channel_dim": 8, "dropout": 0.0})
    values.update(overrides)
    return TrainingConfig.from_dict(values)


def test_training_writes_run_folder_and_resumes(data_root, tmp_path,
                                                tiny_encoder_path):
    run_dir = tmp_path / "run"
    first = train(settings(data_root, run_dir, tiny_encoder_path, epochs=1),
                  progress=False)
    assert first.best_epoch == 1
    for name in ("best/config.json", "best/model.safetensors",
                 "training_config.json", "log.jsonl", "last_state.pt",
                 "metrics.json"):
        assert (run_dir / name).is_file(), name
    card = (run_dir / "best" / "README.md").read_text()
    best_f1 = json.loads((run_dir / "metrics.json").read_text())["strict"]["f1"]
    assert "| strict | " in card and f"{best_f1:.4f}" in card
    assert f"| data_root | `{data_root}` |" in card and "- epoch: `1`" in card
    resumed = train(settings(data_root, run_dir, tiny_encoder_path, epochs=3),
                    resume=True, progress=False)
    log = [json.loads(line) for line in
           (run_dir / "log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in log] == [1, 2, 3]
    assert [r["epoch"] for r in resumed.history] == [1, 2, 3]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["split"] == "val"
    assert set(metrics) >= {"strict", "paper", "mner", "triple",
                            "per_relation"}


def test_bf16_on_a_cpu_without_it_trains_and_records_float32(
        data_root, tmp_path, tiny_encoder_path, monkeypatch, capsys):
    from jmere_pyg.training import precision
    monkeypatch.setattr(precision, "has_native_bf16", lambda device: False)
    run_dir = tmp_path / "run"
    train(settings(data_root, run_dir, tiny_encoder_path, epochs=1,
                   mixed_precision="bf16"), progress=False)
    assert "training in float32" in capsys.readouterr().out
    recorded = json.loads((run_dir / "training_config.json").read_text())
    assert recorded["mixed_precision"] == "no"


def test_resume_without_state_fails_clearly(data_root, tmp_path,
                                            tiny_encoder_path):
    with pytest.raises(FileNotFoundError, match="cannot resume"):
        train(settings(data_root, tmp_path / "empty", tiny_encoder_path),
              resume=True, progress=False)


def test_training_config_rejects_unknown_settings():
    with pytest.raises(ValueError, match="unknown training settings"):
        TrainingConfig.from_dict({"epochz": 3})
    with pytest.raises(ValueError, match="device"):
        TrainingConfig(device="tpu")


def test_warmup_schedule_and_bucketed_batches(data_root, tmp_path,
                                              tiny_encoder_path):
    """8 samples in batches of 4: 2 steps per epoch, 4 in all, 1 of warm-up.
    The logged rate (after each epoch's last step) follows the schedule."""
    result = train(settings(data_root, tmp_path / "run", tiny_encoder_path,
                            encoder_lr=3e-5, lr_schedule="linear_warmup",
                            warmup_ratio=0.25, bucket_by_length=True,
                            patience=10),
                   progress=False)
    rates = [record["lr"] for record in result.history]
    assert rates[0] == pytest.approx([3e-5 * 2 / 3, 1e-3 * 2 / 3])
    assert rates[1] == pytest.approx([0.0, 0.0])


@pytest.mark.parametrize("bucket_by_length, boundary_loss_weight, batch_size",
                         [(False, 0.0, 4), (True, 0.0, 4), (False, 2.0, 2)])
def test_two_processes_train_the_same_model_as_one(data_root, tmp_path,
                                                   tiny_encoder_path,
                                                   bucket_by_length,
                                                   boundary_loss_weight,
                                                   batch_size):
    """torchrun with 2 CPU processes (gloo) against 1 process: the same
    global batches, so the same loss curve and val scores. In batches of 2
    a process holds one post (7 or 8 words): its share of the batch's
    words differs from its share of the word pairs, and the boundary loss
    (a mean over words) must be weighed by the former."""
    def config_in(run_dir):
        config = settings(data_root, run_dir, tiny_encoder_path, patience=10,
                          bucket_by_length=bucket_by_length,
                          batch_size=batch_size)
        return config.replace(model=config.model.replace(
            boundary_loss_weight=boundary_loss_weight))

    single = train(config_in(tmp_path / "single"), progress=False)
    config = config_in(tmp_path / "ddp")
    config_path = tmp_path / "ddp.json"
    config_path.write_text(json.dumps(config.to_dict()))
    env = dict(os.environ, OMP_NUM_THREADS="1")
    completed = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone",
         "--nproc_per_node=2", "-m", "jmere_pyg.cli", "train", "--config",
         str(config_path), "--show", "0"],
        env=env, capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stderr[-3000:]
    log = [json.loads(line) for line in
           (tmp_path / "ddp" / "log.jsonl").read_text().splitlines()]
    assert len(log) == len(single.history)
    for ddp_epoch, one_epoch in zip(log, single.history):
        assert ddp_epoch["loss"] == pytest.approx(one_epoch["loss"],
                                                  rel=1e-4, abs=1e-5)
        assert ddp_epoch["val_strict"]["f1"] == pytest.approx(
            one_epoch["val_strict"]["f1"], abs=1e-6)


def test_weight_average_is_scored_and_saved(data_root, tmp_path,
                                            tiny_encoder_path):
    """With ema_decay the best checkpoint holds the average, not the
    weights themselves; both are scored in the log; a resume keeps the
    average going, and one that adds or drops averaging is refused before
    anything is written."""
    run_dir = tmp_path / "run"
    # 8 samples in batches of 2: the average of 4 steps differs from the last.
    config = settings(data_root, run_dir, tiny_encoder_path, epochs=1,
                      batch_size=2, ema_decay=0.5)
    result = train(config, progress=False)
    state = torch.load(run_dir / "last_state.pt", weights_only=True)
    assert int(state["averaged"]["n_averaged"]) == 4
    average = {name.removeprefix("module."): value
               for name, value in state["averaged"].items()
               if name != "n_averaged"}
    best = EEGA.from_pretrained(run_dir / "best").state_dict()
    assert best.keys() == average.keys() == state["model"].keys()
    for name, value in best.items():
        torch.testing.assert_close(value, average[name], rtol=0, atol=0)
    assert any(not torch.equal(average[name], state["model"][name])
               for name in average)
    record = result.history[0]
    assert set(record["online"]) == {"strict", "paper", "mner"}

    before = {path.name: path.read_bytes() for path in run_dir.iterdir()
              if path.is_file()}
    with pytest.raises(ValueError, match="ema_decay 0.5, not None"):
        train(config.replace(epochs=2, ema_decay=None), resume=True,
              progress=False)
    assert {path.name: path.read_bytes() for path in run_dir.iterdir()
            if path.is_file()} == before
    train(config.replace(epochs=2), resume=True, progress=False)
    state = torch.load(run_dir / "last_state.pt", weights_only=True)
    assert int(state["averaged"]["n_averaged"]) == 8


def test_weight_average_follows_its_formula(data_root, tiny_encoder_path):
    from jmere_pyg.training.trainer import build_weight_average
    dataset = JMEREDataset(str(data_root), split="train")
    model = EEGA.from_builder(dataset.builder, encoder=tiny_encoder_path,
                              heads=2, edge_dim=8, channel_dim=8)
    config = TrainingConfig(ema_decay=0.9)
    averaged = build_weight_average(model, config)
    snapshots = []
    for step in range(3):
        with torch.no_grad():
            for parameter in model.parameters():
                parameter.add_(torch.randn_like(parameter))
        snapshots.append([p.detach().clone() for p in model.parameters()])
        averaged.update_parameters(model)
    # avg_1 = w_1, avg_t = 0.9 avg_(t-1) + 0.1 w_t
    for index, parameter in enumerate(averaged.module.parameters()):
        w1, w2, w3 = (snapshot[index] for snapshot in snapshots)
        expected = 0.9 * (0.9 * w1 + 0.1 * w2) + 0.1 * w3
        torch.testing.assert_close(parameter, expected)
    assert build_weight_average(model, TrainingConfig()) is None
    with pytest.raises(ValueError, match="ema_decay"):
        TrainingConfig(ema_decay=1.0)


def test_distillation_trains_towards_the_teachers(data_root, tmp_path,
                                                  tiny_encoder_path,
                                                  monkeypatch,
                                                  builtin_training_defaults):
    """The teachers' targets are their mean softmax on the training graphs;
    with ``distill_weight=0`` a run is the run without teachers, with 1 it
    learns from the soft targets alone; a missing teacher fails before
    anything is written."""
    from jmere_pyg.training.trainer import teacher_targets
    train(settings(data_root, tmp_path / "t1", tiny_encoder_path, epochs=1),
          progress=False)
    train(settings(data_root, tmp_path / "t2", tiny_encoder_path, epochs=1,
                   seed=8), progress=False)
    teachers = [str(tmp_path / name / "best") for name in ("t1", "t2")]

    dataset = JMEREDataset(str(data_root), split="train", max_words=128)
    graphs = list(dataset)
    config = settings(data_root, tmp_path / "s", tiny_encoder_path,
                      teachers=teachers)
    # Teachers of the dataset's own graph builder read its graphs: no
    # parsing (a GPU machine without spaCy distils too).
    def no_parsing(*args, **kwargs):
        raise AssertionError("the teachers parsed the posts again")
    with monkeypatch.context() as patched:
        patched.setattr(GraphBuilder, "build_many", no_parsing)
        targets = teacher_targets(config, dataset, graphs,
                                  torch.device("cpu"), progress=False)
    # A teacher of another builder builds its own graphs.
    other = GraphBuilder.from_dict({**dataset.builder.to_dict(),
                                    "settings": {**dataset.builder.to_dict()[
                                        "settings"], "max_distance": 3}})
    with monkeypatch.context() as patched:
        patched.setattr(GraphBuilder, "build_many", no_parsing)
        with pytest.raises(AssertionError, match="parsed the posts again"):
            teacher_probabilities(
                [EEGA.from_pretrained(t) for t in teachers],
                dataset.samples[:len(graphs)], built=(other, graphs))
    first = dataset.samples_of(graphs[:1])
    expected = sum(next(Predictor(EEGA.from_pretrained(t)).grids(first))
                   .softmax(dim=-1).flatten(0, 1) for t in teachers) / 2
    assert targets[0].dtype == torch.float16
    torch.testing.assert_close(targets[0].float(), expected, atol=1e-3,
                               rtol=0)

    plain = train(settings(data_root, tmp_path / "plain", tiny_encoder_path),
                  progress=False)
    silent = train(config.replace(run_dir=str(tmp_path / "w0"),
                                  distill_weight=0.0), progress=False)
    assert ([r["main_loss"] for r in silent.history]
            == [r["main_loss"] for r in plain.history])
    # The command line takes the teachers too.
    from jmere_pyg.cli import main

    def student(run: str, *soft_targets: str) -> int:
        return main(["train", "--data-root", str(data_root), "--run-dir",
                     str(tmp_path / run), "--epochs", "2", "--batch-size",
                     "4", "--lr", "1e-3", "--seed", "7", "--device", "cpu",
                     "--encoder", tiny_encoder_path, "--set", "heads=2",
                     "--set", "edge_dim=8", "--set", "channel_dim=8",
                     "--set", "dropout=0.0", "--show", "0", *soft_targets,
                     "--distill-weight", "1"])
    assert student("w1", "--teachers", *teachers) == 0
    recorded = json.loads((tmp_path / "w1" / "training_config.json")
                          .read_text())
    assert (recorded["teachers"], recorded["distill_weight"]) == (teachers,
                                                                  1.0)
    soft = [json.loads(line)["main_loss"] for line in
            (tmp_path / "w1" / "log.jsonl").read_text().splitlines()]
    assert soft != [r["main_loss"] for r in plain.history]

    # The teachers' probabilities as a file (every tag kept) train a student
    # elsewhere like the teachers themselves.
    targets_file = tmp_path / "targets.pt"
    assert main(["teach", "--data-root", str(data_root), "--teachers",
                 *teachers, "--output", str(targets_file), "--top-k", "26",
                 "--device", "cpu"]) == 0
    for read, direct in zip(load_teacher_targets(
            targets_file, graphs, dataset.samples, "train"), targets):
        torch.testing.assert_close(read.float(), direct.float(), atol=2e-3,
                                   rtol=0)
    assert main(["teach", "--data-root", str(data_root), "--teachers",
                 *teachers, "--output", str(targets_file)]) == 1  # exists
    assert student("w2", "--teacher-targets", str(targets_file)) == 0
    from_file = [json.loads(line)["main_loss"] for line in
                 (tmp_path / "w2" / "log.jsonl").read_text().splitlines()]
    assert from_file == pytest.approx(soft, rel=1e-2)
    assert from_file != pytest.approx([r["main_loss"] for r in plain.history],
                                      rel=1e-2)

    # A resume reads the teachers' probabilities the first start kept.
    assert (tmp_path / "w1" / "teacher_probs.pt").is_file()

    def no_teacher_pass(*args, **kwargs):
        raise AssertionError("the teachers ran again on resume")
    monkeypatch.setattr("jmere_pyg.training.trainer.teacher_targets",
                        no_teacher_pass)
    resumed = train(config.replace(run_dir=str(tmp_path / "w1"), epochs=3,
                                   seed=7, distill_weight=1.0),
                    resume=True, progress=False)
    assert [r["epoch"] for r in resumed.history] == [1, 2, 3]
    assert soft == [r["main_loss"] for r in resumed.history[:2]]
    monkeypatch.undo()

    with pytest.raises(FileNotFoundError, match="missing"):
        train(config.replace(run_dir=str(tmp_path / "none"),
                             teachers=[str(tmp_path / "missing")]),
              progress=False)
    assert not (tmp_path / "none").exists()


def test_a_diverging_run_stops_in_one_line_and_saves_nothing_non_finite(
        data_root, tmp_path, tiny_encoder_path, capsys,
        builtin_training_defaults):
    from jmere_pyg.cli import main
    run_dir = tmp_path / "run"
    code = main(["train", "--data-root", str(data_root), "--run-dir",
                 str(run_dir), "--epochs", "2", "--batch-size", "4",
                 "--lr", "1e30", "--device", "cpu", "--encoder",
                 tiny_encoder_path, "--set", "heads=2", "--set", "edge_dim=8",
                 "--set", "channel_dim=8", "--show", "0"])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith(
        "jmere-pyg train: error: epoch 1: the training loss is nan after 2 "
        "steps; training stopped, nothing of this epoch saved; likely cause: "
        "a learning rate too high (lr 1e+30, encoder_lr 2e-05)")
    assert not (run_dir / "best").exists()
    assert not (run_dir / "last_state.pt").exists()


def test_non_finite_weights_are_never_saved():
    from jmere_pyg.training.trainer import (TrainingDivergedError,
                                            check_finite_loss,
                                            check_finite_weights)
    config = TrainingConfig(teacher_targets="targets.pt")
    model = torch.nn.Linear(2, 2)
    check_finite_weights([model], config, 3)
    with torch.no_grad():
        model.bias[1] = float("inf")
    with pytest.raises(TrainingDivergedError,
                       match="epoch 3: the weight bias holds NaN or infinite "
                             "values; .* or bad teacher targets in "
                             "targets.pt"):
        check_finite_weights([model], config, 3)
    check_finite_loss([0.5, 0.5, 0.0], config, 1, 10)
    with pytest.raises(ValueError, match="the training loss is nan after 10 "
                                         "steps"):
        check_finite_loss([float("nan"), 0.5, 0.0], config, 1, 10)


def test_bad_teacher_targets_stop_training_before_it_starts(
        data_root, tmp_path, tiny_encoder_path, capsys):
    from jmere_pyg.cli import main
    from jmere_pyg.training.distillation import save_teacher_targets

    dataset = JMEREDataset(str(data_root), split="train", max_words=128)
    graphs = list(dataset)
    probabilities = [torch.full((int(g[PAIR].num_edges), 26), 1 / 26).half()
                     for g in graphs]
    targets = tmp_path / "targets.pt"
    save_teacher_targets(targets, probabilities, graphs, dataset.samples,
                         "train", ["teacher"], top_k=4)
    saved = torch.load(targets, weights_only=True)
    row = sum(int(g[PAIR].num_edges) for g in graphs[:2]) + 7
    saved["probabilities"][row, 1] = float("nan")
    torch.save(saved, targets)
    code = main(["train", "--data-root", str(data_root), "--run-dir",
                 str(tmp_path / "run"), "--epochs", "1", "--device", "cpu",
                 "--encoder", tiny_encoder_path, "--set", "heads=2",
                 "--teacher-targets", str(targets), "--show", "0"])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    assert err.strip().splitlines()[-1] == (
        f"jmere-pyg train: error: {targets}: bad teacher targets at row "
        f"{row} (sample 2, word pair 7): a probability is nan; a word pair's "
        f"probabilities must be finite, non-negative and sum to one")
    assert not (tmp_path / "run").exists()


def test_frozen_encoder_layers_keep_their_pretrained_weights(
        data_root, tmp_path, tiny_encoder_path):
    """``frozen_encoder_layers=2``: the embeddings and the first
    transformer layer come out of training as they went in (and stay frozen
    when loaded), the second layer learns."""
    from transformers import AutoModel
    from jmere_pyg.training.trainer import build_optimizer

    config = settings(data_root, tmp_path / "run", tiny_encoder_path,
                      epochs=1)
    config = config.replace(model=config.model.replace(
        frozen_encoder_layers=2))
    train(config, progress=False)
    pretrained = AutoModel.from_pretrained(tiny_encoder_path).state_dict()
    trained = EEGA.from_pretrained(tmp_path / "run" / "best")
    tuned = trained.encoder.model.state_dict()
    for name, weight in pretrained.items():
        frozen = name.startswith(("embeddings.", "encoder.layer.0."))
        if name.startswith(("embeddings.", "encoder.layer.")):
            assert torch.equal(tuned[name], weight) is frozen, name
    optimised = {id(p) for group in build_optimizer(trained, config)
                 .param_groups for p in group["params"]}
    assert not any(id(p) in optimised
                   for p in trained.encoder.model.embeddings.parameters())
