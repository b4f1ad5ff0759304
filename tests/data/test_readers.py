import json
import pickle
from functools import lru_cache

import pytest

from jmere_pyg.data.errors import DataFormatError, ReadReport
from jmere_pyg.data.readers import (detect_format, iter_samples,
                                    read_jmere_json, read_jsonl, read_mnre,
                                    read_samples, write_jsonl)
from jmere_pyg.data.sample import Entity, Quintuple, Sample


WORDS = ["RT", "@x", ":", "Dez", "Bryant", "joins", "the", "NFL", "#", "GO"]


def mnre_line(tokens=WORDS, head=("Dez Bryant", [3, 5]),
              tail=("NFL", [7, 8]), relation="/per/org/member_of",
              img_id="a.jpg"):
    return repr({"token": tokens, "h": {"name": head[0], "pos": head[1]},
                 "t": {"name": tail[0], "pos": tail[1]}, "img_id": img_id,
                 "relation": relation})


def jmere_label(head=("Dez Bryant", [3, 5], "per"),
                tail=("NFL", [7, 8], "org"), relation="member_of"):
    def entity(name, pos, tags):
        return {"name": name, "pos": pos, "tags": tags}
    return [{"beg_ent": entity(*head), "sec_ent": entity(*tail),
             "relation": relation}]


def jmere_object(labels=None, tokens=WORDS, img_id="a.jpg"):
    return {"token": tokens, "img_id": img_id,
            "label_list": [jmere_label()] if labels is None else labels}


def jsonl_record(**changes):
    record = {"tokens": WORDS, "image_id": "a.jpg", "quintuples": [{
        "head": {"start": 3, "end": 5, "type": "per", "name": "Dez Bryant"},
        "tail": {"start": 7, "end": 8, "type": "org"},
        "relation": "member_of"}]}
    record.update(changes)
    return record


def write_lines(path, lines):
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


MEMBER = Quintuple(Entity(3, 5, "per"), Entity(7, 8, "org"), "member_of")


@lru_cache(maxsize=None)
# Real shared files -----------------------------------------------------------

@pytest.mark.integration
@pytest.mark.parametrize("split, lines, samples, quintuples, entities", [
    ("train", 12247, 3468, 4503, 7566),
    ("val", 1624, 473, 624, 1039),
])
def test_real_mnre_counts(mnre_file, split, lines, samples, quintuples,
                          entities):
    path = mnre_file(split)
    data, report = read_samples(path)
    assert report.format == "mnre"
    assert (report.lines, report.samples, report.quintuples) == (
        lines, samples, quintuples)
    assert len(data) == samples
    assert sum(len(s.quintuples) for s in data) == quintuples
    assert sum(len(s.entities) for s in data) == entities
    assert report.duplicates == 0 and report.num_skipped == 0
    assert report.none_relation + quintuples == lines
    assert all(s.quintuples and s.source.startswith(str(path)) for s in data)


@pytest.mark.integration
def test_real_mnre_train_details(mnre_file):
    data, report = read_samples(mnre_file("train"))
    assert report.none_relation == 7744
    assert report.sentences_without_relation == 3888
    # Grouped in order of first appearance: the file's first line comes first.
    first = data[0]
    assert first.tokens[:4] == ["The", "latest", "Arkham", "Horror"]
    assert first.image_id == "twitter_19_31_16_6.jpg"
    assert first.source == f"{mnre_file('train')}:1"
    assert first.quintuples[0] == Quintuple(
        Entity(8, 10, "misc"), Entity(2, 5, "misc"), "part_of")
    keys = [(tuple(s.tokens), s.image_id) for s in data]
    assert len(set(keys)) == len(keys)
    assert read_mnre(mnre_file("val"))[1].samples == 473
    assert "3,468 samples" in report.summary()


@pytest.mark.integration
def test_real_jmere_example_matches_mnre_train(shared_data, mnre_file):
    example = shared_data / "jmere_format_example.json"
    assert detect_format(example) == "jmere"
    data, report = read_jmere_json(example)
    assert (report.format, report.lines, report.samples) == ("jmere", 3, 3)
    assert data[0].quintuples[0] == Quintuple(
        Entity(6, 8, "per"), Entity(4, 5, "org"), "member_of")
    train = {(tuple(s.tokens), s.image_id): s for s in read_samples(mnre_file("train"))[0]}
    for sample in data:
        gold = train[(tuple(sample.tokens), sample.image_id)]
        assert sample.quintuples == gold.quintuples


