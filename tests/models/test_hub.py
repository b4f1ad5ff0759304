"""Sharing models: the model card, loading from the Hugging Face cache
offline, the offline error, and uploads (with a mocked HfApi)."""
import shutil
from pathlib import Path

import pytest
import torch
import yaml
from huggingface_hub import constants
from huggingface_hub.utils import LocalEntryNotFoundError
from torch_geometric.data import Batch

from jmere_pyg import EEGA, Predictor
from jmere_pyg.models import hub
from test_eega import builder  # noqa: F401 (a fixture)
from tiny_eega import graphs, make_model, make_samples

COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def saved(builder, tiny_encoder_path, tmp_path):  # noqa: F811
    model = make_model(builder, tiny_encoder_path).eval()
    model.save_pretrained(tmp_path / "ckpt", license="mit")
    return model, tmp_path / "ckpt"


@pytest.fixture
def offline(monkeypatch):
    """HF_HUB_OFFLINE=1 as huggingface_hub read it at import time."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)


def hub_cache(tmp_path: Path, repo_id: str, folder: Path) -> Path:
    """A Hugging Face cache holding ``folder`` as the main branch of
    ``repo_id``, in the layout ``snapshot_download`` reads."""
    cache = tmp_path / "hf_cache"
    storage = cache / ("models--" + repo_id.replace("/", "--"))
    shutil.copytree(folder, storage / "snapshots" / COMMIT)
    (storage / "refs").mkdir()
    (storage / "refs" / "main").write_text(COMMIT)
    return cache


def test_model_card_describes_the_model(builder, tiny_encoder_path,  # noqa: F811
                                        tmp_path):
    model = make_model(builder, tiny_encoder_path)
    metrics = {"split": "val", "epoch": 3,
               "strict": {"precision": 0.5, "recall": 0.25, "f1": 1 / 3},
               "num_samples": 4}
    model.save_pretrained(tmp_path, license="mit", repo_id="org/eega",
                          training={"data_root": "data/jmere", "epochs": 7,
                                    "model": {"heads": 2}},
                          metrics=metrics)
    card = (tmp_path / "README.md").read_text()
    _, front, body = card.split("---\n", 2)
    front = yaml.safe_load(front)
    assert front["library_name"] == "jmere_pyg" and front["license"] == "mit"
    assert f"| encoder | `{tiny_encoder_path}` |" in body
    assert "`bert`, hidden size 32, 2 layers" in body
    assert f"| dep | `{len(builder.dep_vocab)}` |" in body
    assert "| epochs | `7` |" in body and "| model |" not in body
    assert "| strict | 0.5000 | 0.2500 | 0.3333 |" in body
    assert "- epoch: `3`" in body
    assert "Predictor.from_pretrained('org/eega')" in body


def test_card_without_training_or_license(saved, tmp_path):
    model, _ = saved
    model.save_pretrained(tmp_path / "bare")
    card = (tmp_path / "bare" / "README.md").read_text()
    assert "license" not in yaml.safe_load(card.split("---\n")[1])
    assert "## Data and training" not in card
    assert "## Validation metrics" not in card


def test_repo_id_from_the_cache_offline_equals_the_folder(saved, builder,  # noqa: F811
                                                         tmp_path, offline):
    model, folder = saved
    cache = hub_cache(tmp_path, "org/tiny-eega", folder)
    batch = Batch.from_data_list(graphs(builder, make_samples()))
    local = EEGA.from_pretrained(folder).eval()
    for revision in (None, COMMIT):
        cached = EEGA.from_pretrained("org/tiny-eega", cache_dir=cache,
                                      revision=revision).eval()
        with torch.no_grad():
            torch.testing.assert_close(cached(batch).logits,
                                       local(batch).logits)
        assert (Predictor(cached).extract(make_samples())
                == Predictor(local).extract(make_samples()))
    assert hub.resolve_checkpoint("org/tiny-eega", cache_dir=cache) == (
        cache / "models--org--tiny-eega" / "snapshots" / COMMIT)


def test_uncached_repo_offline_says_why_and_what_to_do(tmp_path, offline):
    with pytest.raises(OSError, match=r"'org/absent'.*not in the Hugging "
                       r"Face cache and HF_HUB_OFFLINE is set.*local folder"):
        EEGA.from_pretrained("org/absent", cache_dir=tmp_path)


def test_uncached_repo_without_network(tmp_path, monkeypatch):
    def unreachable(repo_id, **kwargs):
        raise LocalEntryNotFoundError("connection error")

    monkeypatch.setattr(hub, "snapshot_download", unreachable)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    with pytest.raises(OSError, match=r"'org/absent' at revision 'v2'.*the "
                       r"Hub could not be reached"):
        EEGA.from_pretrained("org/absent", revision="v2")


def test_uncached_repo_with_local_files_only(tmp_path):
    with pytest.raises(OSError, match="local_files_only=True"):
        EEGA.from_pretrained("org/absent", cache_dir=tmp_path,
                             local_files_only=True)


def test_missing_folder_is_not_sent_to_the_hub(tmp_path):
    with pytest.raises(FileNotFoundError, match="neither a folder nor"):
        EEGA.from_pretrained(tmp_path / "no" / "such" / "folder")


def test_folder_without_config_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="holds no config.json"):
        EEGA.from_pretrained(tmp_path)


def test_push_to_hub_uploads_the_saved_folder(saved, monkeypatch):
    model, _ = saved
    calls = []

    class FakeApi:
        def __init__(self, token=None):
            calls.append(("init", token))

        def create_repo(self, repo_id, **kwargs):
            calls.append(("create_repo", repo_id, kwargs))

        def upload_folder(self, *, repo_id, folder_path, **kwargs):
            folder = Path(folder_path)
            files = {p.relative_to(folder).as_posix()
                     for p in folder.rglob("*") if p.is_file()}
            card = (folder / "README.md").read_text()
            calls.append(("upload_folder", repo_id, files, card, kwargs))
            return "commit-info"

    monkeypatch.setattr(hub, "HfApi", FakeApi)
    result = model.push_to_hub("org/eega", token="secret", private=True,
                               license="mit")
    assert result == "commit-info"
    assert calls[0] == ("init", "secret")
    assert calls[1] == ("create_repo", "org/eega",
                        {"private": True, "exist_ok": True})
    _, repo_id, files, card, kwargs = calls[2]
    assert repo_id == "org/eega"
    assert {"config.json", "model.safetensors", "README.md",
            "graph_builder.json", "encoder/config.json"} <= files
    assert "Predictor.from_pretrained('org/eega')" in card
    assert kwargs["commit_message"] == "Upload EEGA model"


def test_push_to_hub_offline_is_one_clear_error(saved, offline):
    model, _ = saved
    with pytest.raises(ConnectionError, match=r"cannot upload to the Hub "
                       r"repository 'org/eega': HF_HUB_OFFLINE is set"):
        model.push_to_hub("org/eega")


def test_push_to_hub_without_network_is_one_clear_error(saved, monkeypatch):
    """The HTTP library's own error (httpx2's in huggingface_hub 2, not a
    ``ConnectionError``) becomes one that names the repository."""
    model, _ = saved
    transport = pytest.importorskip("httpx2")

    class UnreachableApi:
        def __init__(self, token=None):
            pass

        def create_repo(self, repo_id, **kwargs):
            raise transport.ConnectError("[Errno -2] Name or service not "
                                         "known")

    monkeypatch.setattr(hub, "HfApi", UnreachableApi)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    with pytest.raises(ConnectionError, match=r"'org/eega': the Hub could "
                       r"not be reached"):
        model.push_to_hub("org/eega")


def test_a_file_or_a_link_loop_is_no_checkpoint(saved, tmp_path):
    _, folder = saved
    with pytest.raises(FileNotFoundError, match="is a file, not a "
                       "checkpoint folder"):
        EEGA.from_pretrained(folder / "config.json")
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    with pytest.raises(FileNotFoundError, match="symbolic link that leads "
                       "to no folder"):
        EEGA.from_pretrained(loop)
