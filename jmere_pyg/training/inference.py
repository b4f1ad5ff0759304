"""Evaluate a checkpoint on a data file; extract quintuples from new posts.

Input that is dropped, merged or ignored without being an error is reported
as a :class:`~jmere_pyg.data.DataNotice` warning with its count."""
import json
import sys
import warnings
from collections import Counter
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Union

from ..data.errors import DataNotice, ReadReport
from ..data.readers import read_samples
from ..data.sample import Quintuple, Sample
from ..data.scene_graph import (SceneGraph, image_key, lookup_scene_graph,
                                read_scene_graphs)
from ..data.tokenize import default_tokenizer
from ..datasets.images import image_paths
from ..error_analysis import error_analysis
from ..graphs import OBJECT
from ..models import EEGA
from ..vision import ExtractionResult, ExtractorConfig, SceneGraphExtractor
from ..models.eega import WINDOW_WORDS, extract_with_confidence
from .config import DEFAULT_MAX_WORDS
from .evaluation import evaluate, predict_ensemble, predict_graphs
from .output_files import check_output, write_atomically


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
                  scene_graphs: Optional[str] = None, batch_size: int = 32,
                  plot_dir: Optional[str] = None,
                  output: Optional[str] = None,
                  overwrite: bool = False,
                  max_words: Optional[int] = DEFAULT_MAX_WORDS) -> Dict:
    """Score the checkpoint on a data file (any format the readers accept).

    Several checkpoints are scored as one ensemble: the mean of their tag
    probabilities is decoded
    (:func:`~jmere_pyg.training.evaluation.predict_ensemble`), each model
    reading graphs of its own graph builder; ``checkpoint`` is then a list
    in the metrics too.

    ``output``, if given, receives the metrics as JSON; it is checked before
    any work (:func:`~jmere_pyg.training.output_files.check_output`: not an
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
    if output is not None:
        check_output(output, [data, *checkpoints, scene_graphs],
                     overwrite=overwrite)
    models = [EEGA.from_pretrained(c) for c in checkpoints]
    model = models[0]
    samples, report = read_samples(data, data_format, max_words=max_words,
                                   on_too_long="skip")
    graph_map = _read_scene_graphs(scene_graphs)
    _notify(_models_notices(models, samples, graph_map, report))
    images = count_scene_graph_matches(samples, graph_map)
    graph_lists = [m.graph_builder.build_many(samples, scene_graphs=graph_map)
                   for m in models]
    graphs = graph_lists[0]
    if len(models) == 1:
        predictions, indices = predict_graphs(model, graphs, batch_size,
                                              progress=True)
    else:
        predictions = predict_ensemble(models, graph_lists, batch_size,
                                       progress=True)
        indices = [int(g.sample_index) for g in graphs]
    metrics = evaluate(model, graphs, samples, predictions=predictions)
    errors = error_analysis(predictions,
                            [samples[i].quintuples for i in indices])
    metrics = {"data": str(data),
               "checkpoint": (str(checkpoints[0]) if len(checkpoints) == 1
                              else [str(c) for c in checkpoints]),
               "read_report": report.summary(), "images": images, **metrics,
               "errors": errors.to_dict()}
    if plot_dir is not None:
        from .plots import plot_per_relation, plot_transport_plan
        Path(plot_dir).mkdir(parents=True, exist_ok=True)
        plot_per_relation(metrics, Path(plot_dir) / "per_relation_f1.png")
        with_objects = [i for i, graph in enumerate(graphs)
                        if graph[OBJECT].num_nodes > 0]
        if with_objects:
            plot_transport_plan(model, graphs[with_objects[0]],
                                Path(plot_dir) / "transport_plan.png")
    if output is not None:
        write_atomically(output, json.dumps(metrics, indent=2) + "\n")
    return metrics


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
    (:func:`checkpoint_extractor`). A post whose image cannot be read is
    extracted from its text alone; its line says why (``image_error``) and
    a report on stderr counts it. ``plot_dir`` gets, per post with a scene
    graph, its image with boxes and predicates beside the quintuples.

    Posts longer than ``window_words`` words are read in windows of whole
    sentences (:meth:`EEGA.extract`): pairs across windows are not
    extracted.

    Several checkpoints extract as one ensemble that decodes the mean of
    their tag probabilities
    (:func:`jmere_pyg.models.eega.extract_with_confidence`); raw images then
    become scene graphs with the first checkpoint's extractor.
    """
    checkpoints = _checkpoint_list(checkpoint)
    if output is not None:
        check_output(output, [path, *checkpoints, scene_graphs, image,
                              images], overwrite=overwrite)
    if image is not None:
        if text is None:
            raise ValueError("--image goes with --text; give a folder with "
                             "--images for the posts of --input")
        if image_id is not None:
            raise ValueError("give --image or --image-id, not both")
        image_id = image_key(image)
    if images is not None and path is None:
        raise ValueError("--images goes with --input; give one file with "
                         "--image for --text")
    if scene_graphs is not None and (image is not None or images is not None):
        raise ValueError("--scene-graphs and --image/--images both give "
                         "scene graphs: pick one")
    models = [EEGA.from_pretrained(c, map_location=device)
              for c in checkpoints]
    model = models[0]
    report = None
    if text is not None:
        tokens = default_tokenizer()(text)
        if not tokens:
            raise ValueError("--text is empty: nothing to extract from")
        samples = [Sample(tokens=tokens, image_id=image_id, source="--text")]
    else:
        samples, report = read_samples(path, data_format)
    graph_map = _read_scene_graphs(scene_graphs)
    failed: Dict[str, str] = {}  # image file name -> why it was skipped
    image_files: Dict[str, Path] = {}
    if image is not None or images is not None:
        image_files = ({image_id: Path(image)} if image is not None else
                       image_paths(images, (s.image_id for s in samples)))
        config = checkpoint_extractor(model, checkpoints[0], detector,
                                      force_detector)
        if config is None:
            image_files = {}
        else:
            result = extract_image_graphs(model, config, image_files, device)
            graph_map, failed = result.graphs, result.errors
            _report_images(samples, result)
    _notify(_models_notices(models, samples, graph_map, report))
    extracted = extract_with_confidence(
        models, samples, batch_size=batch_size, scene_graphs=graph_map,
        window_words=window_words)
    lines, records = [], []
    for sample, found in zip(samples, extracted):
        record = {"tokens": sample.tokens, "image_id": sample.image_id,
                  "quintuples": [quintuple_record(q, sample.tokens, c)
                                 for q, c in found]}
        key = None if sample.image_id is None else image_key(sample.image_id)
        if key in failed:
            record["image_error"] = failed[key]
        records.append(record)
        lines.append(json.dumps(record))
    if output is not None:
        write_atomically(output, "".join(line + "\n" for line in lines))
    if plot_dir is not None:
        _plot_predictions(samples, extracted, graph_map or {}, image_files,
                          Path(plot_dir))
    return lines


# --------------------------------------------------- predicting from images
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


def _plot_predictions(samples: Sequence[Sample], extracted,
                      graphs: Mapping[str, SceneGraph],
                      files: Mapping[str, Path], folder: Path) -> None:
    """``post{i}_{image}.png`` per post whose image has a scene graph: the
    image, its boxes and a few predicates, the post and the extracted
    quintuples with their confidences."""
    from ..vision import plot_scene_graph
    folder.mkdir(parents=True, exist_ok=True)
    written = 0
    for i, (sample, found) in enumerate(zip(samples, extracted)):
        key = None if sample.image_id is None else image_key(sample.image_id)
        if key in graphs and key in files:
            plot_scene_graph(files[key], graphs[key],
                             folder / f"post{i}_{Path(key).stem}.png",
                             quintuples=[q for q, _ in found],
                             tokens=sample.tokens,
                             confidences=[c for _, c in found])
            written += 1
    print(f"wrote {written} pictures to {folder}", file=sys.stderr)


def _report_images(samples: Sequence[Sample],
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
