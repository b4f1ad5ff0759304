"""Reading and writing JMERE samples, with validation.

One entry point, :func:`read_samples`, reads the three formats below and
returns ``(samples, report)``: a list of :class:`~jmere_pyg.data.sample.Sample`
and a :class:`~jmere_pyg.data.errors.ReadReport` counting what was read,
merged and skipped; :func:`iter_samples` gives the same samples a record at
a time (:class:`SampleStream`), so that a corpus of JSON lines of any size
streams. Spans are ``[start, end)`` word indices everywhere.

Formats
-------
``mnre``: the MNRE v2 text files, one Python-literal dict per line (parsed
    with :func:`ast.literal_eval`, never ``eval``)::

        {'token': [...], 'h': {'name': 'Dez Bryant', 'pos': [6, 8]},
         't': {'name': 'NFL', 'pos': [17, 18]}, 'img_id': 'x.jpg',
         'relation': '/per/org/member_of'}

    Each line is one (head, tail, relation) instance; the relation string
    carries the head type, then the tail type. Lines are grouped into one
    sample per ``(token, img_id)``, in order of first appearance. Lines with
    relation ``'None'`` give no quintuple (counted in
    ``report.none_relation``, they are not errors but are validated too);
    sentences with no other line give no sample (counted in
    ``report.sentences_without_relation``).

``jmere``: the official JMERE JSON, one JSON list of objects
    ``{token, img_id, label_list}``, where every element of ``label_list``
    is a one-element list holding
    ``{beg_ent: {name, pos, tags}, sec_ent: {...}, relation}`` (``tags`` is
    the entity type). Objects with the same
    ``(token, img_id)`` are merged (``report.merged_samples``). Errors name
    the object by its 1-based index in the list: ``error.line`` holds that
    index and the message reads ``path: sample 3: ...``.

``jsonl``: our JSON lines format, one object per line (blank lines ignored)::

        {"tokens": ["Dez", "Bryant", "joins", "the", "NFL"],
         "image_id": "x.jpg",
         "quintuples": [{"head": {"start": 0, "end": 2, "type": "per",
                                  "name": "Dez Bryant"},
                         "tail": {"start": 4, "end": 5, "type": "org"},
                         "relation": "member_of", "confidence": 0.93}]}

    - ``tokens`` (list of words) or ``text`` (raw string, split into words
      by ``tokenizer``, by default
      :func:`~jmere_pyg.data.tokenize.default_tokenizer`; spans then index
      those words): exactly one of the two is required.
    - ``image_id`` (string or null) and ``quintuples`` (list) are optional.
    - An entity has ``start``, ``end``, ``type`` and optionally ``name``, the
      words of its span, checked when given. A quintuple may carry a numeric
      ``confidence`` (written by :func:`write_jsonl`); it is checked and not
      kept in the :class:`Sample`.
    - Other keys are errors (``unknown_field``), so that a misspelt key does
      not silently drop the quintuples. Every line is one sample: lines are
      never merged, so predictions stay aligned with their input lines.

    :func:`write_jsonl` writes this format; reading its output gives back the
    same words, image ids and quintuples.

Validation
----------
Every format is checked for: malformed lines (``syntax_error``), missing
fields (``missing_field``), values of the wrong type (``wrong_type``), texts
without words (``empty_text``) or with empty words (``empty_word``), texts
longer than ``max_words`` (``too_long``), empty or reversed spans
(``empty_span``), spans beyond the text (``span_out_of_range``), entity
names that differ from their span's words (``name_mismatch``), unknown
entity types (``unknown_entity_type``) and relations (``unknown_relation``),
MNRE relation strings not of the form ``/type/type/relation``
(``bad_relation``), a head and a tail on the same span
(``head_equals_tail``) and a span given two types within one sample
(``entity_type_conflict``). The JSON lines format adds ``unknown_field`` and
``conflicting_fields`` (both ``tokens`` and ``text``).

Words and raw texts are cleaned first (:mod:`jmere_pyg.data.tokenize`):
Unicode NFC, zero-width and control characters removed. A word of nothing
but such characters is dropped and the spans of its line are moved onto the
kept words; an entity left without words is an error (``empty_entity``),
and so is a text left without words (``empty_text``).

With ``on_error='raise'`` the first problem raises a
:class:`~jmere_pyg.data.errors.DataFormatError` naming the file, line and
field; with ``on_error='skip'`` the faulty line (MNRE, JSON lines) or sample
object (JMERE JSON) is left out and counted in ``report.skipped`` under its
reason. Problems with the whole file (not UTF-8, a JMERE file that is not a
JSON list, an undetectable format) always raise.

Entity names are compared with the span's words joined by spaces, ignoring
whitespace: in the MNRE train and validation files every name equals
``' '.join(tokens[start:end])`` exactly, so the comparison only forgives
spacing (e.g. ``'#GirlPower'`` for the words ``['#', 'GirlPower']``, or
stray spaces), while a name pointing at other words, or differing in case or
spelling, is an error.
"""
import ast
import json
import os
from dataclasses import dataclass
from typing import (Dict, Iterable, Iterator, List, NoReturn, Optional,
                    Sequence, Set, Tuple, Union)

