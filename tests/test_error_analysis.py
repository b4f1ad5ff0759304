"""Error causes on hand-made samples: one case per cause, and counts that
add up to the strict metric's false positives."""
import pytest

from jmere_pyg.data.sample import Entity, Quintuple
from jmere_pyg.error_analysis import (CAUSES, error_analysis,
                                      false_positive_cause)
from jmere_pyg.metrics import quintuple_metrics

PER, ORG, LOC = "per", "org", "loc"
A, B, C = Entity(0, 2, PER), Entity(3, 4, ORG), Entity(6, 7, LOC)
GOLD = [Quintuple(A, B, "member_of"), Quintuple(C, B, "contain")]


@pytest.mark.parametrize("predicted, cause", [
    (Quintuple(Entity(0, 2, ORG), B, "member_of"), "entity type"),
    (Quintuple(A, B, "peer"), "relation"),
    (Quintuple(B, A, "member_of"), "direction"),
    (Quintuple(B, A, "peer"), "relation"),
    (Quintuple(Entity(1, 2, PER), B, "member_of"),
     "entity boundary: span inside a gold entity"),
    (Quintuple(Entity(3, 5, ORG), A, "member_of"),
     "entity boundary: span covers a gold entity"),
    (Quintuple(Entity(1, 3, PER), B, "member_of"),
     "entity boundary: span crosses a gold entity"),
    # A span that touches no gold entity wins over the other's boundary slip.
    (Quintuple(Entity(1, 2, PER), Entity(9, 10, ORG), "member_of"),
     "spurious entity"),
    (Quintuple(A, C, "place_of_residence"),
     "spurious pair (both entities gold)"),
])
def test_each_cause(predicted, cause):
    assert cause in CAUSES
    assert false_positive_cause(predicted, GOLD) == cause


def test_counts_match_the_strict_metric():
    predicted = [[GOLD[0], Quintuple(A, B, "peer"),
                  Quintuple(Entity(9, 10, PER), B, "member_of")],
                 [Quintuple(B, C, "contain")],
                 []]
    golds = [GOLD, GOLD, GOLD]
    analysis = error_analysis(predicted, golds)
    strict = quintuple_metrics(predicted, golds)["strict"]
    assert sum(analysis.false_positives.values()) == strict["fp"] == 3
    assert analysis.false_positives == {"relation": 1, "spurious entity": 1,
                                        "direction": 1}
    # Sample 0 finds (A, B) and misses the pair (C, B). Sample 1 pairs
    # (B, C), the reverse of a gold pair, so only (A, B) is a missed pair.
    # Sample 2 misses both pairs.
    assert analysis.missed_pairs == {"contain": 2, "member_of": 2}
    assert analysis.to_dict()["missed_pairs"] == {"contain": 2,
                                                  "member_of": 2}
    # B is predicted in samples 0 (with A) and 1 (with C), which miss
    # (C, B) and (A, B) as pairs; sample 2 predicts nothing.
    assert analysis.missed_pair_kinds == {"one entity predicted": 2,
                                          "no entity predicted": 2}


def test_a_pair_of_predicted_entities_never_related():
    predicted = [[Quintuple(A, Entity(9, 10, ORG), "member_of"),
                  Quintuple(C, Entity(9, 10, ORG), "contain")]]
    gold = [[Quintuple(A, C, "place_of_residence")]]
    analysis = error_analysis(predicted, gold)
    assert analysis.missed_pair_kinds == {"both entities predicted": 1}


def test_symmetric_relations_count_once_in_either_order():
    gold = [Quintuple(A, Entity(3, 5, PER), "peer")]
    predicted = [[Quintuple(Entity(3, 5, PER), A, "peer")]]
    analysis = error_analysis(predicted, [gold])
    assert not analysis.false_positives and not analysis.missed_pairs


def test_unaligned_inputs_are_an_error():
    with pytest.raises(ValueError):
        error_analysis([[]], [[], []])
