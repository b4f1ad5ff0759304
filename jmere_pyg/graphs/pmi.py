"""Word co-occurrence statistics (PMI) for the co-occurrence channel.

Counted on the TRAINING sentences only (the authors' code also counts val and
test, which leaks them into the features).

Window: the sentence. Words are lowercased; a sentence counts each distinct
word once, and each unordered pair of distinct words once. With ``N``
training sentences::

    p(w)      = #sentences containing w / N
    p(w1, w2) = #sentences containing both w1 and w2 / N
    PMI       = log2(p(w1, w2) / (p(w1) * p(w2)))
              = log2(#both * N / (#w1 * #w2))

The value of a word pair is ``ceil(PMI)``, with every negative PMI set to -1,
then clipped to at most ``max_pmi``. Pairs that never occur together in
training and pairs with a word unseen in training have no finite PMI: their
value is 0 (no evidence), the same as independent words. A word paired with
itself (the diagonal, or the same word twice in a sentence) follows the same
formula with ``#both = #w``, so its value is ``ceil(log2(N / #w))``.
"""
import math
from collections import Counter
from itertools import combinations
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

import torch
from torch import Tensor


class PMIStatistics:
    """Sentence-level co-occurrence counts and the PMI values they give.

    Args:
        max_pmi (int, optional): Upper clip of the value. (default: ``10``)

    Example::

        >>> stats = PMIStatistics().fit([["Curry", "NBA"], ["nba", "finals"],
        ...                               ["Curry", "NBA", "wins"], ["rain"]])
        >>> stats.value("curry", "nba"), stats.value("curry", "rain")
        (1, 0)
        >>> stats.matrix(["Curry", "NBA"]).tolist()
        [[1, 1], [1, 1]]
    """

    def __init__(self, max_pmi: int = 10):
        if max_pmi < 0:
            raise ValueError(f"max_pmi must be >= 0, got {max_pmi}")
        self.max_pmi = int(max_pmi)
        self.num_sentences = 0
        self.word_counts: Counter = Counter()
        self.pair_counts: Counter = Counter()

    @staticmethod
    def _distinct_words(tokens: Iterable[str]) -> List[str]:
        return sorted({token.lower() for token in tokens})

    def fit(self, sentences: Iterable[Sequence[str]]) -> "PMIStatistics":
        """Counts words and word pairs over ``sentences`` (token lists).

        Replaces any earlier counts; returns ``self``.
        """
        self.num_sentences = 0
        self.word_counts = Counter()
        self.pair_counts = Counter()
        for tokens in sentences:
            words = self._distinct_words(tokens)
            self.num_sentences += 1
            self.word_counts.update(words)
            # ``words`` is sorted, so every key is (smaller, larger).
            self.pair_counts.update(combinations(words, 2))
        return self

    def _pair_count(self, word1: str, word2: str) -> int:
        if word1 == word2:
            return self.word_counts.get(word1, 0)
        key = (word1, word2) if word1 < word2 else (word2, word1)
        return self.pair_counts.get(key, 0)

    def pmi(self, word1: str, word2: str) -> Optional[float]:
        """The PMI of two words (case-insensitive), ``None`` when the pair
        never occurs in a training sentence."""
        return self._pmi(word1.lower(), word2.lower())

    def _pmi(self, word1: str, word2: str) -> Optional[float]:
        both = self._pair_count(word1, word2)
        if both == 0:
            return None
        return math.log2(both * self.num_sentences
                         / (self.word_counts[word1] * self.word_counts[word2]))

    def value(self, word1: str, word2: str) -> int:
        """``ceil(PMI)``, -1 if negative, 0 if unseen, clipped to
        ``max_pmi``."""
        return self._value(word1.lower(), word2.lower())

    def _value(self, word1: str, word2: str) -> int:
        pmi = self._pmi(word1, word2)
        if pmi is None:
            return 0
        if pmi < 0:
            return -1
        return min(math.ceil(pmi), self.max_pmi)

    def matrix(self, tokens: Sequence[str]) -> Tensor:
        """The value of every word pair of a sentence.

        Args:
            tokens (sequence of str): The ``n`` words.

        Returns:
            LongTensor ``[n, n]``, symmetric, entry ``(i, j)`` the value of
            ``(tokens[i], tokens[j])``, in ``[-1, max_pmi]``.
        """
        words = [token.lower() for token in tokens]
        # Each distinct known word pair once; unknown words stay 0.
        distinct = sorted(set(words))
        position = {word: i for i, word in enumerate(distinct)}
        table = [[0] * len(distinct) for _ in distinct]
        known = [i for i, word in enumerate(distinct)
                 if word in self.word_counts]
        for a, i in enumerate(known):
            for j in known[a:]:
                table[i][j] = table[j][i] = self._value(distinct[i],
                                                        distinct[j])
        index = torch.tensor([position[w] for w in words], dtype=torch.long)
        table = torch.tensor(table, dtype=torch.long).view(len(distinct),
                                                           len(distinct))
        return table[index][:, index]

    def to_dict(self) -> Dict[str, Any]:
        """A JSON-serialisable dict: the words with their counts, and the
        pairs as ``[i, j, count]`` over indices into ``words``."""
        words = sorted(self.word_counts)
        index = {word: i for i, word in enumerate(words)}
        pairs: List[Tuple[int, int, int]] = [
            (index[w1], index[w2], count)
            for (w1, w2), count in sorted(self.pair_counts.items())
        ]
        return {
            "max_pmi": self.max_pmi,
            "num_sentences": self.num_sentences,
            "words": words,
            "word_counts": [self.word_counts[w] for w in words],
            "pairs": pairs,
        }

    @classmethod
    def from_dict(cls, state: Dict[str, Any]) -> "PMIStatistics":
        """Inverse of :meth:`to_dict`."""
        stats = cls(max_pmi=state["max_pmi"])
        words = state["words"]
        if len(words) != len(state["word_counts"]):
            raise ValueError("PMI statistics: 'words' and 'word_counts' "
                             "differ in length")
        stats.num_sentences = int(state["num_sentences"])
        stats.word_counts = Counter(dict(zip(words, state["word_counts"])))
        stats.pair_counts = Counter({(words[i], words[j]): count
                                     for i, j, count in state["pairs"]})
        return stats

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(sentences={self.num_sentences}, "
                f"words={len(self.word_counts)}, "
                f"pairs={len(self.pair_counts)}, max_pmi={self.max_pmi})")