from ..labels import ENTITY_TYPES, RELATIONS
from .errors import (DataFormatError, ReadReport, is_int, is_number,
                     load_json)
from .sample import Entity, Quintuple, Sample
from .tokenize import (CleanWords, Tokenizer, clean_words, default_tokenizer,
                       normalize_text)

PathLike = Union[str, "os.PathLike[str]"]

#: Formats :func:`read_samples` reads; ``None`` detects the format.
FORMATS: Tuple[str, ...] = ("mnre", "jmere", "jsonl")
#: Values of ``on_error``.
ON_ERROR: Tuple[str, ...] = ("raise", "skip")

_MNRE_NONE_RELATION = "None"
_JSONL_SAMPLE_KEYS = frozenset({"tokens", "text", "image_id", "quintuples"})
_JSONL_QUINTUPLE_KEYS = frozenset({"head", "tail", "relation", "confidence"})
_JSONL_ENTITY_KEYS = frozenset({"start", "end", "type", "name"})
_LITERAL_ERRORS = (ValueError, SyntaxError, TypeError, MemoryError,
                   RecursionError)


def read_samples(path: PathLike, format: Optional[str] = None, *,
                 on_error: str = "raise", max_words: Optional[int] = None,
                 tokenizer: Optional[Tokenizer] = None,
                 on_too_long: Optional[str] = None
                 ) -> Tuple[List[Sample], ReadReport]:
    """Reads the samples of a file in any supported format.

    Args:
        path (str or PathLike): The file, UTF-8 text.
        format (str, optional): ``'mnre'``, ``'jmere'`` or ``'jsonl'``;
            ``None`` detects it from the content (see :func:`detect_format`).
            (default: ``None``)
        on_error (str): ``'raise'`` raises a :class:`DataFormatError` at the
            first faulty line or sample; ``'skip'`` leaves it out and counts
            it in ``report.skipped``. (default: ``'raise'``)
        max_words (int, optional): Texts with more words are errors
            (``too_long``). (default: ``None``, no limit)
        tokenizer (callable, optional): ``str -> list[str]`` splitting the
            ``text`` of JSON lines samples. (default: spaCy's blank English
            tokenizer, :func:`~jmere_pyg.data.tokenize.default_tokenizer`)
        on_too_long (str, optional): ``'raise'`` or ``'skip'`` for texts
            longer than ``max_words`` alone, e.g. ``'skip'`` to leave out
            over-long texts (counted under ``too_long``) while any other
            problem raises. (default: ``None``, as ``on_error``)

    Returns:
        ``(samples, report)``: the samples in file order and a
        :class:`ReadReport`.
    """
    if format is not None and format not in FORMATS:
        raise ValueError(f"format must be one of None, "
                         f"{', '.join(map(repr, FORMATS))}; got {format!r}")
    reader = _Reader(path, on_error, max_words, tokenizer, on_too_long)
    text = reader.read_text()
    if format is None:
        format = _detect(text, reader.path)
    return reader.read(format, text)


def read_mnre(path: PathLike, *, on_error: str = "raise",
              max_words: Optional[int] = None,
              tokenizer: Optional[Tokenizer] = None
              ) -> Tuple[List[Sample], ReadReport]:
    """Reads an MNRE text file; see :func:`read_samples` (``tokenizer`` is
    unused: MNRE lines hold words)."""
    return read_samples(path, "mnre", on_error=on_error, max_words=max_words,
                        tokenizer=tokenizer)


def read_jmere_json(path: PathLike, *, on_error: str = "raise",
                    max_words: Optional[int] = None,
                    tokenizer: Optional[Tokenizer] = None
                    ) -> Tuple[List[Sample], ReadReport]:
    """Reads an official JMERE JSON file; see :func:`read_samples`
    (``tokenizer`` is unused: the objects hold words)."""
    return read_samples(path, "jmere", on_error=on_error, max_words=max_words,
                        tokenizer=tokenizer)