# Hand-made MNRE --------------------------------------------------------------

def test_mnre_grouping_none_and_duplicates(tmp_path):
    other = ["Paris", "is", "in", "France"]
    path = write_lines(tmp_path / "m.txt", [
        mnre_line(relation="None"),
        mnre_line(tokens=other, head=("France", [3, 4]),
                  tail=("Paris", [0, 1]), relation="/loc/loc/contain"),
        mnre_line(),
        mnre_line(),  # identical quintuple: merged
        mnre_line(head=("NFL", [7, 8]), tail=("Dez Bryant", [3, 5]),
                  relation="None"),
        mnre_line(img_id="b.jpg", relation="None"),  # other image: own group
        "",
    ])
    data, report = read_samples(path)
    assert report.format == "mnre"
    assert [s.tokens for s in data] == [WORDS, other]
    assert data[0].quintuples == [MEMBER]
    assert data[0].source == f"{path}:1"
    assert data[1].quintuples == [Quintuple(
        Entity(3, 4, "loc"), Entity(0, 1, "loc"), "contain")]
    assert (report.lines, report.blank_lines, report.samples,
            report.quintuples) == (6, 1, 2, 2)
    assert report.none_relation == 3
    assert report.sentences_without_relation == 1
    assert report.duplicates == 1
    assert not report.skipped


def test_mnre_name_compared_without_whitespace(tmp_path):
    path = write_lines(tmp_path / "m.txt", [
        mnre_line(tail=("#GO", [8, 10]), relation="/per/misc/awarded"),
        mnre_line(head=(" Dez  Bryant ", [3, 5])),
    ])
    data, _ = read_mnre(path)
    assert len(data[0].quintuples) == 2
    for name in ("dez bryant", "Dez Bryan", "Bryant"):
        bad = write_lines(tmp_path / "bad.txt",
                          [mnre_line(head=(name, [3, 5]))])
        with pytest.raises(DataFormatError, match="does not match"):
            read_mnre(bad)


def test_error_message_format(tmp_path):
    path = write_lines(tmp_path / "m.txt", [mnre_line()] * 11 + [
        mnre_line(head=("Dez Bryant", [5, 3]))])
    with pytest.raises(DataFormatError) as info:
        read_samples(path)
    error = info.value
    assert str(error) == f"{path}:12: field 'h.pos': span [5, 3) is empty"
    assert (error.path, error.line, error.field, error.reason) == (
        str(path), 12, "h.pos", "empty_span")
    assert isinstance(error, ValueError)
    copy = pickle.loads(pickle.dumps(error))
    assert str(copy) == str(error) and copy.reason == error.reason


BAD_MNRE = [
    ("{'token': ['a', 'b'", None, "syntax_error"),
    ("{'token': [1, 2] + [3]}", None, "syntax_error"),
    ("['not', 'a', 'dict']", None, "wrong_type"),
    (repr({"h": {}, "t": {}, "img_id": "a", "relation": "None"}), "token",
     "missing_field"),
    (mnre_line(tokens="Dez Bryant"), "token", "wrong_type"),
    (mnre_line(tokens=WORDS[:3] + [5] + WORDS[4:]), "token[3]", "wrong_type"),
    (mnre_line(tokens=WORDS[:3] + [" "] + WORDS[4:]), "token[3]",
     "empty_word"),
    (mnre_line(tokens=[], head=("", [0, 0]), tail=("", [0, 0])), "token",
     "empty_text"),
    (mnre_line(img_id=7), "img_id", "wrong_type"),
    (mnre_line(relation=None), "relation", "wrong_type"),
    (mnre_line(head=("Dez Bryant", [3])), "h.pos", "wrong_type"),
    (mnre_line(head=("Dez Bryant", ["3", 5])), "h.pos", "wrong_type"),
    (mnre_line(tail=("NFL", [7, 7])), "t.pos", "empty_span"),
    (mnre_line(tail=("NFL", [8, 7])), "t.pos", "empty_span"),
    (mnre_line(tail=("NFL", [7, 11])), "t.pos", "span_out_of_range"),
    (mnre_line(tail=("NFL", [-1, 1])), "t.pos", "span_out_of_range"),
    (mnre_line(tail=("the NFL", [7, 8])), "t.name", "name_mismatch"),
    (mnre_line(tail=(None, [7, 8])), "t.name", "wrong_type"),
    (mnre_line(relation="/per/company/member_of"), "relation",
     "unknown_entity_type"),
    (mnre_line(relation="/per/org/works_for"), "relation",
     "unknown_relation"),
    (mnre_line(relation="per/org/member_of"), "relation", "bad_relation"),
    (mnre_line(relation="member_of"), "relation", "bad_relation"),
    (mnre_line(tail=("Dez Bryant", [3, 5]), relation="/per/per/peer"),
     "t.pos", "head_equals_tail"),
]


