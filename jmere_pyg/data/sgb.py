"""Reader of the Scene-Graph-Benchmark generator's output (Tang et al. 2020,
the generator the paper uses) into :class:`~jmere_pyg.data.scene_graph.SceneGraph`
objects; our own JSON format is in :mod:`jmere_pyg.data.scene_graph`."""
import json
import os
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Sequence, Union

import numpy as np
import torch

from .errors import (SceneGraphFormatError, box_problem, is_index, load_json,
                     score_problem)
from .scene_graph import SceneGraph, SceneObject, SceneRelation, add_graph
from .tensor_files import load_plain

PathLike = Union[str, os.PathLike]


def _load_features(features: Any) -> Any:
    """Loads an object-feature file, or passes an in-memory container."""
    if not isinstance(features, (str, os.PathLike)):
        return features
    path = Path(features)
    # Nothing is unpickled: a feature file holds arrays of numbers only.
    if path.suffix == ".pt":
        return load_plain(path, "feature file")
    if path.suffix in (".npz", ".npy"):
        try:
            if path.suffix == ".npy":
                return np.load(path, allow_pickle=False)
            with np.load(path, allow_pickle=False) as archive:
                return {key: archive[key] for key in archive.files}
        except ValueError as error:
            if "allow_pickle" not in str(error):
                raise ValueError(f"{path}: {error}") from None
            raise ValueError(
                f"{path}: holds Python objects (a dict saved with np.save is "
                f"pickled), which are never loaded; save one array per image "
                f"with np.savez(path, **{{str(index): array}}) as a .npz "
                f"file instead") from None
    raise ValueError(f"{path}: object features must be a .npy, .npz or .pt "
                     f"file, got suffix {path.suffix!r}")


def _feature_rows(features: Any, image_index: int, num_boxes: int,
                  path: str) -> Optional[np.ndarray]:
    """The ``[num_boxes, F]`` feature array of one image, or None."""
    field = f"features[{image_index}]"
    if isinstance(features, Mapping):
        rows = features.get(image_index, features.get(str(image_index)))
        if rows is None:
            return None
    else:
        if image_index >= len(features):
            raise SceneGraphFormatError(
                path, field, f"no features for image {image_index}: the "
                f"array holds {len(features)} images")
        rows = features[image_index]
    if isinstance(rows, torch.Tensor):
        rows = rows.detach().cpu().numpy()
    rows = np.asarray(rows, dtype=np.float32)
    if rows.ndim != 2 or rows.shape[0] != num_boxes:
        raise SceneGraphFormatError(
            path, field, f"expected shape [{num_boxes}, F] (one row per "
            f"box), got {list(rows.shape)}")
    return rows


def read_sgb_output(prediction_json: PathLike, data_info_json: PathLike,
                    features: Any = None) -> Dict[str, SceneGraph]:
    """Reads the output of Scene-Graph-Benchmark's custom-image inference.

    Args:
        prediction_json (str): ``custom_prediction.json``: image index
            (string) -> ``{"bbox": [[x1, y1, x2, y2], ...], "bbox_labels":
            [...], "bbox_scores": [...], "rel_pairs": [[i, j], ...],
            "rel_labels": [...], "rel_scores": [...]}``. Labels index the
            class and predicate lists of the data info file; ``rel_pairs``
            index the boxes of the same image.
        data_info_json (str): ``custom_data_info.json`` with
            ``idx_to_files`` (image paths by index), ``ind_to_classes`` and
            ``ind_to_predicates``.
        features (str or container, optional): Object features, one
            ``[num_boxes, F]`` array per image, rows in box order: a ``.pt``
            file holding a dict (image index, int or string -> tensor) or a
            list / ``[num_images, num_boxes, F]`` tensor indexed by image
            index, a ``.npy`` file of one ``[num_images, num_boxes, F]``
            array, a ``.npz`` archive keyed by image index, or such a
            container itself. Files are read without unpickling: a ``.npy``
            of Python objects is refused. Images missing from a dict get no
            features.

    Returns:
        dict: image file base name -> :class:`SceneGraph` (every box kept;
        select with :meth:`SceneGraph.top_k`).

    Raises:
        SceneGraphFormatError: naming the file and field of malformed input
            (missing fields, lengths that differ, indices out of range, two
            images with the same file name).
    """
    prediction_path, info_path = str(prediction_json), str(data_info_json)
    predictions = _load_json(prediction_path)
    info = _load_json(info_path)
    if not isinstance(info, dict):
        raise SceneGraphFormatError(info_path, None, "expected an object")
    for key in ("idx_to_files", "ind_to_classes", "ind_to_predicates"):
        if not isinstance(info.get(key), list):
            raise SceneGraphFormatError(info_path, key,
                                        "missing or not a list")
    files = info["idx_to_files"]
    classes, predicates = info["ind_to_classes"], info["ind_to_predicates"]
    if not isinstance(predictions, dict):
        raise SceneGraphFormatError(
            prediction_path, None, "expected an object mapping image "
            "indices to predictions")
    feature_source = str(features) if isinstance(
        features, (str, os.PathLike)) else "features"
    features = _load_features(features)

    graphs: Dict[str, SceneGraph] = {}
    for key, prediction in predictions.items():
        where = f"[{json.dumps(key)}]"
        try:
            image_index = int(key)
        except ValueError:
            raise SceneGraphFormatError(
                prediction_path, where, "keys must be image indices") from None
        if not 0 <= image_index < len(files):
            raise SceneGraphFormatError(
                prediction_path, where, f"image index {image_index} out of "
                f"range for {len(files)} files in {info_path} idx_to_files")
        graph = _sgb_graph(prediction, classes, predicates, prediction_path,
                           where)
        if features is not None:
            rows = _feature_rows(features, image_index, graph.num_objects,
                                 feature_source)
            if rows is not None:
                for obj, row in zip(graph.objects, rows):
                    obj.feature = row.tolist()
        add_graph(graphs, files[image_index], graph, info_path,
                   f"idx_to_files[{image_index}]")
    return graphs