def read_jsonl(path: PathLike, *, on_error: str = "raise",
               max_words: Optional[int] = None,
               tokenizer: Optional[Tokenizer] = None
               ) -> Tuple[List[Sample], ReadReport]:
    """Reads our JSON lines format; see :func:`read_samples`."""
    return read_samples(path, "jsonl", on_error=on_error, max_words=max_words,
                        tokenizer=tokenizer)


def iter_samples(path: PathLike, format: Optional[str] = None, *,
                 on_error: str = "skip", max_words: Optional[int] = None,
                 tokenizer: Optional[Tokenizer] = None) -> "SampleStream":
    """The samples of a file one at a time, as ``(line, sample)``: memory
    does not grow with the file (JSON lines; the other formats are read
    whole, see :class:`SampleStream`).

    Arguments as :func:`read_samples`'s, but a faulty line is skipped and
    counted (``on_error='skip'``) unless told otherwise; the counts are in
    the stream's ``report`` once it is read through.

    Example::

        stream = iter_samples("posts.jsonl")
        for line, sample in stream:
            ...
        print(stream.report.summary())
    """
    return SampleStream(path, format, on_error=on_error,
                        max_words=max_words, tokenizer=tokenizer)


class SampleStream:
    """The samples of a data file, read a record at a time.

    A record is a non-blank line of a JSON lines file: iterating the stream
    reads and checks one line at a time, so that a corpus of any size
    streams. MNRE files (whose lines are grouped into samples across the
    whole file) and JMERE files (one JSON list) are read whole on the first
    call of :meth:`records`, their records being their samples.

    Iterating yields ``(line, sample)`` for every valid record (``line``:
    its 1-based line number, or the sample's position for MNRE and JMERE
    files) and counts everything in :attr:`report`. :meth:`records` and
    :meth:`read` split that in two, so that a caller can number records
    without reading them (those of another process) and read a chunk of
    them with its own :class:`~jmere_pyg.data.errors.ReadReport`.

    Differences from :func:`read_samples` on JSON lines: a line that is not
    UTF-8 is one faulty line (``encoding``), not a faulty file.

    Args: as :func:`iter_samples`.

    Raises:
        DataFormatError: when the format cannot be detected from the first
            non-blank line.
    """

    def __init__(self, path: PathLike, format: Optional[str] = None, *,
                 on_error: str = "skip", max_words: Optional[int] = None,
                 tokenizer: Optional[Tokenizer] = None):
        if format is not None and format not in FORMATS:
            raise ValueError(f"format must be one of None, "
                             f"{', '.join(map(repr, FORMATS))}; got "
                             f"{format!r}")
        self._reader = _Reader(path, on_error, max_words, tokenizer)
        self.path = self._reader.path
        self.format = format or _detect(self._first_line(), self.path)
        #: What was read outside any chunk: the format, blank lines and,
        #: for files read whole, every count but samples and quintuples.
        self.report = ReadReport(path=self.path, format=self.format)

    def __iter__(self) -> Iterator[Tuple[int, Sample]]:
        for record in self.records():
            samples, part = self.read([record])
            self.report.add(part)
            yield from samples

    def records(self) -> Iterator[Tuple[int, Union[str, Sample]]]:
        """``(line, record)`` of every record in file order, unread: a JSON
        line's text, or a sample of a file read whole. Blank lines are
        counted in :attr:`report`."""
        if self.format != "jsonl":
            yield from self._whole_file_records()
            return
        with open(self.path, "rb") as file:
            for number, raw in enumerate(file, 1):
                # surrogateescape never fails here: :meth:`read` reports
                # the bytes that are not UTF-8 as one faulty line.
                line = raw.decode("utf-8", "surrogateescape").rstrip("\n")
                if number == 1:
                    line = line.removeprefix("\ufeff")
                if line.endswith("\r"):
                    line = line[:-1]
                if not line.strip():
                    self.report.blank_lines += 1
                    continue
                yield number, line

    def read(self, records: Iterable[Tuple[int, Union[str, Sample]]]
             ) -> Tuple[List[Tuple[int, Sample]], ReadReport]:
        """The samples of ``records`` (from :meth:`records`) with their
        line numbers, and the report of this read alone (lines, samples,
        quintuples, skips).

        Raises:
            DataFormatError: at the first faulty record, with
                ``on_error='raise'``.
        """
        reader = self._reader
        reader.report = ReadReport(path=self.path, format=self.format)
        samples = []
        for number, record in records:
            if isinstance(record, Sample):
                samples.append((number, record))
                continue
            reader.report.lines += 1
            try:
                record.encode("utf-8")
            except UnicodeEncodeError as error:
                byte = ord(record[error.start]) - 0xDC00  # surrogateescape
                reader.line = number
                reader._skip_or_raise(DataFormatError(
                    self.path, number, None, f"not UTF-8 text (byte "
                    f"0x{byte:02x} at column {error.start + 1})",
                    reason="encoding"))
                continue
            sample = reader._jsonl_sample(number, record)
            if sample is not None:
                samples.append((number, sample))
        reader.report.samples = len(samples)
        reader.report.quintuples = sum(len(s.quintuples) for _, s in samples)
        return samples, reader.report

    def _first_line(self) -> str:
        """The first non-blank line, from which the format is detected."""
        with open(self.path, "rb") as file:
            for raw in file:
                line = raw.decode("utf-8", "surrogateescape")
                if line.removeprefix("\ufeff").strip():
                    return line.removeprefix("\ufeff")
        return ""

    def _whole_file_records(self) -> Iterator[Tuple[int, Sample]]:
        reader = self._reader
        samples, report = reader.read(self.format, reader.read_text())
        report.samples = report.quintuples = 0  # counted by read()
        self.report = report
        for number, sample in enumerate(samples, 1):
            yield number, sample


