"""Evaluate a checkpoint on a data file; extract quintuples from new posts.

Input that is dropped, merged or ignored without being an error is reported
as a :class:`~jmere_pyg.data.DataNotice` warning with its count."""
import json
import sys
import warnings
from pathlib import Path
from typing import (Callable, Dict, Iterable, List, Mapping, Optional,
                    Sequence, Union)

from ..data.errors import DataNotice, ReadReport
from ..data.readers import SampleStream, read_samples
from ..data.sample import Quintuple, Sample
from ..data.scene_graph import (SceneGraph, attach_scene_graphs, image_key,
                                lookup_scene_graph, read_scene_graphs)
from ..data.tokenize import default_tokenizer
from ..error_analysis import error_analysis
from ..graphs import OBJECT
from ..limits import (CHUNK_SIZE, DEFAULT_MAX_WORDS, IMAGE_WORKERS,
                      PARSE_CACHE_SIZE, WINDOW_WORDS)
from ..models import EEGA
from ..output_files import check_output, write_atomically
from ..run_folder import PER_RELATION_PLOT, TRANSPORT_PLAN_PLOT
from ..vision.folders import image_paths
from .evaluation import score
from .images import (check_extractors, checkpoint_extractor, count_images,
                     image_extractor, image_scene_graphs, images_summary,
                     plot_predictions)
from .predictor import Predictor
from .stream import (ChunkJob, RunResult, Shard, Tally, count_lines,
                     input_identity, run_chunks)
from .timings import Timings, stage

#: Counts in a :class:`~jmere_pyg.inference.stream.Tally`: of
#: :func:`count_inputs`, of scene graphs that carry object features, of
#: pictures written.
POSTS, WITH_IMAGE, UNMATCHED = ("posts", "posts naming an image",
                                "posts whose image has no scene graph")
FEATURED = "scene graphs with object features"
PICTURES = "pictures"


def count_scene_graph_matches(
        samples: Sequence[Sample],
        scene_graphs: Optional[Mapping[str, SceneGraph]]) -> Dict[str, int]:
    """How many samples find the scene graph of their image in
    ``scene_graphs`` (matched by image file name, as the graph builder
    does); a sample without one has zero objects."""
    matched = 0
    if scene_graphs is not None:
        matched = sum(lookup_scene_graph(scene_graphs, sample.image_id)
                      is not None for sample in samples)
    return {"with_scene_graph": matched,
            "without_scene_graph": len(samples) - matched}


def _read_scene_graphs(path: Optional[str]
                       ) -> Optional[Dict[str, SceneGraph]]:
    return None if path is None else read_scene_graphs(path)


def input_notices(model: EEGA, samples: Sequence[Sample],
                  scene_graphs: Optional[Mapping[str, SceneGraph]],
                  report: Optional[ReadReport] = None) -> List[str]:
    """What the model will not see of its input, one counted sentence per
    kind: sentences dropped or merged by the reader, images without a scene
    graph, scene graphs or object features the checkpoint does not use."""
    tally = Tally()
    count_inputs(samples, scene_graphs, tally)
    if scene_graphs is not None:
        tally.counts[FEATURED] = count_featured(scene_graphs.values())
    return _notices(model, tally, scene_graphs is not None, report)


def count_inputs(samples: Sequence[Sample],
                 scene_graphs: Optional[Mapping[str, SceneGraph]],
                 tally: Tally) -> None:
    """Count in ``tally`` the posts, those naming an image and, when
    ``scene_graphs`` are given, those whose image has none (with the first
    such image as example): what :func:`input_notices` speaks of, summed
    over the chunks of a stream."""
    tally.counts[POSTS] += len(samples)
    tally.counts[WITH_IMAGE] += sum(s.image_id is not None for s in samples)
    if scene_graphs is None:
        return
    for sample in samples:
        if (sample.image_id is not None
                and lookup_scene_graph(scene_graphs, sample.image_id) is None):
            tally.counts[UNMATCHED] += 1
            tally.examples.setdefault(UNMATCHED, sample.image_id)


