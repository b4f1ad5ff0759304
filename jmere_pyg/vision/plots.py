"""A picture of a scene graph: the image with its boxes, labels and predicate
arrows, and optionally the quintuples extracted from the post beside it.

matplotlib is an optional extra (``pip install jmere_pyg[plot]``).
"""
import os
from pathlib import Path
from typing import Optional, Sequence, Union

from PIL import Image

from ..data import Quintuple, SceneGraph
from .images import read_image

PathLike = Union[str, os.PathLike]

#: Box colours, cycled over the objects.
COLOURS = ("#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4",
           "#42d4f4", "#f032e6", "#9a6324", "#808000", "#000075")


def plot_scene_graph(image_path_or_image: Union[PathLike, Image.Image],
                     graph: SceneGraph, path: PathLike,
                     quintuples: Optional[Sequence[Quintuple]] = None,
                     tokens: Optional[Sequence[str]] = None, *,
                     max_side: int = 1333) -> Path:
    """Draws ``graph`` on its image and writes a PNG to ``path``.

    Each object is a box with ``label score``; each pair of objects gets
    one arrow, subject to object, labelled with its predicate (the relation
    of the lower-indexed object to the other: the reverse relation is its
    inverse and is not drawn again).

    Args:
        image_path_or_image (str or PIL.Image.Image): An image file (read
            with :func:`~jmere_pyg.vision.load_image`; the graph's boxes are
            in its full-resolution pixels) or a picture whose pixels the
            boxes refer to.
        graph (SceneGraph): The scene graph of that image.
        path (str): The PNG file to write.
        quintuples (sequence of Quintuple, optional): Listed beside the
            image (e.g. those extracted from the post).
        tokens (sequence of str, optional): The post's words, to show the
            quintuples' entities as text instead of word spans.
        max_side (int, optional): Long side of the drawn image read from a
            file. (default: ``1333``)

    Returns:
        pathlib.Path: ``path``.

    Raises:
        ImageError: when the image file cannot be read.
    """
    try:
        from matplotlib.figure import Figure
        from matplotlib.patches import Rectangle
    except ImportError as error:
        raise ImportError("plots need matplotlib: pip install "
                          "'jmere_pyg[plot]'") from error
    if isinstance(image_path_or_image, Image.Image):
        image, scale = image_path_or_image.convert("RGB"), 1.0
    else:
        loaded = read_image(image_path_or_image, max_side)
        image = loaded.image
        scale = image.size[0] / loaded.original_size[0]
    width, height = image.size
    with_text = quintuples is not None
    figure = Figure(figsize=(6 + (5 if with_text else 0), 6 * height
                             / max(width, height) + 0.5))
    axes = figure.add_axes([0, 0, 6 / (11 if with_text else 6), 1])
    axes.imshow(image)
    axes.set_axis_off()
    centres = []
    for i, obj in enumerate(graph.objects):
        x1, y1, x2, y2 = (v * scale for v in obj.box)
        colour = COLOURS[i % len(COLOURS)]
        axes.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False,
                                 edgecolor=colour, linewidth=2))
        axes.text(x1, y1, f"{i}: {obj.label} {obj.score:.2f}", fontsize=7,
                  color="white", va="bottom",
                  bbox=dict(facecolor=colour, alpha=0.8, pad=1,
                            edgecolor="none"))
        centres.append(((x1 + x2) / 2, (y1 + y2) / 2))
    for relation in graph.relations:
        if relation.subject >= relation.object:
            continue
        sx, sy = centres[relation.subject]
        ox, oy = centres[relation.object]
        axes.annotate("", xy=(ox, oy), xytext=(sx, sy),
                      arrowprops=dict(arrowstyle="->", color="yellow",
                                      alpha=0.7, linewidth=1))
        axes.text((sx + ox) / 2, (sy + oy) / 2, relation.predicate,
                  fontsize=6, color="black", ha="center", va="center",
                  bbox=dict(facecolor="yellow", alpha=0.6, pad=0.5,
                            edgecolor="none"))
    axes.set_xlim(0, width)
    axes.set_ylim(height, 0)
    if with_text:
        text_axes = figure.add_axes([6 / 11 + 0.02, 0, 5 / 11 - 0.02, 1])
        text_axes.set_axis_off()
        lines = ["Quintuples:"] + ([_describe(q, tokens) for q in quintuples]
                                   or ["(none)"])
        text_axes.text(0, 0.97, "\n".join(lines), fontsize=8, va="top",
                       family="monospace", wrap=True)
    figure.savefig(path, format="png", dpi=100)
    return Path(path)


def _describe(quintuple: Quintuple, tokens: Optional[Sequence[str]]) -> str:
    def entity(e):
        words = (" ".join(tokens[e.start:e.end]) if tokens is not None
                 else f"[{e.start}, {e.end})")
        return f"{words} ({e.type})"
    return (f"{entity(quintuple.head)} --{quintuple.relation}--> "
            f"{entity(quintuple.tail)}")
