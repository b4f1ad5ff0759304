"""Prediction over a corpus: chunks streamed to the output, the same lines
as in memory, resumed after an interruption, shared by two processes under
torchrun with the same bytes as one, faulty lines counted or fatal."""
import json
import os
import subprocess
import sys

import pytest

from jmere_pyg import Predictor
from jmere_pyg.cli import main
from jmere_pyg.data import DataFormatError, DataNotice, Sample, write_jsonl
from jmere_pyg.graphs import TextParser
from jmere_pyg.inference import files, predict_file
from jmere_pyg.inference.files import quintuple_record

from tiny_eega import WORDS, fit_builder, make_model, make_samples


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory, tiny_encoder_path):
    folder = tmp_path_factory.mktemp("stream") / "ckpt"
    make_model(fit_builder(), tiny_encoder_path).save_pretrained(folder)
    return folder


def corpus():
    """Eleven posts: the tiny posts without their scene graphs, again in
    other lengths, one longer than a window of 20 words."""
    posts = [Sample(s.tokens, s.image_id, s.quintuples)
             for s in make_samples()]
    posts += [Sample(WORDS[i:i + 5 + i]) for i in range(6)]
    posts.append(Sample((WORDS + ["."]) * 2, "b.jpg"))
    return posts


@pytest.fixture
def posts(tmp_path):
    path = tmp_path / "posts.jsonl"
    write_jsonl(corpus(), path)
    return path


def with_bad_lines(path, *numbers):
    """``path`` with a faulty line put in at each 1-based ``number``."""
    lines = path.read_text().splitlines()
    for number in numbers:
        lines.insert(number - 1, '{"tokens": "not a list"}')
    path.write_text("\n".join(lines) + "\n")
    return path


def run_predict(*args):
    return main(["predict", *map(str, args)])


def test_streamed_lines_are_the_in_memory_predictions(checkpoint, posts,
                                                      tmp_path):
    output = tmp_path / "out.jsonl"
    with pytest.warns(DataNotice, match="4 of 11 samples name an image but "
                      "no scene graphs were given"):
        predict_file(str(checkpoint), str(posts), output=str(output),
                     chunk_size=4, window_words=20)
    samples = corpus()
    predictor = Predictor.from_pretrained(str(checkpoint), window_words=20)
    expected = predictor.predict(samples)
    assert any(expected)
    records = [json.loads(line) for line in output.read_text().splitlines()]
    assert [r["tokens"] for r in records] == [s.tokens for s in samples]
    for record, sample, found in zip(records, samples, expected):
        got = record["quintuples"]
        want = [quintuple_record(q, sample.tokens, c) for q, c in found]
        # Other chunks batch other posts together: confidences agree up to
        # the rounding of other batch shapes.
        assert ([{k: v for k, v in q.items() if k != "confidence"}
                 for q in got]
                == [{k: v for k, v in q.items() if k != "confidence"}
                    for q in want])
        for a, b in zip(got, want):
            assert a["confidence"] == pytest.approx(b["confidence"],
                                                    abs=2e-4)
    assert not list(tmp_path.glob("out.jsonl.partial*"))


def test_repeated_posts_are_parsed_once_within_the_cache_bound(
        checkpoint, tmp_path, monkeypatch):
    parsed = []
    parse_into_cache = TextParser._parse_into_cache

    def counting(self, keys, progress):
        parsed.extend(keys)
        parse_into_cache(self, keys, progress)

    monkeypatch.setattr(TextParser, "_parse_into_cache", counting)
    words = [s.tokens for s in corpus()[:6]]  # none longer than a window
    path = tmp_path / "posts.jsonl"
    write_jsonl([Sample(w) for w in words * 3], path)  # chunks of 4 posts

    predict_file(str(checkpoint), str(path),
                 output=str(tmp_path / "out.jsonl"), chunk_size=4)
    assert sorted(parsed) == sorted(map(tuple, words))  # once each

    parsed.clear()
    monkeypatch.setattr(files, "PARSE_CACHE_SIZE", 2)
    predict_file(str(checkpoint), str(path),
                 output=str(tmp_path / "bounded.jsonl"), chunk_size=4)
    assert len(parsed) > len(words)  # forgotten beyond the bound
    assert (tmp_path / "bounded.jsonl").read_bytes() == (
        tmp_path / "out.jsonl").read_bytes()


def test_an_interrupted_run_resumes_to_the_same_output(checkpoint, posts,
                                                       tmp_path, monkeypatch,
                                                       capsys,
                                                       interrupt_at_call):
    whole = tmp_path / "whole.jsonl"
    assert run_predict("--checkpoint", checkpoint, "--input", posts,
                       "--output", whole, "--chunk-size", 3) == 0
    output = tmp_path / "out.jsonl"
    interrupt_at_call(files._PostExtraction, "lines", call=3)
    capsys.readouterr()
    assert run_predict("--checkpoint", checkpoint, "--input", posts,
                       "--output", output, "--chunk-size", 3) == 130
    assert ("interrupted; the same command with --resume continues"
            in capsys.readouterr().err)
    monkeypatch.undo()
    partial = tmp_path / "out.jsonl.partial"
    assert not output.exists() and len(partial.read_text().splitlines()) == 6
    with open(partial, "a") as file:
        file.write('{"tokens": ["torn')  # a line cut off by the kill

    assert run_predict("--checkpoint", checkpoint, "--input", posts,
                       "--output", output, "--chunk-size", 3) == 1
    assert run_predict("--checkpoint", checkpoint, "--input", posts,
                       "--output", output, "--chunk-size", 4,
                       "--resume") == 1  # other options
    assert run_predict("--checkpoint", checkpoint, "--input", posts,
                       "--output", output, "--chunk-size", 3,
                       "--resume") == 0
    assert output.read_bytes() == whole.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "out.jsonl", "posts.jsonl", "whole.jsonl"]