def count_featured(scene_graphs: Iterable[SceneGraph]) -> int:
    """Scene graphs with an object that carries a feature vector."""
    return sum(any(obj.feature is not None for obj in graph.objects)
               for graph in scene_graphs)


def _notices(model: EEGA, tally: Tally, with_scene_graphs: bool,
             report: Optional[ReadReport]) -> List[str]:
    """:func:`input_notices` from the counts of :func:`count_inputs` and
    :data:`FEATURED`."""
    notices = []
    if report is not None:
        if report.sentences_without_relation:
            notices.append(
                f"{report.path}: {report.sentences_without_relation:,} "
                f"sentences whose every line has relation None give no "
                f"sample and are left out")
        if report.merged_samples:
            notices.append(f"{report.path}: {report.merged_samples:,} "
                           f"samples merged into an earlier one with the "
                           f"same words and image")
        if report.duplicates:
            notices.append(f"{report.path}: {report.duplicates:,} duplicate "
                           f"quintuples merged")
    posts, with_image = tally.counts[POSTS], tally.counts[WITH_IMAGE]
    if not with_scene_graphs:
        if model.config.use_image and with_image:
            notices.append(
                f"{with_image:,} of {posts:,} samples name an image but no "
                f"scene graphs were given: they get no objects")
        return notices
    if not model.config.use_image:
        notices.append("the checkpoint was trained without images: the "
                       "scene graphs are ignored")
        return notices
    if tally.counts[UNMATCHED]:
        notices.append(
            f"{tally.counts[UNMATCHED]:,} of {posts:,} samples name an image "
            f"with no scene graph (e.g. {tally.examples[UNMATCHED]!r}): they "
            f"get no objects")
    if posts - with_image:
        notices.append(f"{posts - with_image:,} of {posts:,} samples name "
                       f"no image: they get no objects")
    builder = model.graph_builder
    if (builder is not None and builder.object_feature_dim == 0
            and tally.counts[FEATURED]):
        notices.append(
            f"{tally.counts[FEATURED]:,} scene graphs carry object features, "
            f"but the checkpoint uses none (object_feature_dim 0): the "
            f"features are ignored")
    return notices


def _models_notices(models: Sequence[EEGA], samples: Sequence[Sample],
                   graph_map: Optional[Mapping[str, SceneGraph]],
                   report: Optional[ReadReport]) -> List[str]:
    """:func:`input_notices` of every model of an ensemble, each once."""
    return list(dict.fromkeys(
        notice for model in models
        for notice in input_notices(model, samples, graph_map, report)))


def _checkpoint_list(checkpoint: Union[str, Path, Sequence[str]]
                     ) -> List[str]:
    """One checkpoint, or several for an ensemble, as a non-empty list."""
    checkpoints = ([checkpoint] if isinstance(checkpoint, (str, Path))
                   else list(checkpoint))
    if not checkpoints:
        raise ValueError("give at least one checkpoint")
    return checkpoints


def _notify(notices: Sequence[str]) -> None:
    for notice in notices:
        warnings.warn(notice, DataNotice, stacklevel=3)


