"""Raw images to scene graphs: a posts' images with the extractor their
checkpoint was trained with, pictures of the predictions, and a corpus of
images into a scene graph file (the ``scene-graphs`` command)."""
import hashlib
import json
import sys
import warnings
from pathlib import Path
from typing import List, Mapping, Optional, Sequence

from ..data.errors import DataNotice
from ..data.sample import Sample
from ..data.scene_graph import (image_key, scene_graph_line,
                                scene_graph_object_pieces)
from ..limits import IMAGE_WORKERS, SCENE_GRAPH_CHUNK
from ..models import EEGA
from ..output_files import check_output, replace_atomically
from ..vision import (EXTRACTOR_FILE, ExtractionResult, ExtractorConfig,
                      SceneGraphExtractor, check_scene_graph_sources,
                      extraction_summary, extractor_for_checkpoint,
                      plot_scene_graph, write_extractor_file)
from ..vision.plots import picture_names
from .stream import ChunkJob, RunResult, Shard, Tally, run_chunks
from .timings import Timings, stage

#: Counts of :func:`extract_scene_graph_file` in its tally: scene graphs
#: written, and (with the reason after it) images that failed.
SCENE_GRAPHS, FAILED = "scene graphs", "failed: "


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
        raise ValueError("force_detector=True needs detector=NAME_OR_PATH")
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


