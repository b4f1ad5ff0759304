import pytest

from jmere_pyg.data.sample import Entity, Quintuple
from jmere_pyg.labels import RELATIONS
from jmere_pyg.metrics import PROTOCOLS, QuintupleMetrics, quintuple_metrics

A = Entity(0, 2, "per")
B = Entity(3, 4, "org")
C = Entity(5, 6, "per")
D = Entity(7, 9, "loc")


def counts(result, protocol):
    return tuple(result[protocol][k] for k in ("tp", "fp", "fn"))


def test_exact_match_scores_one_everywhere():
    gold = [[Quintuple(A, B, "member_of"), Quintuple(A, C, "peer")]]
    result = quintuple_metrics(gold, gold)
    for protocol in PROTOCOLS:
        assert result[protocol]["precision"] == 1.0
        assert result[protocol]["recall"] == 1.0
        assert result[protocol]["f1"] == 1.0
    assert counts(result, "strict") == (2, 0, 0)
    assert counts(result, "mner") == (3, 0, 0)
    assert result["num_samples"] == 1


def test_reversed_direction_strict_wrong_paper_right():
    result = quintuple_metrics([[Quintuple(B, A, "member_of")]],
                               [[Quintuple(A, B, "member_of")]])
    assert counts(result, "strict") == (0, 1, 1)
    assert counts(result, "triple") == (0, 1, 1)
    assert counts(result, "paper") == (1, 0, 0)
    assert counts(result, "mner") == (2, 0, 0)
    assert result["strict"]["f1"] == 0.0


def test_symmetric_relation_is_unordered_in_strict_and_triple():
    result = quintuple_metrics([[Quintuple(C, A, "peer")]],
                               [[Quintuple(A, C, "peer")]])
    for protocol in PROTOCOLS:
        assert result[protocol]["f1"] == 1.0
    assert result["per_relation"]["peer"]["f1"] == 1.0
    assert result["per_relation"]["peer"]["support"] == 1


def test_both_orders_of_a_symmetric_relation_count_once():
    predictions = [[Quintuple(A, C, "couple"), Quintuple(C, A, "couple")]]
    result = quintuple_metrics(predictions, [[Quintuple(A, C, "couple")]])
    assert counts(result, "strict") == (1, 0, 0)
    assert counts(result, "triple") == (1, 0, 0)
    assert counts(result, "paper") == (1, 0, 0)


def test_duplicate_predictions_count_once():
    q = Quintuple(A, B, "member_of")
    result = quintuple_metrics([[q, q, q]], [[q]])
    assert counts(result, "strict") == (1, 0, 0)
    assert result["strict"]["precision"] == 1.0


def test_wrong_type_fails_strict_paper_mner_but_not_triple():
    wrong = Quintuple(A, Entity(3, 4, "loc"), "member_of")
    result = quintuple_metrics([[wrong]], [[Quintuple(A, B, "member_of")]])
    assert counts(result, "strict") == (0, 1, 1)
    assert counts(result, "paper") == (0, 1, 1)
    assert counts(result, "mner") == (1, 1, 1)
    assert counts(result, "triple") == (1, 0, 0)


def test_wrong_relation_and_wrong_span():
    gold = [[Quintuple(A, B, "member_of"), Quintuple(A, D, "place_of_birth")]]
    predictions = [[Quintuple(A, B, "charges"),
                    Quintuple(Entity(0, 1, "per"), D, "place_of_birth")]]
    result = quintuple_metrics(predictions, gold)
    assert counts(result, "strict") == (0, 2, 2)
    assert counts(result, "triple") == (0, 2, 2)
    # A, B and D right; the short span wrong
    assert counts(result, "mner") == (3, 1, 0)
    assert result["mner"]["precision"] == pytest.approx(0.75)
    assert result["mner"]["f1"] == pytest.approx(2 * 0.75 / 1.75)


def test_micro_average_over_samples():
    gold = [[Quintuple(A, B, "member_of"), Quintuple(A, D, "place_of_birth")],
            [Quintuple(C, B, "member_of")]]
    predictions = [[Quintuple(A, B, "member_of")],
                   [Quintuple(C, B, "member_of"),
                    Quintuple(C, D, "nationality")]]
    result = quintuple_metrics(predictions, gold)
    assert counts(result, "strict") == (2, 1, 1)
    assert result["strict"]["precision"] == pytest.approx(2 / 3)
    assert result["strict"]["recall"] == pytest.approx(2 / 3)
    assert result["strict"]["f1"] == pytest.approx(2 / 3)


def test_empty_predictions_and_empty_everything_give_zero():
    result = quintuple_metrics([[]], [[Quintuple(A, B, "member_of")]])
    assert counts(result, "strict") == (0, 0, 1)
    assert result["strict"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0,
                                "tp": 0, "fp": 0, "fn": 1}
    empty = QuintupleMetrics().compute()
    for protocol in PROTOCOLS:
        assert empty[protocol]["f1"] == 0.0
    assert empty["num_samples"] == 0


def test_per_relation_scores_and_support():
    gold = [[Quintuple(A, B, "member_of"), Quintuple(C, B, "member_of"),
             Quintuple(A, D, "place_of_birth")]]
    predictions = [[Quintuple(A, B, "member_of"), Quintuple(D, A,
                                                            "place_of_birth"),
                    Quintuple(C, D, "nationality")]]
    per_relation = quintuple_metrics(predictions, gold)["per_relation"]
    assert list(per_relation) == list(RELATIONS)
    assert per_relation["member_of"] == {"precision": 1.0, "recall": 0.5,
                                         "f1": pytest.approx(2 / 3),
                                         "support": 2}
    assert per_relation["place_of_birth"]["f1"] == 0.0
    assert per_relation["place_of_birth"]["support"] == 1
    assert per_relation["nationality"]["precision"] == 0.0
    assert per_relation["nationality"]["support"] == 0
    assert per_relation["parent"]["support"] == 0


def test_streaming_equals_one_update_and_reset():
    gold = [[Quintuple(A, B, "member_of")], [Quintuple(A, C, "peer")], [],
            [Quintuple(D, B, "contain"), Quintuple(A, D, "place_of_birth")]]
    predictions = [[Quintuple(A, B, "member_of")], [Quintuple(C, A, "peer")],
                   [Quintuple(A, B, "charges")],
                   [Quintuple(B, D, "contain")]]
    whole = quintuple_metrics(predictions, gold)
    streamed = QuintupleMetrics()
    for start in range(0, 4, 2):
        streamed.update(predictions[start:start + 2], gold[start:start + 2])
    assert streamed.compute() == whole
    streamed.reset()
    assert streamed.compute() == QuintupleMetrics().compute()


def test_update_accepts_any_iterables_and_checks_lengths():
    metrics = QuintupleMetrics()
    metrics.update([{Quintuple(A, B, "member_of")}],
                   [(Quintuple(A, B, "member_of"), )])
    assert metrics.compute()["strict"]["f1"] == 1.0
    with pytest.raises(ValueError):
        metrics.update([[]], [[], []])
