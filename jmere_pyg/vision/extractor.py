"""Scene graphs from images with a pretrained object detector.

:class:`SceneGraphExtractor` loads a detector through transformers
(``AutoModelForObjectDetection`` + ``AutoImageProcessor``, by Hugging Face
name or local folder; DETR, Conditional DETR, Deformable DETR, YOLOS and
RT-DETR are tested) and turns each image into a
:class:`~jmere_pyg.data.SceneGraph`:

* every detector query (a DETR-family or RT-DETR decoder query, a YOLOS
  detection token) is one candidate object; its score and label are those
  of its best class: softmax over the classes without the last "no object"
  class when the detector has one (DETR, YOLOS: ``num_labels + 1`` logits),
  sigmoid otherwise (Conditional / Deformable DETR, RT-DETR). This is the
  per-query score of ``image_processor.post_process_object_detection``;
  for sigmoid detectors, whose post-processing may list one query under
  several classes, only the query's best class is kept;
* kept: the ``top_k`` queries of highest score above ``score_threshold``,
  ordered by score (ties: the lower query index);
* per kept object: ``label`` (the detector's ``id2label``), ``score``,
  ``box`` ``(x1, y1, x2, y2)`` in pixels of the full-resolution upright
  image, clipped to it, and ``feature``: the detector's final hidden state
  of that query (``outputs.last_hidden_state[b, query]``; for YOLOS the
  detection token's), ``[feature_dim]``;
* relations: the geometric predicates of
  :func:`~jmere_pyg.vision.predicates.geometric_relations` between every
  ordered pair of kept objects.

Default detector
----------------
``PekingU/rtdetr_r50vd`` (RT-DETR, ResNet-50-vd backbone). Published COCO
val2017 box AP, from the model cards (not measured here): RT-DETR R50 53.1,
RT-DETR R18 46.5, DETR R50 42.0, YOLOS-small 36.1, YOLOS-tiny 28.7. Speed
was measured here with random weights at the real architecture sizes
(``benchmarks/speed/vision.py``, ``benchmarks/results/vision.md``: CPU time
per image on one thread): RT-DETR R50 has the highest published AP and, at its
fixed 640 x 640 input, needs less CPU time per image than DETR R50,
Conditional / Deformable DETR R50 and YOLOS-small at their 800-pixel
inputs. RT-DETR R18 takes about half of its time for 6.6 AP less: the
choice for slow machines (``--detector PekingU/rtdetr_r18vd``).
"""
import functools
import hashlib
import inspect
import math
import os
import socket
from collections import Counter, deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import (Deque, Dict, Iterator, List, Mapping, Optional, Sequence,
                    Tuple, Union)

import torch
from PIL import Image
from torch import Tensor

from ..config_base import DictConfig
from ..data import SceneGraph, SceneObject, image_key
from .images import ImageError, LoadedImage, read_image
from .predicates import geometric_relations

PathLike = Union[str, os.PathLike]

#: The detector used when none is named (module docstring).
DEFAULT_DETECTOR = "PekingU/rtdetr_r50vd"

#: Longest side / shortest side of the pictures given to a detector
#: (:meth:`SceneGraphExtractor.extract_images` pads longer ones). Image
#: processors bounded by a longest edge (DETR family, YOLOS) give such an
#: image's content the same pixels padded or not; unpadded, a very long
#: image gets a side of 0 pixels after resizing (YOLOS rounds sides down to
#: multiples of 16), and the processor fails.
MAX_ASPECT_RATIO = 5

#: Batches of images :meth:`SceneGraphExtractor.extract` reads ahead of the
#: detector when given workers.
PREFETCH_BATCHES = 2


