r"""Word-pair relation tagging with the head/tail direction kept.

A sentence of ``n`` words is an ``[n, n]`` grid of tags from
:data:`jmere_pyg.labels.TAGS` (``none``, the entity types, the relations):

* an entity ``[s, e)`` of type ``t`` tags every cell ``(i, j)`` with
  ``s <= i <= j < e`` (its upper triangle, diagonal included) with ``t``;
* a quintuple ``(head, tail, r)`` tags every cell ``(i, j)`` with ``i`` in the
  head span and ``j`` in the tail span with ``r``: row = head, column = tail,
  so a head that follows its tail lands in the lower triangle and the
  direction survives (the authors' code folds every relation into the upper
  triangle and loses it).

Flattened row-major (``grid.view(-1)``), the grid is the ``edge_label`` of the
``('word', 'pair', 'word')`` edge type of ``docs/architecture.md``: cell
``(i, j)`` at ``i * n + j``.

Decoding finds the entities first, then every ordered pair of decoded
entities votes over its ``head x tail`` block (see :func:`decode_grid`).
Entities are found in one of two ways (:data:`ENTITY_DECODINGS`):

* ``"diagonal"``: a span is a maximal run of diagonal cells with one entity
  type whose consecutive cells ``(i, i + 1)`` carry that type too, so two
  adjacent entities of one type stay apart (the cell between them is
  ``none`` or a relation). This is the exact inverse of the encoder and the
  only way for tag-id grids.
* ``"segment"`` (logits only): the disjoint spans whose upper triangles are
  most likely to carry their type rather than ``none``, read from every
  cell of each span (:func:`segment_entities`). One uncertain diagonal or
  chain cell no longer cuts or drops an entity: on the val split it gave
  +0.3 to +1.9 strict F1 over ``"diagonal"`` for each of five trained
  models (``benchmarks/quality/decoding.py``).

Precedence for colliding cells
------------------------------
Cells collide only when gold spans overlap (nested or crossing entities, or
one span with two types): with pairwise disjoint spans, entity triangles and
relation blocks are disjoint, and two blocks meet only when one ordered pair
carries two relations. Decoded entities are disjoint runs of the diagonal, so
of a set of overlapping entities at most a disjoint subset can come back.
Writing every entity and letting the last writer win would, besides losing
entities, leave fragments of the overwritten spans (spurious entities) or
merge neighbours of one type through the overwritten chain cells. The
encoder therefore resolves collisions before writing anything:

1. Entity selection: entities are taken greedily by (number of quintuples
   whose other entity does not overlap them, i.e. that they can still bring
   back; span length; earlier start), skipping any entity that overlaps one
   already kept. On the MNRE train and val files this keeps as many
   quintuples as an exhaustive search over disjoint subsets.
2. Only the kept entities are written, then only the relations whose head and
   tail were both kept. Kept spans are disjoint, so no relation cell ever
   overwrites an entity cell and no entity cell is left half written.
3. When one ordered pair carries several relations (the data has none), the
   first quintuple in input order keeps the block.

The encoder thus never writes a cell that decoding would turn into a quintuple
absent from the input: ``decode_grid(encode_grid(n, gold))`` is a subset of
``gold`` and misses exactly the quintuples counted by :func:`tagging_recovery`.
"""
import math
from typing import (Dict, Iterable, List, Optional, Sequence, Set, Tuple,
                    Union)

import torch
from torch import Tensor

from .data.sample import Entity, Quintuple, Sample
from .labels import (ENTITY_TAG_IDS, ENTITY_TYPES, NUM_TAGS, RELATION_TAG_IDS,
                     RELATIONS, TAG_TO_ID, TAGS, is_entity_tag,
                     is_relation_tag)

__all__ = ["encode_grid", "decode_grid", "decode_batch", "segment_entities",
           "pair_relation_probabilities", "probability_logits",
           "tagging_recovery", "LOSS_CAUSES", "ENTITY_DECODINGS"]

#: Causes of a gold quintuple lost by ``decode(encode(gold))``.
LOSS_CAUSES: Tuple[str, ...] = ("overlapping_head_tail", "nested_spans",
                                "conflicting_relations", "other")

#: How :func:`decode_grid` finds entities in a grid of logits (module
#: docstring).
ENTITY_DECODINGS: Tuple[str, ...] = ("segment", "diagonal")

_RELATION_CHOICES = torch.tensor((TAG_TO_ID["none"], ) + RELATION_TAG_IDS)
_ENTITY_CHOICES = torch.tensor(ENTITY_TAG_IDS)


