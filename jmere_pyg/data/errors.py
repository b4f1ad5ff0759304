"""Errors raised by the readers and the report every read returns.

A :class:`DataFormatError` names the file, the place in it and the field at
fault. In text files (MNRE, JSON lines) the place is a 1-based line number;
in the official JMERE JSON (one JSON list) it is the 1-based index of the
sample object in that list, shown as ``sample 3`` in the message.

A :class:`ReadReport` counts everything a read did with its input, so that
nothing is dropped silently: samples and quintuples kept, relation-less MNRE
lines, duplicates merged and, with ``on_error='skip'``, every skipped line or
sample by reason (the ``reason`` of its :class:`DataFormatError`).
"""
import json
import math
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Optional, Tuple

#: Places in a file: a line of a text file or a sample object of a JSON list.
LOCATION_UNITS = ("line", "sample")


class DataFormatError(ValueError):
    """An input file that does not hold valid JMERE data.

    Args:
        path (str): The file read.
        line (int, optional): 1-based line number, or for a JSON list the
            1-based index of the sample object (see ``unit``); ``None`` when
            the error concerns the whole file.
        field (str, optional): Dotted name of the faulty field, e.g.
            ``h.pos`` or ``quintuples[0].head``; ``None`` when the whole
            line or sample is at fault.
        detail (str): What is wrong, e.g. ``span [5, 3) is empty``.
        reason (str): Short machine-readable category, the key under which
            ``on_error='skip'`` counts the skip (e.g. ``empty_span``).
        unit (str): ``'line'`` (message ``path:12: ...``) or ``'sample'``
            (message ``path: sample 3: ...``).

    The message reads ``path:12: field 'h.pos': span [5, 3) is empty``.
    """

    def __init__(self, path: str, line: Optional[int], field: Optional[str],
                 detail: str, *, reason: str = "invalid",
                 unit: str = "line"):
        if unit not in LOCATION_UNITS:
            raise ValueError(f"unit must be one of {LOCATION_UNITS}, "
                             f"got {unit!r}")
        self.path = str(path)
        self.line = line
        self.field = field
        self.detail = detail
        self.reason = reason
        self.unit = unit
        super().__init__(self._format())

    def _format(self) -> str:
        if self.line is None:
            where = f"{self.path}:"
        elif self.unit == "sample":
            where = f"{self.path}: sample {self.line}:"
        else:
            where = f"{self.path}:{self.line}:"
        what = f" field '{self.field}':" if self.field is not None else ""
        return f"{where}{what} {self.detail}"

    def __reduce__(self):
        return (_rebuild_error, (self.path, self.line, self.field, self.detail,
                                 self.reason, self.unit))


def _rebuild_error(path, line, field, detail, reason, unit):
    return DataFormatError(path, line, field, detail, reason=reason, unit=unit)


class SceneGraphFormatError(DataFormatError):
    """Malformed scene graph input: a :class:`DataFormatError` whose place
    is a field path inside a JSON file rather than a line, e.g.
    ``graphs.json: field '["a.jpg"].objects[2].box': expected 4 numbers``.

    Args:
        path (str, optional): The file; ``None`` for an in-memory graph.
        field (str, optional): The field at fault; ``None`` for the whole
            file.
        detail (str): What is wrong.
        line (int, optional): The line of a JSON lines file.
    """

    def __init__(self, path: Optional[str], field: Optional[str],
                 detail: str, *, reason: str = "invalid_scene_graph",
                 line: Optional[int] = None):
        super().__init__("<in memory>" if path is None else path, line,
                         field, detail, reason=reason)

    def __reduce__(self):
        return (_rebuild_scene_graph_error,
                (self.path, self.field, self.detail, self.reason, self.line))


def _rebuild_scene_graph_error(path, field, detail, reason, line):
    return SceneGraphFormatError(path, field, detail, reason=reason,
                                 line=line)


class DataNotice(UserWarning):
    """A warning that input was dropped, merged or ignored without being
    an error (e.g. MNRE sentences without relation, images without scene
    graph). The command line prints each one as a counted notice."""