@pytest.mark.parametrize("line, field, reason", BAD_MNRE)
def test_bad_mnre_lines(tmp_path, line, field, reason):
    path = write_lines(tmp_path / "m.txt", [mnre_line(), line])
    with pytest.raises(DataFormatError) as info:
        read_mnre(path)
    assert (info.value.line, info.value.field, info.value.reason) == (
        2, field, reason)
    data, report = read_mnre(path, on_error="skip")
    assert report.skipped == {reason: 1}
    assert reason in report.examples and reason in report.summary()
    assert [s.quintuples for s in data] == [[MEMBER]]


def test_mnre_entity_type_conflict(tmp_path):
    path = write_lines(tmp_path / "m.txt", [
        mnre_line(),
        mnre_line(tail=("NFL", [7, 8]), relation="/per/misc/present_in"),
    ])
    with pytest.raises(DataFormatError, match="has type 'misc' here but "
                       "'org' elsewhere") as info:
        read_mnre(path)
    assert (info.value.line, info.value.reason) == (2, "entity_type_conflict")
    data, report = read_mnre(path, on_error="skip")
    assert data[0].quintuples == [MEMBER]
    assert report.skipped == {"entity_type_conflict": 1}


def test_max_words(tmp_path):
    path = write_lines(tmp_path / "m.txt", [mnre_line()])
    assert read_mnre(path, max_words=10)[1].samples == 1
    with pytest.raises(DataFormatError, match="10 words, more than "
                       "max_words=9") as info:
        read_mnre(path, max_words=9)
    assert info.value.reason == "too_long"
    assert read_mnre(path, max_words=9, on_error="skip")[1].skipped == {
        "too_long": 1}


def test_skip_counts_every_reason(tmp_path):
    path = write_lines(tmp_path / "m.txt", [
        mnre_line(), "garbage", mnre_line(tail=("NFL", [7, 99])), "{'a': (",
        mnre_line(relation="None"),
    ])
    data, report = read_samples(path, on_error="skip")
    assert len(data) == 1
    assert report.skipped == {"syntax_error": 2, "span_out_of_range": 1}
    assert report.num_skipped == 3 and report.none_relation == 1
    assert report.lines == 5


# Hand-made JMERE JSON --------------------------------------------------------

def write_json(path, value):
    path.write_text(json.dumps(value, indent=1), encoding="utf-8")
    return path


def test_jmere_merges_samples(tmp_path):
    other = jmere_label(head=("NFL", [7, 8], "org"), tail=("GO", [9, 10],
                        "misc"), relation="awarded")
    path = write_json(tmp_path / "j.json", [
        jmere_object(),
        jmere_object(tokens=["Hi", "Paris"], img_id=None, labels=[]),
        jmere_object(labels=[other, jmere_label()]),
    ])
    data, report = read_samples(path)
    assert report.format == "jmere"
    assert [s.tokens for s in data] == [WORDS, ["Hi", "Paris"]]
    assert data[0].quintuples == [MEMBER, Quintuple(
        Entity(7, 8, "org"), Entity(9, 10, "misc"), "awarded")]
    assert data[1].image_id is None and data[1].quintuples == []
    assert data[0].source == f"{path}: sample 1"
    assert (report.lines, report.merged_samples, report.duplicates) == (
        3, 1, 1)