def _overlap(a: Entity, b: Entity) -> bool:
    return a.start < b.end and b.start < a.end


def _check_quintuple(q: Quintuple, num_words: int) -> None:
    for entity in (q.head, q.tail):
        if not 0 <= entity.start < entity.end <= num_words:
            raise ValueError(
                f"entity span [{entity.start}, {entity.end}) is empty or "
                f"outside the {num_words} words")
        if entity.type not in ENTITY_TYPES:
            raise ValueError(f"unknown entity type {entity.type!r}; "
                             f"allowed: {', '.join(ENTITY_TYPES)}")
    if q.relation not in RELATIONS:
        raise ValueError(f"unknown relation {q.relation!r}; "
                         f"allowed: {', '.join(RELATIONS)}")


def _kept_entities(quintuples: Sequence[Quintuple]) -> Set[Entity]:
    """The disjoint entities written into the grid (rule 1 of the module
    docstring)."""
    recoverable: Dict[Entity, int] = {}
    for q in quintuples:
        for entity in (q.head, q.tail):
            recoverable.setdefault(entity, 0)
            if not _overlap(q.head, q.tail):
                recoverable[entity] += 1
    order = sorted(recoverable,
                   key=lambda e: (-recoverable[e], e.start - e.end, e))
    kept: List[Entity] = []
    for entity in order:
        if not any(_overlap(entity, other) for other in kept):
            kept.append(entity)
    return set(kept)


def encode_grid(num_words: int, quintuples: Iterable[Quintuple]) -> Tensor:
    r"""Encodes gold quintuples as a word-pair tag grid.

    Entities fill the upper triangle of their span with their type, relations
    fill their ``head x tail`` block (rows = head words, columns = tail words).
    Overlapping spans are resolved as described in the module docstring.

    Args:
        num_words (int): the number of words ``n`` of the sentence.
        quintuples (iterable of Quintuple): the gold quintuples; duplicates are
            ignored.

    Returns:
        LongTensor ``[n, n]`` of tag ids (:data:`jmere_pyg.labels.TAG_TO_ID`).

    Raises:
        ValueError: on a negative ``num_words``, an empty span or one outside
            the sentence, or an unknown entity type or relation.

    Example:
        >>> from jmere_pyg.data.sample import Entity, Quintuple
        >>> q = Quintuple(Entity(2, 3, "loc"), Entity(0, 2, "org"), "contain")
        >>> encode_grid(3, [q]).tolist()
        [[2, 2, 0], [0, 2, 0], [18, 18, 3]]
    """
    if num_words < 0:
        raise ValueError(f"num_words must be >= 0, got {num_words}")
    quintuples = list(dict.fromkeys(quintuples))
    for q in quintuples:
        _check_quintuple(q, num_words)
    grid = torch.zeros(num_words, num_words, dtype=torch.long)
    kept = _kept_entities(quintuples)
    for entity in kept:
        length = entity.end - entity.start
        rows, cols = torch.triu_indices(length, length) + entity.start
        grid[rows, cols] = TAG_TO_ID[entity.type]
    written: Set[Tuple[Entity, Entity]] = set()
    for q in quintuples:
        pair = (q.head, q.tail)
        if q.head in kept and q.tail in kept and pair not in written:
            written.add(pair)
            grid[q.head.start:q.head.end,
                 q.tail.start:q.tail.end] = TAG_TO_ID[q.relation]
    return grid


def _decode_entities(tags: Tensor) -> List[Entity]:
    diagonal = tags.diagonal().tolist()
    chain = tags.diagonal(1).tolist()
    entities = []
    start = 0
    while start < len(diagonal):
        tag = diagonal[start]
        end = start + 1
        if is_entity_tag(tag):
            while (end < len(diagonal) and diagonal[end] == tag
                   and chain[end - 1] == tag):
                end += 1
            entities.append(Entity(start, end, TAGS[tag]))
        start = end
    return entities


