"""Evaluate a checkpoint on a data file; extract quintuples from new posts.

Input that is dropped, merged or ignored without being an error is reported
as a :class:`~jmere_pyg.data.DataNotice` warning with its count."""
import json
import warnings
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Union

from ..data.errors import DataNotice, ReadReport
from ..data.readers import read_samples
from ..data.sample import Quintuple, Sample
from ..data.scene_graph import (SceneGraph, attach_scene_graphs, image_key,
                                lookup_scene_graph, read_scene_graphs)
from ..data.tokenize import default_tokenizer
from ..error_analysis import error_analysis
from ..graphs import OBJECT
from ..limits import DEFAULT_MAX_WORDS
from ..models import EEGA
from ..output_files import check_output, write_atomically
from ..run_folder import PER_RELATION_PLOT, TRANSPORT_PLAN_PLOT
from ..vision.folders import image_paths
from .evaluation import score
from .images import (check_extractors, image_scene_graphs,
                     plot_predictions)
from .predictor import WINDOW_WORDS, Predictor


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
    if scene_graphs is None:
        if model.config.use_image:
            with_image = sum(s.image_id is not None for s in samples)
            if with_image:
                notices.append(
                    f"{with_image:,} of {len(samples):,} samples name an "
                    f"image but no scene graphs were given: they get no "
                    f"objects")
        return notices
    if not model.config.use_image:
        notices.append("the checkpoint was trained without images: the "
                       "scene graphs are ignored")
        return notices
    missing = [s for s in samples if s.image_id is not None
               and lookup_scene_graph(scene_graphs, s.image_id) is None]
    if missing:
        notices.append(
            f"{len(missing):,} of {len(samples):,} samples name an image "
            f"with no scene graph (e.g. {missing[0].image_id!r}): they get "
            f"no objects")
    without_image = sum(s.image_id is None for s in samples)
    if without_image:
        notices.append(f"{without_image:,} of {len(samples):,} samples name "
                       f"no image: they get no objects")
    builder = model.graph_builder
    if builder is not None and builder.object_feature_dim == 0:
        with_features = sum(
            any(obj.feature is not None for obj in graph.objects)
            for graph in scene_graphs.values())
        if with_features:
            notices.append(
                f"{with_features:,} scene graphs carry object features, but "
                f"the checkpoint uses none (object_feature_dim 0): the "
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
    if scene_graphs is not None and images is not None:
        raise ValueError("scene graphs come from a file or from images, "
                         "not both")
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
                     window_words: int = WINDOW_WORDS) -> List[str]:
    """Extract quintuples from ``text`` (tokenised by spaCy) or the samples
    of the file ``path``; return (and write to ``output``) JSON lines.

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
    checkpoints = _checkpoint_list(checkpoint)
    if (text is None) == (path is None):
        raise ValueError("give the text of one post or a file of posts")
    if image is not None and (text is None or image_id is not None):
        raise ValueError("an image file goes with the text of one post, "
                         "instead of an image id")
    if images is not None and path is None:
        raise ValueError("a folder of images goes with a file of posts")
    if scene_graphs is not None and (image is not None or images is not None):
        raise ValueError("scene graphs come from a file or from images, "
                         "not both")
    if output is not None:
        check_output(output, [path, *checkpoints, scene_graphs, image,
                              images], overwrite=overwrite)
    if image is not None:
        image_id = image_key(image)
    predictor = Predictor.from_pretrained(
        checkpoints, map_location=device, batch_size=batch_size,
        window_words=window_words, progress=path is not None)
    model = predictor.models[0]
    check_extractors(checkpoints, predictor.models, scene_graphs)
    report = None
    if text is not None:
        tokens = default_tokenizer()(text)
        if not tokens:
            raise ValueError("the text is empty: nothing to extract from")
        samples = [Sample(tokens=tokens, image_id=image_id, source="--text")]
    else:
        samples, report = read_samples(path, data_format)
    graph_map = _read_scene_graphs(scene_graphs)
    failed: Dict[str, str] = {}  # image file name -> why it was skipped
    image_files: Dict[str, Path] = {}
    if image is not None or images is not None:
        image_files = ({image_id: Path(image)} if image is not None else
                       image_paths(images, (s.image_id for s in samples)))
        result = image_scene_graphs(model, checkpoints[0], samples,
                                    image_files, detector, force_detector,
                                    device)
        if result is None:
            image_files = {}
        else:
            graph_map, failed = result.graphs, result.errors
    _notify(_models_notices(predictor.models, samples, graph_map, report))
    samples = attach_scene_graphs(samples, graph_map)
    extracted = predictor.predict(samples)
    lines = []
    for sample, found in zip(samples, extracted):
        record = {"tokens": sample.tokens, "image_id": sample.image_id,
                  "quintuples": [quintuple_record(q, sample.tokens, c)
                                 for q, c in found]}
        key = None if sample.image_id is None else image_key(sample.image_id)
        if key in failed:
            record["image_error"] = failed[key]
        lines.append(json.dumps(record))
    if output is not None:
        write_atomically(output, "".join(line + "\n" for line in lines))
    if plot_dir is not None:
        plot_predictions(samples, extracted, image_files, Path(plot_dir))
    return lines
