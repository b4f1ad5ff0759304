"""Random PyG-style batches of word graphs and object graphs."""
import pytest

from jmere_pyg.testing import (  # noqa: F401 (used by the tests)
    AlignmentInputs, random_alignment_batch)


#: Mixed sizes: a sample without objects, one with a single object.
WORD_COUNTS = (6, 9, 4, 12, 7)
OBJECT_COUNTS = (3, 0, 1, 5, 2)


@pytest.fixture
def mixed_batch() -> AlignmentInputs:
    return random_alignment_batch(WORD_COUNTS, OBJECT_COUNTS)
