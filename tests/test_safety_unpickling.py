"""Nothing a user may receive is unpickled: crafted resume states, processed
dataset files and feature files whose unpickling would run code are refused
with a clear error naming the file, and the code in them never runs."""
import json

import numpy as np
import pytest
import torch

from jmere_pyg.data import Entity, Quintuple, Sample, write_jsonl
from jmere_pyg.data import read_sgb_output
from jmere_pyg.datasets import JMEREDataset
from jmere_pyg.training import TrainingConfig, train


class WritesMarker:
    """Unpickling this object creates ``path``: it stands for any call a
    crafted pickle could make (``os.system`` ...)."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


@pytest.fixture
def marker(tmp_path):
    path = tmp_path / "code_ran"
    yield path
    assert not path.exists(), "code in a crafted file ran"


@pytest.fixture
def data_root(tmp_path):
    samples = [Sample(["Curry", "joins", "the", "Warriors"], "a.jpg",
                      [Quintuple(Entity(0, 1, "per"), Entity(3, 4, "org"),
                                 "member_of")]),
               Sample(["Thompson", "won", "in", "Boston"], "b.jpg",
                      [Quintuple(Entity(0, 1, "per"), Entity(3, 4, "loc"),
                                 "place_of_residence")])]
    raw = tmp_path / "data" / "raw"
    raw.mkdir(parents=True)
    write_jsonl(samples, raw / "train.jsonl")
    write_jsonl(samples, raw / "val.jsonl")
    return tmp_path / "data"


def test_crafted_resume_state_is_refused(data_root, tmp_path, marker,
                                         tiny_encoder_path):
    config = TrainingConfig.from_dict(dict(
        data_root=str(data_root), run_dir=str(tmp_path / "run"), epochs=1,
        batch_size=2, device="cpu",
        model={"encoder": tiny_encoder_path, "heads": 2, "edge_dim": 8,
               "channel_dim": 8}))
    train(config, progress=False)
    state = tmp_path / "run" / "last_state.pt"
    assert torch.load(state, weights_only=True)["state"]["epoch"] == 1
    torch.save({"model": WritesMarker(marker)}, state)
    with pytest.raises(ValueError, match="last_state.pt: refused"):
        train(config.replace(epochs=2), resume=True, progress=False)


@pytest.mark.parametrize("name", ["train.pt", "pre_transform.pt"])
def test_crafted_processed_file_is_refused(data_root, marker, name):
    JMEREDataset(data_root, "train", progress=False, log=False)
    path = data_root / "processed" / name
    assert path.is_file()
    torch.save((WritesMarker(marker), {}, None), path)
    with pytest.raises(ValueError, match=f"{name}: refused"):
        JMEREDataset(data_root, "train", progress=False, log=False)
    # Building again replaces the crafted file without reading it.
    dataset = JMEREDataset(data_root, "train", progress=False, log=False,
                           force_reload=True)
    assert len(dataset) == 2


def sgb_files(tmp_path):
    prediction = tmp_path / "custom_prediction.json"
    info = tmp_path / "custom_data_info.json"
    prediction.write_text(json.dumps({"0": {
        "bbox": [[0, 0, 5, 5]], "bbox_labels": [1], "bbox_scores": [0.9],
        "rel_pairs": [], "rel_labels": [], "rel_scores": []}}))
    info.write_text(json.dumps({"idx_to_files": ["a.jpg"],
                                "ind_to_classes": ["__bg__", "man"],
                                "ind_to_predicates": ["__bg__", "near"]}))
    return prediction, info


def test_crafted_feature_files_are_refused(tmp_path, marker):
    files = sgb_files(tmp_path)
    payload = np.array(WritesMarker(marker), dtype=object)
    npy = tmp_path / "features.npy"
    np.save(npy, payload, allow_pickle=True)
    with pytest.raises(ValueError, match="features.npy: holds Python "
                                         "objects.*npz"):
        read_sgb_output(*files, features=npy)
    npz = tmp_path / "features.npz"
    np.savez(npz, **{"0": payload})
    with pytest.raises(ValueError, match="features.npz: holds Python"):
        read_sgb_output(*files, features=npz)
    pt = tmp_path / "features.pt"
    torch.save({0: WritesMarker(marker)}, pt)
    with pytest.raises(ValueError, match="features.pt: refused"):
        read_sgb_output(*files, features=pt)


def test_a_pickled_dict_of_features_asks_for_npz(tmp_path):
    """Even a harmless dict saved with np.save is not unpickled; the message
    says how to save it instead, and that way works."""
    files = sgb_files(tmp_path)
    features = {0: np.ones((1, 3), dtype=np.float32)}
    np.save(tmp_path / "dict.npy", features, allow_pickle=True)
    with pytest.raises(ValueError, match="np.savez"):
        read_sgb_output(*files, features=tmp_path / "dict.npy")
    np.savez(tmp_path / "dict.npz", **{str(k): v for k, v in features.items()})
    graphs = read_sgb_output(*files, features=tmp_path / "dict.npz")
    assert graphs["a.jpg"].objects[0].feature == [1.0, 1.0, 1.0]


def test_a_one_sample_split_loads_safely(data_root):
    """PyG stores no slices for a single graph; the safe loader accepts
    that."""
    (data_root / "raw" / "val.jsonl").write_text(
        (data_root / "raw" / "val.jsonl").read_text().splitlines()[0] + "\n")
    assert len(JMEREDataset(data_root, "val", progress=False, log=False)) == 1
