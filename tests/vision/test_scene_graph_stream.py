"""``jmere-pyg scene-graphs`` over a corpus: graphs written a chunk at a
time in either file form, the same as one extraction in memory, resumed
after an interruption, shared by two processes under torchrun; images read
ahead by a thread pool give the same graphs."""
import json
import os
import subprocess
import sys

import pytest

from jmere_pyg.cli import main
from jmere_pyg.data import read_scene_graphs, write_scene_graphs
from jmere_pyg.inference import images as images_module
from jmere_pyg.vision import ExtractorConfig, SceneGraphExtractor

from vision_testing import draw_scene


@pytest.fixture
def corpus(image_files):
    """Six image files, one of them unreadable."""
    draw_scene((120, 120), 3).save(image_files / "d.png")
    draw_scene((70, 150), 4).save(image_files / "e.jpg")
    (image_files / "f.jpg").write_bytes(b"not a picture")
    return image_files


@pytest.fixture
def detr(tiny_detector_paths):
    return ExtractorConfig(detector=tiny_detector_paths["detr"],
                           score_threshold=0.0, top_k=5, batch_size=2)


def scene_graphs(corpus, output, detr, *extra):
    return main(["scene-graphs", "--images", str(corpus), "--output",
                 str(output), "--detector", detr.detector, "--top-k", "5",
                 "--score-threshold", "0", "--batch-size", "2",
                 "--device", "cpu", "--chunk-size", "2", *map(str, extra)])


def test_read_ahead_gives_the_same_graphs(corpus, detr):
    extractor = SceneGraphExtractor(detr)
    paths = sorted(corpus.iterdir())
    ahead = extractor.extract(paths, workers=2)
    assert ahead == extractor.extract(paths, workers=0)
    assert len(ahead.graphs) == 5 and ahead.failed == {
        "f.jpg": "not-an-image"}


def test_streamed_files_hold_the_graphs_of_one_extraction(corpus, detr,
                                                          tmp_path, capsys):
    in_memory = SceneGraphExtractor(detr).extract(sorted(corpus.iterdir()))
    expected = tmp_path / "expected.json"
    write_scene_graphs(expected, in_memory.graphs)
    (tmp_path / "out").mkdir()
    one_object = tmp_path / "out" / "graphs.json"
    assert scene_graphs(corpus, one_object, detr, "--profile") == 0
    report = capsys.readouterr().out
    assert "6 images: 5 scene graphs, 1 failed (not-an-image 1)" in report
    assert "skipped f.jpg: not-an-image" in report
    assert "time: reading" in report
    assert one_object.read_bytes() == expected.read_bytes()
    lines = tmp_path / "out" / "graphs.jsonl"
    assert scene_graphs(corpus, lines, detr) == 0
    assert [json.loads(line)["image"] for line in
            lines.read_text().splitlines()] == sorted(in_memory.graphs)
    assert read_scene_graphs(lines) == in_memory.graphs
    assert scene_graphs(corpus, lines, detr) == 1  # exists
    assert "--overwrite" in capsys.readouterr().err


def test_an_interrupted_extraction_resumes(corpus, detr, tmp_path,
                                           monkeypatch, interrupt_at_call):
    whole = tmp_path / "whole.json"
    assert scene_graphs(corpus, whole, detr) == 0
    output = tmp_path / "graphs.json"
    interrupt_at_call(images_module._SceneGraphJob, "work", call=3)
    assert scene_graphs(corpus, output, detr) == 130  # interrupted
    monkeypatch.undo()
    assert len((tmp_path / "graphs.json.partial").read_text()
               .splitlines()) == 4
    assert scene_graphs(corpus, output, detr, "--resume") == 0
    assert output.read_bytes() == whole.read_bytes()


def test_two_processes_write_the_bytes_of_one(corpus, detr, tmp_path,
                                              one_torch_thread):
    single = tmp_path / "single.json"
    assert scene_graphs(corpus, single, detr) == 0
    shared = tmp_path / "shared.json"
    completed = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone",
         "--nproc_per_node=2", "-m", "jmere_pyg.cli", "scene-graphs",
         "--images", str(corpus), "--output", str(shared), "--detector",
         detr.detector, "--top-k", "5", "--score-threshold", "0",
         "--batch-size", "2", "--device", "cpu", "--chunk-size", "2"],
        env=dict(os.environ, OMP_NUM_THREADS="1"), capture_output=True,
        text=True, timeout=600)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert shared.read_bytes() == single.read_bytes()
    assert "6 images: 5 scene graphs, 1 failed" in completed.stdout
