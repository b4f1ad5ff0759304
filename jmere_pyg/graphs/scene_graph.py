"""Scene graphs (visual graphs): objects, predicates, and their file formats.

Our JSON format, one file for a set of images::

    {
      "twitter_19_31_16_6.jpg": {
        "objects": [
          {"label": "man", "score": 0.93, "box": [x1, y1, x2, y2],
           "feature": [0.1, ...]},                 # "feature" optional
          ...
        ],
        "relations": [
          {"subject": 0, "predicate": "holding", "object": 1,
           "score": 0.71},                         # "score" optional
          ...
        ]
      },
      ...
    }

Keys are image file names; a key holding a path is reduced to its base name,
and samples find their graph by the base name of their ``image_id``
(:func:`lookup_scene_graph`). ``subject`` and ``object`` index ``objects``.
There is no limit on the number of objects: :meth:`SceneGraph.top_k` selects
the salient ones when building graphs.

:func:`read_sgb_output` reads the output of the Scene-Graph-Benchmark
generator (Tang et al. 2020) that the paper uses.
"""
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import (Any, Dict, List, Mapping, Optional, Sequence, Tuple,
                    Union)

import numpy as np
import torch

PathLike = Union[str, os.PathLike]


class SceneGraphFormatError(ValueError):
    """Malformed scene graph input; the message names the file and the
    field, e.g. ``graphs.json: ["a.jpg"].objects[2].box: expected 4 numbers,
    got 3``."""

    def __init__(self, path: Optional[PathLike], field: str, detail: str):
        self.path = None if path is None else str(path)
        self.field = field
        self.detail = detail
        where = f"{self.path}: " if self.path is not None else ""
        super().__init__(f"{where}{field}: {detail}")


@dataclass
class SceneObject:
    """A detected object.

    Args:
        label (str): Object class, e.g. ``'man'``.
        score (float): Detection (classification) score.
        box (tuple of 4 float): ``(x1, y1, x2, y2)``.
        feature (list of float, optional): Feature vector ``[F]``.
    """
    label: str
    score: float
    box: Tuple[float, float, float, float]
    feature: Optional[List[float]] = None


@dataclass
class SceneRelation:
    """A predicate ``subject -> object`` between two objects (indices into
    :attr:`SceneGraph.objects`)."""
    subject: int
    predicate: str
    object: int
    score: Optional[float] = None


