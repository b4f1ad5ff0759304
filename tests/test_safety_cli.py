"""The command line never loses data nor answers silently wrong: outputs are
checked before the work and written atomically, dropped or ignored input is
a counted notice, damaged checkpoints give one clear line naming the file."""
import json
import shutil
from pathlib import Path

import pytest
import torch

from jmere_pyg import EEGA, EEGAConfig, GraphBuilder
from jmere_pyg.cli import main
from jmere_pyg.training.defaults import EXPERIMENTS
from jmere_pyg.data import (Entity, Quintuple, Sample, SceneGraph,
                            SceneObject, write_jsonl, write_scene_graphs)

MAIN_JOB = EXPERIMENTS / "eega_minilm.json"

MNRE_LINES = [
    "{'token': ['UN', 'says', 'ceasefire', 'in', 'Libya'], 'h': {'name': "
    "'UN', 'pos': [0, 1]}, 't': {'name': 'Libya', 'pos': [4, 5]}, "
    "'img_id': 'a.jpg', 'relation': 'None'}",
    "{'token': ['Ronaldo', 'sees', 'Messi'], 'h': {'name': 'Ronaldo', "
    "'pos': [0, 1]}, 't': {'name': 'Messi', 'pos': [2, 3]}, "
    "'img_id': 'b.jpg', 'relation': '/per/per/peer'}",
]


@pytest.fixture
def checkpoint(tmp_path, tiny_encoder_path):
    samples = [Sample(["Curry", "joins", "the", "Warriors"], "a.jpg",
                      [Quintuple(Entity(0, 1, "per"), Entity(3, 4, "org"),
                                 "member_of")])]
    torch.manual_seed(0)
    model = EEGA.from_builder(GraphBuilder().fit(samples), EEGAConfig(
        encoder=tiny_encoder_path, heads=2, edge_dim=8, channel_dim=8))
    model.save_pretrained(tmp_path / "ckpt")
    write_jsonl(samples, tmp_path / "data.jsonl")
    return tmp_path / "ckpt", tmp_path / "data.jsonl"


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


# ---------------------------------------------------------------- outputs
@pytest.mark.parametrize("command", ["evaluate", "predict"])
def test_output_may_not_be_an_input(checkpoint, capsys, command):
    ckpt, data = checkpoint
    source = "--data" if command == "evaluate" else "--input"
    before = data.read_bytes()
    for output in (data, ckpt / "model.safetensors", ckpt / "new.json"):
        code, _, err = run(capsys, command, "--checkpoint", ckpt, source,
                           data, "--output", output, "--overwrite")
        assert code == 1 and "input" in err and len(err.splitlines()) == 1
    assert data.read_bytes() == before


@pytest.mark.parametrize("command", ["evaluate", "predict"])
def test_existing_output_needs_overwrite(checkpoint, tmp_path, capsys,
                                         command):
    ckpt, data = checkpoint
    source = "--data" if command == "evaluate" else "--input"
    out = tmp_path / "out.txt"
    out.write_text("keep me\n")
    code, _, err = run(capsys, command, "--checkpoint", ckpt, source, data,
                       "--output", out)
    assert code == 1 and "--overwrite" in err
    assert out.read_text() == "keep me\n"
    code, _, _ = run(capsys, command, "--checkpoint", ckpt, source, data,
                     "--output", out, "--overwrite")
    assert code == 0 and out.read_text() != "keep me\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["ckpt", "data.jsonl", "out.txt"])  # no temporary file left


def test_missing_output_folder_fails_before_the_work(tmp_path, capsys):
    """The output is checked before the checkpoint is even opened."""
    code, _, err = run(capsys, "predict", "--checkpoint",
                       tmp_path / "no_ckpt", "--text", "hello", "--output",
                       tmp_path / "missing" / "out.jsonl")
    assert code == 1 and "does not exist" in err and "missing" in err
    assert "checkpoint" not in err


# ---------------------------------------------------------------- notices
def test_predict_reports_dropped_mnre_sentences(checkpoint, tmp_path,
                                                capsys):
    ckpt, _ = checkpoint
    mnre = tmp_path / "mnre_val.txt"
    mnre.write_text("\n".join(MNRE_LINES) + "\n")
    code, out, err = run(capsys, "predict", "--checkpoint", ckpt, "--input",
                         mnre)
    assert code == 0 and len(out.splitlines()) == 1
    assert "notice: " in err and "1 sentences whose every line has " \
        "relation None" in err


