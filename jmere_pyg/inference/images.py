"""Raw images of posts to scene graphs, with the extractor a checkpoint
was trained with; pictures of the predictions."""
import sys
import warnings
from collections import Counter
from pathlib import Path
from typing import Mapping, Optional, Sequence

from ..data.errors import DataNotice
from ..data.sample import Sample
from ..data.scene_graph import image_key
from ..models import EEGA
from ..vision import (ExtractionResult, ExtractorConfig, SceneGraphExtractor,
                      check_scene_graph_sources, extractor_for_checkpoint,
                      plot_scene_graph)


def reads_images(model: EEGA) -> bool:
    """Whether scene graphs reach the model: its image layers are on and it
    saw object classes in training."""
    builder = model.graph_builder
    return model.config.use_image and (builder is None
                                       or len(builder.object_vocab) > 1)


def checkpoint_extractor(model: EEGA, checkpoint: str,
                         detector: Optional[str] = None,
                         force_detector: bool = False
                         ) -> Optional[ExtractorConfig]:
    """The extractor that turns a post's raw image into the scene graph the
    model expects: the one recorded in the checkpoint, its detector replaced
    by ``detector`` when that is the same model, or with ``force_detector``
    (:func:`~jmere_pyg.vision.extractor_for_checkpoint`). ``None``, with a
    :class:`~jmere_pyg.data.DataNotice`, when the model was trained without
    images (its image layers are off, or it saw no object class): the image
    is then ignored.

    Raises:
        ValueError: without ``force_detector``, when ``detector`` or the
            recorded detector as it is now is another model than the one
            recorded, or when nothing is recorded (scene graphs from files).
    """
    if force_detector and detector is None:
        raise ValueError("--force-detector needs --detector NAME_OR_PATH")
    if not reads_images(model):
        warnings.warn(f"{checkpoint} was trained without images; the "
                      f"images are ignored and quintuples come from the text "
                      f"alone", DataNotice, stacklevel=3)
        return None
    return extractor_for_checkpoint(model.extractor_record, checkpoint,
                                    detector, force_detector)


def check_extractors(checkpoints: Sequence[str], models: Sequence[EEGA],
                     scene_graphs: Optional[str]) -> None:
    """The checkpoints that read images, and the scene-graph file, name one
    extractor (:func:`~jmere_pyg.vision.check_scene_graph_sources`)."""
    check_scene_graph_sources(
        {str(c): m.extractor_record for c, m in zip(checkpoints, models)
         if reads_images(m)}, scene_graphs)


def image_scene_graphs(model: EEGA, checkpoint: str,
                       samples: Sequence[Sample], files: Mapping[str, Path],
                       detector: Optional[str] = None,
                       force_detector: bool = False, device: str = "cpu"
                       ) -> Optional[ExtractionResult]:
    """The scene graphs of the image ``files`` (image file name -> path) of
    ``samples``, made with the extractor ``checkpoint`` was trained with
    (:func:`checkpoint_extractor`), the posts counted on stderr by how their
    image fared (:func:`report_images`); ``None`` when the model reads no
    images."""
    config = checkpoint_extractor(model, checkpoint, detector, force_detector)
    if config is None:
        return None
    result = extract_image_graphs(model, config, files, device)
    report_images(samples, result)
    return result


def extract_image_graphs(model: EEGA, config: ExtractorConfig,
                         files: Mapping[str, Path],
                         device: str = "cpu") -> ExtractionResult:
    """Scene graphs of ``files`` (image file name -> path) by ``config``,
    unreadable images counted in the result.

    Raises:
        ValueError: when the detector's feature size is not the one the
            model was trained with.
    """
    extractor = SceneGraphExtractor(config, device=device)
    builder = model.graph_builder
    expected = 0 if builder is None else builder.object_feature_dim
    if expected and extractor.feature_dim != expected:
        raise ValueError(
            f"the detector {config.detector!r} gives {extractor.feature_dim}"
            f"-d object features, the model was trained with {expected}-d "
            f"ones")
    return extractor.extract(list(files.values()), progress=len(files) > 1)


def plot_predictions(samples: Sequence[Sample], extracted,
                     files: Mapping[str, Path], folder: Path) -> None:
    """``post{i}_{image}.png`` per post with a scene graph and an image
    file in ``files`` (image file name -> path): the image, its boxes and a
    few predicates, the post and the extracted quintuples with their
    confidences."""
    folder.mkdir(parents=True, exist_ok=True)
    written = 0
    for i, (sample, found) in enumerate(zip(samples, extracted)):
        key = None if sample.image_id is None else image_key(sample.image_id)
        if sample.scene_graph is not None and key in files:
            plot_scene_graph(files[key], sample.scene_graph,
                             folder / f"post{i}_{Path(key).stem}.png",
                             quintuples=[q for q, _ in found],
                             tokens=sample.tokens,
                             confidences=[c for _, c in found])
            written += 1
    print(f"wrote {written} pictures to {folder}", file=sys.stderr)


def report_images(samples: Sequence[Sample],
                   result: ExtractionResult) -> None:
    """One line on stderr: posts with a scene graph, with an unreadable
    image (by reason), without an image."""
    counts = Counter()
    reasons = Counter()
    for sample in samples:
        key = None if sample.image_id is None else image_key(sample.image_id)
        if key is None:
            counts["without image"] += 1
        elif key in result.graphs:
            counts["with a scene graph"] += 1
        else:
            counts["image unreadable"] += 1
            reasons[result.failed[key]] += 1
    parts = [f"{counts[name]} {name}" for name in (
        "with a scene graph", "image unreadable", "without image")]
    detail = ", ".join(f"{reason} {n}" for reason, n in sorted(
        reasons.items()))
    print(f"images: {len(samples)} posts: {', '.join(parts)}"
          + (f" ({detail})" if detail else ""), file=sys.stderr)
