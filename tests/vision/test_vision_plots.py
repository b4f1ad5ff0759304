import pytest
from PIL import Image

from jmere_pyg.data import Entity, Quintuple, SceneGraph, SceneObject
from jmere_pyg.vision import (ImageError, geometric_relations,
                              plot_scene_graph, plots)
from jmere_pyg.vision.plots import picture_names

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


def ten_objects():
    """Ten objects, four of them sharing a corner (their labels would
    cover each other), and their 45 pairs' predicates."""
    boxes = [(20 + 55 * i, 30 + 25 * (i % 3), 70 + 55 * i, 120 + 25 * (i % 3))
             for i in range(6)]
    boxes += [(300, 200, 300 + 30 * k, 260 + 10 * k) for k in range(1, 5)]
    labels = ["man", "woman", "ball", "dog", "tree", "car", "shirt", "hat",
              "sign", "grass"]
    objects = [SceneObject(label, 0.95 - 0.07 * i, box)
               for i, (label, box) in enumerate(zip(labels, boxes))]
    return SceneGraph(objects, geometric_relations(boxes))


def test_labels_of_ten_objects_do_not_cover_each_other():
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6, 4), dpi=100)
    renderer = FigureCanvasAgg(figure).get_renderer()
    axes = figure.add_axes([0, 0, 1, 1])
    axes.set_xlim(0, 600)
    axes.set_ylim(400, 0)
    placer = plots._LabelPlacer(axes, renderer)
    for i, obj in enumerate(ten_objects().objects):
        placer.place(obj.box[0], obj.box[1], f"{i}: {obj.label} 0.95",
                     color="white", facecolor="red")
    extents = placer.placed
    assert len(extents) == 10
    for i, first in enumerate(extents):
        assert all(not first.overlaps(other) for other in extents[i + 1:])
    frame = axes.get_window_extent(renderer)
    assert all(e.x1 <= frame.x1 + 1e-6 and e.y1 <= frame.y1 + 1e-6
               for e in extents)


def test_only_the_most_confident_pairs_get_a_predicate():
    graph = ten_objects()
    assert len(graph.relations) == 90  # both directions of 45 pairs
    shown = plots._shown_relations(graph, plots.DEFAULT_PREDICATES)
    assert [(r.subject, r.object) for r in shown] == [(0, 1), (0, 2),
                                                       (1, 2)]
    assert len(plots._shown_relations(graph, None)) == 45


def test_predict_picture_lists_the_post_and_the_confidences(tmp_path):
    tokens = ["Stephen", "Curry", "lives", "in", "Oakland"]
    quintuples = [Quintuple(Entity(0, 2, "per"), Entity(4, 5, "loc"),
                            "/per/loc/place_lived")]
    lines = plots._side_text(quintuples, tokens, [0.8731])
    assert lines[:2] == ["Post:", "Stephen Curry lives in Oakland"]
    assert ("0.87  Stephen Curry (per) --/per/loc/place_lived--> Oakland "
            "(loc)") in lines
    out = plot_scene_graph(draw_scene((640, 480)), ten_objects(),
                           tmp_path / "post0_a.png", quintuples=quintuples,
                           tokens=tokens, confidences=[0.8731])
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="one confidence per quintuple"):
        plot_scene_graph(draw_scene((64, 48)), ten_objects(),
                         tmp_path / "x.png", quintuples=quintuples,
                         confidences=[0.5, 0.5])


def test_pictures_are_named_after_their_images():
    assert picture_names(["rocket.jpg", "crowd.PNG", "a.b.tif"]) == {
        "rocket.jpg": "rocket.png", "crowd.PNG": "crowd.png",
        "a.b.tif": "a.b.png"}
    # names that differ only in their suffix keep it: no picture replaces
    # another
    assert picture_names(["x.jpg", "x.png", "X.gif", "y.jpg"]) == {
        "X.gif": "X.gif.png", "x.jpg": "x.jpg.png", "x.png": "x.png.png",
        "y.jpg": "y.png"}
    names = picture_names(["x.jpg", "x.png", "x.jpg.png", "x.png.png"])
    assert len({name.lower() for name in names.values()}) == 4