@dataclass
class SceneGraph:
    """The visual graph of one image.

    Raises:
        ValueError: if a relation indexes a missing object.
    """
    objects: List[SceneObject] = field(default_factory=list)
    relations: List[SceneRelation] = field(default_factory=list)

    def __post_init__(self):
        for r, relation in enumerate(self.relations):
            for end in ("subject", "object"):
                index = getattr(relation, end)
                if not 0 <= index < len(self.objects):
                    raise ValueError(
                        f"relations[{r}].{end} = {index} is out of range for "
                        f"{len(self.objects)} objects")

    @property
    def num_objects(self) -> int:
        return len(self.objects)

    def top_k(self, k: int = 10) -> "SceneGraph":
        """The ``k`` objects of highest score (ties: the earlier object) and
        the relations among them, re-indexed.

        Kept objects keep their relative order; relations keep theirs.
        """
        if k < 0:
            raise ValueError(f"k must be >= 0, got {k}")
        if len(self.objects) <= k:
            return self
        ranked = sorted(range(len(self.objects)),
                        key=lambda i: (-self.objects[i].score, i))
        kept = sorted(ranked[:k])
        new_index = {old: new for new, old in enumerate(kept)}
        relations = [
            SceneRelation(new_index[r.subject], r.predicate,
                          new_index[r.object], r.score)
            for r in self.relations
            if r.subject in new_index and r.object in new_index
        ]
        return SceneGraph([self.objects[i] for i in kept], relations)

    def to_dict(self) -> Dict[str, Any]:
        """This graph in our JSON format (see the module docstring)."""
        objects = []
        for obj in self.objects:
            entry = {"label": obj.label, "score": obj.score,
                     "box": list(obj.box)}
            if obj.feature is not None:
                entry["feature"] = [float(v) for v in obj.feature]
            objects.append(entry)
        relations = []
        for rel in self.relations:
            entry = {"subject": rel.subject, "predicate": rel.predicate,
                     "object": rel.object}
            if rel.score is not None:
                entry["score"] = rel.score
            relations.append(entry)
        return {"objects": objects, "relations": relations}

    @classmethod
    def from_dict(cls, state: Any, *, path: Optional[PathLike] = None,
                  where: str = "") -> "SceneGraph":
        """Parses one graph of our JSON format, validating every field.

        Args:
            state (dict): ``{"objects": [...], "relations": [...]}``.
            path (str, optional): The file, for error messages.
            where (str, optional): The graph's place in the file, prefixed to
                field names in error messages.

        Raises:
            SceneGraphFormatError: naming the file and the field at fault.
        """
        def fail(name: str, detail: str):
            raise SceneGraphFormatError(path, f"{where}{name}", detail)

        if not isinstance(state, dict):
            fail("", f"expected an object with 'objects' and 'relations', "
                 f"got {type(state).__name__}")
        unknown = set(state) - {"objects", "relations"}
        if unknown:
            fail("", f"unknown keys {sorted(unknown)}")
        raw_objects = state.get("objects", [])
        raw_relations = state.get("relations", [])
        if not isinstance(raw_objects, list):
            fail("objects", "expected a list")
        if not isinstance(raw_relations, list):
            fail("relations", "expected a list")

        objects = []
        for i, raw in enumerate(raw_objects):
            name = f"objects[{i}]"
            if not isinstance(raw, dict):
                fail(name, "expected an object")
            for key in ("label", "score", "box"):
                if key not in raw:
                    fail(f"{name}.{key}", "missing")
            if not isinstance(raw["label"], str) or not raw["label"]:
                fail(f"{name}.label", f"expected a non-empty string, got "
                     f"{raw['label']!r}")
            score = _number(raw["score"])
            if score is None:
                fail(f"{name}.score", f"expected a number, got "
                     f"{raw['score']!r}")
            box = raw["box"]
            if (not isinstance(box, list) or len(box) != 4
                    or any(_number(v) is None for v in box)):
                fail(f"{name}.box", f"expected 4 numbers [x1, y1, x2, y2], "
                     f"got {box!r}")
            feature = raw.get("feature")
            if feature is not None:
                if (not isinstance(feature, list)
                        or any(_number(v) is None for v in feature)):
                    fail(f"{name}.feature", "expected a list of numbers")
                feature = [float(v) for v in feature]
            objects.append(SceneObject(raw["label"], score,
                                       tuple(float(v) for v in box), feature))

        relations = []
        for r, raw in enumerate(raw_relations):
            name = f"relations[{r}]"
            if not isinstance(raw, dict):
                fail(name, "expected an object")
            for key in ("subject", "predicate", "object"):
                if key not in raw:
                    fail(f"{name}.{key}", "missing")
            for key in ("subject", "object"):
                index = raw[key]
                if not isinstance(index, int) or isinstance(index, bool):
                    fail(f"{name}.{key}", f"expected an object index, got "
                         f"{index!r}")
                if not 0 <= index < len(objects):
                    fail(f"{name}.{key}", f"index {index} out of range for "
                         f"{len(objects)} objects")
            if not isinstance(raw["predicate"], str) or not raw["predicate"]:
                fail(f"{name}.predicate", f"expected a non-empty string, got "
                     f"{raw['predicate']!r}")
            score = raw.get("score")
            if score is not None:
                score = _number(score)
                if score is None:
                    fail(f"{name}.score", f"expected a number, got "
                         f"{raw['score']!r}")
            relations.append(SceneRelation(raw["subject"], raw["predicate"],
                                           raw["object"], score))
        return cls(objects, relations)


