"""A picture of a scene graph: the image with its boxes and labels, the
predicates of a few object pairs, and optionally the post and the
quintuples extracted from it beside the image.

Labels never cover each other: each one is moved down, below the labels
already placed, until it is free, and stays inside the image.

matplotlib is an optional extra (``pip install jmere_pyg[plot]``).
"""
import os
import textwrap
from collections import Counter
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Union

from PIL import Image

from ..data import Quintuple, SceneGraph, SceneRelation
from .images import read_image

PathLike = Union[str, os.PathLike]

#: Box colours, cycled over the objects.
COLOURS = ("#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4",
           "#42d4f4", "#f032e6", "#9a6324", "#808000", "#000075")
#: Predicates drawn by default: more arrows hide the photo.
DEFAULT_PREDICATES = 3
#: Characters per line of the text beside the image.
TEXT_WIDTH = 70


def plot_scene_graph(image_path_or_image: Union[PathLike, Image.Image],
                     graph: SceneGraph, path: PathLike,
                     quintuples: Optional[Sequence[Quintuple]] = None,
                     tokens: Optional[Sequence[str]] = None, *,
                     confidences: Optional[Sequence[float]] = None,
                     predicates: Optional[int] = DEFAULT_PREDICATES,
                     max_side: int = 1333) -> Path:
    """Draws ``graph`` on its image and writes a PNG to ``path``.

    Each object is a box labelled ``index: label score``. The predicates of
    the ``predicates`` object pairs whose less confident object scores
    highest are arrows from subject to object, labelled with the predicate
    (the relation of the lower-indexed object to the other; the reverse
    relation is its inverse and is not drawn).

    Args:
        image_path_or_image (str or PIL.Image.Image): An image file (read
            with :func:`~jmere_pyg.vision.load_image`; the graph's boxes are
            in its full-resolution pixels) or a picture whose pixels the
            boxes refer to.
        graph (SceneGraph): The scene graph of that image.
        path (str): The PNG file to write.
        quintuples (sequence of Quintuple, optional): Listed beside the
            image (e.g. those extracted from the post).
        tokens (sequence of str, optional): The post's words, written beside
            the image and used to show the quintuples' entities as text
            instead of word spans.
        confidences (sequence of float, optional): The confidence of each
            quintuple, listed with it.
        predicates (int, optional): How many object pairs get their
            predicate drawn; ``None`` draws every pair. (default: ``3``)
        max_side (int, optional): Long side of the drawn image read from a
            file. (default: ``1333``)

    Returns:
        pathlib.Path: ``path``.

    Raises:
        ImageError: when the image file cannot be read.
        ValueError: when ``confidences`` and ``quintuples`` differ in
            length.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.patches import Rectangle
    except ImportError as error:
        raise ImportError("plots need matplotlib: pip install "
                          "'jmere_pyg[plot]'") from error
    if confidences is not None and (
            quintuples is None or len(confidences) != len(quintuples)):
        raise ValueError("give one confidence per quintuple")
    if isinstance(image_path_or_image, Image.Image):
        image, scale = image_path_or_image.convert("RGB"), 1.0
    else:
        loaded = read_image(image_path_or_image, max_side)
        image = loaded.image
        scale = image.size[0] / loaded.original_size[0]
    width, height = image.size
    with_text = quintuples is not None or tokens is not None
    figure = Figure(figsize=(6 + (5 if with_text else 0), 6 * height
                             / max(width, height) + 0.5), dpi=100)
    renderer = FigureCanvasAgg(figure).get_renderer()
    axes = figure.add_axes([0, 0, 6 / (11 if with_text else 6), 1])
    axes.imshow(image)
    axes.set_axis_off()
    axes.set_xlim(0, width)
    axes.set_ylim(height, 0)
    labels = _LabelPlacer(axes, renderer)
    boxes = [tuple(v * scale for v in obj.box) for obj in graph.objects]
    for i, (obj, (x1, y1, x2, y2)) in enumerate(zip(graph.objects, boxes)):
        colour = COLOURS[i % len(COLOURS)]
        axes.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False,
                                 edgecolor=colour, linewidth=1.5))
        labels.place(x1, y1, f"{i}: {obj.label} {obj.score:.2f}",
                     color="white", facecolor=colour)
    centres = [((x1 + x2) / 2, (y1 + y2) / 2) for x1, y1, x2, y2 in boxes]
    for relation in _shown_relations(graph, predicates):
        (sx, sy), (ox, oy) = centres[relation.subject], centres[
            relation.object]
        axes.annotate("", xy=(ox, oy), xytext=(sx, sy),
                      arrowprops=dict(arrowstyle="->", color="yellow",
                                      alpha=0.8, linewidth=1))
        labels.place((sx + ox) / 2, (sy + oy) / 2,
                     f"{relation.subject} {relation.predicate} "
                     f"{relation.object}", color="black", facecolor="yellow")
    if with_text:
        text_axes = figure.add_axes([6 / 11 + 0.02, 0, 5 / 11 - 0.02, 1])
        text_axes.set_axis_off()
        text_axes.text(0, 0.97, "\n".join(_side_text(quintuples, tokens,
                                                     confidences)),
                       fontsize=8, va="top", family="monospace")
    figure.savefig(path, format="png", dpi=100)
    return Path(path)


def picture_names(image_names: Iterable[str]) -> Dict[str, str]:
    """Image file name -> the file name of its picture: ``rocket.jpg`` ->
    ``rocket.png``. Images whose names differ only in their suffix keep it
    (``rocket.jpg.png`` and ``rocket.png.png``), so that no picture replaces
    another (names compared ignoring case)."""
    names = sorted(image_names)
    stems = Counter(Path(name).stem.lower() for name in names)
    pictures: Dict[str, str] = {}
    taken = set()
    for name in names:
        stem = Path(name).stem
        picture = f"{stem if stems[stem.lower()] == 1 else name}.png"
        number = 1
        while picture.lower() in taken:
            number += 1
            picture = f"{name}_{number}.png"
        taken.add(picture.lower())
        pictures[name] = picture
    return pictures


class _LabelPlacer:
    """Writes labels on an image's axes so that none covers another: a label
    that would is moved down below the one it meets, until it is free."""

    def __init__(self, axes, renderer):
        self.axes = axes
        self.renderer = renderer
        self.placed = []  # display-space extents of the labels so far

    def place(self, x: float, y: float, text: str, *, color: str,
              facecolor: str) -> None:
        """A label whose lower left corner is at ``(x, y)`` (image pixels),
        or as near below it as is free."""
        label = self.axes.text(x, y, text, fontsize=7, color=color,
                               va="bottom", ha="left", zorder=5,
                               bbox=dict(facecolor=facecolor, alpha=0.85,
                                         pad=1, edgecolor="none"))
        label.update_bbox_position_size(self.renderer)
        extent = label.get_bbox_patch().get_window_extent(self.renderer)
        frame = self.axes.get_window_extent(self.renderer)
        # Inside the image first: from the right and top edges.
        dx = min(0.0, frame.x1 - extent.x1)
        dy = min(0.0, frame.y1 - extent.y1)
        extent = extent.translated(dx, dy)
        for _ in range(len(self.placed) + 1):
            met = next((other for other in self.placed
                        if extent.overlaps(other)), None)
            if met is None:
                break
            step = met.y0 - extent.y1 - 1  # just below the label met
            dy += step
            extent = extent.translated(0, step)
        self._move(label, dx, dy)
        self.placed.append(extent)

    def _move(self, label, dx: float, dy: float) -> None:
        """Shift ``label`` by ``(dx, dy)`` display pixels."""
        to_display = self.axes.transData
        x, y = to_display.transform(label.get_position())
        label.set_position(to_display.inverted().transform((x + dx, y + dy)))


def _shown_relations(graph: SceneGraph,
                     limit: Optional[int]) -> List[SceneRelation]:
    """The relations drawn: one per object pair (subject index lower than
    object index), the ``limit`` pairs whose less confident object scores
    highest (all with ``None``)."""
    pairs = [r for r in graph.relations if r.subject < r.object]
    scores = [obj.score for obj in graph.objects]
    pairs.sort(key=lambda r: (-min(scores[r.subject], scores[r.object]),
                              r.subject, r.object))
    return pairs if limit is None else pairs[:limit]


def _side_text(quintuples: Optional[Sequence[Quintuple]],
               tokens: Optional[Sequence[str]],
               confidences: Optional[Sequence[float]]) -> List[str]:
    """The lines beside the image: the post, then the quintuples with their
    confidences, wrapped to :data:`TEXT_WIDTH` characters."""
    lines = []
    if tokens is not None:
        lines += ["Post:", *textwrap.wrap(" ".join(tokens), TEXT_WIDTH), ""]
    if quintuples is not None:
        lines.append(("Quintuples (confidence first):" if confidences
                      is not None else "Quintuples:") if quintuples
                     else "Quintuples: (none)")
        for i, quintuple in enumerate(quintuples):
            confidence = ("" if confidences is None
                          else f"{confidences[i]:.2f}  ")
            lines += textwrap.wrap(confidence + _describe(quintuple, tokens),
                                   TEXT_WIDTH, subsequent_indent="      ")
    return lines


def _describe(quintuple: Quintuple, tokens: Optional[Sequence[str]]) -> str:
    def entity(e):
        words = (" ".join(tokens[e.start:e.end]) if tokens is not None
                 else f"[{e.start}, {e.end})")
        return f"{words} ({e.type})"
    return (f"{entity(quintuple.head)} --{quintuple.relation}--> "
            f"{entity(quintuple.tail)}")
