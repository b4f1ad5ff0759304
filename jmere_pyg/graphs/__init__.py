"""Graphs of a post: the textual graph (dependency parse of the given words),
word-pair features (syntactic distance, PMI), the visual graph (scene graph)
and the :class:`GraphBuilder` that turns a sample into a ``HeteroData``."""
from .builder import UPOS_TAGS, GraphBuilder
from .pmi import PMIStatistics
from .scene_graph import (SceneGraph, SceneGraphFormatError, SceneObject,
                          SceneRelation, image_key, lookup_scene_graph,
                          read_scene_graphs, read_sgb_output,
                          write_scene_graphs)
from .text_graph import (DEFAULT_PIPELINE, ParsedSentence, TextParser,
                         dependency_distances)
from .vocab import Vocabulary

__all__ = [
    "GraphBuilder",
    "UPOS_TAGS",
    "PMIStatistics",
    "SceneGraph",
    "SceneGraphFormatError",
    "SceneObject",
    "SceneRelation",
    "image_key",
    "lookup_scene_graph",
    "read_scene_graphs",
    "read_sgb_output",
    "write_scene_graphs",
    "DEFAULT_PIPELINE",
    "ParsedSentence",
    "TextParser",
    "dependency_distances",
    "Vocabulary",
]