def evaluate_file(checkpoint: Union[str, Sequence[str]], data: str, *,
                  data_format: Optional[str] = None,
                  scene_graphs: Optional[str] = None,
                  images: Optional[str] = None,
                  detector: Optional[str] = None,
                  force_detector: bool = False, device: str = "cpu",
                  batch_size: int = 32, plot_dir: Optional[str] = None,
                  output: Optional[str] = None,
                  overwrite: bool = False,
                  max_words: Optional[int] = DEFAULT_MAX_WORDS,
                  window_words: int = WINDOW_WORDS) -> Dict:
    """Score the checkpoint on a data file (any format the readers accept).

    The quintuples are extracted exactly as :func:`predict_to_jsonl`
    extracts them (:class:`~jmere_pyg.inference.Predictor`, long posts in
    windows of ``window_words`` words), so that the metrics are those of
    the predictions. Several checkpoints are scored as one ensemble that
    decodes the mean of their tag probabilities, each model reading graphs
    of its own graph builder; ``checkpoint`` is then a list in the metrics
    too. The checkpoints that read images, and ``scene_graphs``, must name
    one extractor (:func:`~jmere_pyg.vision.check_scene_graph_sources`).

    Scene graphs come from the file ``scene_graphs`` or from the folder of
    raw ``images`` (matched by the base name of each post's ``image_id``),
    turned into scene graphs with the extractor recorded in the first
    checkpoint, as :func:`predict_to_jsonl` does (``detector``,
    ``force_detector`` and ``device`` as there); a post whose image cannot
    be read is scored from its text alone and counted on stderr.

    ``output``, if given, receives the metrics as JSON; it is checked before
    any work (:func:`~jmere_pyg.output_files.check_output`: not an
    input, not an existing file unless ``overwrite``, in a writable folder)
    and written atomically. Dropped or ignored input is reported as
    :class:`~jmere_pyg.data.DataNotice` warnings. Posts longer than
    ``max_words`` words (``None``: no limit) are left out and counted in the
    metrics' ``read_report`` (reason ``too_long``). ``errors`` sorts the
    strict false positives by cause and counts the missed gold entity pairs
    by relation and by how many of their two entities were predicted
    (:func:`~jmere_pyg.error_analysis.error_analysis`).
    """
    checkpoints = _checkpoint_list(checkpoint)
    _check_scene_graph_sources(scene_graphs, images)
    if output is not None:
        check_output(output, [data, *checkpoints, scene_graphs, images],
                     overwrite=overwrite)
    predictor = Predictor.from_pretrained(
        checkpoints, map_location=device, batch_size=batch_size,
        window_words=window_words, progress=True)
    check_extractors(checkpoints, predictor.models, scene_graphs)
    samples, report = read_samples(data, data_format, max_words=max_words,
                                   on_too_long="skip")
    graph_map = _read_scene_graphs(scene_graphs)
    if images is not None:
        result = image_scene_graphs(
            predictor.models[0], checkpoints[0], samples,
            image_paths(images, (s.image_id for s in samples)), detector,
            force_detector, device)
        graph_map = None if result is None else result.graphs
    _notify(_models_notices(predictor.models, samples, graph_map, report))
    images = count_scene_graph_matches(samples, graph_map)
    samples = attach_scene_graphs(samples, graph_map)
    predictions = predictor.extract(samples)
    gold = [sample.quintuples for sample in samples]
    metrics = {"data": str(data),
               "checkpoint": (str(checkpoints[0]) if len(checkpoints) == 1
                              else [str(c) for c in checkpoints]),
               "read_report": report.summary(), "images": images,
               **score(predictions, samples),
               "errors": error_analysis(predictions, gold).to_dict()}
    if plot_dir is not None:
        _plot_evaluation(predictor.models[0], samples, metrics,
                         Path(plot_dir))
    if output is not None:
        write_atomically(output, json.dumps(metrics, indent=2) + "\n")
    return metrics


def _plot_evaluation(model: EEGA, samples: Sequence[Sample], metrics: Dict,
                     folder: Path) -> None:
    """Per-relation F1, and the transport plan of the first post with
    objects, as PNG files in ``folder``."""
    from ..plots import plot_per_relation, plot_transport_plan
    folder.mkdir(parents=True, exist_ok=True)
    plot_per_relation(metrics, folder / PER_RELATION_PLOT)
    with_objects = next((sample for sample in samples
                         if sample.scene_graph is not None
                         and sample.scene_graph.objects), None)
    if with_objects is not None:
        graph = model.graph_builder.build(with_objects)
        if graph[OBJECT].num_nodes > 0:
            plot_transport_plan(model, graph, folder / TRANSPORT_PLAN_PLOT)


