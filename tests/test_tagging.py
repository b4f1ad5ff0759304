import pytest
import torch

from jmere_pyg.data.readers import read_samples
from jmere_pyg.data.sample import Entity, Quintuple, Sample
import itertools

from jmere_pyg.labels import ENTITY_TAG_IDS, NUM_TAGS, RELATIONS, TAG_TO_ID
from jmere_pyg.tagging import (ENTITY_DECODINGS, decode_batch, decode_grid,
                               encode_grid, pair_relation_probabilities,
                               probability_logits, segment_entities,
                               tagging_recovery)

PER_A = Entity(0, 2, "per")
ORG_B = Entity(3, 4, "org")
LOC_C = Entity(5, 7, "loc")


def one_hot_logits(grid, scale=10.0):
    return torch.nn.functional.one_hot(grid, NUM_TAGS).float() * scale


def test_encode_cells():
    head_first = Quintuple(PER_A, ORG_B, "member_of")
    tail_first = Quintuple(LOC_C, ORG_B, "contain")
    grid = encode_grid(8, [head_first, tail_first])
    assert grid.shape == (8, 8) and grid.dtype == torch.long
    per, org, loc = (TAG_TO_ID[t] for t in ("per", "org", "loc"))
    assert grid[0, 0] == grid[0, 1] == grid[1, 1] == per
    assert grid[1, 0] == TAG_TO_ID["none"]
    assert grid[3, 3] == org
    assert grid[5, 5] == grid[5, 6] == grid[6, 6] == loc
    assert (grid[0:2, 3] == TAG_TO_ID["member_of"]).all()
    assert (grid[3, 0:2] == TAG_TO_ID["none"]).all()
    # head after tail: lower triangle
    assert (grid[5:7, 3] == TAG_TO_ID["contain"]).all()
    assert (grid[3, 5:7] == TAG_TO_ID["none"]).all()
    assert int((grid != 0).sum()) == 3 + 1 + 3 + 2 + 2


@pytest.mark.parametrize("quintuples", [
    [Quintuple(PER_A, ORG_B, "member_of")],
    [Quintuple(LOC_C, ORG_B, "contain")],
    [Quintuple(ORG_B, PER_A, "charges"), Quintuple(PER_A, LOC_C,
                                                   "place_of_birth")],
    [Quintuple(PER_A, Entity(4, 5, "per"), "peer"),
     Quintuple(Entity(4, 5, "per"), PER_A, "peer")],
])
def test_round_trip_keeps_direction(quintuples):
    grid = encode_grid(8, quintuples)
    assert decode_grid(grid) == sorted(quintuples)
    for entity_decoding in ENTITY_DECODINGS:
        assert decode_grid(one_hot_logits(grid),
                           entity_decoding=entity_decoding) == sorted(
                               quintuples)


@pytest.mark.parametrize("entity_decoding", ENTITY_DECODINGS)
def test_adjacent_entities_of_one_type_stay_apart(entity_decoding):
    left, right = Entity(1, 3, "per"), Entity(3, 4, "per")
    for related in ([Quintuple(left, right, "couple")],
                    [Quintuple(right, left, "couple")]):
        grid = encode_grid(5, related)
        assert decode_grid(grid) == related
        assert decode_grid(one_hot_logits(grid),
                           entity_decoding=entity_decoding) == related


def _best_segmentation_score(log_probabilities):
    """Brute force over every set of disjoint spans: the highest total of
    the spans' best log-likelihood ratios (the reference of
    segment_entities)."""
    n = log_probabilities.size(0)
    ratio = (log_probabilities[..., list(ENTITY_TAG_IDS)]
             - log_probabilities[..., :1])

    def score(begin, end):
        cells = [ratio[i, j] for i in range(begin, end)
                 for j in range(i, end)]
        return float(torch.stack(cells).sum(0).max())

    spans = [(b, e) for b in range(n) for e in range(b + 1, n + 1)]
    best = 0.0
    for size in range(1, n + 1):
        for chosen in itertools.combinations(spans, size):
            ends = sorted(chosen)
            if all(x[1] <= y[0] for x, y in zip(ends, ends[1:])):
                best = max(best, sum(score(*span) for span in chosen))
    return best


