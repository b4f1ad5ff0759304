"""The quality benchmark's variants against the experiment files that
docs/results.md reports them as: a drift between the two would put a
figure under the wrong settings. Every experiment file loads and names
files that exist, and the committed teacher-targets files fit the training
posts they were written for. The relation-decoding benchmark's prior rule
is checked against boosts computed by hand, and the epoch-speed benchmark
times the trainer's own step. The benchmarks folder keeps its results
policy (benchmarks/README.md): a report and a JSON per study, at most 60
files, every script indexed."""
import importlib
from pathlib import Path

import pytest
import torch

from jmere_pyg.training import TrainingConfig

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "benchmarks"
RESULTS = BENCHMARKS / "results"
VARIANTS_DIR = str(ROOT / "experiments" / "variants")


@pytest.fixture
def quality(monkeypatch):
    # quality.py imports its sibling error_analysis.py as a top-level module.
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks" / "quality"))
    return importlib.import_module("quality")


@pytest.fixture
def relation_decoding(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks" / "quality"))
    return importlib.import_module("relation_decoding")


@pytest.mark.parametrize("variant, experiment", [
    ("ema", "eega_minilm.json"),
    ("mpnet", "eega_mpnet.json"),
    ("mpnet_distil", "eega_mpnet_distil.json"),
    ("mpnet_student", "eega_mpnet_student.json"),
    ("mpnet_student_bf16", "eega_mpnet_student_bf16.json"),
])
def test_variant_is_its_experiment_file(quality, variant, experiment):
    expected = TrainingConfig.from_file(ROOT / "experiments" / experiment)
    built = quality.variant_config(variant, VARIANTS_DIR,
                                   run_dir=expected.run_dir)
    assert built.to_dict() == expected.to_dict()


def test_every_variant_is_one_experiment_file(quality):
    assert sorted(quality.VARIANTS) == sorted(
        path.stem for path in Path(VARIANTS_DIR).glob("*.json"))


def test_variants_train_without_the_average_unless_they_say_so(quality):
    built = quality.variant_config("eega", VARIANTS_DIR, seed=7)
    assert built.ema_decay is None and built.seed == 7
    assert all(quality.variant_config(name, VARIANTS_DIR).ema_decay is None
               for name in quality.VARIANTS if not name.startswith("ema"))
    assert not ({"mpnet", "mpnet_distil", "mpnet_student",
                 "mpnet_student_bf16"} & set(quality.DEFAULT_VARIANTS))


def test_one_seed_has_no_standard_deviation(quality):
    assert quality.mean_std([52.5]) == (52.5, None)
    mean, std = quality.mean_std([50.0, 52.0, 54.0])
    assert mean == 52.0 and std == pytest.approx(2.0)


def test_a_variant_with_its_own_schedule_length_keeps_it(quality, tmp_path,
                                                         monkeypatch):
    trained = {}

    def fake_train(config, progress):
        # What run_variant reads back from a finished run.
        trained[config.lr_schedule] = config.epochs
        run = Path(config.run_dir)
        run.mkdir(parents=True)
        (run / "metrics.json").write_text("{}")
        (run / "log.jsonl").write_text('{"seconds": 1}\n')

    monkeypatch.setattr(quality, "train", fake_train)
    args = type("Args", (), {"runs": str(tmp_path), "report_only": False,
                             "epochs": 15, "variants_dir": VARIANTS_DIR})
    quality.run_variant("ema", 42, args)
    quality.run_variant("ema_linear", 42, args)
    assert trained == {"plateau": 15, "linear_warmup": 20}


@pytest.mark.integration
@pytest.mark.parametrize("targets", sorted(
    (ROOT / "benchmarks" / "targets").glob("*.pt")), ids=lambda p: p.name)
def test_committed_teacher_targets_fit_the_training_posts(targets, mnre_file):
    # A change to reading or to the word-pair grid would leave the committed
    # files unusable by the students they are kept for.
    from torch_geometric.data import HeteroData

    from jmere_pyg.data import DataNotice, read_samples
    from jmere_pyg.graphs import PAIR
    from jmere_pyg.training.distillation import load_teacher_targets

    samples, _ = read_samples(mnre_file("train"), max_words=128)
    graphs = []
    for index, sample in enumerate(samples):
        data = HeteroData()
        data.sample_index = torch.tensor(index)
        # Every ordered pair of words is a cell of the grid.
        data[PAIR].edge_index = torch.zeros(2, len(sample.tokens) ** 2,
                                            dtype=torch.long)
        graphs.append(data)
    # Written before teacher targets recorded their posts: matched by
    # sample index and pair count, with a notice.
    with pytest.warns(DataNotice, match="matched by sample index"):
        probabilities = load_teacher_targets(targets, graphs, samples,
                                             "train")
    assert len(probabilities) == 3468
    rows = torch.cat(probabilities).float()
    torch.testing.assert_close(rows.sum(dim=1), torch.ones(len(rows)),
                               atol=2e-3, rtol=0)


@pytest.mark.parametrize("experiment", sorted(
    (ROOT / "experiments").rglob("*.json")),
    ids=lambda p: str(p.relative_to(ROOT / "experiments")))
def test_experiment_file_loads_and_its_targets_exist(experiment):
    config = TrainingConfig.from_file(experiment)
    if config.teacher_targets is not None:
        assert (ROOT / config.teacher_targets).is_file()


def test_prior_rule_lifts_a_rare_relation_and_is_argmax_at_power_zero(
        relation_decoding):
    from jmere_pyg.data import Entity, Quintuple, Sample
    from jmere_pyg.labels import RELATIONS

    head, tail = Entity(0, 1, "per"), Entity(2, 3, "per")
    common, rare = RELATIONS.index("peer"), RELATIONS.index("parent")
    # 30 training quintuples of `peer`, 2 of `parent`: counts 31 and 3.
    samples = [Sample(tokens=["a", "b", "c"], quintuples=[
        Quintuple(head, tail, "peer")] * 30 + [Quintuple(head, tail, "parent")]
        * 2)]
    scores = torch.zeros(1 + len(RELATIONS))
    scores[0], scores[1 + common], scores[1 + rare] = 0.5, 0.3, 0.2
    pair = {(head, tail): scores}

    unboosted = relation_decoding.relation_boosts(samples, 0.0)
    assert unboosted.eq(1).all()
    assert (relation_decoding.prior_rule(pair, unboosted)
            == relation_decoding.threshold_rule(pair, 1.0) == [])
    boosts = relation_decoding.relation_boosts(samples, 1.0)
    assert boosts[common] == 1 and boosts[rare] == pytest.approx(31 / 3)
    # 0.2 * 31 / 3 beats both `none` (0.5) and `peer` (0.3).
    assert relation_decoding.prior_rule(pair, boosts) == [
        Quintuple(head, tail, "parent")]


def test_epoch_speed_times_the_trainers_step_without_teacher_targets(
        monkeypatch, tmp_path, tiny_encoder_path):
    from jmere_pyg import EEGA
    from jmere_pyg.data import Entity, Quintuple, Sample, write_jsonl
    from jmere_pyg.training.trainer import load_splits, seed_everything

    monkeypatch.syspath_prepend(str(ROOT / "benchmarks" / "speed"))
    epoch_speed = importlib.import_module("epoch_speed")
    raw = tmp_path / "data" / "raw"
    raw.mkdir(parents=True)
    sample = Sample(["Curry", "joins", "the", "Warriors"], "0.jpg",
                    [Quintuple(Entity(0, 1, "per"), Entity(3, 4, "org"),
                               "member_of")])
    write_jsonl([sample] * 4, raw / "train.jsonl")
    write_jsonl([sample], raw / "val.jsonl")
    # A student whose targets are not on this machine is still timed.
    config = TrainingConfig.from_dict({
        "data_root": str(tmp_path / "data"), "device": "cpu", "seed": 7,
        "teacher_targets": str(tmp_path / "absent.pt"),
        "model": {"encoder": tiny_encoder_path, "heads": 2, "edge_dim": 8,
                  "channel_dim": 8}})
    train_set, _ = load_splits(config)
    model, seconds = epoch_speed.time_steps(config, train_set, list(train_set),
                                            [[0, 1], [2, 3]])
    assert len(seconds) == 2 and min(seconds) > 0
    assert config.teacher_targets is not None  # the caller's is untouched
    seed_everything(config.seed)
    fresh = EEGA.from_builder(train_set.builder, config.model)
    assert any(not torch.equal(a, b) for a, b in zip(
        model.parameters(), fresh.parameters()))


def test_the_results_json_keeps_every_runs_precision_and_recall(quality):
    # The run folders are not committed: a report rebuilt later has only
    # the JSON, and its P and R columns need each run's figures, not the mean.
    scores = {p: {"precision": 0.5, "recall": 0.25, "f1": 1 / 3}
              for p in quality.PROTOCOLS}
    rows = {"ema": [(42, {"best_epoch": 7, **scores}, Path("runs/x"),
                     {"epochs": 12, "seconds": 900})]}
    record = quality.results_json(rows, {"ema": {"strict_f1": (33.3, None)}})
    run = record["ema"]["runs"][0]
    assert record["ema"]["seeds"] == [42]
    assert (run["seed"], run["best_epoch"], run["epochs"]) == (42, 7, 12)
    for p in quality.PROTOCOLS:
        assert run[f"{p}_precision"] == 50.0 and run[f"{p}_recall"] == 25.0
        assert run[f"{p}_f1"] == pytest.approx(100 / 3)
    assert record["ema"]["strict_f1"] == {"mean": 33.3, "std": None}


def test_results_hold_a_report_and_a_json_per_study_and_linked_charts():
    entries = sorted(RESULTS.iterdir())
    assert not [p.name for p in entries if p.is_dir()], "no run folders"
    assert len(entries) <= 60
    reports = {p.stem for p in entries if p.suffix == ".md"}
    records = {p.stem for p in entries if p.suffix == ".json"}
    assert reports == records
    linked = "".join(p.read_text(encoding="utf-8") for p in entries
                     if p.suffix == ".md")
    others = [p.name for p in entries if p.suffix not in (".md", ".json")]
    assert [name for name in others
            if not name.endswith(".png") or f"]({name})" not in linked] == []


def test_every_benchmark_script_is_in_its_folders_section_of_the_readme():
    # The README has one "## folder/: ..." section per folder of scripts.
    sections = {}
    for section in (BENCHMARKS / "README.md").read_text(
            encoding="utf-8").split("\n## ")[1:]:
        heading, _, body = section.partition("\n")
        sections[heading.split(":")[0]] = body
    missing = [str(path.relative_to(BENCHMARKS))
               for path in sorted(BENCHMARKS.rglob("*"))
               if path.suffix in (".py", ".sh")
               and f"`{path.name}`" not in sections.get(
                   f"{path.parent.name}/", "")]
    assert missing == []


def test_machine_line_names_the_cpu_and_the_flags_that_set_its_speed(
        tmp_path):
    from jmere_pyg.testing.machine import describe_cpu

    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nmodel name\t: Example CPU\n"
                    "flags\t\t: fpu avx2 fma avx512_bf16\n\n"
                    "processor\t: 1\nmodel name\t: Example CPU\n"
                    "flags\t\t: fpu avx2 fma avx512_bf16\n")
    assert describe_cpu(info).startswith(
        "Example CPU (avx2 avx512_bf16), ")
    info.write_text("model name\t: Old CPU\nflags\t\t: fpu sse4_2\n")
    assert describe_cpu(info).startswith(
        "Old CPU (no avx2/avx512f/avx512_bf16/amx_bf16), ")
    # No /proc/cpuinfo (macOS, Windows): the platform's name, no flags.
    assert "(" not in describe_cpu(tmp_path / "missing")


def test_the_results_json_marks_the_main_job_and_the_best_configuration(
        quality):
    """``quality.json`` marks, with their per-seed runs, the variants whose
    settings are the experiment files ``jmere-pyg train`` picks by
    default, and no other."""
    import json

    configs = {name: quality.variant_config(name, VARIANTS_DIR)
               for name in quality.VARIANTS}
    marks = quality.roles(configs)
    assert marks == {"ema": {"main_job": True},
                     "mpnet_student_bf16": {"best": True}}
    committed = json.loads((RESULTS / "quality.json").read_text())
    for name, record in committed.items():
        for role in ("main_job", "best"):
            assert record.get(role, False) == marks.get(name, {}).get(
                role, False), (name, role)
            if record.get(role):
                assert len(record["runs"]) == 3
