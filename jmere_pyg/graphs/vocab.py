"""A small token vocabulary: ordered tokens -> integer ids."""
from typing import Dict, Iterable, Iterator, List, Sequence

UNK = "<unk>"
SELF = "<self>"


class Vocabulary:
    """Maps tokens to ids in insertion order; unknown tokens map to 0.

    Id 0 is always ``<unk>``; the optional ``reserved`` entries take the ids
    right after it (``Vocabulary(reserved=['<self>'])`` gives ``<self>`` = 1),
    then come the tokens added by :meth:`fit` in order of first appearance.

    >>> vocab = Vocabulary(["nsubj", "dobj"], reserved=["<self>"])
    >>> vocab["dobj"], vocab["<self>"], vocab["never seen"]
    (3, 1, 0)
    >>> Vocabulary.from_list(vocab.to_list(), reserved=["<self>"]) == vocab
    True

    Args:
        tokens (iterable of str, optional): Tokens to add right away.
        reserved (sequence of str, optional): Extra reserved entries placed
            after ``<unk>``.
    """

    def __init__(self, tokens: Iterable[str] = (),
                 reserved: Sequence[str] = ()):
        reserved = tuple(reserved)
        if UNK in reserved:
            raise ValueError(f"{UNK!r} is always id 0; do not list it in "
                             f"reserved")
        if len(set(reserved)) != len(reserved):
            raise ValueError(f"reserved entries repeat: {reserved}")
        self.reserved = reserved
        self._tokens: List[str] = []
        self._ids: Dict[str, int] = {}
        for token in (UNK, ) + reserved:
            self._add(token)
        self.fit(tokens)

    def _add(self, token: str) -> None:
        if not isinstance(token, str):
            raise TypeError(f"vocabulary tokens are strings, got "
                            f"{type(token).__name__} {token!r}")
        if token not in self._ids:
            self._ids[token] = len(self._tokens)
            self._tokens.append(token)

    def fit(self, tokens: Iterable[str]) -> "Vocabulary":
        """Adds every new token of ``tokens``, in order; returns ``self``."""
        for token in tokens:
            self._add(token)
        return self

    def __getitem__(self, token: str) -> int:
        return self._ids.get(token, 0)

    def lookup(self, tokens: Iterable[str]) -> List[int]:
        """The ids of ``tokens`` (0 for unknown ones)."""
        return [self._ids.get(token, 0) for token in tokens]

    def token(self, index: int) -> str:
        """The token with id ``index``."""
        return self._tokens[index]

    def __contains__(self, token: object) -> bool:
        return token in self._ids

    def __len__(self) -> int:
        return len(self._tokens)

    def __iter__(self) -> Iterator[str]:
        return iter(self._tokens)

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Vocabulary)
                and self._tokens == other._tokens
                and self.reserved == other.reserved)

    def to_list(self) -> List[str]:
        """All tokens by id, ``<unk>`` and the reserved entries included."""
        return list(self._tokens)

    @classmethod
    def from_list(cls, tokens: Sequence[str],
                  reserved: Sequence[str] = ()) -> "Vocabulary":
        """Rebuilds a vocabulary from :meth:`to_list`, checking that the list
        starts with ``<unk>`` and the ``reserved`` entries, and that no token
        repeats (ids would shift)."""
        head = [UNK] + list(reserved)
        if list(tokens[:len(head)]) != head:
            raise ValueError(f"a vocabulary list must start with {head}, "
                             f"got {list(tokens[:len(head)])}")
        if len(set(tokens)) != len(tokens):
            raise ValueError("a vocabulary list must not repeat tokens")
        return cls(tokens[len(head):], reserved=reserved)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(size={len(self)})"
