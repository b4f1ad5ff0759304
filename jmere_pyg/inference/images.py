"""Raw images to scene graphs: a posts' images with the extractor their
checkpoint was trained with, pictures of the predictions, and a corpus of
images into a scene graph file (the ``scene-graphs`` command)."""
import hashlib
import json
import warnings
from pathlib import Path
from typing import List, Mapping, Optional, Sequence

from ..data.errors import DataNotice
from ..data.sample import Sample
from ..data.scene_graph import (image_key, scene_graph_line,
                                scene_graph_object_pieces)
from ..models import EEGA
from ..output_files import check_output
from ..vision import (EXTRACTOR_FILE, ExtractionResult, ExtractorConfig,
                      SceneGraphExtractor, extraction_summary,
                      plot_scene_graph, write_extractor_file)
from .stream import ChunkJob, RunResult, Shard, Tally, run_chunks
from .timings import Timings, stage

#: Images per chunk of :func:`extract_scene_graph_file`.
SCENE_GRAPH_CHUNK = 64

#: Threads reading images ahead of the detector.
IMAGE_WORKERS = 2

#: Counts of :func:`extract_scene_graph_file` in its tally: scene graphs
#: written, and (with the reason after it) images that failed.
SCENE_GRAPHS, FAILED = "scene graphs", "failed: "


def checkpoint_extractor(model: EEGA, checkpoint: str,
                         detector: Optional[str] = None,
                         force_detector: bool = False
                         ) -> Optional[ExtractorConfig]:
    """The extractor that turns a post's raw image into the scene graph the
    model expects: the one recorded in the checkpoint, its detector replaced
    by ``detector`` only with ``force_detector``. ``None``, with a
    :class:`~jmere_pyg.data.DataNotice`, when the model was trained without
    images (its image layers are off, or it saw no object class): the image
    is then ignored.

    Raises:
        ValueError: when ``detector`` differs from the recorded one without
            ``force_detector``, or when nothing is recorded (scene graphs
            from files) and no forced ``detector`` is given.
    """
    if force_detector and detector is None:
        raise ValueError("--force-detector needs --detector NAME_OR_PATH")
    builder = model.graph_builder
    if not model.config.use_image or (
            builder is not None and len(builder.object_vocab) <= 1):
        warnings.warn(f"{checkpoint} was trained without images; the "
                      f"images are ignored and quintuples come from the text "
                      f"alone", DataNotice, stacklevel=3)
        return None
    recorded = model.extractor_config
    if recorded is None:
        if detector is None or not force_detector:
            raise ValueError(
                f"{checkpoint} records no scene-graph extractor (its scene "
                f"graphs were read from files, not extracted from images): "
                f"give graphs made the same way with --scene-graphs, or "
                f"extract with a detector it was not trained with: "
                f"--detector NAME_OR_PATH --force-detector")
        return ExtractorConfig(detector=detector)
    if detector is not None and detector != recorded.detector:
        if not force_detector:
            raise ValueError(
                f"{checkpoint} was trained on scene graphs from the detector "
                f"{recorded.detector!r}, not {detector!r}: leave --detector "
                f"out to use the recorded one, or add --force-detector")
        return recorded.replace(detector=detector)
    return recorded


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
    file in ``files`` (image file name -> path): the image, its boxes and
    predicates, and the extracted quintuples; ``i`` is the post's place in
    ``positions`` (default: in ``samples``). Returns how many were
    written."""
    folder.mkdir(parents=True, exist_ok=True)
    positions = range(len(samples)) if positions is None else positions
    written = 0
    for i, sample, found in zip(positions, samples, extracted):
        key = None if sample.image_id is None else image_key(sample.image_id)
        if sample.scene_graph is not None and key in files:
            plot_scene_graph(files[key], sample.scene_graph,
                             folder / f"post{i}_{Path(key).stem}.png",
                             quintuples=[q for q, _ in found],
                             tokens=sample.tokens)
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
        write_extractor_file(Path(output).parent / EXTRACTOR_FILE, config)
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
                                 self.plot_dir / f"{name}.png")
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