def segment_entities(log_probabilities: Tensor) -> List[Entity]:
    r"""The entities of a grid as its most likely segmentation.

    A span :math:`[s, e)` of entity type :math:`t` scores the log-likelihood
    ratio of tagging its upper triangle :math:`t` rather than ``none``,

    .. math::
        w(s, e, t) = \sum_{s \le i \le j < e}
        \log p_{i,j}(t) - \log p_{i,j}(\textrm{none}),

    and takes its best type. The entities are the disjoint spans of positive
    score whose scores sum highest (weighted interval scheduling, exact,
    :math:`O(n^2)`). Two neighbours stay apart when the cells between them
    speak against one span, and on a tie the shorter last span wins, so a
    one-hot grid decodes like ``"diagonal"``.

    Args:
        log_probabilities (Tensor): ``[n, n, NUM_TAGS]`` log-softmax of a
            grid's logits.

    Returns:
        The entities, sorted.
    """
    n = log_probabilities.size(0)
    ratio = (log_probabilities[..., _ENTITY_CHOICES]
             - log_probabilities[..., TAG_TO_ID["none"]].unsqueeze(-1))
    ratio = ratio * torch.ones(n, n).triu().unsqueeze(-1)
    # prefix[a, b] = sum of ratio over rows < a and columns < b, so the sum
    # over [a, b) x [a, b) -- the triangle, as the lower cells are zero -- is
    # prefix[b, b] - prefix[a, b] - prefix[b, a] + prefix[a, a].
    prefix = ratio.new_zeros(n + 1, n + 1, len(ENTITY_TYPES))
    prefix[1:, 1:] = ratio.cumsum(0).cumsum(1)
    a = torch.arange(n + 1).unsqueeze(1)
    b = a.t()
    scores = prefix[b, b] - prefix[a, b] - prefix[b, a] + prefix[a, a]
    span_score, span_type = scores.max(dim=-1)  # [n + 1, n + 1], a < b used
    span_score, span_type = span_score.tolist(), span_type.tolist()

    best = [0.0] * (n + 1)  # best[e]: highest total over words [0, e)
    start: List[Optional[int]] = [None] * (n + 1)  # last span's start
    for end in range(1, n + 1):
        best[end] = best[end - 1]
        for begin in range(end - 1, -1, -1):  # shortest first: ties split
            score = span_score[begin][end]
            if score > 0 and best[begin] + score > best[end]:
                best[end], start[end] = best[begin] + score, begin
    entities = []
    end = n
    while end > 0:
        begin = start[end]
        if begin is None:
            end -= 1
            continue
        entities.append(Entity(begin, end,
                               ENTITY_TYPES[span_type[begin][end]]))
        end = begin
    return sorted(entities)


def _vote_labels(block: Tensor) -> Optional[str]:
    counts = torch.bincount(block.reshape(-1), minlength=NUM_TAGS)
    tag = int(counts.argmax())
    if is_relation_tag(tag) and 2 * int(counts[tag]) > block.numel():
        return TAGS[tag]
    return None


def pair_relation_probabilities(probabilities: Tensor, head: Entity,
                                tail: Entity) -> Tensor:
    r"""What the grid says of the ordered pair ``(head, tail)``: the tag
    probabilities averaged over its block
    ``probabilities[head.start:head.end, tail.start:tail.end]``, read at
    ``none`` and the relations.

    Args:
        probabilities (Tensor): ``[n, n, NUM_TAGS]`` softmax of a grid's
            logits.
        head (Entity): the head, whose words are the block's rows.
        tail (Entity): the tail, whose words are the block's columns.

    Returns:
        Tensor ``[1 + len(RELATIONS)]``: ``none`` first, then
        :data:`jmere_pyg.labels.RELATIONS` in order.
    """
    block = probabilities[head.start:head.end, tail.start:tail.end]
    return block.reshape(-1, NUM_TAGS).mean(dim=0)[_RELATION_CHOICES]


def probability_logits(probabilities: Tensor) -> Tensor:
    r"""Logits whose softmax gives back ``probabilities`` (their log, zeros
    clamped to 1e-12), so that :func:`decode_grid` can decode a grid of
    probabilities, such as the mean of an ensemble's.

    Args:
        probabilities (Tensor): ``[n, n, NUM_TAGS]``, each cell summing to 1.
    """
    return probabilities.clamp_min(1e-12).log()


def _vote_probabilities(probabilities: Tensor, head: Entity,
                        tail: Entity) -> Optional[str]:
    choice = int(pair_relation_probabilities(probabilities, head,
                                             tail).argmax())
    return RELATIONS[choice - 1] if choice > 0 else None


