"""Evaluate a checkpoint on a data file; extract quintuples from new posts."""
import json
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence

from ..data.readers import read_samples
from ..data.sample import Quintuple, Sample
from ..data.scene_graph import (SceneGraph, lookup_scene_graph,
                                read_scene_graphs)
from ..data.tokenize import default_tokenizer
from ..graphs import OBJECT
from ..models import EEGA
from ..models.eega import WINDOW_WORDS
from .config import DEFAULT_MAX_WORDS
from .evaluation import evaluate, predict_graphs


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


def evaluate_file(checkpoint: str, data: str, *,
                  data_format: Optional[str] = None,
                  scene_graphs: Optional[str] = None, batch_size: int = 32,
                  plot_dir: Optional[str] = None,
                  max_words: Optional[int] = DEFAULT_MAX_WORDS) -> Dict:
    """Score the checkpoint on a data file (any format the readers accept).

    Posts longer than ``max_words`` words (``None``: no limit) are left out
    and counted in the metrics' ``read_report`` (reason ``too_long``)."""
    model = EEGA.from_pretrained(checkpoint)
    samples, report = read_samples(data, data_format, max_words=max_words,
                                   on_too_long="skip")
    graph_map = _read_scene_graphs(scene_graphs)
    images = count_scene_graph_matches(samples, graph_map)
    graphs = model.graph_builder.build_many(samples, scene_graphs=graph_map)
    predictions, _ = predict_graphs(model, graphs, batch_size, progress=True)
    metrics = evaluate(model, graphs, samples, predictions=predictions)
    metrics = {"data": str(data), "checkpoint": str(checkpoint),
               "read_report": report.summary(), "images": images, **metrics}
    if plot_dir is not None:
        from .plots import plot_per_relation, plot_transport_plan
        Path(plot_dir).mkdir(parents=True, exist_ok=True)
        plot_per_relation(metrics, Path(plot_dir) / "per_relation_f1.png")
        with_objects = [i for i, graph in enumerate(graphs)
                        if graph[OBJECT].num_nodes > 0]
        if with_objects:
            plot_transport_plan(model, graphs[with_objects[0]],
                                Path(plot_dir) / "transport_plan.png")
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


def predict_to_jsonl(checkpoint: str, *, text: Optional[str] = None,
                     path: Optional[str] = None,
                     data_format: Optional[str] = None,
                     image_id: Optional[str] = None,
                     scene_graphs: Optional[str] = None, batch_size: int = 32,
                     output: Optional[str] = None,
                     window_words: int = WINDOW_WORDS) -> List[str]:
    """Extract quintuples from ``text`` (tokenised by spaCy) or the samples
    of the file ``path``; return (and write to ``output``) JSON lines.

    Posts longer than ``window_words`` words are read in windows of whole
    sentences (:meth:`EEGA.extract`): pairs across windows are not
    extracted."""
    model = EEGA.from_pretrained(checkpoint)
    if text is not None:
        tokens = default_tokenizer()(text)
        if not tokens:
            raise ValueError("--text is empty: nothing to extract from")
        samples = [Sample(tokens=tokens, image_id=image_id, source="--text")]
    else:
        samples, _ = read_samples(path, data_format)
    extracted = model.extract_with_confidence(
        samples, batch_size=batch_size,
        scene_graphs=_read_scene_graphs(scene_graphs),
        window_words=window_words)
    lines = []
    for sample, found in zip(samples, extracted):
        lines.append(json.dumps({
            "tokens": sample.tokens, "image_id": sample.image_id,
            "quintuples": [quintuple_record(q, sample.tokens, c)
                           for q, c in found]}))
    if output is not None:
        Path(output).write_text("\n".join(lines) + "\n")
    return lines