def quintuple_record(quintuple: Quintuple, tokens: List[str],
                     confidence: Optional[float] = None) -> Dict:
    """One extracted quintuple as JSON: spans, words, types, relation."""
    def entity(e):
        return {"start": e.start, "end": e.end, "type": e.type,
                "name": " ".join(tokens[e.start:e.end])}
    record = {"head": entity(quintuple.head), "tail": entity(quintuple.tail),
              "relation": quintuple.relation}
    if confidence is not None:
        record["confidence"] = round(confidence, 4)
    return record


def predict_to_jsonl(checkpoint: Union[str, Sequence[str]], *,
                     text: Optional[str] = None,
                     path: Optional[str] = None,
                     data_format: Optional[str] = None,
                     image_id: Optional[str] = None,
                     scene_graphs: Optional[str] = None, batch_size: int = 32,
                     output: Optional[str] = None,
                     overwrite: bool = False,
                     image: Optional[str] = None, images: Optional[str] = None,
                     detector: Optional[str] = None,
                     force_detector: bool = False, device: str = "cpu",
                     plot_dir: Optional[str] = None,
                     window_words: int = WINDOW_WORDS,
                     strict: bool = False) -> List[str]:
    """Extract quintuples from ``text`` (tokenised by spaCy) or the samples
    of the file ``path``; return (and write to ``output``) JSON lines.

    A file is read as :func:`predict_file` reads it (faulty lines skipped
    and counted, unless ``strict``); this returns all its lines at once,
    :func:`predict_file` streams a corpus of any size.

    ``output`` is checked before any work and written atomically, as in
    :func:`evaluate_file`; dropped or ignored input is reported as
    :class:`~jmere_pyg.data.DataNotice` warnings.

    Raw images, ``image`` for ``text`` or the folder ``images`` for the
    samples of ``path`` (matched by the base name of their ``image_id``),
    become scene graphs with the extractor recorded in the checkpoint
    (:func:`~jmere_pyg.inference.images.checkpoint_extractor`). A post
    whose image cannot be read is extracted from its text alone; its line
    says why (``image_error``) and a report on stderr counts it.
    ``plot_dir`` gets, per post with a scene graph, its image with boxes
    and predicates beside the quintuples.

    Posts longer than ``window_words`` words are read in windows of whole
    sentences (:class:`~jmere_pyg.inference.Predictor`): pairs across
    windows are not extracted.

    Several checkpoints extract as one ensemble that decodes the mean of
    their tag probabilities; those that read images must record one
    extractor, which turns raw images into scene graphs, and
    ``scene_graphs`` must be made by it
    (:func:`~jmere_pyg.vision.check_scene_graph_sources`).

    Raises:
        ValueError: for inputs that do not go together (``image`` without
            ``text``, ``images`` without ``path``, ``image`` and
            ``image_id``, scene graphs from files and from images).
    """
    if (text is None) == (path is None):
        raise ValueError("give the text of one post or a file of posts")
    if image is not None and (text is None or image_id is not None):
        raise ValueError("an image file goes with the text of one post, "
                         "instead of an image id")
    if path is not None:
        lines: List[str] = []
        predict_file(checkpoint, path, output=output,
                     sink=None if output is not None else lines.extend,
                     data_format=data_format, scene_graphs=scene_graphs,
                     images=images, detector=detector,
                     force_detector=force_detector, device=device,
                     batch_size=batch_size, window_words=window_words,
                     plot_dir=plot_dir, overwrite=overwrite, strict=strict)
        if output is not None:
            lines = Path(output).read_text(encoding="utf-8").splitlines()
        return lines
    if images is not None:
        raise ValueError("a folder of images goes with a file of posts")
    checkpoints = _checkpoint_list(checkpoint)
    _check_scene_graph_sources(scene_graphs, image)
    if output is not None:
        check_output(output, [*checkpoints, scene_graphs, image],
                     overwrite=overwrite)
    if image is not None:
        image_id = image_key(image)
    extraction = _PostExtraction(
        checkpoints, device=device, batch_size=batch_size,
        window_words=window_words, scene_graphs=scene_graphs,
        image_files=None if image is None else (
            lambda samples: {image_id: Path(image)}),
        detector=detector, force_detector=force_detector,
        plot_dir=plot_dir)
    tokens = default_tokenizer()(text)
    if not tokens:
        raise ValueError("the text is empty: nothing to extract from")
    tally = Tally()
    lines = extraction.lines(
        [Sample(tokens=tokens, image_id=image_id, source="--text")], [0],
        tally)
    extraction.report(tally, None)
    if output is not None:
        write_atomically(output, "".join(line + "\n" for line in lines))
    return lines