@dataclass
class ExtractorConfig(DictConfig):
    """Settings of a :class:`SceneGraphExtractor`; ``to_dict()`` is the
    extractor's identity, saved beside extracted graphs and in checkpoints.

    Args:
        detector (str): Hugging Face name or local folder of an object
            detector with its image processor. (default:
            :data:`DEFAULT_DETECTOR`)
        top_k (int): Most objects kept per image, by score; the paper keeps
            10. (default: ``10``)
        score_threshold (float): Objects must score above it, in
            ``[0, 1)``. (default: ``0.3``)
        max_image_side (int): Images are resized so that their long side is
            at most this many pixels before the detector's own resizing.
            (default: ``1333``)
        batch_size (int): Images per detector call. (default: ``4``)
        contain_ratio (float), overlap_iou (float), near_ratio (float):
            Thresholds of :func:`~jmere_pyg.vision.geometric_relations`.
            (default: ``0.9``, ``0.3``, ``0.5``)
    """
    unknown_keys_message = "unknown scene-graph extractor settings"

    detector: str = DEFAULT_DETECTOR
    top_k: int = 10
    score_threshold: float = 0.3
    max_image_side: int = 1333
    batch_size: int = 4
    contain_ratio: float = 0.9
    overlap_iou: float = 0.3
    near_ratio: float = 0.5

    def __post_init__(self):
        checks = [
            (bool(self.detector), "detector", "a non-empty name or folder"),
            (self.top_k >= 1, "top_k", ">= 1"),
            (0 <= self.score_threshold < 1, "score_threshold", "in [0, 1)"),
            (self.max_image_side >= 32, "max_image_side", ">= 32"),
            (self.batch_size >= 1, "batch_size", ">= 1"),
            (0 < self.contain_ratio <= 1, "contain_ratio", "in (0, 1]"),
            (0 < self.overlap_iou <= 1, "overlap_iou", "in (0, 1]"),
            (self.near_ratio >= 0, "near_ratio", ">= 0"),
        ]
        for ok, name, allowed in checks:
            if not ok:
                raise ValueError(f"ExtractorConfig.{name} must be {allowed}, "
                                 f"got {getattr(self, name)!r}")