def test_a_resume_checks_the_lines_written(checkpoint, posts, tmp_path,
                                           monkeypatch, capsys):
    output = tmp_path / "out.jsonl"
    lines = files._PostExtraction.lines

    def stop_at_the_second_chunk(self, samples, *args):
        if samples[0].tokens != corpus()[0].tokens:
            raise KeyboardInterrupt
        return lines(self, samples, *args)
    monkeypatch.setattr(files._PostExtraction, "lines",
                        stop_at_the_second_chunk)
    assert run_predict("--checkpoint", checkpoint, "--input", posts,
                       "--output", output, "--chunk-size", 5) == 130
    monkeypatch.undo()
    partial = tmp_path / "out.jsonl.partial"
    text = partial.read_text()
    partial.write_text(text.replace('"Curry"', '"Kurry"', 1))
    capsys.readouterr()
    assert run_predict("--checkpoint", checkpoint, "--input", posts,
                       "--output", output, "--chunk-size", 5,
                       "--resume") == 1
    error = capsys.readouterr().err
    assert "cannot resume" in error and "lines 1-5" in error
    assert "input line 1 differ" in error and "--overwrite" in error
    assert run_predict("--checkpoint", checkpoint, "--input", posts,
                       "--output", output, "--chunk-size", 5,
                       "--overwrite") == 0
    assert len(output.read_text().splitlines()) == len(corpus())


def test_faulty_lines_are_counted_with_their_numbers(checkpoint, posts,
                                                     tmp_path, capsys):
    with_bad_lines(posts, 3, 9)
    output = tmp_path / "out.jsonl"
    assert run_predict("--checkpoint", checkpoint, "--input", posts,
                       "--output", output, "--chunk-size", 4) == 0
    error = capsys.readouterr().err
    assert ("posts.jsonl: 2 faulty lines skipped (wrong_type 2): lines 3, 9;"
            in error)
    assert "posts.jsonl:3: field 'tokens'" in error
    lines = output.read_text().splitlines()
    assert [json.loads(line)["tokens"] for line in lines] == [
        s.tokens for s in corpus()]


def test_strict_stops_at_a_faulty_line_before_writing_its_chunk(
        checkpoint, posts, tmp_path, capsys):
    with_bad_lines(posts, 7)
    output = tmp_path / "out.jsonl"
    assert run_predict("--checkpoint", checkpoint, "--input", posts,
                       "--output", output, "--chunk-size", 4,
                       "--strict") == 1
    error = capsys.readouterr().err.strip().splitlines()
    assert error[-1].startswith(f"jmere-pyg predict: error: {posts}:7: ")
    assert not output.exists()
    assert len((tmp_path / "out.jsonl.partial").read_text()
               .splitlines()) == 4  # the chunk before it
    with pytest.raises(DataFormatError, match=":7: field 'tokens'"):
        predict_file(str(checkpoint), str(posts), sink=list, strict=True)


def test_a_partial_output_needs_resume_or_overwrite(checkpoint, posts,
                                                    tmp_path, capsys):
    output = tmp_path / "out.jsonl"
    (tmp_path / "out.jsonl.partial").write_text("")
    assert run_predict("--checkpoint", checkpoint, "--input", posts,
                       "--output", output) == 1
    assert "--resume" in capsys.readouterr().err
    (tmp_path / "out.jsonl.partial-1-of-2").write_text("")
    assert run_predict("--checkpoint", checkpoint, "--input", posts,
                       "--output", output, "--resume") == 1
    assert "another number of processes" in capsys.readouterr().err
    assert run_predict("--checkpoint", checkpoint, "--input", posts,
                       "--output", output, "--overwrite", "--profile") == 0
    assert "time: reading" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl",
                                                          "posts.jsonl"]


def test_without_output_the_lines_go_to_stdout_as_they_come(
        checkpoint, posts, tmp_path, capsys):
    assert run_predict("--checkpoint", checkpoint, "--input", posts,
                       "--chunk-size", 2) == 0
    out = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["tokens"] for line in out] == [
        s.tokens for s in corpus()]
    assert run_predict("--checkpoint", checkpoint, "--input", posts,
                       "--resume") == 1
    assert "give --output" in capsys.readouterr().err


def test_two_processes_write_the_bytes_of_one(checkpoint, posts, tmp_path,
                                              one_torch_thread):
    """torchrun with 2 CPU processes (gloo): each predicts every other
    chunk of 2 posts, the first joins the parts; a faulty line is counted
    once, whichever process read it."""
    with_bad_lines(posts, 4)
    single = tmp_path / "single.jsonl"
    assert run_predict("--checkpoint", checkpoint, "--input", posts,
                       "--output", single, "--chunk-size", 2) == 0
    shared = tmp_path / "shared.jsonl"
    completed = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone",
         "--nproc_per_node=2", "-m", "jmere_pyg.cli", "predict",
         "--checkpoint", str(checkpoint), "--input", str(posts), "--output",
         str(shared), "--chunk-size", "2"],
        env=dict(os.environ, OMP_NUM_THREADS="1"), capture_output=True,
        text=True, timeout=600)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert shared.read_bytes() == single.read_bytes()
    assert completed.stderr.count("1 faulty lines skipped") == 1
    assert not list(tmp_path.glob("shared.jsonl.partial*"))
