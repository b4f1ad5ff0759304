"""Where a checkpoint's val errors come from.

    python benchmarks/error_analysis.py runs/eega_mpnet/best \\
        --data-root data/jmere --out benchmarks/results/error_analysis.md

Decodes the val split once, sorts every strict false positive into one
cause, and counts by relation the gold quintuples whose entity pair was
never extracted (:mod:`jmere_pyg.error_analysis`). ``quality.py`` writes the
same tables for the first seed of its ``eega`` variant.
"""
import argparse
import sys
from pathlib import Path
from typing import Dict, List, Tuple

from jmere_pyg import EEGA, JMEREDataset
from jmere_pyg.error_analysis import (MISSED_PAIR_KINDS, ErrorAnalysis,
                                      error_analysis)
from jmere_pyg.labels import RELATIONS
from jmere_pyg.training import evaluate, predict_graphs


def analyse_checkpoint(checkpoint, dataset: JMEREDataset,
                       batch_size: int = 32) -> Tuple[Dict, ErrorAnalysis]:
    """The metrics of one checkpoint on ``dataset`` and its errors."""
    model = EEGA.from_pretrained(checkpoint)
    graphs = list(dataset)
    predictions, indices = predict_graphs(model, graphs, batch_size)
    metrics = evaluate(model, graphs, dataset.samples,
                       predictions=predictions)
    analysis = error_analysis(
        predictions, [dataset.samples[i].quintuples for i in indices])
    return metrics, analysis


def report_lines(title: str, metrics: Dict, analysis: ErrorAnalysis
                 ) -> List[str]:
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
    metrics, analysis = analyse_checkpoint(args.checkpoint, dataset,
                                           args.batch_size)
    scores = ", ".join(f"{p} F1 {100 * metrics[p]['f1']:.2f}"
                       for p in ("strict", "paper", "mner"))
    lines = [f"# Errors of `{args.checkpoint}` on the {args.split} split", "",
             f"Command: `python {' '.join(sys.argv)}`", "",
             f"{len(dataset)} posts; {scores}.", ""]
    lines += report_lines(f"Error analysis ({args.split})", metrics, analysis)
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
