"""Every file jmere_pyg saves and reads back carries its kind and format
version: each kind round-trips, a version from a newer jmere_pyg is refused
with the file named, and files written before the stamps still read."""
import json
from pathlib import Path

import pytest
import torch
from torch_geometric.data import HeteroData

from jmere_pyg import EEGAConfig
from jmere_pyg.data import DataNotice, Sample
from jmere_pyg.graphs import PAIR, GraphBuilder
from jmere_pyg.records import KIND_KEY, VERSION_KEY, RecordFormat
from jmere_pyg.training import TrainingConfig
from jmere_pyg.training.distillation import (TARGETS_FORMAT_1,
                                             load_teacher_cache,
                                             load_teacher_targets,
                                             save_teacher_cache,
                                             save_teacher_targets)
from jmere_pyg.training.trainer import load_last_state, save_last_state
from jmere_pyg.vision import (ExtractorConfig, read_extractor_file,
                              write_extractor_file)

ROOT = Path(__file__).resolve().parents[1]
#: Version 2, still reading 2 only, no files from before the stamps.
SAMPLE = RecordFormat("jmere_pyg sample record", version=2, oldest=2)


def test_a_stamped_record_reads_back_as_it_was():
    record = {"a": 1, "b": [2, 3]}
    stamped = SAMPLE.stamp(record)
    assert stamped == {KIND_KEY: "jmere_pyg sample record", VERSION_KEY: 2,
                       "a": 1, "b": [2, 3]}
    assert SAMPLE.read(json.loads(json.dumps(stamped)), "x.json") == record


@pytest.mark.parametrize("record, message", [
    ({KIND_KEY: "jmere_pyg sample record", VERSION_KEY: 3},
     r"x.json: jmere_pyg sample record format version 3 was written by a "
     r"newer jmere_pyg \(this one reads versions 2\)"),
    ({KIND_KEY: "jmere_pyg sample record", VERSION_KEY: 1},
     "x.json: jmere_pyg sample record format version 1 is no longer read"),
    ({KIND_KEY: "jmere_pyg sample record"},
     "x.json: jmere_pyg sample record without a 'format_version'"),
    ({KIND_KEY: "jmere_pyg sample record", VERSION_KEY: "2"},
     "x.json: jmere_pyg sample record with an invalid format_version '2'"),
    ({KIND_KEY: "jmere_pyg resume state", VERSION_KEY: 2},
     "x.json: a jmere_pyg resume state, not a jmere_pyg sample record"),
    ({"a": 1}, "x.json: not a jmere_pyg sample record \\(no 'kind' entry\\)"),
    ([1, 2], "x.json: not a jmere_pyg sample record \\(expected a mapping, "
             "got list\\)"),
])
def test_a_refused_record_names_its_file_and_why(record, message):
    with pytest.raises(ValueError, match=message):
        SAMPLE.read(record, "x.json")


def test_a_record_without_stamp_reads_as_its_unstamped_version():
    old = RecordFormat("jmere_pyg sample record", unstamped=1)
    assert old.read({"a": 1}, "x.json") == {"a": 1}
    # config.json and graph_builder.json carried a version before a kind.
    assert old.read({VERSION_KEY: 1, "a": 1}, "x.json") == {"a": 1}
    with pytest.raises(ValueError, match="format version 2 was written by a "
                                         "newer jmere_pyg"):
        old.read({VERSION_KEY: 2, "a": 1}, "x.json")


# ------------------------------------------------------------ JSON files
def builder_round_trip(folder: Path):
    builder = GraphBuilder("chain-stub")
    builder.save(folder)
    return (folder / "graph_builder.json",
            lambda: GraphBuilder.load(folder).to_dict() == builder.to_dict())


def eega_config_round_trip(folder: Path):
    path = folder / "config.json"
    EEGAConfig(heads=2).save(path)
    return path, lambda: EEGAConfig.load(path) == EEGAConfig(heads=2)


def training_config_round_trip(folder: Path):
    path, config = folder / "training_config.json", TrainingConfig(epochs=3)
    config.save(path)
    return path, lambda: TrainingConfig.load(path) == config


def extractor_round_trip(folder: Path):
    path, config = folder / "scene_graph_extractor.json", ExtractorConfig()
    write_extractor_file(path, config)
    return path, lambda: read_extractor_file(path).config == config


JSON_RECORDS = [builder_round_trip, eega_config_round_trip,
                training_config_round_trip, extractor_round_trip]


@pytest.mark.parametrize("round_trip", JSON_RECORDS,
                         ids=lambda f: f.__name__)
def test_json_records_round_trip_and_refuse_a_newer_version(round_trip,
                                                           tmp_path):
    path, reads_back = round_trip(tmp_path)
    state = json.loads(path.read_text())
    assert state[KIND_KEY].startswith("jmere_pyg ")
    assert isinstance(state[VERSION_KEY], int)
    assert reads_back()
    newer = state[VERSION_KEY] + 1
    state[VERSION_KEY] = newer
    path.write_text(json.dumps(state))
    with pytest.raises(ValueError, match=f"{path.name}: .*format version "
                                         f"{newer} was written by a newer "
                                         f"jmere_pyg"):
        reads_back()


