"""Shared behaviour of the typed configurations (model and training)."""
import dataclasses
import math
import re
import typing
from dataclasses import asdict, fields
from typing import Any, ClassVar, Mapping

#: Largest size a layer or feature vector may have: 2**16, over
#: five times the widest hidden layer of the largest encoders (12,288). A
#: typo such as ``channel_dim=1000000000`` (72 GB of embeddings) is refused
#: when the config is made, before anything is allocated.
MAX_SIZE = 65536


class DictConfig:
    """Mixin for dataclass configurations: a plain-dict round trip that
    rejects unknown keys and values of the wrong type, naming the field, so
    that a misspelt or mistyped setting fails loudly instead of being ignored
    (``"use_image": "false"`` would otherwise mean ``True``).

    A field whose type is itself a :class:`DictConfig` is read from a nested
    dict. Subclasses name what they hold in ``unknown_keys_message``.
    """
    unknown_keys_message = "unknown settings"
    #: ``field -> interval`` of the values a numeric field allows, in the
    #: usual notation (``"[1, 65536]"``, ``"(0, 1]"``, ``"[0, inf)"``);
    #: infinities and NaN are never allowed, ``None`` always is for an
    #: optional field. Checked by :meth:`check_ranges`.
    ranges: ClassVar[Mapping[str, str]] = {}

    def check_ranges(self) -> None:
        """Raises ``ValueError`` naming the first field of :attr:`ranges`
        whose value lies outside its interval, and the interval."""
        for name, interval in self.ranges.items():
            value = getattr(self, name)
            if value is not None and not _within(value, interval):
                raise ValueError(f"{type(self).__name__}.{name} must "
                                 f"{_describe(interval)}, got {value!r}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict):
        if not isinstance(values, dict):
            raise ValueError(f"{cls.__name__}: expected a mapping of "
                             f"settings, got {type(values).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"{cls.unknown_keys_message} {unknown}; "
                             f"allowed: {sorted(known)}")
        hints = typing.get_type_hints(cls)
        return cls(**{name: _checked(cls, name, hints[name], value)
                      for name, value in values.items()})

    def replace(self, **changes):
        """A copy with ``changes`` applied (``dataclasses.replace``), each
        checked as :meth:`from_dict` checks it."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ValueError(f"{self.unknown_keys_message} {unknown}; "
                             f"allowed: {sorted(known)}")
        hints = typing.get_type_hints(type(self))
        return dataclasses.replace(self, **{
            name: _checked(type(self), name, hints[name], value)
            for name, value in changes.items()})


def _checked(cls, name: str, annotation: Any, value: Any) -> Any:
    """``value`` for the field ``name`` of type ``annotation``: a nested
    config is built from its dict, an int is accepted for a float; anything
    else of the wrong type raises ``ValueError`` naming the field."""
    optional = False
    if typing.get_origin(annotation) is typing.Union:
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        optional = len(members) < len(typing.get_args(annotation))
        annotation = members[0] if len(members) == 1 else Any
    if value is None and optional:
        return None
    if isinstance(annotation, type) and issubclass(annotation, DictConfig):
        if isinstance(value, annotation):
            return value
        return annotation.from_dict(value)
    expected = {bool: (bool,), int: (int,), float: (int, float),
                str: (str,)}.get(annotation)
    if expected is None:
        return value  # containers and Any: checked by the class itself
    bad_bool = isinstance(value, bool) and annotation is not bool
    if bad_bool or not isinstance(value, expected):
        raise ValueError(
            f"{cls.__name__}.{name}: expected "
            f"{'null or ' if optional else ''}{annotation.__name__}, got "
            f"{type(value).__name__} {value!r}")
    return float(value) if annotation is float else value


_INTERVAL = re.compile(r"([\[(])(\S+), (\S+)([\])])")


def _within(value: Any, interval: str) -> bool:
    """Whether the number ``value`` is finite and lies in ``interval``."""
    opening, low, high, closing = _INTERVAL.fullmatch(interval).groups()
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (
            isinstance(value, float) and not math.isfinite(value)):
        return False
    low, high = float(low), float(high)
    return ((low <= value if opening == "[" else low < value)
            and (value <= high if closing == "]" else value < high))


def _describe(interval: str) -> str:
    """``"be >= 1"`` for ``"[1, inf)"``, ``"be > 0"`` for ``"(0, inf)"``,
    ``"lie in [0, 1)"`` for any other interval."""
    opening, low, high, _ = _INTERVAL.fullmatch(interval).groups()
    if high == "inf":
        return f"be {'>=' if opening == '[' else '>'} {low}"
    return f"lie in {interval}"