BAD_JMERE = [
    ("not a dict", None, "wrong_type"),
    ({"token": WORDS, "img_id": "a.jpg"}, "label_list", "missing_field"),
    (jmere_object(img_id=3), "img_id", "wrong_type"),
    (jmere_object(labels={}), "label_list", "wrong_type"),
    (jmere_object(labels=[jmere_label()[0]]), "label_list[0]", "wrong_type"),
    (jmere_object(labels=[jmere_label() * 2]), "label_list[0]", "wrong_type"),
    (jmere_object(labels=[[{"beg_ent": {}}]]), "label_list[0][0].beg_ent.pos",
     "missing_field"),
    (jmere_object(labels=[jmere_label(head=("Dez", [3, 5], "per"))]),
     "label_list[0][0].beg_ent.name", "name_mismatch"),
    (jmere_object(labels=[jmere_label(head=("Dez Bryant", [3, 5], "PER"))]),
     "label_list[0][0].beg_ent.tags", "unknown_entity_type"),
    (jmere_object(labels=[jmere_label(relation="/per/org/member_of")]),
     "label_list[0][0].relation", "unknown_relation"),
    (jmere_object(labels=[jmere_label(tail=("NFL", [7, 12], "org"))]),
     "label_list[0][0].sec_ent.pos", "span_out_of_range"),
    (jmere_object(labels=[jmere_label(tail=("Dez Bryant", [3, 5], "per"))]),
     "label_list[0][0].sec_ent.pos", "head_equals_tail"),
    (jmere_object(labels=[jmere_label(), jmere_label(
        head=("Dez Bryant", [3, 5], "org"), tail=("NFL", [7, 8], "org"),
        relation="subsidiary")]), "label_list[1][0].beg_ent.tags",
     "entity_type_conflict"),
    (jmere_object(tokens=[]), "token", "empty_text"),
]


@pytest.mark.parametrize("record, field, reason", BAD_JMERE)
def test_bad_jmere_samples(tmp_path, record, field, reason):
    path = write_json(tmp_path / "j.json", [jmere_object(), record])
    with pytest.raises(DataFormatError) as info:
        read_jmere_json(path)
    error = info.value
    assert (error.line, error.field, error.reason) == (2, field, reason)
    assert str(error).startswith(f"{path}: sample 2: ")
    data, report = read_jmere_json(path, on_error="skip")
    assert report.skipped == {reason: 1}
    assert [s.quintuples for s in data] == [[MEMBER]]


def test_jmere_type_conflict_across_merged_samples(tmp_path):
    conflicting = jmere_label(head=("NFL", [7, 8], "misc"),
                              tail=("GO", [9, 10], "misc"), relation="part_of")
    path = write_json(tmp_path / "j.json", [
        jmere_object(), jmere_object(labels=[conflicting])])
    with pytest.raises(DataFormatError) as info:
        read_jmere_json(path)
    assert (info.value.line, info.value.reason) == (2, "entity_type_conflict")


@pytest.mark.parametrize("content, reason", [
    ('[{"token": ', "syntax_error"),
    ('{"token": ["a"]}', "wrong_type"),
])
def test_bad_jmere_file_always_raises(tmp_path, content, reason):
    path = tmp_path / "j.json"
    path.write_text(content, encoding="utf-8")
    for on_error in ("raise", "skip"):
        with pytest.raises(DataFormatError) as info:
            read_jmere_json(path, on_error=on_error)
        assert info.value.line is None and info.value.reason == reason


# JSON lines ------------------------------------------------------------------

def write_jsonl_records(path, records):
    return write_lines(path, [json.dumps(r) for r in records])


def test_jsonl_reads_tokens_text_and_optional_fields(tmp_path):
    path = write_jsonl_records(tmp_path / "s.jsonl", [
        jsonl_record(),
        {"text": "Paris is in France", "quintuples": [{
            "head": {"start": 3, "end": 4, "type": "loc", "name": "France"},
            "tail": {"start": 0, "end": 1, "type": "loc"},
            "relation": "contain", "confidence": 0.5}]},
        {"tokens": WORDS},
        jsonl_record(),  # never merged with the first line
    ])
    data, report = read_samples(path, tokenizer=str.split)
    assert report.format == "jsonl"
    assert [s.quintuples for s in data] == [
        [MEMBER], [Quintuple(Entity(3, 4, "loc"), Entity(0, 1, "loc"),
                             "contain")], [], [MEMBER]]
    assert data[1].tokens == ["Paris", "is", "in", "France"]
    assert data[1].image_id is None and data[0].image_id == "a.jpg"
    assert data[3].source == f"{path}:4"
    assert report.samples == 4 and report.quintuples == 3


