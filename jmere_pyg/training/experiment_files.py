"""Experiment files: the settings of a training run as data (JSON or YAML),
one file extending another.

A file may name another in ``"extends"`` (relative to its own folder): it
then holds only what differs. Its settings replace the other file's, and a
mapping (``"model"``) is merged key by key, so ``{"extends": "base.json",
"model": {"heads": 8}}`` keeps the base's other model settings. Chains are
allowed; a cycle or a missing file is an error naming the file.
"""
import os
from pathlib import Path
from typing import Any, Dict, List, Tuple, Union

from ..data.errors import deepest_nesting, load_json

#: The key naming the file an experiment file extends.
EXTENDS = "extends"


def read_experiment(path: Union[str, os.PathLike]
                    ) -> Tuple[Dict[str, Any], List[Path]]:
    """The settings of the experiment file ``path`` with the files it
    extends merged in, and the files read (``path`` first, then the one it
    extends, and so on).

    Raises:
        FileNotFoundError: when ``path`` or a file it extends does not
            exist.
        ValueError: naming the file, for invalid JSON or YAML, a file that
            is not one mapping, an ``extends`` that is not a file name, or
            a cycle of files extending each other.
    """
    chain: List[Path] = []
    layers: List[Dict[str, Any]] = []
    path = Path(path)
    while True:
        if any(path.resolve() == seen.resolve() for seen in chain):
            raise ValueError(
                f"{chain[0]}: the files it extends make a cycle ("
                + " -> ".join(map(str, chain + [path])) + ")")
        chain.append(path)
        values = _read_mapping(path)
        parent = values.pop(EXTENDS, None)
        layers.append(values)
        if parent is None:
            break
        if not isinstance(parent, str) or not parent:
            raise ValueError(f"{path}: {EXTENDS} names one experiment file, "
                             f"got {parent!r}")
        parent_path = Path(_joined(path.parent, parent))
        if not parent_path.is_file():
            raise FileNotFoundError(f"{path}: extends {parent!r}, but "
                                    f"{parent_path} does not exist")
        path = parent_path
    merged: Dict[str, Any] = {}
    for values in reversed(layers):  # the file extended by all first
        merged = _merged(values, merged)
    return merged, chain


def _joined(folder: Path, value: str) -> str:
    """``value`` relative to ``folder`` (itself when absolute),
    normalised."""
    return os.path.normpath(os.path.join(folder, value))


def _merged(child: Dict[str, Any], base: Dict[str, Any]) -> Dict[str, Any]:
    """``base`` updated with ``child``; mappings in both merge key by
    key."""
    merged = dict(base)
    for key, value in child.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            value = _merged(value, merged[key])
        merged[key] = value
    return merged


def _read_mapping(path: Path) -> Dict[str, Any]:
    """The one mapping of settings in the JSON or YAML file ``path``."""
    text = path.read_text(encoding="utf-8")
    if path.suffix in (".yaml", ".yml"):
        import yaml
        try:
            values = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise ValueError(f"{path}: invalid YAML: {error}") from None
        except RecursionError:
            depth, line = deepest_nesting(text)
            raise ValueError(f"{path}: YAML nested {depth:,} levels deep "
                             f"at line {line}, deeper than can be read"
                             ) from None
    else:
        try:
            values = load_json(text)
        except ValueError as error:
            raise ValueError(f"{path}: {error}") from None
    if not isinstance(values, dict):
        raise ValueError(f"{path}: an experiment file holds one mapping of "
                         f"settings")
    return values
