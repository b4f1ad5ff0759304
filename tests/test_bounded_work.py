"""Bounded work on long input: over-long posts are counted skips in
evaluation and training, and prediction reads them in windows."""
import json
import warnings

import pytest
import torch

from jmere_pyg import EEGA, EEGAConfig, GraphBuilder
from jmere_pyg.cli import main
from jmere_pyg.data import (DataFormatError, Entity, Quintuple, Sample,
                            read_samples, write_jsonl)
from jmere_pyg.datasets import JMEREDataset
from jmere_pyg.training import TrainingConfig
from jmere_pyg.training.trainer import load_splits, skip_notices

SHORT = Sample(["Curry", "joins", "the", "Warriors"], None,
               [Quintuple(Entity(0, 1, "per"), Entity(3, 4, "org"),
                          "member_of")])


def long_sample(words: int) -> Sample:
    tokens = (["Curry", "joins", "the", "Warriors", "."] * words)[:words]
    return Sample(tokens, None, [Quintuple(Entity(0, 1, "per"),
                                           Entity(3, 4, "org"), "member_of")])


def test_reader_can_skip_only_over_long_texts(tmp_path):
    path = tmp_path / "data.jsonl"
    write_jsonl([SHORT, long_sample(40), SHORT], path)
    samples, report = read_samples(path, max_words=10, on_too_long="skip")
    assert len(samples) == 2 and report.skipped == {"too_long": 1}
    assert "too_long 1" in report.summary()
    with path.open("a") as file:
        file.write('{"tokens": []}\n')
    with pytest.raises(DataFormatError, match="no words"):
        read_samples(path, max_words=10, on_too_long="skip")
    with pytest.raises(ValueError, match="on_too_long"):
        read_samples(path, on_too_long="drop")


@pytest.fixture
def checkpoint(tmp_path, tiny_encoder_path):
    builder = GraphBuilder().fit([SHORT])
    torch.manual_seed(0)
    model = EEGA.from_builder(builder, EEGAConfig(
        encoder=tiny_encoder_path, heads=2, edge_dim=8, channel_dim=8))
    model.save_pretrained(tmp_path / "ckpt")
    return tmp_path / "ckpt"


def test_evaluate_counts_and_reports_over_long_posts(checkpoint, tmp_path,
                                                     capsys):
    data = tmp_path / "data.jsonl"
    write_jsonl([SHORT, long_sample(200)], data)
    out = tmp_path / "metrics.json"
    assert main(["evaluate", "--checkpoint", str(checkpoint), "--data",
                 str(data), "--max-words", "50", "--output", str(out)]) == 0
    metrics = json.loads(out.read_text())
    assert "skipped 1 (too_long 1)" in metrics["read_report"]
    strict = metrics["strict"]
    assert strict["tp"] + strict["fn"] == 1  # the short post's gold only
    assert main(["evaluate", "--checkpoint", str(checkpoint), "--data",
                 str(data), "--max-words", "0", "--output",
                 str(tmp_path / "all.json")]) == 0
    assert "nothing skipped" in json.loads(
        (tmp_path / "all.json").read_text())["read_report"]


def test_predict_reads_a_long_text_in_windows(checkpoint, capsys):
    text = " ".join(["Curry joins the Warriors ."] * 60)  # 300 words
    assert main(["predict", "--checkpoint", str(checkpoint), "--text", text,
                 "--window-words", "32"]) == 0
    record = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert len(record["tokens"]) == 300
    for quintuple in record["quintuples"]:
        assert 0 <= quintuple["head"]["start"] < 300
        assert quintuple["head"]["name"] == " ".join(record["tokens"][
            quintuple["head"]["start"]:quintuple["head"]["end"]])
    assert main(["predict", "--checkpoint", str(checkpoint), "--text", text,
                 "--window-words", "0"]) == 1
    assert "window_words" in capsys.readouterr().err


def test_training_data_leaves_out_over_long_posts(tmp_path):
    raw = tmp_path / "data" / "raw"
    raw.mkdir(parents=True)
    write_jsonl([SHORT, long_sample(30), SHORT], raw / "train.jsonl")
    write_jsonl([SHORT], raw / "val.jsonl")
    config = TrainingConfig(data_root=str(tmp_path / "data"), max_words=20)
    train_set, val_set = load_splits(config)
    assert len(train_set) == 2 and len(val_set) == 1
    assert train_set.read_report.skipped == {"too_long": 1}
    assert skip_notices(config, train_set, val_set) == [
        "train: left out 1 posts longer than max_words=20 words"]
    with pytest.warns(UserWarning, match="max_words=20, not 40"):
        JMEREDataset(tmp_path / "data", "train", max_words=40, log=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        JMEREDataset(tmp_path / "data", "train", max_words=20, log=False)
    assert TrainingConfig().max_words == 128