def predict_file(checkpoint: Union[str, Sequence[str]], path: str, *,
                 output: Optional[str] = None,
                 sink: Optional[Callable[[List[str]], None]] = None,
                 data_format: Optional[str] = None,
                 scene_graphs: Optional[str] = None,
                 images: Optional[str] = None,
                 detector: Optional[str] = None,
                 force_detector: bool = False, device: str = "cpu",
                 batch_size: int = 32, window_words: int = WINDOW_WORDS,
                 chunk_size: int = CHUNK_SIZE,
                 image_workers: int = IMAGE_WORKERS,
                 plot_dir: Optional[str] = None, overwrite: bool = False,
                 resume: bool = False, strict: bool = False,
                 shard: Optional[Shard] = None, progress: bool = False,
                 profile: bool = False) -> RunResult:
    """Extract quintuples from the posts of the file ``path`` into
    ``output`` (JSON lines, one per post, in input order), a chunk of
    ``chunk_size`` posts at a time (:mod:`jmere_pyg.inference.stream`):
    memory does not grow with the number of posts, the output is written
    as it goes and an interrupted run continues with ``resume``; under
    ``torchrun`` the processes share the chunks and the first one joins
    their parts into ``output``, the same bytes as one process writes.

    Each chunk is read (:class:`~jmere_pyg.data.readers.SampleStream`),
    its images become scene graphs (``images``, read ahead by
    ``image_workers`` threads while the detector works) or its posts find
    theirs in ``scene_graphs``, and the :class:`Predictor` parses it in one
    batch, runs the models on batches ordered by length and decodes. The
    parse cache keeps the ``PARSE_CACHE_SIZE`` parses used last from one
    chunk to the next: repeated posts are parsed once, and the cache does
    not grow with the corpus.

    A faulty line is skipped and counted, its line number in the notice at
    the end; with ``strict`` it stops the run with a
    :class:`~jmere_pyg.data.DataFormatError` naming it, before its chunk is
    written. The notices (:func:`input_notices`, the skipped lines), the
    images' report and, with ``profile``, where the time went are printed
    by the first process at the end.

    Args:
        checkpoint: a checkpoint, or several extracting as one ensemble.
        path: the posts, any format :func:`~jmere_pyg.data.read_samples`
            reads (JSON lines stream; MNRE and JMERE files are read whole).
        output: the file to write, checked before any work; ``None`` gives
            each chunk's lines to ``sink`` (one process, no resume).
        shard: this process's share (default: as ``torchrun`` says).
        progress: show a progress bar with posts/s and the time left.
        Others: as :func:`predict_to_jsonl`.

    Returns:
        the run's counts and timings (those of every process in the first
        one's).
    """
    checkpoints = _checkpoint_list(checkpoint)
    _check_scene_graph_sources(scene_graphs, images)
    if (output is None) == (sink is None):
        raise ValueError("give an output file or a sink for the lines")
    if output is not None:
        check_output(output, [path, *checkpoints, scene_graphs, images],
                     overwrite=overwrite)
    if images is not None:
        image_paths(images, [])  # the folder exists
    shard = shard or Shard.from_environment()
    timings = Timings()
    stream = SampleStream(path, data_format,
                          on_error="raise" if strict else "skip")
    extraction = _PostExtraction(
        checkpoints, device=device, batch_size=batch_size,
        window_words=window_words, chunk_size=chunk_size,
        scene_graphs=scene_graphs,
        image_files=None if images is None else (
            lambda samples: image_paths(images, (s.image_id
                                                 for s in samples))),
        detector=detector, force_detector=force_detector,
        image_workers=image_workers, plot_dir=plot_dir, timings=timings)
    # What the lines depend on, for a resume to check (not ``strict``: a
    # run stopped at a faulty line may go on skipping it).
    run = {"input": input_identity(path), "format": stream.format,
           "checkpoints": [_resolved(c) for c in checkpoints],
           "scene_graphs": (None if scene_graphs is None
                            else input_identity(scene_graphs)),
           "images": None if images is None else _resolved(images),
           "detector": detector, "force_detector": force_detector,
           "batch_size": batch_size, "window_words": window_words,
           "processes": shard.world_size}
    result = run_chunks(_PredictJob(stream, extraction), output,
                        chunk_size=chunk_size, run=run, shard=shard,
                        resume=resume, overwrite=overwrite, sink=sink,
                        total=(count_lines(path) if stream.format == "jsonl"
                               else None),
                        progress=progress, timings=timings)
    if shard.rank == 0:
        report = stream.report
        if result.tally.read is not None:
            report.add(result.tally.read)
        extraction.report(result.tally, report)
        if profile:
            print(f"{result.worked:,} posts worked; "
                  f"{result.timings.summary(result.worked)}",
                  file=sys.stderr)
    return result


