"""Fuzzing the readers: random mutations of valid files may only give
samples (or scene graphs) or the library's own DataFormatError."""
import json
import random

import pytest

from jmere_pyg.data import (DataFormatError, Entity, Quintuple, Sample,
                            read_samples, write_jsonl)
from jmere_pyg.data.scene_graph import (SceneGraph, SceneObject,
                                        SceneRelation, read_scene_graphs,
                                        write_scene_graphs)

WORDS = ["RT", "@nba", ":", "Curry", "and", "Thompson", "join", "the",
         "Warriors", "in", "San", "Francisco", "🏆"]
CASES_PER_FORMAT = 80


def mnre_text():
    lines = []
    for head, tail, relation in [((3, 4), (8, 9), "/per/org/member_of"),
                                 ((3, 4), (5, 6), "/per/per/peer"),
                                 ((8, 9), (10, 12), "None")]:
        lines.append(repr({
            "token": WORDS, "h": {"name": " ".join(WORDS[slice(*head)]),
                                  "pos": list(head)},
            "t": {"name": " ".join(WORDS[slice(*tail)]), "pos": list(tail)},
            "img_id": "x.jpg", "relation": relation}))
    return "\n".join(lines * 2) + "\n"


def jmere_text():
    def entity(span, tag):
        return {"name": " ".join(WORDS[slice(*span)]), "pos": list(span),
                "tags": tag}
    record = {"token": WORDS, "img_id": "x.jpg", "label_list": [
        [{"beg_ent": entity((3, 4), "per"), "sec_ent": entity((8, 9), "org"),
          "relation": "member_of"}],
        [{"beg_ent": entity((8, 9), "org"), "sec_ent": entity((10, 12), "loc"),
          "relation": "locate_at"}]]}
    return json.dumps([record, dict(record, img_id="y.jpg")], indent=1)


def jsonl_text(tmp_path):
    samples = [Sample(WORDS, "x.jpg", [
        Quintuple(Entity(3, 4, "per"), Entity(8, 9, "org"), "member_of"),
        Quintuple(Entity(3, 4, "per"), Entity(5, 6, "per"), "peer")]),
        Sample(WORDS[:6], None, [])]
    write_jsonl(samples, tmp_path / "seed.jsonl")
    text = (tmp_path / "seed.jsonl").read_text(encoding="utf-8")
    raw = json.dumps({"text": " ".join(WORDS), "quintuples": [{
        "head": {"start": 3, "end": 4, "type": "per"},
        "tail": {"start": 8, "end": 9, "type": "org"},
        "relation": "member_of"}]})
    return text + raw + "\n"


def scene_graph_text(tmp_path):
    graph = SceneGraph(
        [SceneObject("man", 0.9, [0.0, 0.0, 5.0, 9.0]),
         SceneObject("ball", 0.5, [1.0, 2.0, 3.0, 4.0], [0.1, 0.2])],
        [SceneRelation(0, "holding", 1, 0.7)])
    write_scene_graphs(tmp_path / "seed.json", {"x.jpg": graph,
                                                "y.jpg": graph})
    return (tmp_path / "seed.json").read_text(encoding="utf-8")


UNICODE = ["\u200b", "\ufeff", "\x00", "\x1b", "\u0301", "é", "🏆", "\n",
           "\r", '"', "'", "\\", "{", "}", "[", "]", ",", ":", "-1", "1e309",
           "NaN", "null", "true", "9" * 5000, "\ud800"]


