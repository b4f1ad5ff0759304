import pytest

from jmere_pyg.data.readers import read_mnre
from jmere_pyg.data.sample import Entity, Quintuple, Sample
from jmere_pyg.data.stats import dataset_statistics
from jmere_pyg.labels import ENTITY_TYPES, RELATIONS


def test_statistics_of_hand_made_samples():
    words = ["Kobe", "Bryant", "and", "Vanessa", "Bryant", "in", "LA"]
    kobe, vanessa = Entity(0, 2, "per"), Entity(3, 5, "per")
    bryant = Entity(4, 5, "per")  # nested in Vanessa's span
    samples = [
        Sample(tokens=words, image_id="a.jpg", quintuples=[
            Quintuple(kobe, vanessa, "couple"),
            Quintuple(kobe, Entity(6, 7, "loc"), "place_of_residence"),
            Quintuple(vanessa, bryant, "alternate_names"),
        ]),
        Sample(tokens=["LA", "rocks"], quintuples=[]),
    ]
    stats = dataset_statistics(samples)
    assert stats["sentences"] == 2 and stats["quintuples"] == 3
    assert stats["entities"] == 4
    assert list(stats["relations"]) == list(RELATIONS)
    assert stats["relations"]["couple"] == 1
    assert sum(stats["relations"].values()) == 3
    assert stats["entity_types"] == {"per": 3, "org": 0, "loc": 1, "misc": 0}
    assert (stats["words"], stats["max_words"], stats["mean_words"]) == (
        9, 7, 4.5)
    assert stats["nested_entity_sentences"] == 1
    assert stats["symmetric_quintuples"] == 2
    assert stats["images"] == 1 and stats["sentences_without_quintuples"] == 1


def test_statistics_of_nothing():
    stats = dataset_statistics([])
    assert stats["sentences"] == stats["words"] == stats["max_words"] == 0
    assert stats["mean_words"] == 0.0
    assert list(stats["entity_types"]) == list(ENTITY_TYPES)
    assert set(stats["relations"].values()) == {0}


def test_adjacent_spans_are_not_nested():
    sample = Sample(tokens=["a", "b", "c"], quintuples=[
        Quintuple(Entity(0, 1, "per"), Entity(1, 3, "org"), "member_of")])
    assert dataset_statistics([sample])["nested_entity_sentences"] == 0


@pytest.mark.integration
@pytest.mark.parametrize("split, expected", [
    ("train", {"sentences": 3468, "quintuples": 4503, "entities": 7566,
               "nested_entity_sentences": 35, "symmetric_quintuples": 1321,
               "words": 55647, "max_words": 32}),
    ("val", {"sentences": 473, "quintuples": 624, "entities": 1039,
             "nested_entity_sentences": 1, "symmetric_quintuples": 175,
             "words": 7668, "max_words": 30}),
])
def test_statistics_of_real_data(mnre_file, split, expected):
    stats = dataset_statistics(read_mnre(mnre_file(split))[0])
    assert {key: stats[key] for key in expected} == expected
    assert sum(stats["relations"].values()) == expected["quintuples"]
    assert sum(stats["entity_types"].values()) == expected["entities"]
    assert all(count > 0 for count in stats["relations"].values())
    if split == "train":
        assert stats["relations"]["peer"] == 960
        assert stats["relations"]["alternate_names"] == 224
        assert stats["entity_types"] == {"per": 3583, "org": 1472,
                                         "loc": 1694, "misc": 817}
