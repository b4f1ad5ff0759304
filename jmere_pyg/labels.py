"""The label space of JMERE: entity types, relations and word-pair tags."""
from typing import Dict, Tuple

#: Entity types, in tag order.
ENTITY_TYPES: Tuple[str, ...] = ("per", "org", "loc", "misc")

#: Relation labels, in tag order.
RELATIONS: Tuple[str, ...] = (
    "parent", "siblings", "couple", "neighbor", "peer", "charges", "alumi",
    "alternate_names", "place_of_residence", "place_of_birth", "member_of",
    "subsidiary", "locate_at", "contain", "present_in", "awarded", "race",
    "religion", "nationality", "part_of", "held_on",
)

#: Relations whose head/tail order carries no meaning in the data.
SYMMETRIC_RELATIONS = frozenset(
    {"peer", "couple", "siblings", "neighbor", "alternate_names"})

NONE_TAG = "none"

#: Word-pair tags: none, then the entity types, then the relations.
TAGS: Tuple[str, ...] = (NONE_TAG, ) + ENTITY_TYPES + RELATIONS
#: Tag -> its id in the word-pair grid (the index in :data:`TAGS`).
TAG_TO_ID: Dict[str, int] = {tag: i for i, tag in enumerate(TAGS)}
NUM_TAGS = len(TAGS)
ENTITY_TAG_IDS = tuple(TAG_TO_ID[t] for t in ENTITY_TYPES)
RELATION_TAG_IDS = tuple(TAG_TO_ID[r] for r in RELATIONS)


def is_entity_tag(tag_id: int) -> bool:
    return 1 <= tag_id <= len(ENTITY_TYPES)


def is_relation_tag(tag_id: int) -> bool:
    return tag_id > len(ENTITY_TYPES)