@pytest.mark.parametrize("seed", range(6))
def test_segment_entities_finds_the_best_segmentation(seed):
    generator = torch.Generator().manual_seed(seed)
    n = 5
    logits = torch.randn(n, n, NUM_TAGS, generator=generator) * 2
    logits[..., list(ENTITY_TAG_IDS)] += 1.5  # make entities worth taking
    log_probabilities = logits.log_softmax(-1)
    entities = segment_entities(log_probabilities)
    ratio = (log_probabilities[..., list(ENTITY_TAG_IDS)]
             - log_probabilities[..., :1])
    total = 0.0
    for entity in entities:
        t = ENTITY_TAG_IDS.index(TAG_TO_ID[entity.type])
        cells = ratio[entity.start:entity.end, entity.start:entity.end, t]
        assert float(cells.triu().sum()) > 0
        total += float(cells.triu().sum())
    assert all(a.end <= b.start for a, b in zip(entities, entities[1:]))
    assert total == pytest.approx(_best_segmentation_score(log_probabilities),
                                  abs=1e-4)


def test_segment_keeps_an_entity_that_one_cell_would_cut():
    head, tail = Entity(0, 3, "per"), Entity(4, 5, "org")
    gold = [Quintuple(head, tail, "member_of")]
    logits = one_hot_logits(encode_grid(6, gold))
    logits[1, 1] = 0.0
    logits[1, 1, TAG_TO_ID["none"]] = 1.0  # one unsure diagonal cell
    assert decode_grid(logits, entity_decoding="diagonal") != gold
    assert decode_grid(logits) == gold


def test_decode_rejects_an_unknown_entity_decoding():
    with pytest.raises(ValueError, match="entity_decoding"):
        decode_grid(torch.zeros(2, 2, NUM_TAGS), entity_decoding="greedy")


def test_nested_spans_keep_one_entity_without_spurious_output():
    outer, inner = Entity(2, 5, "org"), Entity(2, 3, "loc")
    other = Entity(6, 7, "loc")
    gold = [Quintuple(outer, other, "locate_at"),
            Quintuple(outer, inner, "locate_at"),
            Quintuple(inner, other, "contain")]
    decoded = decode_grid(encode_grid(8, gold))
    # both nested entities can bring back one quintuple: the longer one wins
    assert decoded == [gold[0]]


def test_entity_with_more_quintuples_wins_the_overlap():
    outer, inner = Entity(0, 3, "misc"), Entity(1, 2, "per")
    x, y = Entity(4, 5, "org"), Entity(6, 7, "loc")
    gold = [Quintuple(outer, x, "part_of"), Quintuple(inner, x, "member_of"),
            Quintuple(inner, y, "place_of_birth")]
    assert decode_grid(encode_grid(8, gold)) == sorted(gold[1:])


def test_same_type_nested_spans_are_not_fragmented():
    outer, inner = Entity(1, 4, "loc"), Entity(1, 2, "loc")
    gold = [Quintuple(inner, outer, "contain")]
    grid = encode_grid(5, gold)
    assert decode_grid(grid) == []
    assert int((grid != 0).sum()) == 6


def test_decode_label_vote_needs_a_strict_majority():
    grid = encode_grid(6, [Quintuple(PER_A, Entity(3, 5, "org"), "member_of")])
    grid[0, 3] = TAG_TO_ID["none"]
    assert len(decode_grid(grid)) == 1  # 3 of 4 cells
    grid[0, 4] = TAG_TO_ID["charges"]
    assert decode_grid(grid) == []  # 2 of 4 cells: not more than half