def test_jsonl_round_trip(tmp_path):
    samples = [
        Sample(tokens=WORDS, image_id="a.jpg", quintuples=[
            MEMBER, Quintuple(Entity(7, 8, "org"), Entity(9, 10, "misc"),
                              "awarded")]),
        Sample(tokens=["Ça", "va", "🏆"], image_id=None),
    ]
    path = tmp_path / "out.jsonl"
    write_jsonl(samples, path, confidences=[[0.9, 0.25], []])
    lines = path.read_text(encoding="utf-8").splitlines()
    first = json.loads(lines[0])
    assert first["quintuples"][0]["head"]["name"] == "Dez Bryant"
    assert first["quintuples"][1]["confidence"] == 0.25
    assert "🏆" in lines[1]
    data, report = read_samples(path)
    assert report.format == "jsonl"
    for original, back in zip(samples, data):
        assert (back.tokens, back.image_id, back.quintuples) == (
            original.tokens, original.image_id, original.quintuples)
    write_jsonl(data, path)
    assert "confidence" not in path.read_text(encoding="utf-8")
    assert [s.quintuples for s in read_jsonl(path)[0]] == [
        s.quintuples for s in samples]


def test_write_jsonl_checks_confidences(tmp_path):
    sample = Sample(tokens=WORDS, quintuples=[MEMBER])
    with pytest.raises(ValueError, match="1 samples"):
        write_jsonl([sample], tmp_path / "o.jsonl", confidences=[])
    with pytest.raises(ValueError, match="1 quintuples"):
        write_jsonl([sample], tmp_path / "o.jsonl", confidences=[[0.1, 0.2]])


def quintuple_with(**entity_changes):
    head = {"start": 3, "end": 5, "type": "per"}
    head.update(entity_changes)
    return [{"head": head, "tail": {"start": 7, "end": 8, "type": "org"},
             "relation": "member_of"}]


BAD_JSONL = [
    ('{"tokens": ["a"],}', None, "syntax_error"),
    ('[1, 2]', None, "wrong_type"),
    (jsonl_record(quintuple=[]), "quintuple", "unknown_field"),
    ({"image_id": "a.jpg"}, "tokens", "missing_field"),
    (jsonl_record(text="Dez Bryant"), "text", "conflicting_fields"),
    (jsonl_record(tokens=[]), "tokens", "empty_text"),
    ({"text": "   "}, "text", "empty_text"),
    ({"text": 5}, "text", "wrong_type"),
    (jsonl_record(tokens=["a", ""]), "tokens[1]", "empty_word"),
    (jsonl_record(image_id=1), "image_id", "wrong_type"),
    (jsonl_record(quintuples={}), "quintuples", "wrong_type"),
    (jsonl_record(quintuples=["x"]), "quintuples[0]", "wrong_type"),
    (jsonl_record(quintuples=[{"head": {}, "tail": {}, "relation": "x",
                               "score": 1}]),
     "quintuples[0].score", "unknown_field"),
    (jsonl_record(quintuples=quintuple_with(label="per")),
     "quintuples[0].head.label", "unknown_field"),
    (jsonl_record(quintuples=[{"tail": {}}]), "quintuples[0].head",
     "missing_field"),
    (jsonl_record(quintuples=quintuple_with(start=None)),
     "quintuples[0].head", "wrong_type"),
    (jsonl_record(quintuples=quintuple_with(start=True)),
     "quintuples[0].head", "wrong_type"),
    (jsonl_record(quintuples=quintuple_with(end=2)), "quintuples[0].head",
     "empty_span"),
    (jsonl_record(quintuples=quintuple_with(end=11)), "quintuples[0].head",
     "span_out_of_range"),
    (jsonl_record(quintuples=quintuple_with(name="Dez")),
     "quintuples[0].head.name", "name_mismatch"),
    (jsonl_record(quintuples=quintuple_with(type="person")),
     "quintuples[0].head.type", "unknown_entity_type"),
    (jsonl_record(quintuples=quintuple_with(start=7, end=8, type="org")),
     "quintuples[0].tail", "head_equals_tail"),
    (jsonl_record(quintuples=quintuple_with() + [
        {"head": {"start": 7, "end": 8, "type": "loc"},
         "tail": {"start": 0, "end": 1, "type": "loc"},
         "relation": "contain"}]), "quintuples[1].head.type",
     "entity_type_conflict"),
    (jsonl_record(quintuples=[dict(quintuple_with()[0], relation="boss")]),
     "quintuples[0].relation", "unknown_relation"),
    (jsonl_record(quintuples=[dict(quintuple_with()[0], confidence="high")]),
     "quintuples[0].confidence", "wrong_type"),
]