def test_unmatched_images_and_unused_features_are_notices(
        checkpoint, tmp_path, capsys):
    ckpt, data = checkpoint
    graphs = tmp_path / "graphs.json"
    write_scene_graphs(graphs, {"other.jpg": SceneGraph(
        [SceneObject("man", 0.9, (0, 0, 5, 5), [0.5, 0.5])])})
    code, _, err = run(capsys, "predict", "--checkpoint", ckpt, "--text",
                       "Curry joins the Warriors", "--image-id", "x.jpg",
                       "--scene-graphs", graphs)
    assert code == 0
    assert "1 of 1 samples name an image with no scene graph" in err
    assert "1 scene graphs carry object features" in err
    code, _, err = run(capsys, "evaluate", "--checkpoint", ckpt, "--data",
                       data)
    assert code == 0 and "no scene graphs were given" in err


# ---------------------------------------------------- damaged checkpoints
def damaged(checkpoint, tmp_path, name, change):
    ckpt = tmp_path / f"damaged_{name.replace('/', '_')}"
    shutil.copytree(checkpoint[0], ckpt)
    change(ckpt / name)
    return ckpt


def truncate(path):
    path.write_bytes(path.read_bytes()[:len(path.read_bytes()) // 2])


def other_hidden_size(path):
    config = json.loads(path.read_text())
    config.update(hidden_size=16, intermediate_size=32)
    path.write_text(json.dumps(config))


@pytest.mark.parametrize("name, change, message", [
    ("model.safetensors", truncate, "model.safetensors: not a readable"),
    ("graph_builder.json", truncate, "graph_builder.json: not a saved graph"),
    ("encoder/config.json", other_hidden_size,
     "model.safetensors does not fit the architecture"),
    ("encoder/config.json", truncate, "config.json' is not a valid JSON"),
    ("encoder/tokenizer.json", lambda path: path.unlink(),
     "holds no tokenizer.json"),
])
def test_damaged_checkpoint_is_one_clear_line(checkpoint, tmp_path, capsys,
                                              name, change, message):
    ckpt = damaged(checkpoint, tmp_path, name, change)
    code, _, err = run(capsys, "predict", "--checkpoint", ckpt, "--text",
                       "Curry joins the Warriors")
    assert code == 1
    assert message in err and str(ckpt) in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_tokenizer_of_another_model_is_refused(checkpoint, tmp_path,
                                               capsys):
    """A tokenizer with only the special tokens (every word [UNK]) used to
    load silently."""
    from transformers import BertTokenizerFast

    def special_tokens_only(path):
        BertTokenizerFast(vocab={t: i for i, t in enumerate(
            ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])}
        ).save_pretrained(path.parent)
    ckpt = damaged(checkpoint, tmp_path, "encoder/tokenizer.json",
                   special_tokens_only)
    code, _, err = run(capsys, "predict", "--checkpoint", ckpt, "--text",
                       "Curry joins the Warriors")
    assert code == 1 and "tokenizer has 5 tokens" in err
    assert str(ckpt / "encoder") in err


# ----------------------------------------------------------- train flags
@pytest.mark.parametrize("flag, value, message", [
    ("--epochs", 0, "epochs must be >= 1"),
    ("--lr", -1e-3, "lr must be > 0"),
    ("--encoder-lr", 0, "encoder_lr must be > 0"),
    ("--max-train-samples", 0, "max_train_samples must be >= 1"),
    ("--batch-size", 0, "batch_size must be >= 1"),
    ("--patience", 0, "patience must be >= 1"),
])
def test_train_rejects_bad_values_in_one_line(tmp_path, capsys, flag, value,
                                              message):
    code, _, err = run(capsys, "train", "--run-dir", tmp_path / "run",
                       "--data-root", tmp_path / "data", flag, value)
    assert code == 1 and message in err and len(err.splitlines()) == 1
    assert not (tmp_path / "run").exists()


# ------------------------------------------- common mistakes (issue 39)
@pytest.fixture
def offline(monkeypatch):
    """HF_HUB_OFFLINE=1 as huggingface_hub read it at import time."""
    from huggingface_hub import constants
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)