def test_decode_logits_average_over_the_block():
    head, tail = Entity(0, 2, "per"), Entity(3, 4, "org")
    grid = encode_grid(5, [Quintuple(head, tail, "member_of")])
    logits = one_hot_logits(grid)
    logits[0, 3] = 0.0  # one uninformative cell in a block of two
    assert decode_grid(logits) == [Quintuple(head, tail, "member_of")]
    # an entity tag dominating the block does not hide the best relation
    logits[0:2, 3] = -10.0
    logits[0:2, 3, TAG_TO_ID["per"]] = 3.0
    logits[0:2, 3, TAG_TO_ID["member_of"]] = 2.0
    logits[0:2, 3, TAG_TO_ID["none"]] = 1.0
    assert decode_grid(logits) == [Quintuple(head, tail, "member_of")]
    logits[0:2, 3, TAG_TO_ID["none"]] = 2.5
    assert decode_grid(logits) == []


def test_probability_logits_give_back_the_probabilities():
    probabilities = torch.randn(3, 3, NUM_TAGS).softmax(dim=-1)
    probabilities[0, 0] = 0.0
    probabilities[0, 0, TAG_TO_ID["none"]] = 1.0  # zeros stay finite
    logits = probability_logits(probabilities)
    assert torch.isfinite(logits).all()
    assert torch.allclose(logits.softmax(dim=-1), probabilities, atol=1e-6)


def test_pair_relation_probabilities_average_the_block():
    head, tail = Entity(0, 2, "per"), Entity(3, 4, "org")
    probabilities = torch.randn(5, 5, NUM_TAGS).softmax(dim=-1)
    scores = pair_relation_probabilities(probabilities, head, tail)
    assert scores.size() == (1 + len(RELATIONS), )
    mean = probabilities[0:2, 3].mean(dim=0)
    assert torch.allclose(scores[0], mean[TAG_TO_ID["none"]])
    for k, relation in enumerate(RELATIONS, start=1):
        assert torch.allclose(scores[k], mean[TAG_TO_ID[relation]])
    # Rows are heads: the reversed pair reads the other block.
    reverse = pair_relation_probabilities(probabilities, tail, head)
    assert torch.allclose(reverse[0],
                          probabilities[3, 0:2, TAG_TO_ID["none"]].mean())


def test_decode_with_tokens_ignores_padding():
    gold = [Quintuple(PER_A, ORG_B, "member_of")]
    padded = torch.zeros(7, 7, dtype=torch.long)
    padded[:5, :5] = encode_grid(5, gold)
    padded[5, 5] = TAG_TO_ID["loc"]
    padded[0:2, 5] = TAG_TO_ID["place_of_birth"]
    assert decode_grid(padded, tokens=["w"] * 5) == gold
    assert len(decode_grid(padded)) == 2
    with pytest.raises(ValueError):
        decode_grid(padded, tokens=["w"] * 8)


@pytest.mark.parametrize("grid", [
    torch.zeros(3, 4, dtype=torch.long),
    torch.zeros(3, 3),
    torch.zeros(3, 3, NUM_TAGS - 1),
    torch.full((2, 2), NUM_TAGS),
])
def test_decode_rejects_bad_grids(grid):
    with pytest.raises(ValueError):
        decode_grid(grid)


@pytest.mark.parametrize("quintuple", [
    Quintuple(Entity(0, 9, "per"), ORG_B, "member_of"),
    Quintuple(Entity(2, 2, "per"), ORG_B, "member_of"),
    Quintuple(Entity(0, 1, "person"), ORG_B, "member_of"),
    Quintuple(PER_A, ORG_B, "works_for"),
])
def test_encode_rejects_bad_quintuples(quintuple):
    with pytest.raises(ValueError):
        encode_grid(8, [quintuple])