_JSON_STRUCTURE = re.compile(r'"(?:[^"\\\n]|\\.)*"|[\[\]{}]')


def deepest_nesting(text: str) -> Tuple[int, int]:
    r"""``(depth, line)``: the deepest nesting of ``[`` and ``{`` in a JSON
    text (brackets inside strings do not count) and the 1-based line where
    that depth is first reached. Used to name the place of JSON too deeply
    nested for Python's decoder.

    Example::

        >>> deepest_nesting('{"a": "[[",\n "b": [[1]]}')
        (3, 2)
    """
    depth = deepest = 0
    where = 0
    for match in _JSON_STRUCTURE.finditer(text):
        bracket = match.group()
        if bracket in "[{":
            depth += 1
            if depth > deepest:
                deepest, where = depth, match.start()
        elif bracket in "]}":
            depth -= 1
    return deepest, text.count("\n", 0, where) + 1


def load_json(text: str) -> Any:
    """``json.loads(text)``, with every way it fails as a ``ValueError``
    whose message says where: invalid JSON (line and column), nesting deeper
    than Python's decoder follows (the line where the deepest nesting
    starts), or an integer too long to convert.

    Raises:
        ValueError: with ``lineno`` set to the 1-based line at fault (or
            ``None`` when unknown) and ``reason`` to ``'too_deep'`` or
            ``'syntax_error'``.
    """
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise _located(f"invalid JSON at line {error.lineno} column "
                       f"{error.colno}: {error.msg}", error.lineno,
                       "syntax_error") from None
    except RecursionError:
        depth, line = deepest_nesting(text)
        raise _located(f"JSON nested {depth:,} levels deep at line {line}, "
                       f"deeper than can be read", line, "too_deep") from None
    except ValueError as error:
        raise _located(f"invalid JSON: {error}", None,
                       "syntax_error") from None


def _located(message: str, line: Optional[int], reason: str) -> ValueError:
    error = ValueError(message)
    error.lineno, error.reason = line, reason
    return error


# Shared checks of decoded JSON values (bool is an int in Python, never a
# number in our files).
def is_int(value: Any) -> bool:
    """Whether ``value`` is an int (not a bool)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """Whether ``value`` is an int or float (not a bool)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def finite_number(value: Any) -> Optional[float]:
    """``float(value)`` for a finite int or float (not bool), else None."""
    if not is_number(value):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def is_index(value: Any, size: int) -> bool:
    """Whether ``value`` is an int in ``[0, size)``."""
    return is_int(value) and 0 <= value < size


def box_problem(box: Any) -> Optional[str]:
    """Why ``box`` is not an image box ``[x1, y1, x2, y2]`` (4 finite
    numbers, all >= 0, ``x1 <= x2`` and ``y1 <= y2``); ``None`` if it is."""
    if (not isinstance(box, (list, tuple)) or len(box) != 4
            or any(finite_number(v) is None for v in box)):
        return f"expected 4 numbers [x1, y1, x2, y2], got {box!r}"
    x1, y1, x2, y2 = (float(v) for v in box)
    if min(x1, y1, x2, y2) < 0:
        return f"coordinates must be >= 0, got {list(box)}"
    if x1 > x2 or y1 > y2:
        return f"expected x1 <= x2 and y1 <= y2, got {list(box)}"
    return None


def score_problem(score: Any) -> Optional[str]:
    """Why ``score`` is not a score (a finite number in [0, 1]); ``None`` if
    it is."""
    value = finite_number(score)
    if value is None:
        return f"expected a number, got {score!r}"
    if not 0.0 <= value <= 1.0:
        return f"expected a score in [0, 1], got {value}"
    return None


#: Skipped places a :class:`ReadReport` lists by number (all are counted).
MAX_SKIPPED_LINES = 100

#: The counters of a :class:`ReadReport`, summed by :meth:`ReadReport.add`.
_REPORT_COUNTS = ("lines", "samples", "quintuples", "duplicates",
                  "none_relation", "sentences_without_relation",
                  "merged_samples", "blank_lines")


