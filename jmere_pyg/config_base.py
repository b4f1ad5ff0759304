"""Shared behaviour of the typed configurations (model and training)."""
from dataclasses import asdict, fields


class DictConfig:
    """Mixin for dataclass configurations: plain-dict round trip that rejects
    unknown keys, so a misspelt setting fails loudly instead of being
    ignored. Subclasses name what they hold in ``unknown_keys_message``."""
    unknown_keys_message = "unknown settings"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict):
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"{cls.unknown_keys_message} {unknown}; "
                             f"allowed: {sorted(known)}")
        return cls(**values)
