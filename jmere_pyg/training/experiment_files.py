"""Experiment files: the settings of a training run as data (JSON or YAML),
one file extending another, paths relative to the file.

A file may name another in ``"extends"`` (relative to its own folder): it
then holds only what differs. Its settings replace the other file's, and a
mapping (``"model"``) is merged key by key, so ``{"extends": "base.json",
"model": {"heads": 8}}`` keeps the base's other model settings. Chains are
allowed; a cycle or a missing file is an error naming the file.

Paths in a file are relative to the file's folder, not to the working
directory, so that an experiment reads the same data from wherever it is
started: :data:`PATH_SETTINGS` always; :data:`NAME_OR_PATH_SETTINGS` (a
Hugging Face name or a local folder) when the value starts with ``.``, is
absolute, or names something that exists beside the file (a Hugging Face
name never starts with ``.``; write ``./name`` for a folder not made yet).
Each file's paths are resolved against its own folder before the files are
merged, and come out normalised (``experiments/../data`` is ``data``).
"""
import os
from pathlib import Path
from typing import Any, Dict, List, Tuple, Union

from ..data.errors import deepest_nesting, load_json

#: The key naming the file an experiment file extends.
EXTENDS = "extends"
#: Settings that are paths.
PATH_SETTINGS = ("data_root", "mnre_dir", "run_dir", "images",
                 "teacher_targets")
#: Settings that are a Hugging Face name or a local path (``teachers`` a
#: list of them); ``model.encoder`` is one too.
NAME_OR_PATH_SETTINGS = ("teachers", "detector")


def read_experiment(path: Union[str, os.PathLike]
                    ) -> Tuple[Dict[str, Any], List[Path]]:
    """The settings of the experiment file ``path`` with the files it
    extends merged in and every path resolved, and the files read (``path``
    first, then the one it extends, and so on).

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
        values = resolve_paths(_read_mapping(path), path.parent)
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


def resolve_paths(values: Dict[str, Any], folder: Path) -> Dict[str, Any]:
    """``values`` (one experiment file's settings) with its paths resolved
    against ``folder``, as the module docstring says; values of the wrong
    type are left for the settings' own checks."""
    resolved = dict(values)
    for name in PATH_SETTINGS:
        if isinstance(resolved.get(name), str):
            resolved[name] = _joined(folder, resolved[name])
    for name in NAME_OR_PATH_SETTINGS:
        value = resolved.get(name)
        if isinstance(value, str):
            resolved[name] = _name_or_path(folder, value)
        elif isinstance(value, list):
            resolved[name] = [_name_or_path(folder, v) if isinstance(v, str)
                              else v for v in value]
    model = resolved.get("model")
    if isinstance(model, dict) and isinstance(model.get("encoder"), str):
        resolved["model"] = {**model, "encoder": _name_or_path(
            folder, model["encoder"])}
    return resolved


def _joined(folder: Path, value: str) -> str:
    """``value`` relative to ``folder`` (itself when absolute),
    normalised."""
    return os.path.normpath(os.path.join(folder, value))


def _name_or_path(folder: Path, value: str) -> str:
    """A Hugging Face name as it is; a path relative to ``folder``."""
    if (value.startswith(".") or os.path.isabs(value)
            or os.path.exists(os.path.join(folder, value))):
        return _joined(folder, value)
    return value


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
