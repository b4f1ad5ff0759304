"""Shared fixtures: a tiny random encoder, a parser without spaCy, the shared
data folder."""
from pathlib import Path
from typing import List, Tuple

import pytest
import torch

from jmere_pyg.graphs import ParsedSentence, TextParser

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

TINY_VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [
    "the", "a", "of", "in", "to", "and", "is", "at", "for", "with", "on",
    "rt", "@", "#", ":", ".", ",", "'", "s", "curry", "thompson", "nba",
    "stars", "trophy", "so", "happy", "team", "won", "player", "city",
    "new", "york", "##s", "##ing", "##er", "##ed", "http", "##t", "co",
]


@pytest.fixture(scope="session")
def tiny_encoder_path(tmp_path_factory) -> str:
    """A randomly initialised 2-layer BERT with a 32-d hidden state and its
    WordPiece tokenizer, saved like any Hugging Face model folder."""
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder = tmp_path_factory.mktemp("tiny_bert")
    # transformers 5 takes the vocabulary as ``vocab`` (``vocab_file`` is
    # ignored and leaves only the 5 special tokens).
    tokenizer = BertTokenizerFast(
        vocab={token: i for i, token in enumerate(TINY_VOCAB)},
        do_lower_case=True)
    assert len(tokenizer) == len(TINY_VOCAB)
    tokenizer.save_pretrained(folder)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(TINY_VOCAB), hidden_size=32,
                        num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128,
                        hidden_dropout_prob=0.0,
                        attention_probs_dropout_prob=0.0)
    BertModel(config).save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the checkout (skips the test without it)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def mnre_file(shared_data):
    """``split -> path`` of the shared MNRE text file of that split (skips
    the test when the file is missing)."""
    def path(split: str) -> Path:
        file = shared_data / "mnre" / f"mnre_{split}.txt"
        if not file.is_file():
            pytest.skip(f"{file} is missing")
        return file
    return path


class ChainParser(TextParser):
    """Parses without spaCy: word ``i`` depends on word ``i + 1`` (label
    ``dep{i % 3}``), the last word is the root; capitalised words are PROPN,
    the others NOUN. Counts the sentences it parses."""

    def __init__(self):
        super().__init__("chain-stub")
        self.parsed: List[Tuple[str, ...]] = []

    def _parse_into_cache(self, keys, progress):
        for words in keys:
            n = len(words)
            self.parsed.append(words)
            self.cache[words] = ParsedSentence(
                words,
                tuple(min(i + 1, n - 1) for i in range(n)),
                tuple("ROOT" if i == n - 1 else f"dep{i % 3}"
                      for i in range(n)),
                tuple("PROPN" if w[:1].isupper() else "NOUN" for w in words),
            )


@pytest.fixture
def chain_parser() -> ChainParser:
    return ChainParser()


@pytest.fixture
def one_torch_thread():
    """torch on one thread for the test, as the processes a test starts
    with ``OMP_NUM_THREADS=1``: the same rounding, so that their outputs
    can be compared byte for byte."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def builtin_training_defaults(tmp_path_factory, monkeypatch):
    """``jmere-pyg train`` without ``--config`` trains the built-in
    ``TrainingConfig`` defaults, as where jmere_pyg is installed without
    its source tree, rather than the main job's experiment (whose data
    paths point at the shared MNRE files)."""
    import jmere_pyg.training.defaults as defaults
    monkeypatch.setattr(defaults, "EXPERIMENTS",
                        tmp_path_factory.mktemp("no_experiments"))


@pytest.fixture
def interrupt_at_call(monkeypatch):
    """``interrupt(owner, name, call=3)`` makes the method ``owner.name``
    raise ``KeyboardInterrupt`` (as Ctrl-C would) on its ``call``-th call,
    running normally before; ``monkeypatch.undo()`` restores it."""
    def interrupt(owner, name: str, call: int = 3) -> None:
        method = getattr(owner, name)
        calls = []

        def interrupted(self, *args):
            calls.append(1)
            if len(calls) == call:
                raise KeyboardInterrupt
            return method(self, *args)
        monkeypatch.setattr(owner, name, interrupted)
    return interrupt

