"""Folders of images and the scene graphs extracted from them.

Which files to read (:func:`list_images`, :func:`image_paths`), the size of
the extracted object features, and the extraction cache of a corpus
(:func:`cache_scene_graphs`: ``scene_graphs.json`` with the extractor's
identity beside it, :mod:`jmere_pyg.vision.record`).
"""
import os
import sys
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Union

import torch

from ..data.scene_graph import SceneGraph, image_key, write_scene_graphs
from .extractor import ExtractionResult, ExtractorConfig, SceneGraphExtractor
from .record import (EXTRACTOR_FILE, ExtractorRecord, check_same_extractor,
                     read_extractor_file, write_extractor_file)

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


def cache_scene_graphs(graphs_file: PathLike, images: PathLike,
                       image_ids: Iterable[Optional[str]],
                       extractor: Union[None, ExtractorConfig,
                                        SceneGraphExtractor] = None, *,
                       force: bool = False, progress: bool = True,
                       log: bool = True) -> Optional[ExtractionResult]:
    """Extract the scene graphs of the images ``image_ids`` name in the
    folder ``images`` into ``graphs_file``, with the extractor's identity in
    ``scene_graph_extractor.json`` beside it, unless a cache made by the same
    extractor is there (then ``None``; ``force`` extracts again).

    Args:
        graphs_file: the scene graph file to write (our JSON format).
        images: the folder of images.
        image_ids: the posts' image ids (matched by base name), read only
            when the images are extracted.
        extractor: the extractor or its settings (default: the default
            :class:`ExtractorConfig`).
        force: extract even when a matching cache exists.
        progress: show a progress bar.
        log: print the extraction summary on stderr.

    Returns:
        the extraction result (unreadable images counted in it), or ``None``
        when the cache was kept.

    Raises:
        ValueError: when ``graphs_file`` exists without an extractor record
            (graphs not made from images) or was made by another extractor.
    """
    config = (extractor.config if isinstance(extractor, SceneGraphExtractor)
              else extractor or ExtractorConfig())
    graphs_file = Path(graphs_file)
    extractor_file = graphs_file.parent / EXTRACTOR_FILE
    if graphs_file.exists() and not force:
        if not extractor_file.is_file():
            raise ValueError(
                f"{graphs_file} was not made from images (no "
                f"{EXTRACTOR_FILE} beside it); open the dataset without "
                f"images, or pass force_reload=True to extract the scene "
                f"graphs of {images} in its place")
        check_same_extractor(
            {str(extractor_file): read_extractor_file(extractor_file),
             "the extractor given": ExtractorRecord.of(config)},
            "pass force_reload=True to extract them again with the "
            "extractor given")
        return None
    paths = image_paths(images, image_ids)
    if not isinstance(extractor, SceneGraphExtractor):
        extractor = SceneGraphExtractor(
            config, device="cuda" if torch.cuda.is_available() else "cpu")
    result = extractor.extract(list(paths.values()), progress=progress)
    if log:
        print(f"Scene graphs of {images}: {result.summary()}",
              file=sys.stderr)
    write_scene_graphs(graphs_file, result.graphs)
    write_extractor_file(extractor_file, config)
    return result
