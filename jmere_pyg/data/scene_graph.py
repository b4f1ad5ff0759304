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

The same graphs as JSON lines, one image a line (what ``jmere-pyg
scene-graphs`` writes as it goes, :func:`scene_graph_line`)::

    {"image": "twitter_19_31_16_6.jpg", "objects": [...], "relations": [...]}

:func:`read_scene_graphs` reads both forms: a file whose first line is an
object with a string ``image`` is JSON lines.

Keys are image file names; a key holding a path is reduced to its base name,
and samples find their graph by the base name of their ``image_id``
(:func:`lookup_scene_graph`). ``subject`` and ``object`` index ``objects``.
There is no limit on the number of objects: :meth:`SceneGraph.top_k` selects
the salient ones when building graphs.

:func:`jmere_pyg.data.sgb.read_sgb_output` reads the output of the
Scene-Graph-Benchmark generator (Tang et al. 2020) that the paper uses.
"""
import itertools
import json
import os
import re
from dataclasses import dataclass, field, replace
from typing import (TYPE_CHECKING, Any, Dict, Iterable, Iterator, List,
                    Mapping, Optional, Sequence, Tuple, Union)

from .errors import (SceneGraphFormatError, box_problem, finite_number,
                     is_int, load_json, score_problem)

if TYPE_CHECKING:
    from .sample import Sample

PathLike = Union[str, os.PathLike]

#: ``"image": "`` as it opens the image name of a line of the JSON lines
#: form.
_IMAGE_FIELD = re.compile(r'"image"\s*:\s*"')


@dataclass
class SceneObject:
    """A detected object.

    Args:
        label (str): Object class, e.g. ``'man'``.
        score (float): Detection (classification) score, in [0, 1].
        box (tuple of 4 float): ``(x1, y1, x2, y2)``, pixel coordinates
            (>= 0, ``x1 <= x2``, ``y1 <= y2``).
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
            problem = score_problem(raw["score"])
            if problem:
                fail(f"{name}.score", problem)
            score = float(raw["score"])
            box = raw["box"]
            problem = box_problem(box) if isinstance(box, list) else (
                f"expected 4 numbers [x1, y1, x2, y2], got {box!r}")
            if problem:
                fail(f"{name}.box", problem)
            feature = raw.get("feature")
            if feature is not None:
                if (not isinstance(feature, list)
                        or any(finite_number(v) is None for v in feature)):
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
                if not is_int(index):
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
                problem = score_problem(score)
                if problem:
                    fail(f"{name}.score", problem)
                score = float(score)
            relations.append(SceneRelation(raw["subject"], raw["predicate"],
                                           raw["object"], score))
        return cls(objects, relations)


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


def attach_scene_graphs(samples: Sequence["Sample"],
                        scene_graphs: Optional[Mapping[str, SceneGraph]]
                        ) -> List["Sample"]:
    """The samples, each carrying the scene graph of its image: the one in
    ``scene_graphs`` (keyed by image file base name,
    :func:`lookup_scene_graph`), else the sample's own ``scene_graph``.

    This is the one place where scene graphs meet posts: everything
    downstream (the graph builder, the predictor) reads
    ``sample.scene_graph`` only. The given samples are not changed; a
    sample whose graph is unchanged is returned as it is.
    """
    if not scene_graphs:
        return list(samples)
    joined = []
    for sample in samples:
        graph = lookup_scene_graph(scene_graphs, sample.image_id)
        joined.append(sample if graph is None or graph is sample.scene_graph
                      else replace(sample, scene_graph=graph))
    return joined


def add_graph(graphs: Dict[str, SceneGraph], key: str, graph: SceneGraph,
               path: PathLike, field: str) -> None:
    name = image_key(key)
    if name in graphs:
        raise SceneGraphFormatError(
            path, field, f"a second graph for the image file {name!r}; "
            f"graphs are matched to samples by file base name")
    graphs[name] = graph


def read_scene_graphs(path: PathLike) -> Dict[str, SceneGraph]:
    """Reads a scene graph file in our JSON format, one object or JSON
    lines (module docstring).

    Returns:
        dict: image file base name -> :class:`SceneGraph`.

    Raises:
        SceneGraphFormatError: for malformed content, naming file and field
            (and line, in JSON lines).
    """
    try:
        with open(path, encoding="utf-8") as file:
            first = file.readline()
            if _is_scene_graph_line(first):
                return _read_scene_graph_lines(path, first, file)
            content = load_json(first + file.read())
    except UnicodeDecodeError as error:
        raise SceneGraphFormatError(path, None,
                                    f"not UTF-8 text: {error}") from None
    except ValueError as error:
        if isinstance(error, SceneGraphFormatError):
            raise
        raise SceneGraphFormatError(path, None, str(error)) from None
    if not isinstance(content, dict):
        raise SceneGraphFormatError(
            path, None, f"expected an object mapping image file names to "
            f"graphs, got {type(content).__name__}")
    graphs: Dict[str, SceneGraph] = {}
    for key, state in content.items():
        where = f"[{json.dumps(key)}]"
        graph = SceneGraph.from_dict(state, path=path, where=where + ".")
        add_graph(graphs, key, graph, path, where)
    return graphs


def _is_scene_graph_line(line: str) -> bool:
    """Whether ``line`` is a line of the JSON lines form: an object whose
    ``image`` is a string (in the one-object form, every value is a
    graph; the search spares parsing a one-object file twice)."""
    if not _IMAGE_FIELD.search(line):
        return False
    try:
        record = json.loads(line)
    except (ValueError, RecursionError):
        return False
    return isinstance(record, dict) and isinstance(record.get("image"), str)


def _read_scene_graph_lines(path: PathLike, first: str,
                            rest: Iterable[str]) -> Dict[str, SceneGraph]:
    graphs: Dict[str, SceneGraph] = {}
    for number, line in enumerate(itertools.chain([first], rest), 1):
        if not line.strip():
            continue
        try:
            record = load_json(line)
            if not (isinstance(record, dict)
                    and isinstance(record.get("image"), str)):
                raise SceneGraphFormatError(
                    path, None, "expected an object with a string 'image' "
                    "and the image's 'objects' and 'relations'")
            image = record.pop("image")
            graph = SceneGraph.from_dict(record, path=path)
            add_graph(graphs, image, graph, path, "image")
        except ValueError as error:
            if isinstance(error, SceneGraphFormatError):
                raise SceneGraphFormatError(path, error.field, error.detail,
                                            line=number) from None
            raise SceneGraphFormatError(path, None, str(error),
                                        line=number) from None
    return graphs


def scene_graph_line(image: str, graph: SceneGraph) -> str:
    """The line of ``image``'s graph in the JSON lines form (without the
    newline)."""
    return json.dumps({"image": image, **graph.to_dict()})


def scene_graph_object_pieces(lines: Iterable[str]) -> Iterator[str]:
    """The one-object form of the graphs of ``lines`` (JSON lines form),
    piece by piece, so that memory holds one graph at a time: the same text
    as :func:`write_scene_graphs` writes for them."""
    yield "{"
    for index, line in enumerate(lines):
        record = json.loads(line)
        image = record.pop("image")
        yield f"{', ' if index else ''}{json.dumps(image)}: " \
              f"{json.dumps(record)}"
    yield "}"


def write_scene_graphs(path: PathLike,
                       scene_graphs: Mapping[str, SceneGraph]) -> None:
    """Writes ``scene_graphs`` (image file name -> graph) in our JSON
    format."""
    content = {key: graph.to_dict() for key, graph in scene_graphs.items()}
    with open(path, "w", encoding="utf-8") as file:
        json.dump(content, file)
