"""Splitting raw post text into words.

The JSON lines reader accepts raw ``text`` instead of ``tokens``; it splits
the text with :func:`default_tokenizer` unless told otherwise. The default is
spaCy's rule-based English tokenizer (``spacy.blank('en').tokenizer``: no
model, no download), so tweets split as spaCy splits them::

    >>> default_tokenizer()("RT @user: Curry wins #NBA https://t.co/x 🏆")
    ['RT', '@user', ':', 'Curry', 'wins', '#', 'NBA', 'https://t.co/x', '🏆']

Whitespace tokens, which spaCy emits for runs of spaces, are dropped: every
word is a non-empty string, and entity spans index these words.
"""
from functools import lru_cache
from typing import Callable, List

Tokenizer = Callable[[str], List[str]]


@lru_cache(maxsize=1)
def default_tokenizer() -> Tokenizer:
    """Returns the default tokenizer, a callable ``str -> list[str]``.

    Built once on ``spacy.blank('en').tokenizer`` and cached: every call
    returns the same callable.
    """
    import spacy

    spacy_tokenizer = spacy.blank("en").tokenizer

    def tokenize(text: str) -> List[str]:
        return [token.text for token in spacy_tokenizer(text)
                if not token.is_space]

    return tokenize
