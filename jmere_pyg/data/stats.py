"""Corpus statistics of JMERE samples."""
from collections import Counter
from typing import Dict, Iterable

from ..labels import ENTITY_TYPES, RELATIONS
from .sample import Sample


def dataset_statistics(samples: Iterable[Sample]) -> Dict[str, object]:
    """Counts sentences, words, entities and quintuples of a list of samples.

    Entities are counted per sentence as distinct ``(start, end, type)``
    (:attr:`Sample.entities`), so an entity in two quintuples of a sentence
    counts once.

    Args:
        samples (iterable of Sample): The samples.

    Returns:
        A dict with

        - ``sentences`` (int): number of samples;
        - ``quintuples`` (int): number of quintuples;
        - ``entities`` (int): distinct entities, summed over sentences;
        - ``relations`` (dict): relation -> quintuples, every relation of
          :data:`~jmere_pyg.labels.RELATIONS` in that order (relations
          outside it follow, sorted);
        - ``entity_types`` (dict): entity type -> distinct entities, every
          type of :data:`~jmere_pyg.labels.ENTITY_TYPES` in that order
          (types outside it follow, sorted);
        - ``words`` (int), ``max_words`` (int), ``mean_words`` (float):
          total, largest and mean number of words per sentence (0 for no
          samples);
        - ``nested_entity_sentences`` (int): sentences where two different
          entity spans overlap;
        - ``symmetric_quintuples`` (int): quintuples whose relation is
          symmetric (:data:`~jmere_pyg.labels.SYMMETRIC_RELATIONS`);
        - ``images`` (int): samples with an image id;
        - ``sentences_without_quintuples`` (int): samples with no quintuple.
    """
    samples = list(samples)
    relations: Counter = Counter()
    entity_types: Counter = Counter()
    entities = nested = symmetric = 0
    for sample in samples:
        relations.update(q.relation for q in sample.quintuples)
        symmetric += sum(q.is_symmetric for q in sample.quintuples)
        sample_entities = sample.entities
        entities += len(sample_entities)
        entity_types.update(e.type for e in sample_entities)
        nested += _has_overlapping_spans(
            {entity.span for entity in sample_entities})
    lengths = [len(sample.tokens) for sample in samples]
    return {
        "sentences": len(samples),
        "quintuples": sum(relations.values()),
        "entities": entities,
        "relations": _ordered_counts(relations, RELATIONS),
        "entity_types": _ordered_counts(entity_types, ENTITY_TYPES),
        "words": sum(lengths),
        "max_words": max(lengths, default=0),
        "mean_words": sum(lengths) / len(lengths) if lengths else 0.0,
        "nested_entity_sentences": nested,
        "symmetric_quintuples": symmetric,
        "images": sum(sample.image_id is not None for sample in samples),
        "sentences_without_quintuples": sum(not sample.quintuples
                                            for sample in samples),
    }


def _ordered_counts(counts: Counter, order) -> Dict[str, int]:
    ordered = {key: counts.get(key, 0) for key in order}
    ordered.update((key, counts[key]) for key in sorted(set(counts) -
                                                        set(order)))
    return ordered


def _has_overlapping_spans(spans) -> bool:
    """Whether two different ``(start, end)`` spans share a word."""
    spans = sorted(spans)
    furthest_end = None
    for start, end in spans:
        if furthest_end is not None and start < furthest_end:
            return True
        furthest_end = end if furthest_end is None else max(furthest_end, end)
    return False