def decode_grid(grid: Tensor, *, tokens: Optional[Sequence[str]] = None,
                entity_decoding: str = "segment") -> List[Quintuple]:
    r"""Decodes a word-pair grid into quintuples.

    Entities come from ``entity_decoding`` (module docstring): the most
    likely segmentation (:func:`segment_entities`) or the maximal diagonal
    runs, for which the diagonal and ``(i, i + 1)`` cells of logits take
    their argmax tag. Tag-id grids carry no likelihoods and are always read
    by diagonal runs. Every ordered pair ``(h, t)`` of distinct decoded
    entities then votes over its block ``grid[h.start:h.end, t.start:t.end]``:

    * tag ids: the most frequent tag of the block is emitted when it is a
      relation and covers strictly more than half of the block's cells (a
      block of ``none`` and entity tags, or a split vote, gives nothing);
    * logits: the softmax is averaged over the block and its argmax over
      ``none`` and the relations is emitted unless it is ``none``.

    Args:
        grid (Tensor): tag ids, integer ``[n, n]``, or logits, float
            ``[n, n, NUM_TAGS]``; rows are heads, columns tails.
        tokens (list of str, optional): the words of the sentence; when given,
            the grid may be padded and only its leading ``len(tokens)`` rows
            and columns are decoded.
        entity_decoding (str): ``"segment"`` or ``"diagonal"``
            (:data:`ENTITY_DECODINGS`); logits only. (default: ``"segment"``)

    Returns:
        The decoded quintuples, sorted.

    Raises:
        ValueError: on a grid of another shape or dtype, tag ids outside
            ``[0, NUM_TAGS)``, more tokens than grid rows, or an unknown
            ``entity_decoding``.
    """
    if entity_decoding not in ENTITY_DECODINGS:
        raise ValueError(f"entity_decoding must be one of {ENTITY_DECODINGS}, "
                         f"got {entity_decoding!r}")
    grid = grid.detach().cpu()
    if grid.dim() == 2 and not grid.is_floating_point():
        probabilities = None
    elif (grid.dim() == 3 and grid.is_floating_point()
          and grid.size(2) == NUM_TAGS):
        log_probabilities = grid.float().log_softmax(dim=-1)
        probabilities = log_probabilities.exp()
    else:
        raise ValueError(
            f"grid must be integer tag ids [n, n] or float logits "
            f"[n, n, {NUM_TAGS}], got {grid.dtype} {list(grid.shape)}")
    if grid.size(0) != grid.size(1):
        raise ValueError(f"grid must be square, got {list(grid.shape)}")
    if tokens is not None:
        if len(tokens) > grid.size(0):
            raise ValueError(f"{len(tokens)} tokens for a grid of "
                             f"{grid.size(0)} rows")
        grid = grid[:len(tokens), :len(tokens)]
        if probabilities is not None:
            probabilities = probabilities[:len(tokens), :len(tokens)]
            log_probabilities = log_probabilities[:len(tokens), :len(tokens)]
    if probabilities is None:
        tags = grid.long()
        if tags.numel() and (int(tags.min()) < 0
                             or int(tags.max()) >= NUM_TAGS):
            raise ValueError(f"tag ids must lie in [0, {NUM_TAGS})")
        entities = _decode_entities(tags)
    elif entity_decoding == "segment":
        entities = segment_entities(log_probabilities)
    else:
        tags = grid.argmax(dim=-1)
        entities = _decode_entities(tags)
    quintuples = []
    for head in entities:
        for tail in entities:
            if head == tail:
                continue
            if probabilities is None:
                relation = _vote_labels(tags[head.start:head.end,
                                             tail.start:tail.end])
            else:
                relation = _vote_probabilities(probabilities, head, tail)
            if relation is not None:
                quintuples.append(Quintuple(head, tail, relation))
    return sorted(quintuples)