@pytest.mark.parametrize("round_trip", JSON_RECORDS,
                         ids=lambda f: f.__name__)
def test_json_records_written_before_the_stamps_still_read(round_trip,
                                                          tmp_path):
    path, reads_back = round_trip(tmp_path)
    state = json.loads(path.read_text())
    del state[KIND_KEY]
    path.write_text(json.dumps(state))  # config.json, graph_builder.json
    assert reads_back()
    del state[VERSION_KEY]
    path.write_text(json.dumps(state))  # the others, and older config.json
    assert reads_back()


def test_a_record_of_another_kind_is_refused_by_name(tmp_path):
    path = tmp_path / "config.json"
    TrainingConfig().save(path)
    with pytest.raises(ValueError, match="config.json: a jmere_pyg training "
                                         "config, not a jmere_pyg EEGA "
                                         "config"):
        EEGAConfig.load(path)


# ------------------------------------------------------- torch.save files
def restamp(path: Path, **changes) -> None:
    """Rewrite the record in ``path`` with ``changes`` (``None`` deletes)."""
    saved = torch.load(path, weights_only=True)
    for key, value in changes.items():
        if value is None:
            del saved[key]
        else:
            saved[key] = value
    torch.save(saved, path)


def test_resume_state_round_trips_and_reads_old_files(tmp_path):
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    optimizer = torch.optim.Adam(model.parameters())
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer)
    path = tmp_path / "last_state.pt"
    save_last_state(path, model, optimizer, scheduler, {"epoch": 4})

    def load():
        return load_last_state(path, torch.nn.Linear(3, 2), optimizer,
                               scheduler, "cpu")
    assert load() == {"epoch": 4}
    restamp(path, **{VERSION_KEY: 2})
    with pytest.raises(ValueError, match="last_state.pt: jmere_pyg resume "
                                         "state format version 2 was written "
                                         "by a newer jmere_pyg"):
        load()
    restamp(path, **{KIND_KEY: None, VERSION_KEY: None})
    assert load() == {"epoch": 4}


def test_teacher_cache_round_trips_and_reads_old_files(tmp_path):
    path, probabilities = tmp_path / "teacher_probs.pt", [torch.rand(4, 3)]
    save_teacher_cache(path, {"pairs": [4]}, probabilities)
    assert torch.equal(load_teacher_cache(path, {"pairs": [4]})[0],
                       probabilities[0])
    restamp(path, **{VERSION_KEY: 2})
    with pytest.raises(ValueError, match="teacher_probs.pt: .* newer"):
        load_teacher_cache(path, {"pairs": [4]})
    restamp(path, **{KIND_KEY: None, VERSION_KEY: None})
    assert len(load_teacher_cache(path, {"pairs": [4]})) == 1


def posts(pair_counts, sample_indices):
    """Graphs with only what teacher targets are checked against."""
    graphs = []
    for index, pairs in zip(sample_indices, pair_counts):
        data = HeteroData()
        data.sample_index = torch.tensor(index)
        data[PAIR].edge_index = torch.zeros(2, pairs, dtype=torch.long)
        graphs.append(data)
    return graphs


def test_teacher_targets_round_trip_and_read_old_files(tmp_path):
    graphs = posts([4, 9], [0, 1])
    samples = [Sample(["a", "b"]), Sample(["c", "d", "e"])]
    path = tmp_path / "targets.pt"
    probabilities = [torch.rand(4, 3), torch.rand(9, 3)]
    save_teacher_targets(path, [p / p.sum(dim=1, keepdim=True)
                                for p in probabilities],
                         graphs, samples, "train", ["a"], top_k=2)
    written = load_teacher_targets(path, graphs, samples, "train")
    restamp(path, **{VERSION_KEY: 3})
    with pytest.raises(ValueError, match="targets.pt: jmere_pyg teacher-"
                                         "targets file format version 3 was "
                                         "written by a newer jmere_pyg"):
        load_teacher_targets(path, graphs, samples, "train")
    # Version 1 files were marked by a format string instead of the stamp,
    # and recorded neither the split nor the posts.
    restamp(path, **{KIND_KEY: None, VERSION_KEY: None, "split": None,
                     "post_digests": None, "format": TARGETS_FORMAT_1})
    with pytest.warns(DataNotice, match="matched by sample index"):
        old = load_teacher_targets(path, graphs, samples, "train")
    for before, now in zip(old, written):
        assert torch.equal(before, now)


def test_the_committed_teacher_targets_are_an_old_file_that_reads():
    path = ROOT / "benchmarks" / "targets" / "minilm_four_top4.pt"
    saved = torch.load(path, weights_only=True)
    assert saved["format"] == TARGETS_FORMAT_1 and KIND_KEY not in saved
    graphs = posts(saved["pairs"][:3].tolist(),
                   saved["sample_indices"][:3].tolist())
    samples = [Sample(["post"])] * len(graphs)  # version 1: not compared
    with pytest.warns(DataNotice, match="matched by sample index"):
        rows = load_teacher_targets(path, graphs, samples, "train")
    assert [len(r) for r in rows] == saved["pairs"][:3].tolist()
