"""Windows of whole sentences for long posts."""
import numpy as np
import pytest

from jmere_pyg.graphs import sentence_spans, window_spans


def sentences_to_heads(lengths):
    """Heads of consecutive one-tree sentences of the given lengths (each
    word's head is the sentence's first word)."""
    heads = []
    for length in lengths:
        first = len(heads)
        heads.extend([first] * length)
    return heads


def test_sentence_spans_follow_the_roots():
    # sentence 1: words 0-2 (root 1); sentence 2: words 3-6 (root 5, chain)
    heads = [1, 1, 1, 4, 5, 5, 5]
    assert sentence_spans(heads) == [(0, 3), (3, 7)]
    assert sentence_spans([]) == []


def test_a_post_within_the_limit_is_one_window():
    assert window_spans(sentences_to_heads([3, 4, 2]), 9) == [(0, 9)]


def test_long_sentences_are_cut_and_short_ones_packed():
    heads = sentences_to_heads([3, 3, 7, 1])
    assert window_spans(heads, 4) == [(0, 3), (3, 6), (6, 10), (10, 14)]
    assert window_spans(heads, 6) == [(0, 6), (6, 12), (12, 14)]


@pytest.mark.parametrize("max_words", [1, 3, 10, 64])
def test_windows_cover_the_post_and_cut_only_at_sentence_ends(max_words):
    rng = np.random.default_rng(max_words)
    for _ in range(30):
        lengths = rng.integers(1, 40, size=int(rng.integers(1, 12))).tolist()
        heads = sentences_to_heads(lengths)
        windows = window_spans(heads, max_words)
        assert windows[0][0] == 0 and windows[-1][1] == len(heads)
        assert all(a[1] == b[0] for a, b in zip(windows, windows[1:]))
        assert all(0 < end - start <= max_words for start, end in windows)
        ends = set(np.cumsum(lengths).tolist())
        for start, end in windows[:-1]:
            # a cut inside a sentence only where that sentence is too long
            if end not in ends:
                assert (end - start) == max_words


def test_head_cycles_do_not_hang():
    assert sentence_spans([1, 0, 2]) == [(0, 2), (2, 3)]
    with pytest.raises(ValueError, match="max_words"):
        window_spans([0], 0)
