"""Image files of a corpus and the scene graphs extracted from them.

The glue between folders of images and :mod:`jmere_pyg.vision`: which files
to read (:func:`list_images`, :func:`image_paths`) and the size of the
extracted object features; the extractor's identity saved beside extracted
graphs and in checkpoints is :mod:`jmere_pyg.vision.record`.
"""
import os
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Union

from ..data.scene_graph import SceneGraph, image_key

PathLike = Union[str, os.PathLike]

#: File name suffixes (lower case) taken from a folder of images.
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp", ".tif",
                  ".tiff")


def list_images(inputs: Sequence[PathLike]) -> List[Path]:
    """The image files named by ``inputs``: a folder gives its files whose
    suffix is in :data:`IMAGE_SUFFIXES` (sorted by name, hidden files left
    out); a file is taken as it is (an unreadable one is the extractor's
    counted failure).

    Raises:
        FileNotFoundError: for an input that does not exist.
        ValueError: when two files share a base name (scene graphs are keyed
            by it), naming both.
    """
    files: List[Path] = []
    for item in map(Path, inputs):
        if item.is_dir():
            files.extend(sorted(
                path for path in item.iterdir()
                if path.is_file() and not path.name.startswith(".")
                and path.suffix.lower() in IMAGE_SUFFIXES))
        elif item.exists():
            files.append(item)
        else:
            raise FileNotFoundError(f"{item}: no such image file or folder")
    seen: Dict[str, Path] = {}
    for path in files:
        key = image_key(str(path))
        if key in seen and seen[key] != path:
            raise ValueError(f"{seen[key]} and {path} share the file name "
                             f"{key!r}; scene graphs are keyed by file name")
        seen[key] = path
    return list(seen.values())


def image_paths(images: PathLike,
                image_ids: Iterable[Optional[str]]) -> Dict[str, Path]:
    """Image file name -> its path in the folder ``images``, for every
    distinct ``image_id`` (matched by base name, as scene graphs are; ``None``
    ids are left out). Files need not exist: a missing one is counted as a
    failed image by the extractor.

    Raises:
        FileNotFoundError: when ``images`` is not a folder.
    """
    folder = Path(images)
    if not folder.is_dir():
        raise FileNotFoundError(f"images folder {folder} does not exist")
    return {key: folder / key for key in sorted(
        {image_key(i) for i in image_ids if i is not None})}


def object_feature_dim(scene_graphs: Mapping[str, SceneGraph]) -> int:
    """The size ``F`` of the objects' feature vectors, ``0`` when no object
    has one.

    Raises:
        ValueError: when the features differ in size.
    """
    sizes = {len(obj.feature) for graph in scene_graphs.values()
             for obj in graph.objects if obj.feature is not None}
    if len(sizes) > 1:
        raise ValueError(f"object features of different sizes "
                         f"{sorted(sizes)}; one extractor makes one size")
    return sizes.pop() if sizes else 0