def _load_json(path: str) -> Any:
    try:
        with open(path, encoding="utf-8") as file:
            return load_json(file.read())
    except UnicodeDecodeError as error:
        raise SceneGraphFormatError(path, None,
                                    f"not UTF-8 text: {error}") from None
    except ValueError as error:
        raise SceneGraphFormatError(path, None, str(error)) from None


def _sgb_graph(prediction: Any, classes: Sequence[str],
               predicates: Sequence[str], path: str,
               where: str) -> SceneGraph:
    def fail(name: str, detail: str):
        raise SceneGraphFormatError(path, f"{where}.{name}", detail)

    if not isinstance(prediction, dict):
        raise SceneGraphFormatError(path, where, "expected an object")
    for key in ("bbox", "bbox_labels", "bbox_scores", "rel_pairs",
                "rel_labels", "rel_scores"):
        if not isinstance(prediction.get(key), list):
            fail(key, "missing or not a list")
    boxes, labels = prediction["bbox"], prediction["bbox_labels"]
    scores = prediction["bbox_scores"]
    if not len(boxes) == len(labels) == len(scores):
        fail("bbox", f"bbox, bbox_labels and bbox_scores differ in length "
             f"({len(boxes)}, {len(labels)}, {len(scores)})")
    pairs, rel_labels = prediction["rel_pairs"], prediction["rel_labels"]
    rel_scores = prediction["rel_scores"]
    if not len(pairs) == len(rel_labels) == len(rel_scores):
        fail("rel_pairs", f"rel_pairs, rel_labels and rel_scores differ in "
             f"length ({len(pairs)}, {len(rel_labels)}, {len(rel_scores)})")

    objects = []
    for i, (box, label, score) in enumerate(zip(boxes, labels, scores)):
        problem = box_problem(box) if isinstance(box, list) else (
            f"expected 4 numbers, got {box!r}")
        if problem:
            fail(f"bbox[{i}]", problem)
        if not is_index(label, len(classes)):
            fail(f"bbox_labels[{i}]", f"class index {label!r} out of range "
                 f"for {len(classes)} ind_to_classes")
        problem = score_problem(score)
        if problem:
            fail(f"bbox_scores[{i}]", problem)
        objects.append(SceneObject(classes[label], float(score),
                                   tuple(float(v) for v in box)))
    relations = []
    for r, (pair, label, score) in enumerate(zip(pairs, rel_labels,
                                                 rel_scores)):
        if (not isinstance(pair, list) or len(pair) != 2
                or not all(is_index(i, len(objects)) for i in pair)):
            fail(f"rel_pairs[{r}]", f"expected two box indices below "
                 f"{len(objects)}, got {pair!r}")
        if not is_index(label, len(predicates)):
            fail(f"rel_labels[{r}]", f"predicate index {label!r} out of "
                 f"range for {len(predicates)} ind_to_predicates")
        problem = score_problem(score)
        if problem:
            fail(f"rel_scores[{r}]", problem)
        relations.append(SceneRelation(pair[0], predicates[label], pair[1],
                                       float(score)))
    return SceneGraph(objects, relations)