@dataclass
class ReadReport:
    """What one read did with its input file.

    Attributes:
        path (str): The file read.
        lines (int): Records read: non-blank lines of a text file, objects of
            a JMERE JSON list.
        samples (int): Samples returned.
        quintuples (int): Quintuples in the returned samples.
        skipped (Counter): Reason -> number of lines (MNRE, JSON lines) or
            sample objects (JMERE JSON) skipped with ``on_error='skip'``.
        duplicates (int): Duplicate quintuples merged within a sample.
        format (str, optional): ``'mnre'``, ``'jmere'`` or ``'jsonl'``.
        none_relation (int): MNRE lines with relation ``None`` (not errors,
            they carry no quintuple).
        sentences_without_relation (int): MNRE sentences whose every line has
            relation ``None``; they give no sample.
        merged_samples (int): JMERE JSON objects merged into an earlier one
            with the same words and image.
        blank_lines (int): Empty lines of a text file, ignored.
        examples (dict): Reason -> message of the first skip with that
            reason, to show what was skipped and where.
        skipped_lines (list of int): The places (line numbers, or sample
            indices of a JMERE list) of the first :data:`MAX_SKIPPED_LINES`
            skips, in file order.
    """
    path: str
    lines: int = 0
    samples: int = 0
    quintuples: int = 0
    skipped: Counter = field(default_factory=Counter)
    duplicates: int = 0
    format: Optional[str] = None
    none_relation: int = 0
    sentences_without_relation: int = 0
    merged_samples: int = 0
    blank_lines: int = 0
    examples: Dict[str, str] = field(default_factory=dict)
    skipped_lines: List[int] = field(default_factory=list)

    @property
    def num_skipped(self) -> int:
        """Total number of skipped lines or samples, all reasons together."""
        return sum(self.skipped.values())

    def record_skip(self, error: DataFormatError) -> None:
        """Counts one skipped line or sample under ``error.reason``."""
        self.skipped[error.reason] += 1
        self.examples.setdefault(error.reason, str(error))
        if (error.line is not None
                and len(self.skipped_lines) < MAX_SKIPPED_LINES):
            self.skipped_lines.append(error.line)

    def add(self, other: "ReadReport") -> None:
        """Adds the counts of ``other``, a read of another part of the same
        file (a chunk of a stream); the first example of a reason stays."""
        for name in _REPORT_COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.skipped.update(other.skipped)
        for reason, example in other.examples.items():
            self.examples.setdefault(reason, example)
        self.skipped_lines = sorted({*self.skipped_lines,
                                     *other.skipped_lines})[:MAX_SKIPPED_LINES]
        self.format = self.format or other.format

    def to_dict(self) -> Dict[str, Any]:
        """The report as JSON values; :meth:`from_dict` reads it back."""
        return {**asdict(self), "skipped": dict(self.skipped)}

    @classmethod
    def from_dict(cls, state: Dict[str, Any]) -> "ReadReport":
        """The report :meth:`to_dict` wrote."""
        return cls(**{**state, "skipped": Counter(state["skipped"])})

    def summary(self) -> str:
        """One paragraph saying what was read, kept, merged and skipped."""
        unit = "objects" if self.format == "jmere" else "lines"
        text = (f"{self.path} ({self.format or 'unknown format'}): "
                f"{self.lines:,} {unit} -> {self.samples:,} samples, "
                f"{self.quintuples:,} quintuples")
        notes = []
        if self.none_relation or self.sentences_without_relation:
            notes.append(f"{self.none_relation:,} lines with relation None, "
                         f"{self.sentences_without_relation:,} sentences "
                         f"without relation")
        if self.merged_samples:
            notes.append(f"{self.merged_samples:,} samples merged")
        notes.append(f"{self.duplicates:,} duplicate quintuples merged")
        if self.skipped:
            reasons = ", ".join(f"{reason} {count:,}" for reason, count
                                in sorted(self.skipped.items()))
            notes.append(f"skipped {self.num_skipped:,} ({reasons})")
        else:
            notes.append("nothing skipped")
        return text + "; " + "; ".join(notes)
