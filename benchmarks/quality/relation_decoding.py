"""Val F1 that trained checkpoints gain without training: other rules for
deciding the relation of an entity pair, and ensembles.

    python benchmarks/quality/relation_decoding.py \\
        eega_42=runs/quality_segment/eega_seed42/best \\
        eega_43=runs/quality_segment/eega_seed43/best \\
        --ensemble eega_42,eega_43 --data-root data/jmere

Runs each model once over the val split. Entities are the grid's most
likely segmentation (``entity_decoding="segment"``, the default); each
ordered pair of them then has the block
average of :func:`jmere_pyg.tagging.pair_relation_probabilities`, ``p_none``
and ``p_r``. The rules, each read from the same probabilities:

* ``argmax`` (the library's :func:`jmere_pyg.tagging.decode_grid`): the
  best relation when it beats ``none``;
* ``threshold t``: the best relation when ``p_r > t * p_none``, for each
  ``--thresholds`` value (below 1 favours recall);
* ``one per entity pair``: ``argmax``, keeping one direction of a pair
  tagged both ways, the likelier one (no data pair has two relations);
* ``at least one per post``: ``argmax``, and a post that gets no quintuple
  gets its likeliest (pair, relation) (every data post has one).
* ``prior tau``: ``argmax`` after each ``p_r`` is multiplied by
  ``(pi_max / pi_r) ** tau``, ``pi_r`` the relation's share of the training
  quintuples (add-one smoothed), for each ``--prior-powers`` value: a
  post-hoc logit adjustment that lifts the rare relations, which the
  models almost never get right.

Then each ``--ensemble`` (labels joined by commas) decodes the mean of its
members' tag probabilities (:class:`jmere_pyg.inference.Predictor`, as
``jmere-pyg evaluate --checkpoint A B C``). The thresholds and prior
powers are sweeps to show the trend, not settings chosen on val. Writes
``benchmarks/results/relation_decoding.md``.
"""
import argparse
import statistics
import sys
from collections import Counter
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import torch

from jmere_pyg import EEGA, JMEREDataset
from jmere_pyg.data import Entity, Quintuple
from jmere_pyg.labels import RELATIONS
from jmere_pyg.metrics import quintuple_metrics
from jmere_pyg.tagging import pair_relation_probabilities, segment_entities
from jmere_pyg.inference import Predictor

PROTOCOLS = ("strict", "paper", "mner")
Scores = Dict[Tuple[Entity, Entity], torch.Tensor]


def pair_scores(grid: torch.Tensor) -> Scores:
    """``pair_relation_probabilities`` of every ordered pair of the grid's
    entities (its most likely segmentation, as in ``decode_grid``)."""
    log_probabilities = grid.float().log_softmax(dim=-1)
    entities = segment_entities(log_probabilities)
    probabilities = log_probabilities.exp()
    return {(h, t): pair_relation_probabilities(probabilities, h, t)
            for h in entities for t in entities if h != t}


def best_relation(scores: torch.Tensor) -> Tuple[str, float]:
    """The likeliest relation of a pair and its probability."""
    p, k = scores[1:].max(dim=0)
    return RELATIONS[int(k)], float(p)


def threshold_rule(scores: Scores, threshold: float) -> List[Quintuple]:
    found = []
    for (head, tail), s in scores.items():
        relation, p = best_relation(s)
        if p > threshold * float(s[0]):
            found.append(Quintuple(head, tail, relation))
    return found


def one_per_pair_rule(scores: Scores) -> List[Quintuple]:
    found = {(q.head, q.tail): q for q in threshold_rule(scores, 1.0)}
    for (head, tail) in list(found):
        if (tail, head) in found and (head, tail) in found:
            weaker = min((head, tail), (tail, head),
                         key=lambda pair: best_relation(scores[pair])[1])
            del found[weaker]
    return list(found.values())


def at_least_one_rule(scores: Scores) -> List[Quintuple]:
    found = threshold_rule(scores, 1.0)
    if found or not scores:
        return found
    head, tail = max(scores, key=lambda pair: best_relation(scores[pair])[1])
    return [Quintuple(head, tail, best_relation(scores[(head, tail)])[0])]


def relation_boosts(samples, power: float) -> torch.Tensor:
    """``(pi_max / pi_r) ** power`` for each of :data:`RELATIONS`, ``pi_r``
    the relation's add-one smoothed count in ``samples``' quintuples:
    ``[len(RELATIONS)]``, 1 for the commonest relation."""
    counts = Counter(q.relation for s in samples for q in s.quintuples)
    counts = torch.tensor([counts[r] + 1.0 for r in RELATIONS])
    return (counts.max() / counts) ** power


def prior_rule(scores: Scores, boosts: torch.Tensor) -> List[Quintuple]:
    """``argmax`` of the scores with each relation's ``p_r`` times its
    boost (``none`` left as it is)."""
    return threshold_rule({pair: torch.cat([s[:1], s[1:] * boosts])
                           for pair, s in scores.items()}, 1.0)