def _number(value: Any) -> Optional[float]:
    """``float(value)`` for a finite int or float (not bool), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def image_key(image_id: str) -> str:
    """The key of an image: the base name of its file (``a/b/x.jpg`` ->
    ``x.jpg``)."""
    return os.path.basename(str(image_id).replace("\\", "/"))


def lookup_scene_graph(scene_graphs: Mapping[str, SceneGraph],
                       image_id: Optional[str]) -> Optional[SceneGraph]:
    """The graph of ``image_id`` in ``scene_graphs`` (keyed by file base
    name), ``None`` when the image has no graph or ``image_id`` is None."""
    if image_id is None:
        return None
    return scene_graphs.get(image_key(image_id))


def _add_graph(graphs: Dict[str, SceneGraph], key: str, graph: SceneGraph,
               path: PathLike, field: str) -> None:
    name = image_key(key)
    if name in graphs:
        raise SceneGraphFormatError(
            path, field, f"a second graph for the image file {name!r}; "
            f"graphs are matched to samples by file base name")
    graphs[name] = graph


def read_scene_graphs(path: PathLike) -> Dict[str, SceneGraph]:
    """Reads a scene graph file in our JSON format (module docstring).

    Returns:
        dict: image file base name -> :class:`SceneGraph`.

    Raises:
        SceneGraphFormatError: for malformed content, naming file and field.
    """
    try:
        with open(path, encoding="utf-8") as file:
            content = json.load(file)
    except json.JSONDecodeError as error:
        raise SceneGraphFormatError(path, "<file>",
                                    f"invalid JSON: {error}") from None
    if not isinstance(content, dict):
        raise SceneGraphFormatError(
            path, "<file>", f"expected an object mapping image file names to "
            f"graphs, got {type(content).__name__}")
    graphs: Dict[str, SceneGraph] = {}
    for key, state in content.items():
        where = f"[{json.dumps(key)}]"
        graph = SceneGraph.from_dict(state, path=path, where=where + ".")
        _add_graph(graphs, key, graph, path, where)
    return graphs


def write_scene_graphs(path: PathLike,
                       scene_graphs: Mapping[str, SceneGraph]) -> None:
    """Writes ``scene_graphs`` (image file name -> graph) in our JSON
    format."""
    content = {key: graph.to_dict() for key, graph in scene_graphs.items()}
    with open(path, "w", encoding="utf-8") as file:
        json.dump(content, file)


def _load_features(features: Any) -> Any:
    """Loads an object-feature file, or passes an in-memory container."""
    if not isinstance(features, (str, os.PathLike)):
        return features
    path = Path(features)
    if path.suffix == ".pt":
        return torch.load(path, map_location="cpu", weights_only=True)
    if path.suffix == ".npz":
        with np.load(path) as archive:
            return {key: archive[key] for key in archive.files}
    if path.suffix == ".npy":
        # A dict saved with np.save is a pickled object array: only load
        # feature files you trust.
        array = np.load(path, allow_pickle=True)
        if array.dtype == object and array.shape == ():
            return array.item()
        return array
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
            or ``.npy`` file holding a dict (image index, int or string ->
            array) or a list / ``[num_images, num_boxes, F]`` array indexed by
            image index, a ``.npz`` archive keyed by image index, or such a
            container itself. Images missing from a dict get no features.

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
        raise SceneGraphFormatError(info_path, "<file>", "expected an object")
    for key in ("idx_to_files", "ind_to_classes", "ind_to_predicates"):
        if not isinstance(info.get(key), list):
            raise SceneGraphFormatError(info_path, key,
                                        "missing or not a list")
    files = info["idx_to_files"]
    classes, predicates = info["ind_to_classes"], info["ind_to_predicates"]
    if not isinstance(predictions, dict):
        raise SceneGraphFormatError(
            prediction_path, "<file>", "expected an object mapping image "
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
        _add_graph(graphs, files[image_index], graph, info_path,
                   f"idx_to_files[{image_index}]")
    return graphs


def _load_json(path: str) -> Any:
    try:
        with open(path, encoding="utf-8") as file:
            return json.load(file)
    except json.JSONDecodeError as error:
        raise SceneGraphFormatError(path, "<file>",
                                    f"invalid JSON: {error}") from None


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
        if (not isinstance(box, list) or len(box) != 4
                or any(_number(v) is None for v in box)):
            fail(f"bbox[{i}]", f"expected 4 numbers, got {box!r}")
        if not _is_index(label, len(classes)):
            fail(f"bbox_labels[{i}]", f"class index {label!r} out of range "
                 f"for {len(classes)} ind_to_classes")
        if _number(score) is None:
            fail(f"bbox_scores[{i}]", f"expected a number, got {score!r}")
        objects.append(SceneObject(classes[label], float(score),
                                   tuple(float(v) for v in box)))
    relations = []
    for r, (pair, label, score) in enumerate(zip(pairs, rel_labels,
                                                 rel_scores)):
        if (not isinstance(pair, list) or len(pair) != 2
                or not all(_is_index(i, len(objects)) for i in pair)):
            fail(f"rel_pairs[{r}]", f"expected two box indices below "
                 f"{len(objects)}, got {pair!r}")
        if not _is_index(label, len(predicates)):
            fail(f"rel_labels[{r}]", f"predicate index {label!r} out of "
                 f"range for {len(predicates)} ind_to_predicates")
        if _number(score) is None:
            fail(f"rel_scores[{r}]", f"expected a number, got {score!r}")
        relations.append(SceneRelation(pair[0], predicates[label], pair[1],
                                       float(score)))
    return SceneGraph(objects, relations)


def _is_index(value: Any, size: int) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool)
            and 0 <= value < size)
