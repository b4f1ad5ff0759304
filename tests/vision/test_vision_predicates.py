import itertools
import random

import pytest
import torch

from jmere_pyg.vision import PREDICATES, geometric_relations

INVERSE = {"inside": "contains", "contains": "inside",
           "overlapping": "overlapping", "near": "near",
           "left of": "right of", "right of": "left of",
           "above": "below", "below": "above"}


def predicate(a, b, **thresholds):
    relations = geometric_relations([a, b], **thresholds)
    assert [(r.subject, r.object) for r in relations] == [(0, 1), (1, 0)]
    assert relations[1].predicate == INVERSE[relations[0].predicate]
    return relations[0].predicate


@pytest.mark.parametrize("a, b, expected", [
    # a 10 x 10 box fully in a 100 x 100 box
    ((10, 10, 20, 20), (0, 0, 100, 100), "inside"),
    ((0, 0, 100, 100), (10, 10, 20, 20), "contains"),
    # 90 % of a (area 100) in b: inside at the 0.9 threshold exactly
    ((0, 0, 10, 10), (1, 0, 50, 50), "inside"),
    # 80 % in b, IoU 80 / (100 + 2401 - 80) < 0.3, touching: near
    ((0, 0, 10, 10), (2, 0, 51, 49), "near"),
    # identical boxes: same area, so not inside; IoU 1
    ((0, 0, 10, 10), (0, 0, 10, 10), "overlapping"),
    # IoU = 50 / 150 = 1/3 >= 0.3
    ((0, 0, 10, 10), (5, 0, 15, 10), "overlapping"),
    # IoU = 20 / 180 < 0.3, intersecting: near
    ((0, 0, 10, 10), (8, 0, 18, 10), "near"),
    # gap 5 <= 0.5 * mean size 10
    ((0, 0, 10, 10), (15, 0, 25, 10), "near"),
    # gap 6 > 5: left of / right of
    ((0, 0, 10, 10), (16, 0, 26, 10), "left of"),
    ((16, 0, 26, 10), (0, 0, 10, 10), "right of"),
    ((0, 0, 10, 10), (0, 16, 10, 26), "above"),
    ((0, 16, 10, 26), (0, 0, 10, 10), "below"),
    # diagonal, larger vertical gap (30 > 20): above
    ((0, 0, 10, 10), (30, 40, 40, 50), "above"),
    # diagonal, equal gaps (20 = 20): horizontal wins
    ((0, 0, 10, 10), (30, 30, 40, 40), "left of"),
    # a zero-area box on another box's edge: no area to be inside, gap 0
    ((10, 5, 10, 5), (0, 0, 10, 10), "near"),
])
def test_predicates_on_constructed_boxes(a, b, expected):
    assert predicate(a, b) == expected


def test_thresholds_move_the_boundaries():
    a, b = (0, 0, 10, 10), (16, 0, 26, 10)  # gap 6, mean size 10
    assert predicate(a, b, near_ratio=0.6) == "near"
    assert predicate(a, b, near_ratio=0.59) == "left of"
    c, d = (0, 0, 10, 10), (8, 0, 18, 10)  # IoU 20 / 180 = 1/9
    assert predicate(c, d, overlap_iou=1 / 9) == "overlapping"
    assert predicate(c, d, overlap_iou=0.12) == "near"
    e, f = (0, 0, 10, 10), (2, 0, 51, 49)  # 80 % of e inside f
    assert predicate(e, f, contain_ratio=0.8) == "inside"


def test_every_ordered_pair_once_in_order_and_consistent():
    rng = random.Random(0)
    boxes = []
    for _ in range(12):
        x, y = rng.uniform(0, 100), rng.uniform(0, 100)
        boxes.append((x, y, x + rng.uniform(0, 40), y + rng.uniform(0, 40)))
    relations = geometric_relations(boxes)
    assert [(r.subject, r.object) for r in relations] == [
        (s, o) for s, o in itertools.product(range(12), repeat=2) if s != o]
    by_pair = {(r.subject, r.object): r.predicate for r in relations}
    for (s, o), name in by_pair.items():
        assert name in PREDICATES
        assert by_pair[o, s] == INVERSE[name]
    assert geometric_relations(torch.tensor(boxes)) == relations
    assert geometric_relations(boxes) == relations


def test_bad_boxes_and_thresholds():
    assert geometric_relations([]) == []
    assert geometric_relations([(0, 0, 1, 1)]) == []
    with pytest.raises(ValueError, match=r"boxes\[1\]"):
        geometric_relations([(0, 0, 1, 1), (5, 0, 1, 1)])
    with pytest.raises(ValueError, match=r"boxes\[0\]"):
        geometric_relations([(0, 0, float("nan"), 1)])
    with pytest.raises(ValueError, match="overlap_iou"):
        geometric_relations([], overlap_iou=0)