def _resolved(path: str) -> str:
    """The absolute form of a local path; a Hub name as it is."""
    return str(Path(path).resolve()) if Path(path).exists() else str(path)


def _check_scene_graph_sources(scene_graphs: Optional[str],
                               images: Optional[str]) -> None:
    if scene_graphs is not None and images is not None:
        raise ValueError("scene graphs come from a file or from images, "
                         "not both")


class _PostExtraction:
    """Posts to their output lines: scene graphs from a file or from raw
    images, the :class:`Predictor`, one JSON record per post, pictures."""

    def __init__(self, checkpoints: Sequence[str], *, device: str,
                 batch_size: int, window_words: int,
                 chunk_size: int = CHUNK_SIZE,
                 scene_graphs: Optional[str] = None,
                 image_files: Optional[Callable[[Sequence[Sample]],
                                                Dict[str, Path]]] = None,
                 detector: Optional[str] = None,
                 force_detector: bool = False,
                 image_workers: int = IMAGE_WORKERS,
                 plot_dir: Optional[str] = None,
                 timings: Optional[Timings] = None):
        self.predictor = Predictor.from_pretrained(
            checkpoints, map_location=device, batch_size=batch_size,
            window_words=window_words, chunk_size=chunk_size,
            timings=timings)
        check_extractors(checkpoints, self.predictor.models, scene_graphs)
        self.graph_map = _read_scene_graphs(scene_graphs)
        self.extractor = None
        if image_files is not None:
            config = checkpoint_extractor(self.predictor.models[0],
                                          checkpoints[0], detector,
                                          force_detector)
            if config is not None:
                self.extractor = image_extractor(self.predictor.models[0],
                                                 config, device)
        self.image_files = image_files
        self.image_workers = image_workers
        self.plot_dir = None if plot_dir is None else Path(plot_dir)
        self.timings = timings

    def lines(self, samples: Sequence[Sample], positions: Sequence[int],
              tally: Tally) -> List[str]:
        """The JSON lines of ``samples`` (at ``positions`` among the input's
        records, for the pictures' names), counting in ``tally``."""
        graph_map, errors, files = self.graph_map, {}, {}
        if self.extractor is not None:
            files = self.image_files(samples)
            with stage(self.timings, "images"):
                result = self.extractor.extract(list(files.values()),
                                                workers=self.image_workers)
            graph_map, errors = result.graphs, result.errors
            count_images(samples, result, tally)
            tally.counts[FEATURED] += count_featured(result.graphs.values())
        count_inputs(samples, graph_map, tally)
        samples = attach_scene_graphs(samples, graph_map)
        extracted = self.predictor.predict(samples)
        for model in self.predictor.models:  # memory stays bounded
            model.graph_builder.parser.trim_cache(PARSE_CACHE_SIZE)
        with stage(self.timings, "writing"):
            lines = []
            for sample, found in zip(samples, extracted):
                record = {"tokens": sample.tokens,
                          "image_id": sample.image_id,
                          "quintuples": [quintuple_record(q, sample.tokens, c)
                                         for q, c in found]}
                key = (None if sample.image_id is None
                       else image_key(sample.image_id))
                if key in errors:
                    record["image_error"] = errors[key]
                lines.append(json.dumps(record))
        if self.plot_dir is not None:
            tally.counts[PICTURES] += plot_predictions(
                samples, extracted, files, self.plot_dir, positions)
        return lines

    def report(self, tally: Tally, read: Optional[ReadReport]) -> None:
        """The notices of a run's counts (:func:`input_notices` and the
        skipped lines), the images' report and the pictures written."""
        if self.graph_map is not None:
            tally.counts[FEATURED] = count_featured(self.graph_map.values())
        if self.extractor is not None:
            print(images_summary(tally), file=sys.stderr)
        with_graphs = self.graph_map is not None or self.extractor is not None
        notices = [notice for model in self.predictor.models
                   for notice in _notices(model, tally, with_graphs, read)]
        if read is not None and read.skipped:
            notices.append(skip_notice(read))
        _notify(list(dict.fromkeys(notices)))
        if self.plot_dir is not None:
            print(f"wrote {tally.counts[PICTURES]} pictures to "
                  f"{self.plot_dir}", file=sys.stderr)


