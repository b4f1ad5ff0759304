"""The identity of a scene-graph extractor (its :class:`ExtractorConfig`),
saved as ``scene_graph_extractor.json`` beside extracted scene graphs and in
checkpoints, so that graphs made by one detector are never silently mixed
with another's."""
import json
import os
from pathlib import Path
from typing import Union

from ..records import RecordFormat, read_config_record
from .extractor import ExtractorConfig

PathLike = Union[str, os.PathLike]

#: File holding ``ExtractorConfig.to_dict()`` beside extracted scene graphs
#: and in checkpoints: the identity of the extractor that made them.
EXTRACTOR_FILE = "scene_graph_extractor.json"
#: Its content; files written before the stamps are version 1.
EXTRACTOR_RECORD = RecordFormat("jmere_pyg scene-graph extractor record",
                                unstamped=1)


def write_extractor_file(path: PathLike, config: ExtractorConfig) -> Path:
    """Writes ``config`` (the extractor's identity, stamped as
    :data:`EXTRACTOR_RECORD`) as JSON to ``path``, or to
    ``path/scene_graph_extractor.json`` when ``path`` is a folder."""
    path = Path(path)
    if path.is_dir():
        path = path / EXTRACTOR_FILE
    path.write_text(json.dumps(EXTRACTOR_RECORD.stamp(config.to_dict()),
                               indent=2) + "\n", encoding="utf-8")
    return path


def read_extractor_file(path: PathLike) -> ExtractorConfig:
    """Reads a file written by :func:`write_extractor_file`.

    Raises:
        ValueError: naming the file, for invalid JSON, another kind of
            record, a format version this jmere_pyg does not read, or
            invalid settings.
    """
    return read_config_record(path, EXTRACTOR_RECORD, ExtractorConfig)


def check_same_extractor(recorded: ExtractorConfig, recorded_in: PathLike,
                         wanted: ExtractorConfig, hint: str) -> None:
    """Raises ``ValueError`` naming both settings when ``wanted`` differs
    from the extractor ``recorded`` in the file ``recorded_in``; ``hint``
    says how to proceed anyway."""
    if recorded == wanted:
        return
    old, new = recorded.to_dict(), wanted.to_dict()
    changed = ", ".join(f"{key}: {old.get(key)!r} -> {new.get(key)!r}"
                        for key in sorted(set(old) | set(new))
                        if old.get(key) != new.get(key))
    raise ValueError(f"{recorded_in} records scene graphs made by another "
                     f"extractor ({changed}); {hint}")
