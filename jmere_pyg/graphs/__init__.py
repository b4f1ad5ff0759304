"""Graphs of a post: the textual graph (dependency parse of the given words),
word-pair features (syntactic distance, PMI), the node and edge types of the
``HeteroData`` layout, the :class:`GraphBuilder` that turns a sample and its
scene graph into a ``HeteroData``, and the windows that long posts are cut
into for extraction."""
from .builder import UPOS_TAGS, GraphBuilder
from .layout import DEP, OBJECT, PAIR, REL, WORD
from .pmi import PMIStatistics
from .text_graph import (DEFAULT_PIPELINE, ParsedSentence, TextParser,
                         dependency_distances)
from .vocab import Vocabulary
from .windows import sentence_spans, window_spans

__all__ = [
    "DEFAULT_PIPELINE",
    "DEP",
    "GraphBuilder",
    "OBJECT",
    "PAIR",
    "PMIStatistics",
    "ParsedSentence",
    "REL",
    "TextParser",
    "UPOS_TAGS",
    "Vocabulary",
    "WORD",
    "dependency_distances",
    "sentence_spans",
    "window_spans",
]