@dataclass
class ExtractionResult:
    """What :meth:`SceneGraphExtractor.extract` made of a list of images.

    Attributes:
        graphs (dict): image file base name
            (:func:`~jmere_pyg.data.image_key`) -> scene graph.
        failed (dict): image file base name -> reason category of an
            unreadable image (one of
            :data:`~jmere_pyg.vision.images.IMAGE_ERROR_REASONS`).
        errors (dict): image file base name -> the full error message.
    """
    graphs: Dict[str, SceneGraph] = field(default_factory=dict)
    failed: Dict[str, str] = field(default_factory=dict)
    errors: Dict[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        """E.g. ``12 images: 11 scene graphs, 1 failed (corrupt 1)``."""
        return extraction_summary(len(self.graphs),
                                  Counter(self.failed.values()))


def extraction_summary(graphs: int, failed: Mapping[str, int]) -> str:
    """:meth:`ExtractionResult.summary` of ``graphs`` scene graphs and
    ``failed`` images by reason (summed over several extractions)."""
    total = graphs + sum(failed.values())
    text = (f"{total} image{'s' if total != 1 else ''}: {graphs} scene "
            f"graph{'s' if graphs != 1 else ''}, {sum(failed.values())} "
            f"failed")
    if any(failed.values()):
        text += " (" + ", ".join(f"{reason} {failed[reason]}"
                                 for reason in sorted(failed)
                                 if failed[reason]) + ")"
    return text


class DetectorLoadError(OSError):
    """A detector that cannot be loaded; the message says how to point at a
    local detector folder."""


def load_detector(detector: str, *, local_files_only: bool = False):
    """The model (in eval mode) and image processor of ``detector``.

    A local folder is read as it is. A Hugging Face name is looked up in the
    local Hugging Face cache first and downloaded only when it is not there,
    ``local_files_only`` is false and the Hub can be reached.

    Raises:
        DetectorLoadError: naming the detector and saying how to point at a
            local folder.
    """
    from transformers import AutoImageProcessor, AutoModelForObjectDetection

    def load(**kwargs):
        processor = AutoImageProcessor.from_pretrained(detector, **kwargs)
        model = AutoModelForObjectDetection.from_pretrained(detector,
                                                            **kwargs)
        return model.eval(), processor

    if os.path.isdir(detector):
        try:
            return load(local_files_only=True)
        except (OSError, ValueError, KeyError) as error:
            raise DetectorLoadError(
                f"the folder {detector!r} does not hold an object detector "
                f"transformers can load (config.json, weights and "
                f"preprocessor_config.json, as written by save_pretrained): "
                f"{error}") from None
    how = ("Point at a local detector folder (one written by "
           "save_pretrained, or `huggingface-cli download NAME "
           "--local-dir DIR` on a machine online) with `--detector DIR` "
           "(ExtractorConfig(detector=DIR)).")
    if _looks_like_path(detector):
        raise DetectorLoadError(f"the detector folder {detector!r} does not "
                                f"exist. {how}")
    try:
        return load(local_files_only=True)
    except (OSError, ValueError) as cached_error:
        if local_files_only:
            raise DetectorLoadError(
                f"the object detector {detector!r} is not in the local "
                f"Hugging Face cache and downloads are off "
                f"({cached_error}). {how}") from None
    if not _hub_reachable():
        raise DetectorLoadError(
            f"the object detector {detector!r} is not in the local Hugging "
            f"Face cache and {_hub_endpoint()[0]} cannot be reached "
            f"(offline?). {how}")
    try:
        return load()
    except (OSError, ValueError) as error:
        raise DetectorLoadError(
            f"cannot load the object detector {detector!r}: it is not in "
            f"the local Hugging Face cache and could not be downloaded "
            f"(offline?): {error}. {how}") from None


def _hub_endpoint() -> Tuple[str, int]:
    """Host and port of the Hugging Face Hub (``HF_ENDPOINT``)."""
    from urllib.parse import urlparse

    from huggingface_hub import constants

    url = urlparse(constants.ENDPOINT)
    return url.hostname or "", url.port or (443 if url.scheme == "https"
                                            else 80)


def _hub_reachable(timeout: float = 3.0) -> bool:
    """Whether a TCP connection to the Hub opens within ``timeout`` seconds
    (true behind a proxy, which is not probed), so that an offline machine
    gets its answer at once instead of after the download's retries."""
    if any(os.environ.get(name) for name in (
            "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy",
            "ALL_PROXY", "all_proxy")):
        return True
    try:
        socket.create_connection(_hub_endpoint(), timeout=timeout).close()
    except OSError:
        return False
    return True


def detector_identity(detector: str) -> Optional[Dict[str, Optional[str]]]:
    """What the detector ``detector`` is, however its name is written, for
    comparing detectors by content (resolved as :func:`load_detector`
    resolves it):

    * a local folder: ``{"sha256": ...}``, the :func:`detector_digest` of
      its files;
    * a Hugging Face name: ``{"hub_id": name, "revision": ...}``, the commit
      of the snapshot in the local Hugging Face cache (``None`` when it is
      not cached), plus ``"sha256"``, the digest of that snapshot, when
      cached, so that a downloaded copy of it in a local folder is the same
      detector;
    * ``None`` for a folder that does not exist (loading it names it).
    """
    if os.path.isdir(detector):
        return {"sha256": detector_digest(detector)}
    if _looks_like_path(detector):
        return None
    from huggingface_hub import try_to_load_from_cache
    try:
        cached = try_to_load_from_cache(detector, "config.json")
    except ValueError:  # not a valid repository id: never cached
        cached = None
    if not isinstance(cached, str):  # not cached, or cached as missing
        return {"hub_id": detector, "revision": None}
    snapshot = Path(cached).parent  # .../snapshots/<commit>/config.json
    return {"hub_id": detector, "revision": snapshot.name,
            "sha256": detector_digest(snapshot)}


def detector_digest(folder: PathLike) -> str:
    """SHA-256 of the files that make the detector in ``folder`` what it
    is: ``config.json``, ``preprocessor_config.json`` (it decides the pixels
    the detector sees) and the weights transformers loads (the
    ``*.safetensors`` files, else the ``*.bin`` ones), names and bytes.
    Read once per process while the files' sizes and times stay the same.
    """
    folder = Path(folder)
    files = [folder / name for name in ("config.json",
                                        "preprocessor_config.json")
             if (folder / name).is_file()]
    files += (sorted(folder.glob("*.safetensors"))
              or sorted(folder.glob("*.bin")))
    return _digest(tuple((str(path.absolute()), path.stat().st_size,
                          path.stat().st_mtime_ns) for path in files))


@functools.lru_cache(maxsize=16)
def _digest(files: Tuple[Tuple[str, int, int], ...]) -> str:
    """SHA-256 of each ``(path, size, mtime)``'s file name, size and bytes;
    the size and time are in the key so that a changed file is read
    again."""
    digest = hashlib.sha256()
    for path, size, _ in files:
        digest.update(f"{Path(path).name}\0{size}\0".encode())
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def _looks_like_path(name: str) -> bool:
    """Hugging Face names are ``name`` or ``owner/name``; anything else with
    a separator, or starting like a path, is meant as a folder."""
    normalised = name.replace(os.sep, "/")
    return (normalised.startswith(("/", ".", "~"))
            or normalised.count("/") > 1 or normalised.endswith("/"))


class SceneGraphExtractor:
    """Images -> scene graphs with an object detector (module docstring).

    Args:
        config (ExtractorConfig, optional): Settings; the defaults when
            ``None``.
        device (str or torch.device, optional): Where the detector runs.
            (default: ``'cpu'``)
        local_files_only (bool, optional): Never download the detector.
            (default: ``False``)

    Raises:
        DetectorLoadError: when the detector cannot be loaded.
    """

    def __init__(self, config: Optional[ExtractorConfig] = None,
                 device: Union[str, torch.device] = "cpu", *,
                 local_files_only: bool = False):
        self.config = config if config is not None else ExtractorConfig()
        self.device = torch.device(device)
        self.model, self.image_processor = load_detector(
            self.config.detector, local_files_only=local_files_only)
        self.model.to(self.device)
        model_config = self.model.config
        self.id2label = {int(k): v for k, v in model_config.id2label.items()}
        self.num_labels = len(self.id2label)
        self.is_yolos = model_config.model_type == "yolos"
        accepted = inspect.signature(self.model.forward).parameters
        self.input_names = [name for name in ("pixel_values", "pixel_mask")
                             if name in accepted]
        self.feature_dim = int(getattr(model_config, "d_model", None)
                               or model_config.hidden_size)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.config.detector!r}, "
                f"top_k={self.config.top_k}, device={self.device})")

    def extract(self, paths: Sequence[PathLike], *,
                progress: bool = False,
                workers: int = 0) -> ExtractionResult:
        """Scene graphs of the image files ``paths``.

        Unreadable images (:class:`~jmere_pyg.vision.ImageError`) are
        recorded in ``result.failed`` with their reason, never raised.

        Args:
            paths (sequence of str): Image files; their base names must be
                distinct (graphs are keyed by them).
            progress (bool, optional): Show a progress bar. (default:
                ``False``)
            workers (int, optional): Threads that read (decode and resize)
                the images of the next :data:`PREFETCH_BATCHES` batches
                while the detector works on the current one; ``0`` reads
                each batch when its turn comes. The graphs are the same.
                (default: ``0``)

        Raises:
            ValueError: when two paths share a base name.
        """
        from tqdm.auto import tqdm

        keys: Dict[str, PathLike] = {}
        for path in paths:
            key = image_key(os.fspath(path))
            if key in keys:
                raise ValueError(
                    f"two images share the file name {key!r} "
                    f"({os.fspath(keys[key])}, {os.fspath(path)}); scene "
                    f"graphs are keyed by file name")
            keys[key] = path
        result = ExtractionResult()
        with tqdm(total=len(keys), unit="image", disable=not progress,
                  desc="scene graphs") as bar:
            for batch in self._read_batches(list(keys.items()), workers):
                loaded: List[Tuple[str, LoadedImage]] = []
                for key, image in batch:
                    if isinstance(image, ImageError):
                        result.failed[key] = image.reason
                        result.errors[key] = str(image)
                    else:
                        loaded.append((key, image))
                if loaded:
                    graphs = self.extract_images(
                        [image.image for _, image in loaded],
                        [image.original_size for _, image in loaded])
                    for (key, _), graph in zip(loaded, graphs):
                        result.graphs[key] = graph
                bar.update(len(batch))
        return result

    def _read_batches(self, items: Sequence[Tuple[str, PathLike]],
                      workers: int
                      ) -> Iterator[List[Tuple[str, Union[LoadedImage,
                                                          ImageError]]]]:
        """``(key, image or its ImageError)`` of ``items``, a batch of
        ``config.batch_size`` at a time; with ``workers``, read ahead in a
        thread pool (at most :data:`PREFETCH_BATCHES` batches beyond the
        one given out)."""
        def read(path):
            try:
                return read_image(path, self.config.max_image_side)
            except ImageError as error:
                return error

        size = self.config.batch_size
        batches = (items[start:start + size]
                   for start in range(0, len(items), size))
        if workers <= 0:
            for batch in batches:
                yield [(key, read(path)) for key, path in batch]
            return
        with ThreadPoolExecutor(workers) as pool:
            ahead: Deque[List[Tuple[str, Future]]] = deque()
            for batch in batches:
                ahead.append([(key, pool.submit(read, path))
                              for key, path in batch])
                if len(ahead) > PREFETCH_BATCHES:
                    yield [(key, future.result())
                           for key, future in ahead.popleft()]
            while ahead:
                yield [(key, future.result())
                       for key, future in ahead.popleft()]

    @torch.inference_mode()
    def extract_images(self, images: Sequence[Image.Image],
                       sizes: Optional[Sequence[Tuple[int, int]]] = None
                       ) -> List[SceneGraph]:
        """Scene graphs of RGB ``images``, run as one detector batch.

        Args:
            images (sequence of PIL.Image.Image): RGB images.
            sizes (sequence of (int, int), optional): ``(width, height)``
                in whose pixel coordinates boxes are given (the images'
                full-resolution sizes); the images' own sizes when ``None``.

        An image longer than :data:`MAX_ASPECT_RATIO` times its width (or
        wider than that times its height) is padded with black on the right
        or bottom to that ratio first, so that the image processor's
        resizing leaves no side of zero pixels; boxes stay clipped to the
        image itself.
        """
        if not images:
            return []
        if sizes is None:
            sizes = [image.size for image in images]
        padded = [pad_to_aspect_ratio(image) for image in images]
        spans = [(width * pad.size[0] / image.size[0],
                  height * pad.size[1] / image.size[1])
                 for (width, height), pad, image in zip(sizes, padded,
                                                        images)]
        inputs = self.image_processor(images=padded, return_tensors="pt")
        outputs = self.model(**{name: inputs[name].to(self.device)
                                for name in self.input_names
                                if name in inputs})
        scores, labels = self.query_scores(outputs.logits)
        features = self.query_features(outputs)
        graphs = []
        for b, size in enumerate(sizes):
            queries = select_queries(scores[b], self.config.top_k,
                                     self.config.score_threshold)
            boxes = boxes_in_pixels(outputs.pred_boxes[b, queries], size,
                                    spans[b])
            objects = [
                SceneObject(self.id2label.get(int(label), str(int(label))),
                            float(score), tuple(box), feature)
                for label, score, box, feature in zip(
                    labels[b, queries].tolist(), scores[b, queries].tolist(),
                    boxes.tolist(), features[b, queries].float().tolist())]
            relations = geometric_relations(
                boxes, contain_ratio=self.config.contain_ratio,
                overlap_iou=self.config.overlap_iou,
                near_ratio=self.config.near_ratio)
            graphs.append(SceneGraph(objects, relations))
        return graphs

    def query_scores(self, logits: Tensor) -> Tuple[Tensor, Tensor]:
        """Score and label of every query: its best class (module
        docstring).

        Shapes:
            logits ``[B, Q, C]`` -> scores ``[B, Q]``, labels long ``[B, Q]``.
        """
        logits = logits.float()
        classes = logits.shape[-1]
        if classes == self.num_labels + 1:
            probabilities = logits.softmax(-1)[..., :-1]
        elif classes == self.num_labels:
            if getattr(self.model.config, "use_focal_loss", True):
                probabilities = logits.sigmoid()
            else:
                probabilities = logits.softmax(-1)
        else:
            raise ValueError(
                f"detector {self.config.detector!r} gives {classes} class "
                f"logits for {self.num_labels} labels in id2label; expected "
                f"{self.num_labels} or {self.num_labels + 1}")
        return probabilities.max(-1)

    def query_features(self, outputs) -> Tensor:
        """The final hidden state of every query, ``[B, Q, feature_dim]``."""
        hidden = outputs.last_hidden_state
        queries = outputs.logits.shape[1]
        if self.is_yolos:
            hidden = hidden[:, -queries:]
        if hidden.shape[1] != queries or hidden.shape[-1] != self.feature_dim:
            raise ValueError(
                f"detector {self.config.detector!r}: its last hidden state "
                f"{tuple(hidden.shape)} does not hold one "
                f"{self.feature_dim}-d vector per query ({queries}); "
                f"supported: DETR, Conditional / Deformable DETR, YOLOS, "
                f"RT-DETR")
        return hidden


