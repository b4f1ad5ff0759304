r"""Streaming precision, recall and F1 for JMERE, torchmetrics style.

Always score against the quintuples of the data file, never against a grid
decoded from them (the authors' code did, which hides what the tagging
cannot represent; see :func:`jmere_pyg.tagging.tagging_recovery`).

Protocols (micro averages over all samples):

* ``strict``: a quintuple is right when both spans, both types, the relation
  and its direction match; for symmetric relations
  (:data:`jmere_pyg.labels.SYMMETRIC_RELATIONS`) head and tail are unordered.
* ``paper``: the paper's protocol, exact spans and types, direction ignored
  for every relation.
* ``mner``: the typed entity spans occurring in the quintuples (the "#MNER"
  column of the paper's Table 1).
* ``triple``: ``(head span, tail span, relation)`` without entity types,
  symmetric relations unordered as in ``strict``.
* ``per_relation``: ``strict`` restricted to each relation, with its support
  (number of gold quintuples).

Every protocol maps a sample's quintuples to a set of keys and counts
``tp = |pred & gold|``, ``fp = |pred - gold|``, ``fn = |gold - pred|``. As
sets, a duplicated prediction counts once, and so do both orders of a
symmetric relation under ``strict`` and ``triple`` (or of any relation under
``paper``); the same holds for duplicated gold quintuples. A ratio with a
zero denominator is 0.0.
"""
from typing import Callable, Dict, Hashable, Iterable, List, Sequence, Set

from .data.sample import Entity, Quintuple
from .labels import RELATIONS

__all__ = ["QuintupleMetrics", "quintuple_metrics", "strict_key", "PROTOCOLS"]

#: The micro-averaged protocols of :meth:`QuintupleMetrics.compute`.
PROTOCOLS = ("strict", "paper", "mner", "triple")


def strict_key(q: Quintuple) -> Hashable:
    """What ``strict`` compares: the quintuple, head and tail unordered for
    symmetric relations."""
    if q.is_symmetric:
        return (min(q.head, q.tail), max(q.head, q.tail), q.relation)
    return (q.head, q.tail, q.relation)


def _paper_key(q: Quintuple) -> Hashable:
    return (min(q.head, q.tail), max(q.head, q.tail), q.relation)


def _triple_key(q: Quintuple) -> Hashable:
    head, tail = q.head.span, q.tail.span
    if q.is_symmetric:
        head, tail = min(head, tail), max(head, tail)
    return (head, tail, q.relation)


def _entity_keys(quintuples: Iterable[Quintuple]) -> Set[Entity]:
    return {e for q in quintuples for e in (q.head, q.tail)}


def _key_set(quintuples: Iterable[Quintuple],
             key: Callable[[Quintuple], Hashable]) -> Set[Hashable]:
    return {key(q) for q in quintuples}


_KEY_SETS: Dict[str, Callable[[List[Quintuple]], Set[Hashable]]] = {
    "strict": lambda qs: _key_set(qs, strict_key),
    "paper": lambda qs: _key_set(qs, _paper_key),
    "mner": _entity_keys,
    "triple": lambda qs: _key_set(qs, _triple_key),
}


def _scores(tp: int, fp: int, fn: int) -> Dict[str, float]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = (2 * precision * recall / (precision + recall)
          if precision + recall else 0.0)
    return {"precision": precision, "recall": recall, "f1": f1}


class QuintupleMetrics:
    r"""Accumulates true/false positive and false negative counts over batches
    and computes micro P/R/F1 for every protocol of the module docstring.

    Example:
        >>> from jmere_pyg.data.sample import Entity, Quintuple
        >>> a, b = Entity(0, 1, "per"), Entity(3, 5, "org")
        >>> metrics = QuintupleMetrics()
        >>> metrics.update([[Quintuple(b, a, "member_of")]],
        ...                [[Quintuple(a, b, "member_of")]])
        >>> result = metrics.compute()
        >>> result["strict"]["f1"], result["paper"]["f1"]
        (0.0, 1.0)
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Clears all counts."""
        self.num_samples = 0
        self._counts = {p: {"tp": 0, "fp": 0, "fn": 0} for p in PROTOCOLS}
        self._relation_counts: Dict[str, Dict[str, int]] = {
            r: {"tp": 0, "fp": 0, "fn": 0} for r in RELATIONS}

    def update(self, predictions: Sequence[Iterable[Quintuple]],
               targets: Sequence[Iterable[Quintuple]]) -> None:
        """Adds a batch: one quintuple collection per sample, in the same
        order for ``predictions`` and ``targets``.

        Raises:
            ValueError: when the two lists differ in length.
        """
        if len(predictions) != len(targets):
            raise ValueError(f"{len(predictions)} predictions for "
                             f"{len(targets)} targets")
        for predicted, gold in zip(predictions, targets):
            predicted, gold = list(predicted), list(gold)
            self.num_samples += 1
            for protocol, key_set in _KEY_SETS.items():
                self._count(self._counts[protocol], key_set(predicted),
                            key_set(gold))
            predicted_keys = _KEY_SETS["strict"](predicted)
            gold_keys = _KEY_SETS["strict"](gold)
            for relation in {key[2] for key in predicted_keys | gold_keys}:
                counts = self._relation_counts.setdefault(
                    relation, {"tp": 0, "fp": 0, "fn": 0})
                self._count(counts,
                            {k for k in predicted_keys if k[2] == relation},
                            {k for k in gold_keys if k[2] == relation})

    @staticmethod
    def _count(counts: Dict[str, int], predicted: Set[Hashable],
               gold: Set[Hashable]) -> None:
        counts["tp"] += len(predicted & gold)
        counts["fp"] += len(predicted - gold)
        counts["fn"] += len(gold - predicted)

    def compute(self) -> Dict[str, object]:
        """Returns the scores of everything seen since the last reset.

        Returns:
            dict: ``{protocol: {precision, recall, f1, tp, fp, fn}}`` for every
            protocol of :data:`PROTOCOLS`; ``per_relation``:
            ``{relation: {precision, recall, f1, support}}`` for every relation
            of :data:`jmere_pyg.labels.RELATIONS` (then any other relation
            seen, sorted); and ``num_samples``.
        """
        result: Dict[str, object] = {}
        for protocol in PROTOCOLS:
            counts = self._counts[protocol]
            result[protocol] = {**_scores(**counts), **counts}
        extra = sorted(set(self._relation_counts) - set(RELATIONS))
        result["per_relation"] = {
            relation: {
                **_scores(**self._relation_counts[relation]),
                "support": (self._relation_counts[relation]["tp"] +
                            self._relation_counts[relation]["fn"]),
            }
            for relation in list(RELATIONS) + extra
        }
        result["num_samples"] = self.num_samples
        return result


def quintuple_metrics(predictions: Sequence[Iterable[Quintuple]],
                      targets: Sequence[Iterable[Quintuple]]
                      ) -> Dict[str, object]:
    """Functional form: ``QuintupleMetrics`` updated once and computed."""
    metrics = QuintupleMetrics()
    metrics.update(predictions, targets)
    return metrics.compute()
