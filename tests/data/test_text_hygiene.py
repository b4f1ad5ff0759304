"""Unicode NFC, zero-width and control characters: cleaned before
tokenising, in every reader and in the default tokenizer."""
import json

import pytest

from jmere_pyg.data import DataFormatError, read_samples
from jmere_pyg.data.tokenize import (clean_words, default_tokenizer,
                                     normalize_text)

ZWSP = "\u200b"


def test_normalize_text():
    assert normalize_text("Beyonce\u0301") == "Beyoncé"  # NFC
    assert normalize_text(f"a{ZWSP}b\u200c\u200d\u2060\ufeffc") == "abc"
    assert normalize_text("a\x00b\x7f\x9bc") == "abc"
    assert normalize_text("a\tb\nc\rd") == "a b c d"
    assert normalize_text("plain text, unchanged") == "plain text, unchanged"


def test_clean_words_drops_invisible_words_and_moves_spans():
    text = clean_words([ZWSP, "Curry", "\x00", "joins", "\ufeff"])
    assert text.words == ["Curry", "joins"]
    assert text.span(1, 2) == (0, 1) and text.span(3, 4) == (1, 2)
    assert text.span(0, 1) == (0, 0)  # nothing left
    assert clean_words(["a", "b"]).span(0, 2) == (0, 2)


def test_default_tokenizer_gives_no_zero_width_token():
    assert default_tokenizer()(f"Curry {ZWSP} joins\u00a0the War{ZWSP}riors"
                               ) == ["Curry", "joins", "the", "Warriors"]


TOKENS = ["Curry", ZWSP, "joins", "the", "War\x00riors"]


def write(path, format, head=(0, 1), tail=(4, 5)):
    names = [" ".join(TOKENS[a:b]) for a, b in (head, tail)]
    if format == "mnre":
        line = {"token": TOKENS, "h": {"name": names[0], "pos": list(head)},
                "t": {"name": names[1], "pos": list(tail)},
                "img_id": "x.jpg", "relation": "/per/org/member_of"}
        path.write_text(repr(line) + "\n", encoding="utf-8")
    elif format == "jmere":
        entity = lambda span, name, tag: {"name": name, "pos": list(span),
                                          "tags": tag}
        path.write_text(json.dumps([{
            "token": TOKENS, "img_id": "x.jpg", "label_list": [[{
                "beg_ent": entity(head, names[0], "per"),
                "sec_ent": entity(tail, names[1], "org"),
                "relation": "member_of"}]]}]), encoding="utf-8")
    else:
        entity = lambda span, name, tag: {"start": span[0], "end": span[1],
                                          "type": tag, "name": name}
        path.write_text(json.dumps({"tokens": TOKENS, "quintuples": [{
            "head": entity(head, names[0], "per"),
            "tail": entity(tail, names[1], "org"),
            "relation": "member_of"}]}) + "\n", encoding="utf-8")


@pytest.mark.parametrize("format", ["mnre", "jmere", "jsonl"])
def test_readers_drop_zero_width_words_and_move_spans(tmp_path, format):
    path = tmp_path / "data"
    write(path, format)
    (sample,), report = read_samples(path, format)
    assert sample.tokens == ["Curry", "joins", "the", "Warriors"]
    (quintuple,) = sample.quintuples
    assert quintuple.head.span == (0, 1) and quintuple.tail.span == (3, 4)
    assert report.num_skipped == 0


@pytest.mark.parametrize("format", ["mnre", "jmere", "jsonl"])
def test_an_entity_of_invisible_characters_is_an_error_or_a_skip(tmp_path,
                                                                 format):
    path = tmp_path / "data"
    write(path, format, head=(1, 2))
    with pytest.raises(DataFormatError, match="invisible") as info:
        read_samples(path, format)
    assert info.value.reason == "empty_entity"
    samples, report = read_samples(path, format, on_error="skip")
    assert samples == [] and report.skipped == {"empty_entity": 1}


def test_raw_text_is_normalised_before_tokenising(tmp_path):
    path = tmp_path / "data.jsonl"
    seen = []

    def tokenizer(text):
        seen.append(text)
        return text.split(" ")

    path.write_text(json.dumps({"text": f"Curry{ZWSP} joins\tthe Warriors"})
                    + "\n", encoding="utf-8")
    (sample,), _ = read_samples(path, tokenizer=tokenizer)
    assert seen == ["Curry joins the Warriors"]
    assert sample.tokens == ["Curry", "joins", "the", "Warriors"]
    path.write_text(json.dumps({"tokens": [ZWSP, "\x01"]}) + "\n")
    with pytest.raises(DataFormatError, match="only invisible"):
        read_samples(path)
