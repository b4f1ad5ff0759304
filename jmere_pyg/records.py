"""Versioned records: every file jmere_pyg writes and reads back (a
checkpoint's ``config.json`` and ``graph_builder.json``, a run's
``training_config.json``, ``last_state.pt`` and ``teacher_probs.pt``, the
scene-graph extractor record, teacher targets) is a mapping stamped with
its kind and format version, and checked for both when it is read.

A stamped record holds two more keys, :data:`KIND_KEY` and
:data:`VERSION_KEY`, beside its own::

    {"kind": "jmere_pyg training config", "format_version": 1, ...}

Files written before the stamps existed carry neither (a checkpoint's
``config.json`` and ``graph_builder.json`` carry only ``format_version``);
a :class:`RecordFormat` with ``unstamped`` set reads them as that version.
"""
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional, Type, TypeVar, Union

from .data.errors import load_json

#: The key naming what a record is.
KIND_KEY = "kind"
#: The key of its format version, an int.
VERSION_KEY = "format_version"

Config = TypeVar("Config")


@dataclass(frozen=True)
class RecordFormat:
    """One kind of saved record and the format versions this jmere_pyg
    writes and reads.

    Args:
        kind (str): what the record is, for the stamp and for messages,
            e.g. ``"jmere_pyg resume state"``.
        version (int): the version written, and the newest one read.
            (default: ``1``)
        oldest (int): the oldest version still read. (default: ``1``)
        unstamped (int, optional): the version of files without a
            :data:`KIND_KEY` (written before the stamps existed); ``None``
            refuses them. (default: ``None``)
    """
    kind: str
    version: int = 1
    oldest: int = 1
    unstamped: Optional[int] = None

    def stamp(self, record: Dict[str, Any]) -> Dict[str, Any]:
        """``record`` with this kind and version first."""
        return {KIND_KEY: self.kind, VERSION_KEY: self.version, **record}

    def read(self, record: Any, path: Any) -> Dict[str, Any]:
        """The content of a stamped ``record`` read from ``path``: the
        mapping without its stamp, after checking kind and version.

        Raises:
            ValueError: naming ``path``, when ``record`` is not a mapping,
                is another kind of record, has no stamp (and
                :attr:`unstamped` is ``None``) or a kind without a version,
                or has a version this jmere_pyg does not read: newer
                (written by a newer jmere_pyg) or older than
                :attr:`oldest`.
        """
        if not isinstance(record, dict):
            raise ValueError(f"{path}: not a {self.kind} (expected a "
                             f"mapping, got {type(record).__name__})")
        content = dict(record)
        kind = content.pop(KIND_KEY, None)
        if kind is None and self.unstamped is None:
            raise ValueError(f"{path}: not a {self.kind} (no "
                             f"{KIND_KEY!r} entry)")
        if kind is not None and kind != self.kind:
            raise ValueError(f"{path}: a {kind}, not a {self.kind}")
        if kind is None:
            version = content.pop(VERSION_KEY, self.unstamped)
        elif VERSION_KEY in content:
            version = content.pop(VERSION_KEY)
        else:
            raise ValueError(f"{path}: {self.kind} without a "
                             f"{VERSION_KEY!r}")
        if isinstance(version, bool) or not isinstance(version, int):
            raise ValueError(f"{path}: {self.kind} with an invalid "
                             f"{VERSION_KEY} {version!r}")
        if version > self.version:
            raise ValueError(
                f"{path}: {self.kind} format version {version} was written "
                f"by a newer jmere_pyg (this one reads versions "
                f"{self._readable()}); upgrade jmere_pyg to read it")
        if version < self.oldest:
            raise ValueError(
                f"{path}: {self.kind} format version {version} is no longer "
                f"read (this jmere_pyg reads versions {self._readable()})")
        return content

    def _readable(self) -> str:
        return (str(self.version) if self.oldest == self.version
                else f"{self.oldest} to {self.version}")


def read_json_record(path: Union[str, os.PathLike],
                     record_format: RecordFormat) -> Dict[str, Any]:
    """The content of the JSON file ``path``, a record of
    ``record_format`` (:meth:`RecordFormat.read`).

    Raises:
        FileNotFoundError: when ``path`` does not exist.
        ValueError: naming ``path``, for invalid JSON or UTF-8, or a record
            :meth:`RecordFormat.read` refuses.
    """
    try:
        state = load_json(Path(path).read_text(encoding="utf-8"))
    except ValueError as error:  # UnicodeDecodeError is a ValueError
        raise ValueError(f"{path}: {error}") from None
    return record_format.read(state, path)


def read_config_record(path: Union[str, os.PathLike],
                       record_format: RecordFormat,
                       config_class: Type[Config]) -> Config:
    """The settings of ``config_class`` (a
    :class:`~jmere_pyg.config_base.DictConfig`) in the JSON file ``path``,
    a record of ``record_format``.

    Raises:
        FileNotFoundError: when ``path`` does not exist.
        ValueError: naming ``path``, as :func:`read_json_record` does, and
            for invalid settings.
    """
    content = read_json_record(path, record_format)
    try:
        return config_class.from_dict(content)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None
