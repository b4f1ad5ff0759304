"""Shared result type and option checks of the alignment terms."""
from typing import NamedTuple, Sequence

from torch import Tensor

#: How gradients reach the node features (see :mod:`jmere_pyg.alignment`).
GRAD_MODES = ("envelope", "autodiff", "detach")

#: Implementations of the edge term.
GROMOV_MODES = ("sparse", "dense", "masked_dense")


class TransportResult(NamedTuple):
    """One alignment term for every sample of a batch.

    Attributes:
        value: ``[B]``, the term per sample (``0`` where ``has_objects`` is
            ``False``).
        plan: ``[B, K, N]``, the transport plans, objects x words, padded with
            zeros; ``K`` and ``N`` are the largest object and word counts among
            the samples with objects.
        has_objects: bool ``[B]``, samples with at least one object (and one
            word): the only ones aligned.
    """
    value: Tensor
    plan: Tensor
    has_objects: Tensor


def check_choice(name: str, value: str, allowed: Sequence[str]) -> None:
    if value not in allowed:
        raise ValueError(
            f"{name} must be one of {tuple(allowed)}, got {value!r}")


def check_positive(name: str, value, integer: bool = False) -> None:
    if integer and (not isinstance(value, int) or isinstance(value, bool)):
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if not value > 0:
        raise ValueError(f"{name} must be positive, got {value!r}")