@pytest.mark.parametrize("record, field, reason", BAD_JSONL)
def test_bad_jsonl_lines(tmp_path, record, field, reason):
    line = record if isinstance(record, str) else json.dumps(record)
    path = write_lines(tmp_path / "s.jsonl", [json.dumps(jsonl_record()),
                                              line])
    with pytest.raises(DataFormatError) as info:
        read_jsonl(path, tokenizer=str.split)
    error = info.value
    assert (error.line, error.field, error.reason) == (2, field, reason)
    data, report = read_jsonl(path, tokenizer=str.split, on_error="skip")
    assert report.skipped == {reason: 1}
    assert [s.quintuples for s in data] == [[MEMBER]]


def test_jsonl_default_tokenizer(tmp_path):
    pytest.importorskip("spacy")
    path = write_jsonl_records(tmp_path / "s.jsonl", [{
        "text": "RT @user: Curry wins #NBA https://t.co/x 🏆",
        "quintuples": [{"head": {"start": 3, "end": 4, "type": "per",
                                 "name": "Curry"},
                        "tail": {"start": 6, "end": 7, "type": "misc",
                                 "name": "NBA"},
                        "relation": "awarded"}]}])
    data, _ = read_samples(path)
    assert data[0].tokens == ["RT", "@user", ":", "Curry", "wins", "#", "NBA",
                              "https://t.co/x", "🏆"]
    assert len(data[0].quintuples) == 1


# Detection and options -------------------------------------------------------

def test_detect_format(tmp_path):
    mnre = write_lines(tmp_path / "a.txt", ["", mnre_line()])
    jmere = write_json(tmp_path / "b.json", [jmere_object()])
    jsonl = write_jsonl_records(tmp_path / "c.jsonl", [jsonl_record()])
    json_mnre = write_lines(tmp_path / "d.txt", [json.dumps(
        {"token": WORDS, "h": {"name": "Dez Bryant", "pos": [3, 5]},
         "t": {"name": "NFL", "pos": [7, 8]}, "img_id": "a.jpg",
         "relation": "/per/org/member_of"})])
    for path, expected in ((mnre, "mnre"), (jmere, "jmere"),
                           (jsonl, "jsonl"), (json_mnre, "mnre")):
        assert detect_format(path) == expected
        data, report = read_samples(path)
        assert report.format == expected and data[0].quintuples == [MEMBER]


@pytest.mark.parametrize("content", ["", "  \n", "hello\n", "{'a': 1}\n",
                                     "{broken\n"])
def test_detect_format_fails(tmp_path, content):
    path = tmp_path / "x.txt"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataFormatError) as info:
        read_samples(path)
    assert info.value.reason == "unknown_format" and info.value.line is None


def test_explicit_format_wins(tmp_path):
    path = write_lines(tmp_path / "a.txt", [mnre_line()])
    with pytest.raises(DataFormatError) as info:
        read_samples(path, "jsonl")
    assert info.value.reason == "syntax_error"
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    assert read_samples(empty, "mnre")[0] == []


def test_not_utf8(tmp_path):
    path = tmp_path / "x.txt"
    path.write_bytes(b"\xff\xfe\xfa")
    with pytest.raises(DataFormatError) as info:
        read_samples(path, "mnre", on_error="skip")
    assert info.value.reason == "encoding"


