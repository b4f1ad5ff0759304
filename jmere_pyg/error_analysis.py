"""Why predicted quintuples are wrong, and which gold ones are never found.

The errors are counted as the ``strict`` protocol of :mod:`jmere_pyg.metrics`
counts right and wrong, so the numbers add up to its false positives:

* every false positive gets one cause (:data:`CAUSES`), the first that
  applies: its entity pair is a gold pair with other entity types
  (``entity type``), another relation (``relation``) or the relation the
  other way round (``direction``); else one of its spans is no gold entity,
  and that span lies inside a gold entity, covers one, crosses one or
  touches none (``spurious entity``, which wins over a boundary slip); else
  both spans are gold entities that no gold quintuple pairs
  (``spurious pair``);
* a gold quintuple that is missed and whose two spans no prediction pairs,
  in either order, is a *missed pair*. These are counted by relation, and
  by how many of the pair's two spans occur in some predicted quintuple of
  the sample (:data:`MISSED_PAIR_KINDS`): a model that finds both entities
  but never relates them needs another fix than one that misses an entity.
"""
from collections import Counter
from dataclasses import dataclass, field
from typing import Dict, Iterable, Sequence, Set, Tuple

from .data.sample import Entity, Quintuple
from .metrics import strict_key

__all__ = ["CAUSES", "MISSED_PAIR_KINDS", "ErrorAnalysis", "error_analysis",
           "false_positive_cause"]

#: Every cause :func:`false_positive_cause` can return.
CAUSES = ("entity type", "relation", "direction",
          "entity boundary: span inside a gold entity",
          "entity boundary: span covers a gold entity",
          "entity boundary: span crosses a gold entity",
          "spurious entity", "spurious pair (both entities gold)")

#: How many spans of a missed pair occur in the sample's predictions.
MISSED_PAIR_KINDS = ("no entity predicted", "one entity predicted",
                     "both entities predicted")

Span = Tuple[int, int]


@dataclass
class ErrorAnalysis:
    """Counts over a corpus.

    Attributes:
        false_positives: cause -> number of strict false positives.
        missed_pairs: relation -> number of missed gold quintuples whose
            entity pair was not predicted at all.
        missed_pair_kinds: the same quintuples by
            :data:`MISSED_PAIR_KINDS`.
    """
    false_positives: Counter = field(default_factory=Counter)
    missed_pairs: Counter = field(default_factory=Counter)
    missed_pair_kinds: Counter = field(default_factory=Counter)

    def to_dict(self) -> Dict[str, Dict[str, int]]:
        """The counters as plain dicts, most frequent first (for JSON)."""
        return {name: dict(getattr(self, name).most_common())
                for name in ("false_positives", "missed_pairs",
                             "missed_pair_kinds")}


def error_analysis(predictions: Iterable[Sequence[Quintuple]],
                   golds: Iterable[Sequence[Quintuple]]) -> ErrorAnalysis:
    """Sort the errors of ``predictions`` against ``golds``, one list of
    quintuples per sample in each, aligned."""
    result = ErrorAnalysis()
    for predicted, gold in zip(predictions, golds, strict=True):
        gold = {strict_key(q): q for q in gold}
        predicted = {strict_key(q): q for q in predicted}
        for key, q in predicted.items():
            if key not in gold:
                result.false_positives[
                    false_positive_cause(q, gold.values())] += 1
        found_pairs = {_pair(q) for q in predicted.values()}
        found_spans = {e.span for q in predicted.values()
                       for e in (q.head, q.tail)}
        for key, q in gold.items():
            if key not in predicted and _pair(q) not in found_pairs:
                result.missed_pairs[q.relation] += 1
                found = (q.head.span in found_spans) + (
                    q.tail.span in found_spans)
                result.missed_pair_kinds[MISSED_PAIR_KINDS[found]] += 1
    return result


def false_positive_cause(q: Quintuple, gold: Iterable[Quintuple]) -> str:
    """The cause (one of :data:`CAUSES`) of ``q``, a prediction that is not
    in ``gold`` (the sample's gold quintuples)."""
    gold = list(gold)
    for g in gold:
        if (q.head.span, q.tail.span) == (g.head.span, g.tail.span):
            if (q.head.type, q.tail.type) != (g.head.type, g.tail.type):
                return "entity type"
            return "relation"
        if (q.head.span, q.tail.span) == (g.tail.span, g.head.span):
            if (q.head.type, q.tail.type) != (g.tail.type, g.head.type):
                return "entity type"
            return "direction" if q.relation == g.relation else "relation"
    gold_spans = {e.span for g in gold for e in (g.head, g.tail)}
    causes = [_span_error(e, gold_spans) for e in (q.head, q.tail)
              if e.span not in gold_spans]
    if not causes:
        return "spurious pair (both entities gold)"
    # An entity that touches no gold entity says more than a boundary slip.
    return "spurious entity" if "spurious entity" in causes else causes[0]


def _pair(q: Quintuple) -> frozenset:
    return frozenset((q.head.span, q.tail.span))


def _span_error(entity: Entity, gold_spans: Set[Span]) -> str:
    """How a predicted span that is not a gold entity relates to them."""
    s, e = entity.span
    overlapping = sorted((a, b) for a, b in gold_spans
                         if max(a, s) < min(b, e))
    if not overlapping:
        return "spurious entity"
    a, b = overlapping[0]
    if a <= s and e <= b:
        return "entity boundary: span inside a gold entity"
    if s <= a and b <= e:
        return "entity boundary: span covers a gold entity"
    return "entity boundary: span crosses a gold entity"