def detect_format(path: PathLike) -> str:
    """Returns the format of a file, ``'mnre'``, ``'jmere'`` or ``'jsonl'``.

    The first non-space character ``[`` means ``jmere``; ``{`` with a first
    line that parses as a JSON object means ``jsonl`` (unless the object has
    MNRE's ``token`` key and neither ``tokens`` nor ``text``: then ``mnre``);
    otherwise a first line that :func:`ast.literal_eval` reads as a dict with
    a ``token`` key means ``mnre``. Anything else raises
    :class:`DataFormatError`.
    """
    reader = _Reader(path, "raise", None, None)
    return _detect(reader.read_text(), reader.path)


def write_jsonl(samples: Iterable[Sample], path: PathLike, *,
                confidences: Optional[Sequence[Sequence[float]]] = None
                ) -> None:
    """Writes samples in our JSON lines format, one sample per line.

    Args:
        samples (iterable of Sample): The samples.
        path (str or PathLike): The output file (UTF-8, overwritten).
        confidences (sequence of sequences of float, optional): One score per
            quintuple of each sample (``confidences[i][j]`` for
            ``samples[i].quintuples[j]``), written as ``confidence``.
            (default: ``None``)

    Entities are written with their ``name``, the words of their span
    joined by spaces.
    """
    samples = list(samples)
    if confidences is not None:
        confidences = list(confidences)
        if len(confidences) != len(samples):
            raise ValueError(f"confidences has {len(confidences)} entries "
                             f"for {len(samples)} samples")
        for index, (sample, scores) in enumerate(zip(samples, confidences)):
            if len(scores) != len(sample.quintuples):
                raise ValueError(
                    f"confidences[{index}] has {len(scores)} scores for "
                    f"{len(sample.quintuples)} quintuples")
    with open(path, "w", encoding="utf-8") as file:
        for index, sample in enumerate(samples):
            scores = None if confidences is None else confidences[index]
            record = _sample_to_json(sample, scores)
            file.write(json.dumps(record, ensure_ascii=False) + "\n")


def _sample_to_json(sample: Sample,
                    scores: Optional[Sequence[float]]) -> dict:
    quintuples = []
    for index, quintuple in enumerate(sample.quintuples):
        item = {
            "head": _entity_to_json(quintuple.head, sample.tokens),
            "tail": _entity_to_json(quintuple.tail, sample.tokens),
            "relation": quintuple.relation,
        }
        if scores is not None:
            item["confidence"] = float(scores[index])
        quintuples.append(item)
    return {"tokens": list(sample.tokens), "image_id": sample.image_id,
            "quintuples": quintuples}


def _entity_to_json(entity: Entity, tokens: List[str]) -> dict:
    return {"start": entity.start, "end": entity.end, "type": entity.type,
            "name": " ".join(entity.words(tokens))}


def _detect(text: str, path: str) -> str:
    stripped = text.lstrip()
    if not stripped:
        raise DataFormatError(path, None, None,
                              "file is empty: cannot detect its format",
                              reason="unknown_format")
    if stripped[0] == "[":
        return "jmere"
    first_line = stripped.split("\n", 1)[0].strip()
    if stripped[0] == "{":
        try:
            record = load_json(first_line)
        except ValueError as error:
            if error.reason == "too_deep":
                return "jsonl"  # one JSON object a line, too deep to read
            record = None
        else:
            if (isinstance(record, dict) and "token" in record
                    and not {"tokens", "text"} & record.keys()):
                return "mnre"
            if isinstance(record, dict):
                return "jsonl"
        try:
            record = ast.literal_eval(first_line)
        except _LITERAL_ERRORS:
            record = None
        if isinstance(record, dict) and "token" in record:
            return "mnre"
    raise DataFormatError(
        path, None, None,
        "cannot detect the format: expected a JSON list (jmere), JSON "
        "objects one per line (jsonl) or MNRE dicts one per line (mnre)",
        reason="unknown_format")