def decode_batch(logits: Tensor,
                 sizes: Optional[Union[Sequence[int], Tensor]] = None, *,
                 pair_batch: Optional[Tensor] = None,
                 entity_decoding: str = "segment") -> List[List[Quintuple]]:
    r"""Decodes the word-pair outputs of a batch, sample by sample.

    Args:
        logits (Tensor): the pairs of all samples, concatenated, each sample
            row-major (cell ``(i, j)`` of sample ``b`` at offset
            ``sum_{c < b} n_c^2 + i * n_b + j``): float logits
            ``[sum n_b^2, NUM_TAGS]`` or integer tag ids ``[sum n_b^2]``.
        sizes (list of int or LongTensor, optional): the word counts ``n_b``.
        pair_batch (LongTensor, optional): ``[sum n_b^2]``, the sample index
            of every pair (e.g. ``batch['word'].batch[edge_index[0]]`` of the
            ``('word', 'pair', 'word')`` edges), non-decreasing. Trailing
            samples without words are invisible to it: pass ``sizes`` to keep
            them. Give exactly one of ``sizes`` and ``pair_batch``.
        entity_decoding (str): how entities are found in logits
            (:func:`decode_grid`). (default: ``"segment"``)

    Returns:
        One sorted quintuple list per sample (see :func:`decode_grid`).

    Raises:
        ValueError: when both or neither of ``sizes`` and ``pair_batch`` are
            given, a sample's pair count is not a square, or the sizes do not
            add up to the number of pairs.
    """
    if (sizes is None) == (pair_batch is None):
        raise ValueError("give exactly one of sizes and pair_batch")
    if pair_batch is not None:
        if pair_batch.numel() != logits.size(0):
            raise ValueError(f"pair_batch has {pair_batch.numel()} entries "
                             f"for {logits.size(0)} pairs")
        if pair_batch.numel() and bool((pair_batch.diff() < 0).any()):
            raise ValueError("pair_batch must be non-decreasing")
        sizes = []
        for count in torch.bincount(pair_batch.long()).tolist():
            root = math.isqrt(count)
            if root * root != count:
                raise ValueError(f"a sample has {count} pairs, not a square")
            sizes.append(root)
    sizes = [int(n) for n in sizes]
    logits = logits.detach().cpu()
    if sum(n * n for n in sizes) != logits.size(0):
        raise ValueError(f"sizes {sizes} give {sum(n * n for n in sizes)} "
                         f"pairs, logits have {logits.size(0)}")
    results = []
    offset = 0
    for n in sizes:
        pairs = logits[offset:offset + n * n]
        offset += n * n
        results.append(decode_grid(pairs.reshape(n, n, *logits.shape[1:]),
                                   entity_decoding=entity_decoding))
    return results


def tagging_recovery(samples: Iterable[Sample]) -> Dict[str, object]:
    r"""Measures what the tagging scheme can represent: the share of gold
    quintuples that come back from ``decode_grid(encode_grid(gold))``.

    A lost quintuple is charged to the first cause that applies:

    * ``overlapping_head_tail``: its head and tail spans overlap (one nested
      in the other, crossing, or the same span). Decoded entities are
      disjoint diagonal runs, so the two can never both be decoded.
    * ``nested_spans``: its head and tail are disjoint, but one of them
      overlaps another entity of the sentence and lost the selection of the
      module docstring (rule 1) to it; the diagonal holds one entity per word.
    * ``conflicting_relations``: another quintuple of the same ordered entity
      pair took the block (one tag per cell; rule 3).
    * ``other``: none of these; the scheme guarantees zero, the key is kept as
      a check.

    Measured on the MNRE files (grouped by sentence and image, ``None``
    relations dropped), all losses come from the sentences with overlapping
    spans: train 4461 / 4503 (99.07 %), 31 ``overlapping_head_tail`` + 11
    ``nested_spans``; val 622 / 624 (99.68 %), 1 + 1; no spurious quintuple.

    Args:
        samples (iterable of Sample): samples with gold quintuples.

    Returns:
        dict with ``total`` (distinct gold quintuples), ``recovered``,
        ``rate`` (``recovered / total``, 1.0 without quintuples), ``lost``
        (count per cause of :data:`LOSS_CAUSES`), ``spurious`` (decoded
        quintuples absent from the gold, 0 by construction),
        ``samples_with_losses`` and ``samples``.
    """
    lost = dict.fromkeys(LOSS_CAUSES, 0)
    total = recovered = spurious = num_samples = samples_with_losses = 0
    for sample in samples:
        num_samples += 1
        gold = list(dict.fromkeys(sample.quintuples))
        decoded = set(decode_grid(encode_grid(len(sample.tokens), gold)))
        kept = _kept_entities(gold)
        missing = [q for q in gold if q not in decoded]
        total += len(gold)
        recovered += len(gold) - len(missing)
        spurious += len(decoded.difference(gold))
        samples_with_losses += bool(missing)
        for q in missing:
            if _overlap(q.head, q.tail):
                cause = "overlapping_head_tail"
            elif q.head not in kept or q.tail not in kept:
                cause = "nested_spans"
            elif any(other.head == q.head and other.tail == q.tail
                     for other in gold if other != q):
                cause = "conflicting_relations"
            else:
                cause = "other"
            lost[cause] += 1
    return {
        "total": total,
        "recovered": recovered,
        "rate": recovered / total if total else 1.0,
        "lost": lost,
        "spurious": spurious,
        "samples_with_losses": samples_with_losses,
        "samples": num_samples,
    }