def f1_cells(predictions: Sequence[List[Quintuple]],
             golds: Sequence[List[Quintuple]]) -> List[float]:
    metrics = quintuple_metrics(predictions, golds)
    return [100 * metrics[p]["f1"] for p in PROTOCOLS]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="+", metavar="LABEL=PATH")
    parser.add_argument("--ensemble", action="append", default=[],
                        metavar="LABEL,LABEL,...")
    parser.add_argument("--thresholds", type=float, nargs="+",
                        default=[0.5, 0.7, 1.5, 2.0])
    parser.add_argument("--prior-powers", type=float, nargs="+",
                        default=[0.25, 0.5])
    parser.add_argument("--data-root", default="data/jmere")
    parser.add_argument("--max-words", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--out",
                        default="benchmarks/results/relation_decoding.md")
    args = parser.parse_args()
    checkpoints = dict(c.split("=", 1) if "=" in c else (c, c)
                       for c in args.checkpoints)
    for group in args.ensemble:
        unknown = set(group.split(",")) - set(checkpoints)
        if unknown:
            parser.error(f"--ensemble {group}: no checkpoint labelled "
                         f"{', '.join(sorted(unknown))}")

    dataset = JMEREDataset(args.data_root, split="val",
                           max_words=args.max_words)
    graphs = list(dataset)
    samples, built = dataset.samples_of(graphs), (dataset.builder, graphs)
    golds = [sample.quintuples for sample in samples]
    train_samples = JMEREDataset(args.data_root, split="train",
                                 max_words=args.max_words).samples
    rules = {"argmax": lambda s: threshold_rule(s, 1.0),
             **{f"threshold {t:g}": (lambda s, t=t: threshold_rule(s, t))
                for t in args.thresholds},
             "one per entity pair": one_per_pair_rule,
             "at least one per post": at_least_one_rule,
             **{f"prior {tau:g}": (lambda s, b=relation_boosts(
                 train_samples, tau): prior_rule(s, b))
                for tau in args.prior_powers}}
    cells = {rule: [] for rule in rules}
    lines = ["# Deciding relations on the val split without training", "",
             f"Command: `python {' '.join(sys.argv)}`", "",
             f"{len(graphs)} val posts; F1 in %. Rules are described in the "
             f"script's docstring.", "",
             "| checkpoint | rule | " + " | ".join(
                 f"{p} F1" for p in PROTOCOLS) + " |",
             "|---|---|" + "---|" * len(PROTOCOLS)]
    for label, path in checkpoints.items():
        model = EEGA.from_pretrained(path)
        if model.config.entity_decoding != "segment":
            sys.exit(f"{path}: entity_decoding is "
                     f"{model.config.entity_decoding!r}; the rules here "
                     f"read entities by segmentation")
        # The Predictor's batches, so that ``argmax`` reproduces the
        # metrics of training's evaluation.
        grids = list(Predictor(model, batch_size=args.batch_size).grids(
            samples, built=built))
        scores = [pair_scores(g) for g in grids]
        for rule, decide in rules.items():
            cells[rule].append(f1_cells([decide(s) for s in scores], golds))
            lines.append(f"| {label} | {rule} | " + " | ".join(
                f"{x:.2f}" for x in cells[rule][-1]) + " |")
            print(lines[-1], flush=True)

    summary = len(lines)
    lines += ["", f"Mean over the {len(checkpoints)} checkpoints, and the "
              f"change from `argmax`:", "",
              "| rule | " + " | ".join(f"{p} F1 | change" for p in PROTOCOLS)
              + " |", "|---|" + "---|" * (2 * len(PROTOCOLS))]
    base = [statistics.mean(c[k] for c in cells["argmax"])
            for k in range(len(PROTOCOLS))]
    for rule in rules:
        mean = [statistics.mean(c[k] for c in cells[rule])
                for k in range(len(PROTOCOLS))]
        lines.append(f"| {rule} | " + " | ".join(
            f"{m:.2f} | {m - b:+.2f}" for m, b in zip(mean, base)) + " |")

    if args.ensemble:
        lines += ["", "Ensembles: the mean of the members' tag probabilities, "
                  "decoded (`Predictor`); the members' mean F1 beside "
                  "it.", "", "| ensemble | " + " | ".join(
                      f"{p} F1 | members' mean" for p in PROTOCOLS) + " |",
                  "|---|" + "---|" * (2 * len(PROTOCOLS))]
    labels = list(checkpoints)
    for group in args.ensemble:
        members = group.split(",")
        predictions = Predictor(
            [EEGA.from_pretrained(checkpoints[m]) for m in members],
            batch_size=args.batch_size).extract(samples, built=built)
        ensemble = f1_cells(predictions, golds)
        single = [statistics.mean(cells["argmax"][labels.index(m)][k]
                                  for m in members)
                  for k in range(len(PROTOCOLS))]
        lines.append(f"| {' + '.join(members)} | " + " | ".join(
            f"{e:.2f} | {s:.2f}" for e, s in zip(ensemble, single)) + " |")
        print(lines[-1], flush=True)
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines[summary:]))


if __name__ == "__main__":
    main()
