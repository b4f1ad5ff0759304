"""Windows of a long post: runs of whole sentences under a word limit.

A post's graph holds ``n^2`` word pairs, so extraction from a long post
(a document pasted as one post) would need time and memory quadratic in its
length. :func:`window_spans` cuts a post into windows of consecutive
sentences (from the dependency parse: every spaCy sentence is one tree, with
its own root) holding at most ``max_words`` words; a sentence longer than the
limit is cut into chunks of ``max_words`` words. The model then runs on each
window, and the quintuples come back with the window's offset added
(:class:`jmere_pyg.inference.Predictor`): time and memory grow linearly with
the post's length. An entity pair split across two windows is not extracted.

Example::

    >>> window_spans([0, 0, 0, 3, 3, 5, 5], max_words=4)
    [(0, 3), (3, 7)]
    >>> window_spans([0, 0, 0, 0, 0], max_words=2)
    [(0, 2), (2, 4), (4, 5)]
"""
from typing import List, Sequence, Tuple

Span = Tuple[int, int]


def sentence_spans(heads: Sequence[int]) -> List[Span]:
    """The sentences of a parse, as word spans ``[start, end)`` in order.

    A sentence is a maximal run of consecutive words under the same root
    (a root is its own head). spaCy's sentences are such runs; a parse whose
    trees interleave gives shorter runs, still covering every word once.

    Args:
        heads (sequence of int): Head index of each of the ``n`` words.

    Returns:
        list of ``(start, end)``, covering ``0..n`` without gaps.
    """
    roots = _roots(heads)
    spans = []
    start = 0
    for i in range(1, len(heads) + 1):
        if i == len(heads) or roots[i] != roots[start]:
            spans.append((start, i))
            start = i
    return spans


def window_spans(heads: Sequence[int], max_words: int) -> List[Span]:
    """Windows of whole consecutive sentences with at most ``max_words``
    words each (a longer sentence is cut into chunks of ``max_words``).

    Args:
        heads (sequence of int): Head index of each of the ``n`` words.
        max_words (int): Word limit of a window, ``>= 1``.

    Returns:
        list of ``(start, end)``, covering ``0..n`` without gaps; a post of
        ``n <= max_words`` words is one window.
    """
    if max_words < 1:
        raise ValueError(f"max_words must be >= 1, got {max_words}")
    pieces = []
    for start, end in sentence_spans(heads):
        pieces.extend((s, min(s + max_words, end))
                      for s in range(start, end, max_words))
    windows: List[Span] = []
    for start, end in pieces:
        if windows and end - windows[-1][0] <= max_words:
            windows[-1] = (windows[-1][0], end)
        else:
            windows.append((start, end))
    return windows


def _roots(heads: Sequence[int]) -> List[int]:
    """The root of each word's tree (a word on a head cycle counts as the
    root of its chain)."""
    n = len(heads)
    roots = [-1] * n
    for word in range(n):
        chain, on_chain = [], set()
        node = word
        while (roots[node] < 0 and heads[node] != node
               and node not in on_chain):
            chain.append(node)
            on_chain.add(node)
            node = heads[node]
        root = roots[node] if roots[node] >= 0 else node
        for visited in chain + [node]:
            roots[visited] = root
    return roots
