"""The identity of a scene-graph extractor: its settings
(:class:`ExtractorConfig`) and what its detector is (a digest of its files,
or its Hugging Face name and revision), saved as
``scene_graph_extractor.json`` beside extracted scene graphs and in
checkpoints, so that graphs made by one detector are never silently mixed
with another's, however the detector's folder is named."""
import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Union

from ..data.errors import DataNotice
from ..records import RecordFormat, read_json_record
from .extractor import ExtractorConfig, detector_identity

PathLike = Union[str, os.PathLike]

#: File holding an :class:`ExtractorRecord` beside extracted scene graphs
#: and in checkpoints: the identity of the extractor that made them.
EXTRACTOR_FILE = "scene_graph_extractor.json"
#: Its content. Version 2 adds ``detector_identity``; version 1, and a file
#: written before the stamps, named its detector by the path as typed.
EXTRACTOR_RECORD = RecordFormat("jmere_pyg scene-graph extractor record",
                                version=2, unstamped=1)


@dataclass(frozen=True)
class ExtractorRecord:
    """What made a set of scene graphs.

    Attributes:
        config (ExtractorConfig): The extractor's settings.
        detector_identity (dict or None): What the detector is
            (:func:`~jmere_pyg.vision.extractor.detector_identity`); ``None``
            when unknown (a version 1 record, or a folder that is missing).
    """
    config: ExtractorConfig
    detector_identity: Optional[Dict[str, Optional[str]]] = None

    @classmethod
    def of(cls, config: ExtractorConfig) -> "ExtractorRecord":
        """The record of extracting with ``config`` now: its detector
        identified."""
        return cls(config, detector_identity(config.detector))

    def identity_text(self) -> str:
        """What the detector is, in short: e.g. ``sha256 1f0c2a9b8e7d``,
        ``revision 2ab3c4d5e6f7, sha256 ...``."""
        identity = self.detector_identity
        if identity is None:
            return "identity unknown"
        parts = [f"{key} {identity[key][:12]}"
                 for key in ("revision", "sha256") if identity.get(key)]
        return ", ".join(parts) or "not in the Hugging Face cache"

    def describe_detector(self) -> str:
        """The detector's name and what it is, e.g. ``'/det/x' (sha256
        1f0c2a9b8e7d)``."""
        return f"{self.config.detector!r} ({self.identity_text()})"


def same_detector(first: ExtractorRecord, second: ExtractorRecord) -> bool:
    """Whether two records name the same detector: by the digest of its
    files when both know it, else by Hugging Face name and revision (a
    revision that one does not know matches any), else, when either record
    knows no identity, by the detector's name as written."""
    one, other = first.detector_identity, second.detector_identity
    if one is None or other is None:
        return first.config.detector == second.config.detector
    if one.get("sha256") and other.get("sha256"):
        return one["sha256"] == other["sha256"]
    if one.get("hub_id") is None or one.get("hub_id") != other.get("hub_id"):
        return False
    revisions = {one.get("revision"), other.get("revision")} - {None}
    return len(revisions) <= 1


def extractor_changes(first: ExtractorRecord,
                      second: ExtractorRecord) -> List[str]:
    """What differs from ``first`` to ``second``, one ``'field: a -> b'``
    per setting, the detector compared by :func:`same_detector`."""
    changes = []
    if not same_detector(first, second):
        changes.append(f"detector: {first.describe_detector()} -> "
                       f"{second.describe_detector()}")
    old, new = first.config.to_dict(), second.config.to_dict()
    changes += [f"{key}: {old.get(key)!r} -> {new.get(key)!r}"
                for key in sorted(set(old) | set(new))
                if key != "detector" and old.get(key) != new.get(key)]
    return changes


def write_extractor_file(path: PathLike,
                         extractor: Union[ExtractorConfig, ExtractorRecord]
                         ) -> Path:
    """Writes the record of ``extractor`` as JSON (``format_version``, the
    settings, ``detector_identity``) to ``path``, or to
    ``path/scene_graph_extractor.json`` when ``path`` is a folder; a local
    detector folder is named by its absolute path. A config is recorded as
    the extractor it is now (:meth:`ExtractorRecord.of`): pass it right
    after extracting with it."""
    path = Path(path)
    if path.is_dir():
        path = path / EXTRACTOR_FILE
    record = (extractor if isinstance(extractor, ExtractorRecord)
              else ExtractorRecord.of(extractor))
    config = record.config
    if os.path.isdir(config.detector):
        # The same folder from any working directory.
        config = config.replace(detector=os.path.abspath(config.detector))
    state = EXTRACTOR_RECORD.stamp({
        **config.to_dict(), "detector_identity": record.detector_identity})
    path.write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")
    return path


def read_extractor_file(path: PathLike) -> ExtractorRecord:
    """Reads a file written by :func:`write_extractor_file`; a version 1
    file (no ``format_version``) gives a record whose detector identity is
    unknown.

    Raises:
        ValueError: naming the file, for invalid JSON, another kind of
            record, a format version this jmere_pyg does not read, or
            invalid settings or identity.
    """
    state = read_json_record(path, EXTRACTOR_RECORD)
    identity = state.pop("detector_identity", None)
    try:
        if identity is not None and not (
                isinstance(identity, dict)
                and all(isinstance(value, (str, type(None)))
                        for value in identity.values())):
            raise ValueError(f"detector_identity must be an object of "
                             f"strings, got {identity!r}")
        return ExtractorRecord(ExtractorConfig.from_dict(state), identity)
    except ValueError as error:
        raise ValueError(f"{path}: not a scene-graph extractor record: "
                         f"{error}") from None