def test_mistyped_checkpoint_says_no_such_folder(tmp_path, capsys, offline,
                                                 monkeypatch):
    """``runs/typo`` is also a valid Hub id, looked up in the cache."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").mkdir()
    code, _, err = run(capsys, "predict", "--checkpoint", "runs/typo",
                       "--text", "hello")
    assert code == 1 and len(err.splitlines()) == 1, err
    assert "runs/typo" in err and "no such folder" in err
    assert "not in the Hugging Face cache" in err


def test_cuda_without_a_gpu_is_one_line(checkpoint, capsys, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    code, _, err = run(capsys, "predict", "--checkpoint", checkpoint[0],
                       "--text", "hello", "--device", "cuda")
    assert code == 1 and len(err.splitlines()) == 1
    assert "sees no GPU" in err


def test_symbolic_link_loops_are_one_line(checkpoint, tmp_path, capsys):
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    ckpt, data = checkpoint
    for argv in (("stats", loop),
                 ("predict", "--checkpoint", loop, "--text", "hello"),
                 ("predict", "--checkpoint", ckpt, "--text", "hello",
                  "--output", loop / "out.jsonl"),
                 ("evaluate", "--checkpoint", ckpt, "--data", loop / "x")):
        code, _, err = run(capsys, *argv)
        assert code == 1 and len(err.splitlines()) == 1, (argv, err)
        assert "loop" in err and "Traceback" not in err


@pytest.mark.parametrize("written, hint", [
    (["training_config.json", "log.jsonl", "last_state.pt"],
     "the same command with --resume continues from the last finished "
     "epoch"),
    (["training_config.json"], "no epoch had finished; start again with "
     "--overwrite"),
    ([], "nothing was written"),
])
def test_ctrl_c_during_training_says_how_to_resume(tmp_path, capsys,
                                                   monkeypatch, written,
                                                   hint):
    import jmere_pyg.training

    def interrupted(config, **kwargs):
        run_dir = Path(config.run_dir)
        run_dir.mkdir()
        for name in written:
            (run_dir / name).write_text("")
        raise KeyboardInterrupt

    monkeypatch.setattr(jmere_pyg.training, "train", interrupted)
    code, _, err = run(capsys, "train", "--config", MAIN_JOB, "--run-dir",
                       tmp_path / "run", "--data-root", tmp_path / "data")
    assert code == 130 and len(err.splitlines()) == 1, err
    assert err.startswith("jmere-pyg train: interrupted; ") and hint in err


# ------------------------------------------ senseless settings (issue 39)
@pytest.mark.parametrize("setting, message", [
    ("heads=0", "EEGAConfig.heads must lie in [1, 65536], got 0"),
    ("heads=-4", "EEGAConfig.heads must lie in [1, 65536], got -4"),
    ("heads=3", "object_dim (256) must be divisible by heads (3)"),
    ("channel_dim=1000000000", "EEGAConfig.channel_dim must lie in "
     "[1, 65536]"),
    ("dropout=1", "EEGAConfig.dropout must lie in [0, 1)"),
    ("ot_reg=0", "EEGAConfig.ot_reg must be > 0"),
    ("sinkhorn_iterations=0", "EEGAConfig.sinkhorn_iterations must lie in "
     "[1, 10000]"),
])
def test_senseless_model_settings_are_one_line(tmp_path, capsys, setting,
                                               message):
    code, _, err = run(capsys, "train", "--run-dir", tmp_path / "run",
                       "--data-root", tmp_path / "data", "--set", setting)
    assert code == 1 and message in err and len(err.splitlines()) == 1, err
    assert not (tmp_path / "run").exists()


def test_checkpoint_with_senseless_heads_is_refused_on_loading(
        checkpoint, tmp_path, capsys):
    def negative_heads(path):
        config = json.loads(path.read_text())
        config["heads"] = -4
        path.write_text(json.dumps(config))
    ckpt = damaged(checkpoint, tmp_path, "config.json", negative_heads)
    code, _, err = run(capsys, "predict", "--checkpoint", ckpt, "--text",
                       "Curry joins the Warriors")
    assert code == 1 and len(err.splitlines()) == 1
    assert f"{ckpt / 'config.json'}: EEGAConfig.heads must lie in" in err
