"""Cleaning text and splitting raw post text into words.

Every text and word the library reads goes through :func:`normalize_text`
first: Unicode NFC, zero-width characters (U+200B..U+200D, U+2060, U+FEFF)
dropped, control characters dropped (tab, line feed and the other
whitespace controls become a space). Word lists from files go through
:func:`clean_words`: a word that held only such characters is dropped and
the spans that index the words are moved onto the kept words (the readers
treat an entity left with no word as an error, ``empty_entity``).

The JSON lines reader accepts raw ``text`` instead of ``tokens``; it splits
the text with :func:`default_tokenizer` unless told otherwise. The default is
spaCy's rule-based English tokenizer (``spacy.blank('en').tokenizer``: no
model, no download), so tweets split as spaCy splits them::

    >>> default_tokenizer()("RT @user: Curry wins #NBA https://t.co/x 🏆")
    ['RT', '@user', ':', 'Curry', 'wins', '#', 'NBA', 'https://t.co/x', '🏆']

Whitespace tokens, which spaCy emits for runs of spaces, are dropped: every
word is a non-empty string, and entity spans index these words.
"""
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Dict, List, Optional, Sequence, Tuple

Tokenizer = Callable[[str], List[str]]

#: Invisible characters dropped from every text and word: zero-width
#: space, non-joiner and joiner, word joiner, byte-order mark.
ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"


def _translation() -> Dict[int, Optional[str]]:
    table: Dict[int, Optional[str]] = {ord(c): None for c in ZERO_WIDTH}
    for code in [*range(0x20), *range(0x7F, 0xA0)]:  # Unicode category Cc
        table[code] = " " if chr(code).isspace() else None
    return table


_TRANSLATION = _translation()


def normalize_text(text: str) -> str:
    """``text`` in NFC without zero-width and control characters.

    Whitespace controls (tab, line feed, ...) become a space, so that words
    they separated stay apart; other controls and the :data:`ZERO_WIDTH`
    characters are dropped.

    Example::

        >>> normalize_text("Cur\u200bry\x00 wins\tit")
        'Curry wins it'
    """
    if text.isascii() and text.isprintable():
        return text
    return unicodedata.normalize("NFC", text).translate(_TRANSLATION)


@dataclass(frozen=True)
class CleanWords:
    """Words after :func:`normalize_text`, and where the given words went.

    Attributes:
        words (list of str): The kept words, normalised.
        given (int): How many words were given.
        kept_before (tuple of int, optional): ``kept_before[i]`` is the
            number of kept words among the first ``i`` given ones (length
            ``given + 1``); ``None`` when every word was kept.
    """
    words: List[str]
    given: int
    kept_before: Optional[Tuple[int, ...]] = None

    def span(self, start: int, end: int) -> Tuple[int, int]:
        """The span ``[start, end)`` of the given words on the kept words
        (empty when all its words were dropped)."""
        if self.kept_before is None:
            return start, end
        return self.kept_before[start], self.kept_before[end]


def clean_words(words: Sequence[str]) -> CleanWords:
    """Normalises every word (:func:`normalize_text`) and drops those left
    blank (words of zero-width or control characters only).

    Example::

        >>> clean_words(["Curry", "\u200b", "wins"])
        CleanWords(words=['Curry', 'wins'], given=3, kept_before=(0, 1, 1, 2))
    """
    cleaned = [normalize_text(word) for word in words]
    kept = [bool(word.strip()) for word in cleaned]
    if all(kept):
        return CleanWords(cleaned, len(cleaned))
    kept_before = [0]
    for keep in kept:
        kept_before.append(kept_before[-1] + keep)
    return CleanWords([word for word, keep in zip(cleaned, kept) if keep],
                      len(cleaned), tuple(kept_before))


@lru_cache(maxsize=1)
def default_tokenizer() -> Tokenizer:
    """Returns the default tokenizer, a callable ``str -> list[str]``.

    Built once on ``spacy.blank('en').tokenizer`` and cached: every call
    returns the same callable. The text is normalised first
    (:func:`normalize_text`).
    """
    import spacy

    spacy_tokenizer = spacy.blank("en").tokenizer

    def tokenize(text: str) -> List[str]:
        return [token.text for token in spacy_tokenizer(normalize_text(text))
                if not token.is_space]

    return tokenize
