"""Plain data types of JMERE: entities, quintuples and samples."""
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

from ..labels import SYMMETRIC_RELATIONS
from .scene_graph import SceneGraph


@dataclass(frozen=True, order=True)
class Entity:
    """A typed word span ``[start, end)``."""
    start: int
    end: int
    type: str

    @property
    def span(self) -> Tuple[int, int]:
        return self.start, self.end

    def words(self, tokens: List[str]) -> List[str]:
        return tokens[self.start:self.end]


@dataclass(frozen=True, order=True)
class Quintuple:
    """``(entity1, type1, entity2, type2, relation)``; ``head -> tail`` is the
    direction of the relation."""
    head: Entity
    tail: Entity
    relation: str

    @property
    def is_symmetric(self) -> bool:
        return self.relation in SYMMETRIC_RELATIONS

    def reversed(self) -> "Quintuple":
        return Quintuple(self.tail, self.head, self.relation)


@dataclass
class Sample:
    """One post: its words, its image id and its gold quintuples.

    ``scene_graph`` is the visual graph of the image (a
    :class:`~jmere_pyg.data.scene_graph.SceneGraph`) or ``None`` when the post has no
    image or no scene graph: such a sample has zero objects and is valid.
    ``source`` says where the sample was read (``file:line``) for messages.
    """
    tokens: List[str]
    image_id: Optional[str] = None
    quintuples: List[Quintuple] = field(default_factory=list)
    scene_graph: Optional[SceneGraph] = None
    source: Optional[str] = None

    @property
    def entities(self) -> List[Entity]:
        """Distinct entities of the quintuples, sorted by position."""
        return sorted({e for q in self.quintuples for e in (q.head, q.tail)})
