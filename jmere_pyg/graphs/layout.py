"""Names of the node and edge types of a sample's ``HeteroData``, spelt once
(the whole layout is in ``docs/architecture.md`` and
:class:`~jmere_pyg.graphs.GraphBuilder`)."""
from typing import Tuple

EdgeType = Tuple[str, str, str]

#: Node type of the words of the post.
WORD = "word"
#: Node type of the detected objects of its image.
OBJECT = "object"
#: Dependency edges (both directions and a self loop per word), typed by
#: dependency label.
DEP: EdgeType = (WORD, "dep", WORD)
#: Every ordered word pair, row-major, with the gold tag and pair features.
PAIR: EdgeType = (WORD, "pair", WORD)
#: Scene-graph predicate edges among objects, plus a self loop per object.
REL: EdgeType = (OBJECT, "rel", OBJECT)