@pytest.mark.parametrize("kwargs, match", [
    ({"format": "csv"}, "format must be one of None, 'mnre', 'jmere', "
                        "'jsonl'"),
    ({"on_error": "ignore"}, "on_error must be one of 'raise', 'skip'"),
    ({"max_words": 0}, "max_words"),
    ({"tokenizer": "spacy"}, "tokenizer"),
])
def test_option_checks(tmp_path, kwargs, match):
    path = write_lines(tmp_path / "a.txt", [mnre_line()])
    with pytest.raises(ValueError, match=match):
        read_samples(path, **kwargs)


def test_error_and_report_basics():
    error = DataFormatError("f.json", 3, None, "bad", unit="sample")
    assert str(error) == "f.json: sample 3: bad"
    assert str(DataFormatError("f", None, "x", "bad")) == "f: field 'x': bad"
    with pytest.raises(ValueError, match="unit"):
        DataFormatError("f", 1, None, "bad", unit="row")
    report = ReadReport(path="f", format="mnre", lines=2, samples=1,
                        quintuples=1)
    report.record_skip(DataFormatError("f", 2, None, "x", reason="r"))
    assert report.skipped == {"r": 1} and report.examples == {"r": "f:2: x"}
    assert "skipped 1 (r 1)" in report.summary()


def test_default_tokenizer_is_cached_spacy():
    pytest.importorskip("spacy")
    from jmere_pyg.data.tokenize import default_tokenizer
    tokenize = default_tokenizer()
    assert default_tokenizer() is tokenize
    assert tokenize("Hi  there ,\n you") == ["Hi", "there", ",", "you"]
    assert tokenize("") == []


@pytest.mark.parametrize("format", ["mnre", "jmere", "jsonl"])
def test_a_stream_reads_what_read_samples_reads(tmp_path, format):
    path = tmp_path / "data.txt"
    if format == "mnre":
        path.write_text("\n".join([mnre_line(), mnre_line(relation="None"),
                                   "{'token': 3}", mnre_line(
                                       tokens=WORDS[:9], img_id="b.jpg")])
                        + "\n")
    elif format == "jmere":
        path.write_text(json.dumps([jmere_object(),
                                    jmere_object(img_id="b.jpg"),
                                    {"token": 3}]))
    else:
        path.write_text("\n".join([json.dumps(jsonl_record()), "", "{bad",
                                   json.dumps(jsonl_record(image_id=None))])
                        + "\r\n")
    samples, report = read_samples(path, on_error="skip")
    stream = iter_samples(path)
    assert [sample for _, sample in stream] == samples
    assert stream.report.to_dict() == report.to_dict()
    assert report.skipped_lines == [3]


def test_a_stream_reads_chunks_with_their_own_report(tmp_path):
    path = tmp_path / "posts.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + "\n".join([
        json.dumps(jsonl_record()), "   ", '{"tokens": ["caf\xc3"]}',
        json.dumps(jsonl_record(image_id="b.jpg"))]).encode("latin-1")
        + b"\n")
    stream = iter_samples(path)
    records = list(stream.records())
    assert [line for line, _ in records] == [1, 3, 4]
    assert stream.report.blank_lines == 1
    first, report = stream.read(records[:2])
    assert [line for line, _ in first] == [1]
    assert report.lines == 2 and report.skipped == {"encoding": 1}
    assert report.examples["encoding"] == (
        f"{path}:3: not UTF-8 text (byte 0xc3 at column 17)")
    with pytest.raises(DataFormatError, match=":3: not UTF-8"):
        iter_samples(path, on_error="raise").read(records[1:])
    rest, report = stream.read(records[2:])
    assert [s.image_id for _, s in rest] == ["b.jpg"]
    assert (report.samples, report.quintuples) == (1, 1)


def test_reports_add_up():
    first, second = ReadReport("f", lines=3, samples=2), ReadReport("f")
    error = DataFormatError("f", 7, "tokens", "bad", reason="wrong_type")
    second.record_skip(error)
    second.lines = 1
    first.add(second)
    assert (first.lines, first.samples, first.skipped_lines) == (4, 2, [7])
    assert first.skipped == {"wrong_type": 1}
    assert ReadReport.from_dict(first.to_dict()) == first
