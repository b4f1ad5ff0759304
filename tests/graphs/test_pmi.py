import json
import math

import pytest
import torch

from jmere_pyg.graphs import PMIStatistics

SENTENCES = [
    ["Curry", "NBA", "stars"],
    ["curry", "nba", "Finals"],
    ["NBA", "finals", "tonight"],
    ["rain", "tonight"],
    ["rain", "again", "rain"],
    ["stars", "again"],
    ["the", "end"],
    ["the", "rain"],
]


def expected_value(both, c1, c2, n, max_pmi=10):
    pmi = math.log2(both * n / (c1 * c2))
    return -1 if pmi < 0 else min(math.ceil(pmi), max_pmi)


@pytest.fixture
def stats():
    return PMIStatistics().fit(SENTENCES)


def test_counts_are_per_sentence_and_lowercased(stats):
    assert stats.num_sentences == 8
    assert stats.word_counts["nba"] == 3
    assert stats.word_counts["rain"] == 3  # twice in one sentence counts once
    assert stats.pair_counts[("curry", "nba")] == 2
    assert all(w1 < w2 for w1, w2 in stats.pair_counts)


def test_values_follow_the_documented_formula(stats):
    # curry: 2, nba: 3, both 2, N = 8: log2(16 / 6) = 1.415 -> 2
    assert stats.pmi("Curry", "NBA") == pytest.approx(math.log2(16 / 6))
    assert stats.value("Curry", "NBA") == expected_value(2, 2, 3, 8) == 2
    # rain: 3, tonight: 2, both 1: log2(8 / 6) = 0.415 -> 1
    assert stats.value("rain", "tonight") == 1
    # nba: 3, stars: 2, both 1: log2(8 / 6) -> 1; symmetric
    assert stats.value("stars", "nba") == stats.value("nba", "stars") == 1


def test_negative_pmi_is_minus_one():
    # a: 4 of 5 sentences, b: 4 of 5, both 3: log2(15 / 16) < 0
    stats = PMIStatistics().fit([["a", "b"], ["a", "b"], ["a", "b"], ["a"],
                                 ["b"]])
    assert stats.pmi("a", "b") < 0
    assert stats.value("a", "b") == -1


def test_exact_independence_is_zero():
    stats = PMIStatistics().fit([["a", "b"], ["a"], ["b"], ["c"]])
    assert stats.pmi("a", "b") == 0.0
    assert stats.value("a", "b") == 0


def test_unseen_pairs_and_unknown_words_are_zero(stats):
    assert stats.pmi("curry", "rain") is None
    assert stats.value("curry", "rain") == 0
    assert stats.value("curry", "zebra") == 0
    assert stats.value("zebra", "zebra") == 0


def test_self_pairs_use_the_word_count(stats):
    # curry with itself: log2(8 / 2) = 2
    assert stats.value("curry", "Curry") == 2


def test_values_are_clipped_to_max_pmi():
    sentences = [["rare", "word"]] + [["filler"]] * 99
    assert PMIStatistics(max_pmi=10).fit(sentences).value("rare", "word") == 7
    assert PMIStatistics(max_pmi=3).fit(sentences).value("rare", "word") == 3


def test_matrix(stats):
    tokens = ["Curry", "NBA", "rain", "zebra", "curry"]
    matrix = stats.matrix(tokens)
    assert matrix.dtype == torch.long and matrix.shape == (5, 5)
    expected = [[stats.value(a, b) for b in tokens] for a in tokens]
    assert matrix.tolist() == expected
    assert torch.equal(matrix, matrix.t())
    assert stats.matrix([]).shape == (0, 0)


def test_fit_replaces_earlier_counts(stats):
    stats.fit([["x", "y"]])
    assert stats.num_sentences == 1 and "nba" not in stats.word_counts


def test_dict_round_trip_through_json(stats):
    restored = PMIStatistics.from_dict(json.loads(json.dumps(stats.to_dict())))
    assert restored.num_sentences == stats.num_sentences
    assert restored.word_counts == stats.word_counts
    assert restored.pair_counts == stats.pair_counts
    tokens = ["curry", "nba", "stars", "tonight", "rain"]
    assert torch.equal(restored.matrix(tokens), stats.matrix(tokens))