def select_queries(scores: Tensor, top_k: int, threshold: float) -> Tensor:
    """Indices of the ``top_k`` highest ``scores`` above ``threshold``,
    by score descending, ties by lower index.

    Shapes:
        scores ``[Q]`` -> long ``[k]``, ``k <= top_k``.
    """
    values = scores.tolist()
    order = sorted(range(len(values)), key=lambda q: (-values[q], q))
    kept = [q for q in order if values[q] > threshold][:top_k]
    return torch.tensor(kept, dtype=torch.long, device=scores.device)


def boxes_in_pixels(boxes: Tensor, size: Tuple[float, float],
                    span: Optional[Tuple[float, float]] = None) -> Tensor:
    """Normalised ``(cx, cy, w, h)`` boxes as ``(x1, y1, x2, y2)`` pixels of
    an image of ``size`` ``(width, height)``, clipped to it.

    Args:
        boxes (Tensor): Boxes relative to the detector's input.
        size (tuple): The image's ``(width, height)`` in pixels.
        span (tuple, optional): ``(width, height)`` in the same pixels that
            the detector's input spans, when it was padded beyond the
            image; ``size`` when ``None``.

    Shapes:
        boxes ``[k, 4]`` -> ``[k, 4]`` (float64, on the CPU).
    """
    span = size if span is None else span
    cx, cy, w, h = boxes.double().cpu().unbind(-1)
    corners = torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2],
                          dim=-1)
    pixels = corners * torch.tensor([*span, *span], dtype=torch.float64)
    limit = torch.tensor([*size, *size], dtype=torch.float64)
    return torch.minimum(pixels.clamp(min=0), limit)


def pad_to_aspect_ratio(image: Image.Image,
                        ratio: Optional[float] = None) -> Image.Image:
    """``image``, padded with black on the right or bottom so that neither
    side is more than ``ratio`` (default :data:`MAX_ASPECT_RATIO`) times the
    other; the image itself when it already is."""
    ratio = MAX_ASPECT_RATIO if ratio is None else ratio
    width, height = image.size
    padded = (max(width, math.ceil(height / ratio)),
              max(height, math.ceil(width / ratio)))
    if padded == image.size:
        return image
    canvas = Image.new("RGB", padded)
    canvas.paste(image, (0, 0))
    return canvas
