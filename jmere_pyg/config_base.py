"""Shared behaviour of the typed configurations (model and training)."""
import dataclasses
import typing
from dataclasses import asdict, fields
from typing import Any


class DictConfig:
    """Mixin for dataclass configurations: a plain-dict round trip that
    rejects unknown keys and values of the wrong type, naming the field, so
    that a misspelt or mistyped setting fails loudly instead of being ignored
    (``"use_image": "false"`` would otherwise mean ``True``).

    A field whose type is itself a :class:`DictConfig` is read from a nested
    dict. Subclasses name what they hold in ``unknown_keys_message``.
    """
    unknown_keys_message = "unknown settings"

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