def mutate(text: str, rng: random.Random) -> bytes:
    """One to three random mutations of ``text``, as the bytes of a file."""
    data = text.encode("utf-8")
    for _ in range(rng.randint(1, 3)):
        kind = rng.choice(["flip", "cut", "duplicate", "delete", "nest",
                           "deep", "unicode", "truncate"])
        lines = data.split(b"\n")
        if kind == "flip" and data:
            data = bytearray(data)
            for _ in range(rng.randint(1, 8)):
                data[rng.randrange(len(data))] = rng.randrange(256)
            data = bytes(data)
        elif kind == "cut":
            i = rng.randrange(len(lines))
            lines[i] = lines[i][:rng.randint(0, len(lines[i]))]
            data = b"\n".join(lines)
        elif kind == "duplicate":
            i = rng.randrange(len(lines))
            lines.insert(i, lines[i])
            data = b"\n".join(lines)
        elif kind == "delete" and len(lines) > 1:
            del lines[rng.randrange(len(lines))]
            data = b"\n".join(lines)
        elif kind in ("nest", "deep"):
            depth = rng.randint(2, 50) if kind == "nest" else 100_000
            i = rng.randint(0, len(data))
            data = (data[:i] + b"[" * depth + b"1" + b"]" * depth
                    * rng.randint(0, 1) + data[i:])
        elif kind == "unicode":
            i = rng.randint(0, len(data))
            piece = "".join(rng.choice(UNICODE)
                            for _ in range(rng.randint(1, 4)))
            data = (data[:i] + piece.encode("utf-8", "surrogatepass")
                    + data[i:])
        elif kind == "truncate":
            data = data[:rng.randint(0, len(data))]
    return data


def check_samples(path, format, on_error):
    try:
        samples, report = read_samples(path, format, on_error=on_error)
    except DataFormatError as error:
        assert str(path) in str(error)
        return "error"
    assert all(isinstance(sample, Sample) and sample.tokens
               for sample in samples)
    assert all(0 <= e.start < e.end <= len(sample.tokens)
               for sample in samples for q in sample.quintuples
               for e in (q.head, q.tail))
    assert report.samples == len(samples)
    return "samples"


@pytest.mark.parametrize("format", ["mnre", "jmere", "jsonl"])
def test_mutated_data_files_give_samples_or_a_format_error(tmp_path, format):
    seed = {"mnre": mnre_text, "jmere": jmere_text,
            "jsonl": lambda: jsonl_text(tmp_path)}[format]()
    path = tmp_path / f"data.{format}"
    path.write_text(seed, encoding="utf-8")
    assert check_samples(path, format, "raise") == "samples"
    rng = random.Random(f"fuzz-{format}")
    outcomes = set()
    for case in range(CASES_PER_FORMAT):
        path.write_bytes(mutate(seed, rng))
        given = format if case % 2 else None
        on_error = "skip" if case % 3 == 0 else "raise"
        outcomes.add(check_samples(path, given, on_error))
    assert outcomes == {"samples", "error"}  # the mutations did both


def test_mutated_scene_graph_files_give_graphs_or_a_format_error(tmp_path):
    seed = scene_graph_text(tmp_path)
    path = tmp_path / "graphs.json"
    rng = random.Random("fuzz-scene-graphs")
    outcomes = set()
    for _ in range(CASES_PER_FORMAT):
        path.write_bytes(mutate(seed, rng))
        try:
            graphs = read_scene_graphs(path)
        except DataFormatError as error:
            assert str(path) in str(error)
            outcomes.add("error")
        else:
            assert all(isinstance(g, SceneGraph) for g in graphs.values())
            outcomes.add("graphs")
    assert outcomes == {"graphs", "error"}


@pytest.mark.parametrize("name, content, format", [
    ("deep.json", "[" * 100_000 + "]" * 100_000, "jmere"),
    ("deep.jsonl", '{"tokens": ["a"]}\n{"tokens": ' + "[" * 100_000
     + "]" * 100_000 + "}\n", "jsonl"),
    ("deep.txt", mnre_text().split("\n")[0] + "\n{'token': "
     + "[" * 100_000 + "]" * 100_000 + "}\n", "mnre"),
])
def test_deep_nesting_names_the_file_and_line(tmp_path, name, content,
                                              format):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(DataFormatError) as info:
        read_samples(path)
    assert info.value.path == str(path)
    if format == "jmere":  # a whole-file error; the message has the line
        assert info.value.line is None and "at line 1" in str(info.value)
    else:
        assert info.value.line == 2
    assert "nested" in str(info.value) or format == "mnre"


def test_deep_nesting_in_a_scene_graph_file(tmp_path):
    path = tmp_path / "graphs.json"
    path.write_text('{"x.jpg":\n' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(DataFormatError, match="nested 100,001 levels deep "
                       "at line 2") as info:
        read_scene_graphs(path)
    assert str(path) in str(info.value)