def _without_whitespace(text: str) -> str:
    return "".join(text.split())


def _type_name(value) -> str:
    return type(value).__name__


@dataclass
class _Parsed:
    """A quintuple read from a file with the fields it came from."""
    quintuple: Quintuple
    head_field: str
    tail_field: str


class _SampleBuilder:
    """Collects the quintuples of one sample, merging duplicates."""

    def __init__(self, tokens: List[str], image_id: Optional[str],
                 source: str):
        self.tokens = tokens
        self.image_id = image_id
        self.source = source
        self.quintuples: List[Quintuple] = []
        self.seen: Set[Quintuple] = set()
        self.types: Dict[Tuple[int, int], str] = {}

    def build(self) -> Sample:
        return Sample(tokens=self.tokens, image_id=self.image_id,
                      quintuples=self.quintuples, source=self.source)


class _Reader:
    """One read of one file: options, report and current location."""

    def __init__(self, path: PathLike, on_error: str,
                 max_words: Optional[int], tokenizer: Optional[Tokenizer],
                 on_too_long: Optional[str] = None):
        for name, value in (("on_error", on_error),
                            ("on_too_long", on_too_long or on_error)):
            if value not in ON_ERROR:
                raise ValueError(f"{name} must be one of "
                                 f"{', '.join(map(repr, ON_ERROR))}; "
                                 f"got {value!r}")
        if max_words is not None and (not is_int(max_words)
                                      or max_words < 1):
            raise ValueError(f"max_words must be None or a positive integer, "
                             f"got {max_words!r}")
        if tokenizer is not None and not callable(tokenizer):
            raise ValueError(f"tokenizer must be None or a callable "
                             f"str -> list[str], got {tokenizer!r}")
        self.path = os.fspath(path)
        self.on_error = on_error
        self.on_too_long = on_too_long or on_error
        self.max_words = max_words
        self.tokenizer = tokenizer
        self.report = ReadReport(path=self.path)
        self.line: Optional[int] = None
        self.unit = "line"

    # Reading ----------------------------------------------------------------

    def read_text(self) -> str:
        try:
            with open(self.path, encoding="utf-8-sig", newline="") as file:
                return file.read()
        except UnicodeDecodeError as error:
            raise DataFormatError(self.path, None, None,
                                  f"not UTF-8 text: {error}",
                                  reason="encoding") from None

    def read(self, format: str,
             text: str) -> Tuple[List[Sample], ReadReport]:
        self.report.format = format
        reader = {"mnre": self._read_mnre, "jmere": self._read_jmere,
                  "jsonl": self._read_jsonl}[format]
        samples = reader(text)
        self.report.samples = len(samples)
        self.report.quintuples = sum(len(s.quintuples) for s in samples)
        return samples, self.report

    def _lines(self, text: str) -> Iterable[Tuple[int, str]]:
        """Non-blank lines with their 1-based numbers; counts the rest."""
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        for number, line in enumerate(lines, 1):
            if line.endswith("\r"):
                line = line[:-1]
            if not line.strip():
                self.report.blank_lines += 1
                continue
            self.report.lines += 1
            self.line = number
            yield number, line

    def _skip_or_raise(self, error: DataFormatError) -> None:
        action = (self.on_too_long if error.reason == "too_long"
                  else self.on_error)
        if action == "raise":
            raise error
        self.report.record_skip(error)

    def _read_mnre(self, text: str) -> List[Sample]:
        groups: Dict[tuple, _SampleBuilder] = {}
        for number, line in self._lines(text):
            try:
                tokens, image_id, parsed = self._parse_mnre_line(line)
                key = (tuple(tokens), image_id)
                builder = groups.get(key) or _SampleBuilder(
                    tokens, image_id, f"{self.path}:{number}")
                if parsed is None:
                    self.report.none_relation += 1
                else:
                    self._add(builder, [parsed])
            except DataFormatError as error:
                self._skip_or_raise(error)
                continue
            groups.setdefault(key, builder)
        samples = []
        for builder in groups.values():
            if builder.quintuples:
                samples.append(builder.build())
            else:
                self.report.sentences_without_relation += 1
        return samples

    def _read_jmere(self, text: str) -> List[Sample]:
        try:
            records = load_json(text)
        except ValueError as error:
            # The file as a whole is at fault (``line`` counts samples in
            # this format); the message says the line of the text.
            raise DataFormatError(self.path, None, None, str(error),
                                  reason=error.reason) from None
        if not isinstance(records, list):
            raise DataFormatError(
                self.path, None, None,
                f"expected a JSON list of samples, got {_type_name(records)}",
                reason="wrong_type")
        self.unit = "sample"
        groups: Dict[tuple, _SampleBuilder] = {}
        for number, record in enumerate(records, 1):
            self.line = number
            self.report.lines += 1
            try:
                tokens, image_id, parsed = self._parse_jmere_sample(record)
                key = (tuple(tokens), image_id)
                merged = key in groups
                builder = groups.get(key) or _SampleBuilder(
                    tokens, image_id, f"{self.path}: sample {number}")
                self._add(builder, parsed)
            except DataFormatError as error:
                self._skip_or_raise(error)
                continue
            if merged:
                self.report.merged_samples += 1
            groups.setdefault(key, builder)
        return [builder.build() for builder in groups.values()]

    def _read_jsonl(self, text: str) -> List[Sample]:
        samples = []
        for number, line in self._lines(text):
            sample = self._jsonl_sample(number, line)
            if sample is not None:
                samples.append(sample)
        return samples

    def _jsonl_sample(self, number: int, line: str) -> Optional[Sample]:
        """The sample of one JSON line, ``None`` when it is skipped."""
        self.line = number
        try:
            tokens, image_id, parsed = self._parse_jsonl_line(line)
            builder = _SampleBuilder(tokens, image_id, f"{self.path}:{number}")
            self._add(builder, parsed)
        except DataFormatError as error:
            self._skip_or_raise(error)
            return None
        return builder.build()

    # Parsing the three formats ----------------------------------------------

    def _parse_mnre_line(
            self, line: str
    ) -> Tuple[List[str], str, Optional[_Parsed]]:
        try:
            record = ast.literal_eval(line.strip())
        except _LITERAL_ERRORS as error:
            self._fail(None, f"not a Python literal "
                       f"({_type_name(error)}: {error})", "syntax_error")
        self._expect(record, dict, None, "a dict")
        text = self._words(self._field(record, "token", "token"), "token")
        image_id = self._field(record, "img_id", "img_id")
        self._expect(image_id, str, "img_id", "a string")
        relation = self._field(record, "relation", "relation")
        self._expect(relation, str, "relation", "a string")
        head = self._mnre_entity(record, "h", text)
        tail = self._mnre_entity(record, "t", text)
        if head == tail:
            self._head_equals_tail("t.pos", head)
        if relation == _MNRE_NONE_RELATION:
            return text.words, image_id, None
        parts = relation.split("/")
        if len(parts) != 4 or parts[0]:
            self._fail("relation", f"relation {relation!r} is not of the "
                       f"form '/type1/type2/relation' or 'None'",
                       "bad_relation")
        _, head_type, tail_type, name = parts
        self._entity_type(head_type, "relation")
        self._entity_type(tail_type, "relation")
        self._relation(name, "relation")
        quintuple = Quintuple(Entity(*head, head_type),
                              Entity(*tail, tail_type), name)
        return text.words, image_id, _Parsed(quintuple, "relation", "relation")

    def _mnre_entity(self, record: dict, key: str,
                     text: CleanWords) -> Tuple[int, int]:
        entity = self._field(record, key, key)
        self._expect(entity, dict, key, "a dict with 'name' and 'pos'")
        span = self._pos(self._field(entity, "pos", f"{key}.pos"),
                         f"{key}.pos", text)
        self._name(self._field(entity, "name", f"{key}.name"),
                   f"{key}.name", text, span)
        return span

    def _parse_jmere_sample(
            self, record
    ) -> Tuple[List[str], Optional[str], List[_Parsed]]:
        self._expect(record, dict, None,
                     "an object with 'token', 'img_id' and 'label_list'")
        text = self._words(self._field(record, "token", "token"), "token")
        image_id = self._field(record, "img_id", "img_id")
        self._expect(image_id, (str, type(None)), "img_id",
                     "a string or null")
        labels = self._field(record, "label_list", "label_list")
        self._expect(labels, list, "label_list", "a list")
        parsed = []
        for index, element in enumerate(labels):
            field = f"label_list[{index}]"
            if not (isinstance(element, list) and len(element) == 1
                    and isinstance(element[0], dict)):
                self._fail(field, "expected a one-element list holding "
                           "{beg_ent, sec_ent, relation}", "wrong_type")
            label = element[0]
            field = f"{field}[0]"
            head = self._jmere_entity(label, "beg_ent", field, text)
            tail = self._jmere_entity(label, "sec_ent", field, text)
            if head.span == tail.span:
                self._head_equals_tail(f"{field}.sec_ent.pos", head.span)
            relation = self._field(label, "relation", f"{field}.relation")
            self._relation(relation, f"{field}.relation")
            parsed.append(_Parsed(Quintuple(head, tail, relation),
                                  f"{field}.beg_ent.tags",
                                  f"{field}.sec_ent.tags"))
        return text.words, image_id, parsed

    def _jmere_entity(self, label: dict, key: str, prefix: str,
                      text: CleanWords) -> Entity:
        field = f"{prefix}.{key}"
        entity = self._field(label, key, field)
        self._expect(entity, dict, field, "an object with name, pos, tags")
        span = self._pos(self._field(entity, "pos", f"{field}.pos"),
                         f"{field}.pos", text)
        self._name(self._field(entity, "name", f"{field}.name"),
                   f"{field}.name", text, span)
        entity_type = self._field(entity, "tags", f"{field}.tags")
        self._entity_type(entity_type, f"{field}.tags")
        return Entity(*span, entity_type)

    def _parse_jsonl_line(
            self, line: str
    ) -> Tuple[List[str], Optional[str], List[_Parsed]]:
        try:
            record = load_json(line)
        except ValueError as error:
            self._fail(None, str(error).replace(" at line 1", ""),
                       error.reason)
        self._expect(record, dict, None, "a JSON object")
        self._known_keys(record, _JSONL_SAMPLE_KEYS, None)
        if "tokens" in record and "text" in record:
            self._fail("text", "give either 'tokens' or 'text', not both",
                       "conflicting_fields")
        if "tokens" in record:
            text = self._words(record["tokens"], "tokens")
        elif "text" in record:
            text = self._words(self._tokenize(record["text"]), "text")
        else:
            self._fail("tokens", "missing: a sample needs 'tokens' (a list "
                       "of words) or 'text' (a string)", "missing_field")
        image_id = record.get("image_id")
        self._expect(image_id, (str, type(None)), "image_id",
                     "a string or null")
        quintuples = record.get("quintuples", [])
        self._expect(quintuples, list, "quintuples", "a list")
        parsed = []
        for index, item in enumerate(quintuples):
            field = f"quintuples[{index}]"
            self._expect(item, dict, field,
                         "an object with head, tail and relation")
            self._known_keys(item, _JSONL_QUINTUPLE_KEYS, field)
            head = self._jsonl_entity(item, f"{field}.head", "head", text)
            tail = self._jsonl_entity(item, f"{field}.tail", "tail", text)
            if head.span == tail.span:
                self._head_equals_tail(f"{field}.tail", head.span)
            relation = self._field(item, "relation", f"{field}.relation")
            self._relation(relation, f"{field}.relation")
            if "confidence" in item:
                self._expect_number(item["confidence"],
                                    f"{field}.confidence")
            parsed.append(_Parsed(Quintuple(head, tail, relation),
                                  f"{field}.head.type", f"{field}.tail.type"))
        return text.words, image_id, parsed

    def _jsonl_entity(self, item: dict, field: str, key: str,
                      text: CleanWords) -> Entity:
        entity = self._field(item, key, field)
        self._expect(entity, dict, field, "an object with start, end, type")
        self._known_keys(entity, _JSONL_ENTITY_KEYS, field)
        start = self._field(entity, "start", f"{field}.start")
        end = self._field(entity, "end", f"{field}.end")
        span = self._span(start, end, field, text)
        if "name" in entity:
            self._name(entity["name"], f"{field}.name", text, span)
        entity_type = self._field(entity, "type", f"{field}.type")
        self._entity_type(entity_type, f"{field}.type")
        return Entity(*span, entity_type)

    def _tokenize(self, text) -> list:
        self._expect(text, str, "text", "a string")
        if self.tokenizer is None:
            self.tokenizer = default_tokenizer()
        words = self.tokenizer(normalize_text(text))
        return list(words) if isinstance(words, (list, tuple)) else words

    # Checks -----------------------------------------------------------------

    def _fail(self, field: Optional[str], detail: str,
              reason: str) -> NoReturn:
        raise DataFormatError(self.path, self.line, field, detail,
                              reason=reason, unit=self.unit)

    def _field(self, record: dict, key: str, field: str):
        if key not in record:
            self._fail(field, "missing", "missing_field")
        return record[key]

    def _expect(self, value, types, field: Optional[str], expected: str):
        if not isinstance(value, types):
            self._fail(field, f"expected {expected}, got {_type_name(value)}",
                       "wrong_type")

    def _expect_number(self, value, field: str):
        if not is_number(value):
            self._fail(field, f"expected a number, got {_type_name(value)}",
                       "wrong_type")

    def _known_keys(self, record: dict, allowed: frozenset,
                    field: Optional[str]):
        unknown = sorted(map(str, set(record) - allowed))
        if unknown:
            name = unknown[0] if field is None else f"{field}.{unknown[0]}"
            self._fail(name, f"unknown field (allowed: "
                       f"{', '.join(sorted(allowed))})", "unknown_field")

    def _words(self, words, field: str) -> CleanWords:
        """The words of a text, checked and cleaned (:func:`clean_words`):
        spans index the words as given, the sample holds the kept ones."""
        self._expect(words, list, field, "a list of words")
        for index, word in enumerate(words):
            if not isinstance(word, str):
                self._fail(f"{field}[{index}]", f"expected a string word, got "
                           f"{_type_name(word)}", "wrong_type")
            if not word.strip():
                self._fail(f"{field}[{index}]",
                           f"word {index} is empty or whitespace",
                           "empty_word")
        if not words:
            self._fail(field, "text has no words", "empty_text")
        text = clean_words(words)
        if not text.words:
            self._fail(field, "text has only invisible characters "
                       "(zero-width or control)", "empty_text")
        if self.max_words is not None and len(text.words) > self.max_words:
            self._fail(field, f"text has {len(text.words)} words, more than "
                       f"max_words={self.max_words}", "too_long")
        return text

    def _pos(self, pos, field: str, text: CleanWords) -> Tuple[int, int]:
        if not (isinstance(pos, (list, tuple)) and len(pos) == 2):
            self._fail(field, f"expected [start, end], got {pos!r}",
                       "wrong_type")
        return self._span(pos[0], pos[1], field, text)

    def _span(self, start, end, field: str,
              text: CleanWords) -> Tuple[int, int]:
        """The span ``[start, end)`` of the words as given, checked, moved
        onto the kept words."""
        if not (is_int(start) and is_int(end)):
            self._fail(field, f"expected integer start and end, got "
                       f"[{start!r}, {end!r})", "wrong_type")
        if end <= start:
            self._fail(field, f"span [{start}, {end}) is empty", "empty_span")
        if start < 0 or end > text.given:
            self._fail(field, f"span [{start}, {end}) is out of range for "
                       f"{text.given} words", "span_out_of_range")
        kept = text.span(start, end)
        if kept[0] == kept[1]:
            self._fail(field, f"span [{start}, {end}) holds only invisible "
                       f"characters (zero-width or control)", "empty_entity")
        return kept

    def _name(self, name, field: str, text: CleanWords,
              span: Tuple[int, int]):
        self._expect(name, str, field, "a string")
        words = " ".join(text.words[span[0]:span[1]])
        name = normalize_text(name)
        if _without_whitespace(name) != _without_whitespace(words):
            self._fail(field, f"name {name!r} does not match the words of "
                       f"span [{span[0]}, {span[1]}): {words!r}",
                       "name_mismatch")

    def _entity_type(self, entity_type, field: str):
        if entity_type not in ENTITY_TYPES:
            self._fail(field, f"unknown entity type {entity_type!r} "
                       f"(allowed: {', '.join(ENTITY_TYPES)})",
                       "unknown_entity_type")

    def _relation(self, relation, field: str):
        if relation not in RELATIONS:
            self._fail(field, f"unknown relation {relation!r} (allowed: "
                       f"{', '.join(RELATIONS)})", "unknown_relation")

    def _head_equals_tail(self, field: str, span: Tuple[int, int]):
        self._fail(field, f"head and tail are the same span "
                   f"[{span[0]}, {span[1]})", "head_equals_tail")

    def _add(self, builder: _SampleBuilder, parsed: List[_Parsed]):
        """Adds the quintuples of one line or object, or none of them."""
        types = dict(builder.types)
        for item in parsed:
            quintuple = item.quintuple
            for entity, field in ((quintuple.head, item.head_field),
                                  (quintuple.tail, item.tail_field)):
                known = types.setdefault(entity.span, entity.type)
                if known != entity.type:
                    words = " ".join(entity.words(builder.tokens))
                    self._fail(field, f"span [{entity.start}, {entity.end}) "
                               f"{words!r} has type {entity.type!r} here "
                               f"but {known!r} elsewhere in the sample",
                               "entity_type_conflict")
        builder.types = types
        for item in parsed:
            if item.quintuple in builder.seen:
                self.report.duplicates += 1
                continue
            builder.seen.add(item.quintuple)
            builder.quintuples.append(item.quintuple)