def scene_graphs_record(path: PathLike) -> Optional[ExtractorRecord]:
    """The record beside the scene-graph file ``path``
    (``scene_graph_extractor.json`` in its folder, as ``jmere-pyg
    scene-graphs`` writes it); ``None`` when there is none."""
    record = Path(path).parent / EXTRACTOR_FILE
    return read_extractor_file(record) if record.is_file() else None


def check_same_extractor(records_by_name: Mapping[
        str, Optional[ExtractorRecord]], hint: str = "") -> None:
    """Raises ``ValueError`` naming two of ``records_by_name`` (what holds
    the record -> the record) that differ (:func:`extractor_changes`) and
    how; ``hint`` says what to do. ``None`` records (not known) are left
    out; a record that knows no detector identity is compared by the
    detector's name, with a :class:`~jmere_pyg.data.DataNotice`."""
    known = [(name, record) for name, record in records_by_name.items()
             if record is not None]
    if len(known) < 2:
        return
    for name, record in known:
        if record.detector_identity is None:
            warnings.warn(
                f"{name} does not say what its detector "
                f"{record.config.detector!r} is (a record of an older "
                f"jmere_pyg, or a folder that is missing): detectors are "
                f"compared by name", DataNotice, stacklevel=2)
    first_name, first = known[0]
    for name, record in known[1:]:
        changes = extractor_changes(first, record)
        if changes:
            raise ValueError(
                f"{first_name} and {name} differ in scene-graph extractor "
                f"({'; '.join(changes)})"
                + (f"; {hint}" if hint else ""))


def check_scene_graph_sources(
        records_by_checkpoint: Mapping[str, Optional[ExtractorRecord]],
        scene_graphs: Optional[PathLike] = None) -> None:
    """The checkpoints that read images (name -> its record; ``None`` when
    it records none) and the scene-graph file ``scene_graphs``
    (:func:`scene_graphs_record`) name one extractor
    (:func:`check_same_extractor`): no model, no member of an ensemble,
    reads scene graphs of a detector it was not trained with. A file
    without a record, for checkpoints that record one, is a
    :class:`~jmere_pyg.data.DataNotice`.

    Raises:
        ValueError: naming two checkpoints, or a checkpoint and the file,
            and how their extractors differ.
    """
    records = dict(records_by_checkpoint)
    if scene_graphs is not None and any(
            record is not None for record in records.values()):
        record = scene_graphs_record(scene_graphs)
        if record is None:
            warnings.warn(
                f"{scene_graphs} has no {EXTRACTOR_FILE} beside it: nothing "
                f"says which detector made its scene graphs, so they are not "
                f"checked against the checkpoint's", DataNotice,
                stacklevel=2)
        records[f"{scene_graphs} ({EXTRACTOR_FILE} beside it)"] = record
    check_same_extractor(records, "a model needs scene graphs of the "
                         "extractor it was trained with: use checkpoints "
                         "trained with one extractor, and scene graphs made "
                         "by it")


def extractor_for_checkpoint(recorded: Optional[ExtractorRecord],
                             checkpoint: PathLike,
                             detector: Optional[str] = None,
                             force_detector: bool = False) -> ExtractorConfig:
    """The extractor that gives a checkpoint trained on the scene graphs of
    ``recorded`` the same graphs from raw images: the recorded one, its
    detector replaced by ``detector`` when that is the same model (same
    files, wherever they are) or with ``force_detector``.

    Raises:
        ValueError: when nothing is recorded and no forced ``detector`` is
            given, or, without ``force_detector``, when ``detector`` (or the
            recorded detector as it is now) is not the detector recorded.
    """
    if recorded is None:
        if detector is None or not force_detector:
            raise ValueError(
                f"{checkpoint} records no scene-graph extractor (its scene "
                f"graphs were read from files, not extracted from images): "
                f"give graphs made the same way with scene_graphs=FILE, or "
                f"extract with a detector it was not trained with: "
                f"detector=NAME_OR_PATH force_detector=True")
        return ExtractorConfig(detector=detector)
    wanted = (recorded.config if detector is None
              else recorded.config.replace(detector=detector))
    if force_detector:
        return wanted
    now = ExtractorRecord.of(wanted)
    if recorded.detector_identity is None:
        warnings.warn(
            f"{checkpoint} names its detector {recorded.config.detector!r} "
            f"without recording what it is (written by an older jmere_pyg): "
            f"it is compared by name", DataNotice, stacklevel=3)
        same = detector is None or detector == recorded.config.detector
    else:
        # A folder that does not exist has no identity: loading it says so.
        same = now.detector_identity is None or same_detector(recorded, now)
    if same:
        return wanted
    if detector is None:
        raise ValueError(
            f"the detector {recorded.config.detector!r} is not the one "
            f"{checkpoint} was trained with ({now.identity_text()} now, "
            f"{recorded.identity_text()} then); point detector=NAME_OR_PATH "
            f"at the detector it was trained with, or add "
            f"force_detector=True")
    raise ValueError(
        f"{checkpoint} was trained on scene graphs from the detector "
        f"{recorded.describe_detector()}, not {now.describe_detector()}: "
        f"leave detector=NAME_OR_PATH out to use the recorded one, or add "
        f"force_detector=True")
