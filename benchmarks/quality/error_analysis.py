"""Where a checkpoint's val errors come from.

    python benchmarks/quality/error_analysis.py runs/eega_mpnet/best \\
        --data-root data/jmere --out benchmarks/results/error_analysis_mpnet.md

Runs the model once over the split, sorts every strict false positive into
one cause, and counts by relation the gold quintuples whose entity pair was
never extracted (:mod:`jmere_pyg.error_analysis`). It also reads the
entities of the grid before any relation is decoded (the most likely
segmentation, :func:`jmere_pyg.tagging.segment_entities`), to tell a gold
entity the model does not find from one it finds and never relates.
``quality.py`` writes the same tables for the first seed of its ``eega``
variant.
"""
import argparse
import sys
from pathlib import Path
from typing import Dict, List, Tuple

from torch import Tensor

from jmere_pyg import EEGA, JMEREDataset
from jmere_pyg.data import Quintuple
from jmere_pyg.error_analysis import (MISSED_PAIR_KINDS, ErrorAnalysis,
                                      error_analysis)
from jmere_pyg.labels import RELATIONS
from jmere_pyg.metrics import quintuple_metrics
from jmere_pyg.tagging import decode_grid, segment_entities
from jmere_pyg.inference import Predictor


def analyse_checkpoint(checkpoint, dataset: JMEREDataset,
                       batch_size: int = 32
                       ) -> Tuple[Dict, ErrorAnalysis, Dict[str, int]]:
    """The metrics of one checkpoint on ``dataset``, its errors and its
    entity counts (:func:`entity_counts`)."""
    model = EEGA.from_pretrained(checkpoint)
    graphs = list(dataset)
    # The Predictor's batches and graphs, so that the logits, and the
    # metrics, are those of training's evaluation.
    grids = list(Predictor(model, batch_size=batch_size).grids(
        dataset.samples_of(graphs), built=(dataset.builder, graphs)))
    indices = [int(g.sample_index) for g in graphs]
    predictions = [decode_grid(g, entity_decoding=model.config.entity_decoding)
                   for g in grids]
    golds = [dataset.samples[i].quintuples for i in indices]
    return (quintuple_metrics(predictions, golds),
            error_analysis(predictions, golds),
            entity_counts(grids, predictions, golds))


def entity_counts(grids: List[Tensor], predictions: List[List[Quintuple]],
                  golds: List[List[Quintuple]]) -> Dict[str, int]:
    """How many gold entities (of the gold quintuples, each once per post)
    the grid's segmentation finds by span, by span and type, and how many
    occur in a predicted quintuple; and how many entities it decodes."""
    counts = dict.fromkeys(("gold", "span found", "span and type found",
                            "in a predicted quintuple", "decoded"), 0)
    for grid, predicted, gold in zip(grids, predictions, golds):
        decoded = set(segment_entities(grid.float().log_softmax(dim=-1)))
        spans = {e.span for e in decoded}
        related = {e for q in predicted for e in (q.head, q.tail)}
        for entity in {e for q in gold for e in (q.head, q.tail)}:
            counts["gold"] += 1
            counts["span found"] += entity.span in spans
            counts["span and type found"] += entity in decoded
            counts["in a predicted quintuple"] += entity in related
        counts["decoded"] += len(decoded)
    return counts


def report_lines(title: str, metrics: Dict, analysis: ErrorAnalysis,
                 entities: Dict[str, int]) -> List[str]:
    """Markdown: the false positives by cause, then per relation its strict
    P/R/F1 and missed pairs."""
    causes, missed = analysis.false_positives, analysis.missed_pairs
    kinds = analysis.missed_pair_kinds
    lines = [f"## {title}", "",
             f"False positives by cause ({sum(causes.values())} in all):", "",
             "| cause | count |", "|---|---|"]
    lines += [f"| {c} | {n} |" for c, n in causes.most_common()]
    lines += ["", "Per relation (strict), and the gold quintuples whose "
              f"entity pair was not extracted at all "
              f"({sum(missed.values())} in all):", "",
              "| relation | support | P | R | F1 | pairs missed |",
              "|---|---|---|---|---|---|"]
    for relation in RELATIONS:
        r = metrics["per_relation"][relation]
        if r["support"]:
            lines.append(f"| {relation} | {r['support']} | "
                         f"{r['precision']:.2f} | {r['recall']:.2f} | "
                         f"{r['f1']:.2f} | {missed[relation]} |")
    lines += ["", "The missed pairs by how many of their two entities occur "
              "in a predicted quintuple of the post:", "",
              "| missed pair | count |", "|---|---|"]
    lines += [f"| {kind} | {kinds[kind]} |" for kind in MISSED_PAIR_KINDS]
    gold = entities["gold"]
    lines += ["", f"Entities: {gold} gold entities (of the gold quintuples, "
              f"each once per post); the segmentation of the grid decodes "
              f"{entities['decoded']} entities, related or not.", "",
              "| gold entities | count | share |", "|---|---|---|"]
    lines += [f"| {key} | {entities[key]} | {100 * entities[key] / gold:.1f} % |"
              for key in ("span found", "span and type found",
                          "in a predicted quintuple")]
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint")
    parser.add_argument("--data-root", default="data/jmere")
    parser.add_argument("--split", default="val", choices=["train", "val"])
    parser.add_argument("--max-words", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--out", default="benchmarks/results/error_analysis.md")
    args = parser.parse_args()

    dataset = JMEREDataset(args.data_root, split=args.split,
                           max_words=args.max_words)
    metrics, analysis, entities = analyse_checkpoint(
        args.checkpoint, dataset, args.batch_size)
    scores = ", ".join(f"{p} F1 {100 * metrics[p]['f1']:.2f}"
                       for p in ("strict", "paper", "mner"))
    lines = [f"# Errors of `{args.checkpoint}` on the {args.split} split", "",
             f"Command: `python {' '.join(sys.argv)}`", "",
             f"{len(dataset)} posts; {scores}.", ""]
    lines += report_lines(f"Error analysis ({args.split})", metrics,
                          analysis, entities)
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