def test_decode_batch_sizes_and_pair_batch_agree():
    golds = [[Quintuple(PER_A, ORG_B, "member_of")], [],
             [Quintuple(Entity(2, 3, "loc"), Entity(0, 1, "org"),
                        "locate_at")]]
    sizes = [5, 0, 3]
    grids = [encode_grid(n, g) for n, g in zip(sizes, golds)]
    logits = torch.cat([one_hot_logits(g).reshape(-1, NUM_TAGS)
                        for g in grids])
    pair_batch = torch.cat([torch.full((n * n, ), b)
                            for b, n in enumerate(sizes)])
    assert decode_batch(logits, sizes) == golds
    assert decode_batch(logits, torch.tensor(sizes)) == golds
    assert decode_batch(logits, pair_batch=pair_batch) == golds
    labels = torch.cat([g.reshape(-1) for g in grids])
    assert decode_batch(labels, sizes) == golds


def test_decode_batch_errors():
    logits = torch.zeros(5, NUM_TAGS)
    with pytest.raises(ValueError):
        decode_batch(logits)
    with pytest.raises(ValueError):
        decode_batch(logits, [2], pair_batch=torch.zeros(5, dtype=torch.long))
    with pytest.raises(ValueError):
        decode_batch(logits, [2])
    with pytest.raises(ValueError):
        decode_batch(logits, pair_batch=torch.zeros(5, dtype=torch.long))
    with pytest.raises(ValueError):
        decode_batch(logits, pair_batch=torch.tensor([1, 0, 0, 0, 0]))


def test_tagging_recovery_causes():
    outer, inner = Entity(0, 3, "org"), Entity(0, 1, "loc")
    far = Entity(5, 6, "per")
    samples = [
        Sample(["w"] * 8, quintuples=[Quintuple(PER_A, ORG_B, "member_of"),
                                      Quintuple(ORG_B, PER_A, "charges")]),
        Sample(["w"] * 8, quintuples=[
            Quintuple(outer, inner, "locate_at"),
            Quintuple(far, outer, "member_of"),
            Quintuple(far, outer, "member_of"),
            Quintuple(far, inner, "place_of_birth")]),
        Sample(["w"] * 8, quintuples=[Quintuple(PER_A, ORG_B, "member_of"),
                                      Quintuple(PER_A, ORG_B, "charges")]),
    ]
    report = tagging_recovery(samples)
    assert report["total"] == 7
    assert report["recovered"] == 4
    assert report["rate"] == pytest.approx(4 / 7)
    assert report["lost"] == {"overlapping_head_tail": 1, "nested_spans": 1,
                              "conflicting_relations": 1, "other": 0}
    assert report["spurious"] == 0
    assert report["samples_with_losses"] == 2
    assert report["samples"] == 3
    assert tagging_recovery([])["rate"] == 1.0


@pytest.mark.integration
@pytest.mark.parametrize(
    "split, total, lost_overlap, lost_nested, sentences", [
    ("train", 4503, 31, 11, 35),
    ("val", 624, 1, 1, 1),
])
def test_tagging_recovery_on_mnre(mnre_file, split, total, lost_overlap,
                                  lost_nested, sentences):
    samples = read_samples(mnre_file(split))[0]
    report = tagging_recovery(samples)
    assert report["total"] == total
    assert report["lost"] == {"overlapping_head_tail": lost_overlap,
                              "nested_spans": lost_nested,
                              "conflicting_relations": 0, "other": 0}
    assert report["recovered"] == total - lost_overlap - lost_nested
    assert report["spurious"] == 0
    # every loss lies in a sentence with overlapping entity spans
    overlapping = [
        s for s in samples
        if any(a.start < b.end and b.start < a.end
               for i, a in enumerate(s.entities) for b in s.entities[i + 1:])]
    assert len(overlapping) == sentences
    assert tagging_recovery(overlapping)["recovered"] == (
        report["recovered"] - (total - sum(len(s.quintuples)
                                           for s in overlapping)))