def skip_notice(report: ReadReport) -> str:
    """The faulty lines of a read: their count by reason, their numbers
    (the first :data:`~jmere_pyg.data.errors.MAX_SKIPPED_LINES`) and one
    message per reason."""
    reasons = ", ".join(f"{reason} {count:,}"
                        for reason, count in sorted(report.skipped.items()))
    places = ", ".join(map(str, report.skipped_lines))
    if report.num_skipped > len(report.skipped_lines):
        places += ", ..."
    examples = "; ".join(report.examples[reason]
                         for reason in sorted(report.examples))
    unit = "samples" if report.format == "jmere" else "lines"
    return (f"{report.path}: {report.num_skipped:,} faulty {unit} skipped "
            f"({reasons}): {unit} {places}; {examples}")


class _PredictJob(ChunkJob):
    """:func:`predict_file` as a :class:`~jmere_pyg.inference.stream.ChunkJob`:
    records are ``(position, (line, record))`` of the posts file."""
    unit = "post"

    def __init__(self, stream: SampleStream, extraction: _PostExtraction):
        self.stream = stream
        self.extraction = extraction

    def records(self):
        return enumerate(self.stream.records())

    def read(self, records):
        position_of = {line: position for position, (line, _) in records}
        samples, report = self.stream.read(record for _, record in records)
        return [(position_of[line], line, sample)
                for line, sample in samples], Tally(read=report)

    def work(self, items, tally):
        return self.extraction.lines([sample for _, _, sample in items],
                                     [position for position, _, _ in items],
                                     tally)

    def mismatch(self, items, lines):
        if len(lines) != len(items):
            return f"{len(lines)} lines for {len(items)} posts"
        for (_, line, sample), text in zip(items, lines):
            try:
                tokens = json.loads(text)["tokens"]
            except (ValueError, TypeError, KeyError):
                tokens = None
            if tokens != sample.tokens:
                return f"the words of input line {line} differ"
        return None