def image_extractor(model: EEGA, config: ExtractorConfig,
                    device: str = "cpu") -> SceneGraphExtractor:
    """The extractor of ``config`` for ``model``'s posts.

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
    return extractor


def plot_predictions(samples: Sequence[Sample], extracted,
                     files: Mapping[str, Path], folder: Path,
                     positions: Optional[Sequence[int]] = None) -> int:
    """``post{i}_{image}.png`` per post with a scene graph and an image
    file in ``files`` (image file name -> path): the image, its boxes and a
    few predicates, the post and the extracted quintuples with their
    confidences; ``i`` is the post's place in ``positions`` (default: in
    ``samples``). Returns how many were written."""
    folder.mkdir(parents=True, exist_ok=True)
    positions = range(len(samples)) if positions is None else positions
    written = 0
    for i, sample, found in zip(positions, samples, extracted):
        key = None if sample.image_id is None else image_key(sample.image_id)
        if sample.scene_graph is not None and key in files:
            plot_scene_graph(files[key], sample.scene_graph,
                             folder / f"post{i}_{Path(key).stem}.png",
                             quintuples=[q for q, _ in found],
                             tokens=sample.tokens,
                             confidences=[c for _, c in found])
            written += 1
    return written


#: Counts of :func:`count_images` in a
#: :class:`~jmere_pyg.inference.stream.Tally`.
IMAGE_COUNTS = ("with a scene graph", "image unreadable", "without image")


def count_images(samples: Sequence[Sample], result: ExtractionResult,
                 tally: Tally) -> None:
    """Counts in ``tally`` the posts with a scene graph, with an unreadable
    image (and by reason), without an image."""
    for sample in samples:
        key = None if sample.image_id is None else image_key(sample.image_id)
        if key is None:
            tally.counts["without image"] += 1
        elif key in result.graphs:
            tally.counts["with a scene graph"] += 1
        else:
            tally.counts["image unreadable"] += 1
            tally.counts[f"unreadable: {result.failed[key]}"] += 1


def images_summary(tally: Tally) -> str:
    """One line: posts with a scene graph, with an unreadable image (by
    reason), without an image, as :func:`count_images` counted them."""
    counts = tally.counts
    posts = sum(counts[name] for name in IMAGE_COUNTS)
    parts = [f"{counts[name]} {name}" for name in IMAGE_COUNTS]
    detail = ", ".join(f"{name.removeprefix('unreadable: ')} {n}"
                       for name, n in sorted(counts.items())
                       if name.startswith("unreadable: "))
    return (f"images: {posts} posts: {', '.join(parts)}"
            + (f" ({detail})" if detail else ""))


def image_scene_graphs(model: EEGA, checkpoint: str,
                       samples: Sequence[Sample], files: Mapping[str, Path],
                       detector: Optional[str] = None,
                       force_detector: bool = False, device: str = "cpu"
                       ) -> Optional[ExtractionResult]:
    """The scene graphs of the image ``files`` (image file name -> path) of
    ``samples``, all at once, made with the extractor ``checkpoint`` was
    trained with (:func:`checkpoint_extractor`), the posts counted on stderr
    by how their image fared (:func:`images_summary`); ``None`` when the
    model reads no images."""
    config = checkpoint_extractor(model, checkpoint, detector, force_detector)
    if config is None:
        return None
    result = image_extractor(model, config, device).extract(
        list(files.values()), progress=len(files) > 1)
    tally = Tally()
    count_images(samples, result, tally)
    print(images_summary(tally), file=sys.stderr)
    return result


def extract_scene_graph_file(paths: Sequence[Path], output: str,
                             config: ExtractorConfig, *,
                             device: str = "cpu",
                             chunk_size: int = SCENE_GRAPH_CHUNK,
                             image_workers: int = IMAGE_WORKERS,
                             plot_dir: Optional[str] = None,
                             overwrite: bool = False, resume: bool = False,
                             shard: Optional[Shard] = None,
                             progress: bool = False,
                             timings: Optional[Timings] = None
                             ) -> RunResult:
    """The scene graphs of the image files ``paths`` into ``output``, a
    chunk of ``chunk_size`` images at a time
    (:mod:`jmere_pyg.inference.stream`: written as it goes, resumable,
    shared by the processes of ``torchrun``), with the extractor's
    identity (:data:`~jmere_pyg.vision.record.EXTRACTOR_FILE`) beside it.

    ``output`` ending in ``.jsonl`` gets JSON lines, one image a line
    (:func:`~jmere_pyg.data.scene_graph.scene_graph_line`); any other name
    the one-object JSON of :func:`~jmere_pyg.data.write_scene_graphs`,
    written at the end from the lines, one graph at a time.
    :func:`~jmere_pyg.data.read_scene_graphs` reads both. Unreadable images
    are counted by reason in the result's tally (the first
    :data:`~jmere_pyg.inference.stream.MAX_NOTES` named in its notes),
    never raised; ``image_workers`` threads read images ahead of the
    detector; ``plot_dir`` gets one picture per scene graph. A
    ``chunk_size`` that is a multiple of ``config.batch_size`` gives the
    detector the batches of one extraction of all the images (a batch of
    other images may round differently).

    Raises:
        ValueError: for an existing output without ``overwrite`` (and as
            :func:`~jmere_pyg.inference.stream.run_chunks`).
    """
    check_output(output, paths, overwrite=overwrite)
    shard = shard or Shard.from_environment()
    timings = timings or Timings()
    extractor = SceneGraphExtractor(config, device=device)
    names = "\n".join(str(Path(path).resolve()) for path in paths)
    run = {"images": {"count": len(paths), "sha256": hashlib.sha256(
        names.encode("utf-8")).hexdigest()},
        "extractor": config.to_dict(),
        "json_lines": str(output).endswith(".jsonl"),
        "processes": shard.world_size}
    job = _SceneGraphJob(list(paths), extractor, image_workers,
                         None if plot_dir is None else Path(plot_dir),
                         one_object=not run["json_lines"], timings=timings)
    result = run_chunks(job, output, chunk_size=chunk_size, run=run,
                        shard=shard, resume=resume, overwrite=overwrite,
                        total=len(paths), progress=progress,
                        timings=timings)
    if shard.rank == 0:
        replace_atomically(Path(output).parent / EXTRACTOR_FILE,
                           lambda tmp: write_extractor_file(tmp, config))
    return result


def scene_graphs_summary(tally: Tally) -> str:
    """:meth:`~jmere_pyg.vision.ExtractionResult.summary` of a whole run."""
    failed = {name.removeprefix(FAILED): count
              for name, count in tally.counts.items()
              if name.startswith(FAILED)}
    return extraction_summary(tally.counts[SCENE_GRAPHS], failed)


class _SceneGraphJob(ChunkJob):
    """:func:`extract_scene_graph_file` as a
    :class:`~jmere_pyg.inference.stream.ChunkJob`: records are image
    paths."""
    unit = "image"

    def __init__(self, paths: List[Path], extractor: SceneGraphExtractor,
                 workers: int, plot_dir: Optional[Path], one_object: bool,
                 timings: Optional[Timings]):
        self.paths = paths
        self.extractor = extractor
        self.workers = workers
        self.plot_dir = plot_dir
        # Named once for all images, so that no picture replaces another.
        self.pictures = picture_names(image_key(str(path)) for path in paths)
        self.one_object = one_object
        self.timings = timings

    def records(self):
        return self.paths

    def read(self, records):
        return records, Tally()

    def work(self, paths, tally):
        with stage(self.timings, "images"):
            result = self.extractor.extract(paths, workers=self.workers)
        tally.counts[SCENE_GRAPHS] += len(result.graphs)
        for name, reason in result.failed.items():
            tally.counts[FAILED + reason] += 1
            tally.note(f"skipped {name}: {reason}")
        if self.plot_dir is not None:
            self.plot_dir.mkdir(parents=True, exist_ok=True)
            by_name = {image_key(str(path)): path for path in paths}
            for name, graph in result.graphs.items():
                plot_scene_graph(by_name[name], graph,
                                 self.plot_dir / self.pictures[name])
        return [scene_graph_line(name, graph)
                for name, graph in result.graphs.items()]

    def mismatch(self, paths, lines):
        names = iter(image_key(str(path)) for path in paths)
        for text in lines:
            try:
                image = json.loads(text)["image"]
            except (ValueError, TypeError, KeyError):
                return "a line is not a scene graph record"
            if image not in names:  # consumes the names up to it
                return f"the image {image!r} is not in its place"
        return None

    def pieces(self, lines):
        return scene_graph_object_pieces(lines) if self.one_object else None
