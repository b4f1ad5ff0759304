"""Geometric predicates between detected objects, decided from their boxes.

Every ordered pair ``(s, o)`` of distinct objects (subject ``s``, object
``o``) gets exactly one predicate, the first of these rules that holds.
Boxes are ``(x1, y1, x2, y2)`` in pixels, ``y`` growing downwards;
``area`` is ``(x2 - x1) * (y2 - y1)``, ``inter`` the area of the two boxes'
intersection:

1. ``inside``: ``area(s) > 0``, ``area(s) < area(o)`` and
   ``inter >= contain_ratio * area(s)`` (most of ``s`` lies in ``o``);
2. ``contains``: the same with ``s`` and ``o`` swapped;
3. ``overlapping``: intersection over union ``>= overlap_iou``;
4. ``near``: the gap between the boxes is at most ``near_ratio`` times
   their mean size. The gap is ``max(gap_x, gap_y)``, where ``gap_x`` is the
   distance between the boxes' x-intervals (0 when they overlap) and
   ``gap_y`` likewise; a box's size is the square root of its area. Boxes
   that intersect a little (below ``overlap_iou``) or touch are ``near``;
5. otherwise the direction along the axis of the larger gap (ties:
   horizontal): ``left of`` / ``right of`` when ``gap_x >= gap_y``, by the
   boxes' centres (``s`` left of ``o`` when ``cx(s) < cx(o)``), else
   ``above`` / ``below`` (``s`` above ``o`` when ``cy(s) < cy(o)``). A
   positive gap along an axis separates the centres along it, so the
   direction is always decided.

The predicates are consistent in both directions: ``(s, o)`` is ``inside``
exactly when ``(o, s)`` is ``contains``, ``left of`` when ``right of``,
``above`` when ``below``; ``overlapping`` and ``near`` are symmetric.
"""
import math
from typing import List, Sequence, Tuple, Union

from torch import Tensor

from ..data import SceneRelation

#: Every predicate :func:`geometric_relations` gives, in rule order.
PREDICATES = ("inside", "contains", "overlapping", "near", "left of",
              "right of", "above", "below")

Box = Tuple[float, float, float, float]


def geometric_relations(boxes: Union[Sequence[Sequence[float]], Tensor], *,
                        contain_ratio: float = 0.9, overlap_iou: float = 0.3,
                        near_ratio: float = 0.5) -> List[SceneRelation]:
    """The predicate of every ordered pair of distinct boxes (module
    docstring), ordered by subject then object index.

    Args:
        boxes (sequence of 4 numbers, or Tensor): ``[k, 4]`` boxes
            ``(x1, y1, x2, y2)`` with ``x1 <= x2`` and ``y1 <= y2``.
        contain_ratio (float, optional): Share of a smaller box that must
            lie in a larger one for ``inside`` / ``contains``. (default:
            ``0.9``)
        overlap_iou (float, optional): Intersection over union from which
            two boxes are ``overlapping``. (default: ``0.3``)
        near_ratio (float, optional): Largest gap, relative to the boxes'
            mean size, for ``near``. (default: ``0.5``)

    Returns:
        list of :class:`~jmere_pyg.data.SceneRelation`: ``k * (k - 1)``
        relations without score.

    Raises:
        ValueError: for a box that is not 4 finite numbers with
            ``x1 <= x2`` and ``y1 <= y2``, or thresholds out of range.
    """
    if not 0 < contain_ratio <= 1:
        raise ValueError(f"contain_ratio must be in (0, 1], got "
                         f"{contain_ratio}")
    if not 0 < overlap_iou <= 1:
        raise ValueError(f"overlap_iou must be in (0, 1], got {overlap_iou}")
    if near_ratio < 0:
        raise ValueError(f"near_ratio must be >= 0, got {near_ratio}")
    if isinstance(boxes, Tensor):
        boxes = boxes.tolist()
    checked = [_checked_box(box, i) for i, box in enumerate(boxes)]
    relations = []
    for s, subject in enumerate(checked):
        for o, obj in enumerate(checked):
            if s != o:
                predicate = _predicate(subject, obj, contain_ratio,
                                       overlap_iou, near_ratio)
                relations.append(SceneRelation(s, predicate, o))
    return relations


def _checked_box(box: Sequence[float], index: int) -> Box:
    values = [float(v) for v in box]
    if (len(values) != 4 or not all(math.isfinite(v) for v in values)
            or values[0] > values[2] or values[1] > values[3]):
        raise ValueError(f"boxes[{index}] must be 4 finite numbers "
                         f"(x1, y1, x2, y2) with x1 <= x2 and y1 <= y2, got "
                         f"{list(box)}")
    return tuple(values)


def _area(box: Box) -> float:
    return (box[2] - box[0]) * (box[3] - box[1])


def _predicate(s: Box, o: Box, contain_ratio: float, overlap_iou: float,
               near_ratio: float) -> str:
    area_s, area_o = _area(s), _area(o)
    inter = (max(0.0, min(s[2], o[2]) - max(s[0], o[0]))
             * max(0.0, min(s[3], o[3]) - max(s[1], o[1])))
    if 0 < area_s < area_o and inter >= contain_ratio * area_s:
        return "inside"
    if 0 < area_o < area_s and inter >= contain_ratio * area_o:
        return "contains"
    union = area_s + area_o - inter
    if union > 0 and inter >= overlap_iou * union:
        return "overlapping"
    gap_x = max(0.0, max(s[0], o[0]) - min(s[2], o[2]))
    gap_y = max(0.0, max(s[1], o[1]) - min(s[3], o[3]))
    size = (math.sqrt(area_s) + math.sqrt(area_o)) / 2
    if max(gap_x, gap_y) <= near_ratio * size:
        return "near"
    if gap_x >= gap_y:
        return "left of" if s[0] + s[2] < o[0] + o[2] else "right of"
    return "above" if s[1] + s[3] < o[1] + o[3] else "below"
