import pytest
from PIL import Image

from jmere_pyg.data import Entity, Quintuple, SceneGraph, SceneObject
from jmere_pyg.vision import ImageError, geometric_relations, plot_scene_graph

from vision_testing import draw_scene

pytest.importorskip("matplotlib")


def graph_of(boxes):
    objects = [SceneObject(label, 0.9 - 0.1 * i, box)
               for i, (label, box) in enumerate(zip(["man", "ball", "dog"],
                                                    boxes))]
    return SceneGraph(objects, geometric_relations(boxes))


def test_plot_writes_a_png_with_quintuples(tmp_path):
    draw_scene((400, 300)).save(tmp_path / "post.jpg")
    graph = graph_of([(10, 20, 150, 290), (160, 200, 220, 260),
                      (250, 100, 390, 290)])
    quintuples = [Quintuple(Entity(0, 2, "per"), Entity(4, 5, "loc"),
                            "/per/loc/place_lived")]
    tokens = ["Stephen", "Curry", "lives", "in", "Oakland"]
    out = plot_scene_graph(tmp_path / "post.jpg", graph, tmp_path / "a.png",
                           quintuples=quintuples, tokens=tokens)
    assert out == tmp_path / "a.png"
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(out) as picture:
        assert picture.width > picture.height  # the text panel is beside


def test_plot_of_an_in_memory_image_and_a_downscaled_file(tmp_path):
    graph = graph_of([(0, 0, 50, 50), (60, 10, 90, 40)])
    plot_scene_graph(draw_scene((100, 80)), graph, tmp_path / "b.png")
    draw_scene((2000, 1600)).save(tmp_path / "large.png")
    plot_scene_graph(tmp_path / "large.png", graph, tmp_path / "c.png",
                     max_side=200)
    for name in ("b.png", "c.png"):
        with Image.open(tmp_path / name) as picture:
            assert picture.format == "PNG"
    with pytest.raises(ImageError, match="gone.jpg"):
        plot_scene_graph(tmp_path / "gone.jpg", graph, tmp_path / "d.png")
