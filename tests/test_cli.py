"""The jmere-pyg command: stats, evaluate, predict, clear errors."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from jmere_pyg import EEGA, EEGAConfig, GraphBuilder, __version__
from jmere_pyg.cli import main, parse_assignments
from jmere_pyg.data import Entity, Quintuple, Sample, write_jsonl


@pytest.mark.integration
@pytest.mark.parametrize("split, sentences, quintuples", [
    ("train", 3468, 4503), ("val", 473, 624)])
def test_stats_on_shared_files(shared_data, capsys, split, sentences,
                               quintuples):
    assert main(["stats", str(shared_data / "mnre" / f"mnre_{split}.txt")]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["sentences"] == sentences
    assert stats["quintuples"] == quintuples
    assert sum(stats["relations"].values()) == quintuples
    recovery = stats["tagging_recovery"]
    assert recovery["total"] == quintuples
    assert 0.99 <= recovery["rate"] < 1.0


def test_bad_input_gives_one_clear_line(tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"tokens": ["a", "b"], "quintuples": [{"head": '
                   '{"start": 0, "end": 5, "type": "per"}, "tail": '
                   '{"start": 1, "end": 2, "type": "per"}, '
                   '"relation": "peer"}]}\n')
    assert main(["stats", str(bad)]) == 1
    error = capsys.readouterr().err
    assert "bad.jsonl:1" in error and "head" in error


@pytest.fixture
def checkpoint(tmp_path, tiny_encoder_path):
    samples = [Sample(["Curry", "joins", "the", "Warriors"], None,
                      [Quintuple(Entity(0, 1, "per"), Entity(3, 4, "org"),
                                 "member_of")])]
    builder = GraphBuilder().fit(samples)
    torch.manual_seed(0)
    model = EEGA.from_builder(builder, EEGAConfig(
        encoder=tiny_encoder_path, heads=2, edge_dim=8, channel_dim=8))
    model.save_pretrained(tmp_path / "ckpt")
    write_jsonl(samples, tmp_path / "data.jsonl")
    return tmp_path / "ckpt", tmp_path / "data.jsonl"


def test_evaluate_writes_all_protocols(checkpoint, tmp_path, capsys):
    ckpt, data = checkpoint
    out = tmp_path / "metrics.json"
    assert main(["evaluate", "--checkpoint", str(ckpt), "--data", str(data),
                 "--output", str(out)]) == 0
    metrics = json.loads(out.read_text())
    for protocol in ("strict", "paper", "mner", "triple", "per_relation"):
        assert protocol in metrics
    # Every strict false positive has a cause; a miss is a missed pair or not.
    errors = metrics["errors"]
    assert sum(errors["false_positives"].values()) == metrics["strict"]["fp"]
    assert sum(errors["missed_pairs"].values()) <= metrics["strict"]["fn"]
    assert json.loads(capsys.readouterr().out)["strict"] == metrics["strict"]


def test_evaluate_scores_several_checkpoints_as_one_ensemble(
        checkpoint, tmp_path, capsys):
    ckpt, data = checkpoint
    assert main(["evaluate", "--checkpoint", str(ckpt), "--data",
                 str(data)]) == 0
    single = json.loads(capsys.readouterr().out)
    assert single["checkpoint"] == str(ckpt)
    # A model twice is the model: the mean of equal probabilities.
    assert main(["evaluate", "--checkpoint", str(ckpt), str(ckpt), "--data",
                 str(data)]) == 0
    twice = json.loads(capsys.readouterr().out)
    assert twice["checkpoint"] == [str(ckpt), str(ckpt)]
    for protocol in ("strict", "paper", "mner"):
        assert twice[protocol] == single[protocol]


def test_predict_with_several_checkpoints_is_one_ensemble(checkpoint,
                                                         capsys):
    ckpt, data = checkpoint
    assert main(["predict", "--checkpoint", str(ckpt), "--input",
                 str(data)]) == 0
    single = capsys.readouterr().out.strip().splitlines()
    # A model twice is the model: the same quintuples, confidences within
    # the rounding of log(mean probability).
    assert main(["predict", "--checkpoint", str(ckpt), str(ckpt), "--input",
                 str(data)]) == 0
    twice = capsys.readouterr().out.strip().splitlines()
    assert len(single) == len(twice) == 1
    one, two = json.loads(single[0]), json.loads(twice[0])
    strip = [{k: v for k, v in q.items() if k != "confidence"}
             for q in one["quintuples"]]
    assert strip == [{k: v for k, v in q.items() if k != "confidence"}
                     for q in two["quintuples"]]
    for a, b in zip(one["quintuples"], two["quintuples"]):
        assert abs(a["confidence"] - b["confidence"]) < 1e-3


def test_predict_text_and_file_write_json_lines(checkpoint, tmp_path,
                                                capsys):
    ckpt, data = checkpoint
    assert main(["predict", "--checkpoint", str(ckpt), "--text",
                 "RT @nba: Curry joins the Warriors #NBA"]) == 0
    record = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert record["tokens"][:3] == ["RT", "@nba", ":"]
    assert isinstance(record["quintuples"], list)
    out = tmp_path / "out.jsonl"
    assert main(["predict", "--checkpoint", str(ckpt), "--input", str(data),
                 "--output", str(out)]) == 0
    lines = out.read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["tokens"][0] == "Curry"


def test_predict_rejects_empty_text(checkpoint, capsys):
    ckpt, _ = checkpoint
    assert main(["predict", "--checkpoint", str(ckpt), "--text", "  "]) == 1
    assert "empty" in capsys.readouterr().err


def test_missing_checkpoint_is_a_clear_error(tmp_path, capsys):
    assert main(["predict", "--checkpoint", str(tmp_path), "--text",
                 "hello"]) == 1
    assert "not a jmere_pyg checkpoint" in capsys.readouterr().err


def test_parse_assignments():
    assert parse_assignments(["a=1", "b=false", "c=bert-base-uncased"]) == {
        "a": 1, "b": False, "c": "bert-base-uncased"}
    with pytest.raises(ValueError, match="KEY=VALUE"):
        parse_assignments(["novalue"])


def test_help_loads_no_model_library():
    """``--help`` took about 9 s: every layer and its libraries were
    imported up front. Building the parser now imports no transformers,
    spaCy, POT nor PyG (a fresh interpreter, so that other tests' imports
    do not count)."""
    code = ("import sys\n"
            "from jmere_pyg.cli import build_parser\n"
            "build_parser().format_help()\n"
            "heavy = ('transformers', 'spacy', 'ot', 'torch_geometric')\n"
            "print(sorted(m for m in heavy if m in sys.modules))\n")
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run([sys.executable, "-c", code], cwd=root,
                            capture_output=True, text=True, check=True,
                            env={**os.environ, "PYTHONPATH": str(root)})
    assert result.stdout.strip() == "[]", result.stderr


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"jmere-pyg {__version__}"


def test_front_door_names_load_on_first_use():
    import jmere_pyg

    for name in jmere_pyg.__all__:
        assert getattr(jmere_pyg, name) is not None, name
    assert jmere_pyg.EEGA is EEGA and "EEGA" in dir(jmere_pyg)
    with pytest.raises(AttributeError, match="no attribute 'Missing'"):
        jmere_pyg.Missing


def test_errors_name_flags_where_the_library_names_parameters():
    """The library's messages advise Python parameters; the command's say
    its flags."""
    from jmere_pyg.cli import as_flags
    message = ("out.jsonl exists; pass overwrite=True to replace it; give "
               "scene_graphs=FILE, or detector=NAME_OR_PATH "
               "force_detector=True; keep the detector")
    assert as_flags(message) == (
        "out.jsonl exists; pass --overwrite to replace it; give "
        "--scene-graphs FILE, or --detector NAME_OR_PATH --force-detector; "
        "keep the detector")
