import json

import pytest

from jmere_pyg.graphs import Vocabulary


def test_ids_in_insertion_order_with_reserved():
    vocab = Vocabulary(reserved=["<self>"]).fit(["nsubj", "dobj", "nsubj"])
    assert vocab.to_list() == ["<unk>", "<self>", "nsubj", "dobj"]
    assert vocab["<unk>"] == 0 and vocab["<self>"] == 1
    assert vocab["nsubj"] == 2 and vocab["dobj"] == 3
    assert len(vocab) == 4
    assert vocab.token(3) == "dobj"


def test_unknown_tokens_map_to_zero():
    vocab = Vocabulary(["ADJ", "NOUN"])
    assert vocab["VERB"] == 0
    assert vocab.lookup(["NOUN", "???", "ADJ"]) == [2, 0, 1]
    assert "NOUN" in vocab and "VERB" not in vocab


def test_case_is_kept():
    vocab = Vocabulary(["Man"])
    assert vocab["Man"] == 1 and vocab["man"] == 0


def test_json_round_trip():
    vocab = Vocabulary(["near", "holding"], reserved=["<self>"])
    tokens = json.loads(json.dumps(vocab.to_list()))
    restored = Vocabulary.from_list(tokens, reserved=["<self>"])
    assert restored == vocab
    assert restored["holding"] == vocab["holding"]


def test_from_list_checks_reserved_prefix_and_repeats():
    with pytest.raises(ValueError, match="start with"):
        Vocabulary.from_list(["<unk>", "near"], reserved=["<self>"])
    with pytest.raises(ValueError, match="repeat"):
        Vocabulary.from_list(["<unk>", "a", "a"])


def test_rejects_bad_reserved_and_tokens():
    with pytest.raises(ValueError):
        Vocabulary(reserved=["<unk>"])
    with pytest.raises(TypeError):
        Vocabulary([3])
