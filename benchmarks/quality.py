"""Val quality of EEGA and its ablations over several seeds.

    python benchmarks/quality.py --seeds 42 43 44 --epochs 15

Trains each variant once per seed on the JMERE train split (text only: no
images exist on this machine) with the offline encoder, selects the epoch on
val quintuple F1, and reports mean and standard deviation of val P/R/F1
(strict, the paper's protocol, MNER) plus an error analysis of the first
seed's EEGA run. Finished runs are reused, so an interrupted benchmark
continues where it stopped; ``--report-only`` writes the report from the
runs finished so far and names the ones missing. Writes
``benchmarks/results/quality.md`` (and ``--json``).
"""
import argparse
import json
import os
import platform
import statistics
import sys
from collections import Counter
from pathlib import Path

import torch

from jmere_pyg import EEGA, JMEREDataset
from jmere_pyg.labels import RELATIONS
from jmere_pyg.metrics import strict_key
from jmere_pyg.training import TrainingConfig, predict_graphs, train

VARIANTS = {
    "eega": {},
    "no_edge_types": {"use_edge_types": False},
    "no_multi_channel": {"use_multi_channel": False},
}
PROTOCOLS = ("strict", "paper", "mner")


def run_variant(name, seed, args):
    run_dir = Path(args.runs) / f"{name}_seed{seed}"
    metrics_path = run_dir / "metrics.json"
    if not metrics_path.is_file():
        if args.report_only:
            return None, run_dir, None
        config = TrainingConfig.from_file(args.config).to_dict()
        config.update(run_dir=str(run_dir), seed=seed, epochs=args.epochs,
                      model={**config.get("model", {}), **VARIANTS[name]})
        train(TrainingConfig.from_dict(config), progress=False)
    # Training and val time of every epoch, from the run's own log.
    with open(run_dir / "log.jsonl") as log:
        seconds = sum(json.loads(line)["seconds"] for line in log)
    return json.loads(metrics_path.read_text()), run_dir, seconds


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return (f"{line.split(':', 1)[1].strip()}, "
                            f"{os.cpu_count()} cores")
    except OSError:
        pass
    return f"{platform.machine()} CPU, {os.cpu_count()} cores"


def mean_std(values):
    return (statistics.mean(values),
            statistics.stdev(values) if len(values) > 1 else 0.0)


def error_analysis(run_dir: Path, config: TrainingConfig):
    """Sort every val false positive of a checkpoint into one cause, and
    count by relation the gold quintuples whose entity pair was not
    extracted at all (in either order)."""
    dataset = JMEREDataset(config.data_root, split="val",
                           max_words=config.max_words)
    model = EEGA.from_pretrained(run_dir / "best")
    predictions, indices = predict_graphs(model, list(dataset))
    causes, missed = Counter(), Counter()
    for found, index in zip(predictions, indices):
        # Right and wrong as the strict metric counts them.
        gold = {strict_key(q): q for q in dataset.samples[index].quintuples}
        found = {strict_key(q): q for q in found}
        for key, q in found.items():
            if key not in gold:
                causes[classify(q, gold.values())] += 1
        for key, q in gold.items():
            if key not in found and not any(
                    same_pair_any_way(q, p) for p in found.values()):
                missed[q.relation] += 1
    return causes, missed


def same_pair_any_way(a, b):
    spans = lambda q: {(q.head.start, q.head.end), (q.tail.start, q.tail.end)}
    return spans(a) == spans(b)


def classify(q, gold):
    """The cause of a false positive ``q`` against the gold set."""
    span = lambda e: (e.start, e.end)
    for g in gold:
        if (span(q.head), span(q.tail)) == (span(g.head), span(g.tail)):
            if (q.head.type, q.tail.type) != (g.head.type, g.tail.type):
                return "entity type"
            return "relation"
        if (span(q.head), span(q.tail)) == (span(g.tail), span(g.head)):
            if (q.head.type, q.tail.type) != (g.tail.type, g.head.type):
                return "entity type"
            if q.relation == g.relation:
                return "direction"
            return "relation"
    gold_spans = {span(e) for g in gold for e in (g.head, g.tail)}
    causes = [span_error(span(e), gold_spans) for e in (q.head, q.tail)
              if span(e) not in gold_spans]
    if not causes:
        return "spurious pair (both entities gold)"
    # An entity that touches no gold entity says more than a boundary slip.
    return "spurious entity" if "spurious entity" in causes else causes[0]


def span_error(predicted, gold_spans):
    """How a predicted span that is not a gold entity relates to them."""
    s, e = predicted
    overlapping = [(a, b) for a, b in gold_spans if max(a, s) < min(b, e)]
    if not overlapping:
        return "spurious entity"
    a, b = overlapping[0]
    if a <= s and e <= b:
        return "entity boundary: span inside a gold entity"
    if s <= a and b <= e:
        return "entity boundary: span covers a gold entity"
    return "entity boundary: span crosses a gold entity"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="experiments/eega_minilm.json")
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 43, 44])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS),
                        choices=list(VARIANTS))
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--runs", default="runs/quality")
    parser.add_argument("--out", default="benchmarks/results/quality.md")
    parser.add_argument("--json")
    parser.add_argument("--report-only", action="store_true",
                        help="train nothing; report the finished runs")
    args = parser.parse_args()

    rows = {name: [] for name in args.variants}
    missing = []
    # Seed by seed, so that a benchmark cut short still compares every
    # variant on the seeds it finished.
    for seed in args.seeds:
        for name in args.variants:
            metrics, run_dir, seconds = run_variant(name, seed, args)
            if metrics is None:
                missing.append(f"{name} seed {seed}")
                continue
            rows[name].append((seed, metrics, run_dir, seconds))
            print(f"{name} seed {seed}: val strict F1 "
                  f"{metrics['strict']['f1']:.4f}, paper F1 "
                  f"{metrics['paper']['f1']:.4f}, MNER F1 "
                  f"{metrics['mner']['f1']:.4f}", flush=True)

    encoder = TrainingConfig.from_file(args.config).model.encoder
    lines = [f"# Val quality of EEGA (text only, encoder "
             f"{encoder or 'offline MiniLM-L6'})", "",
             f"Command: `python {' '.join(sys.argv)}`"
             + (" (the runs were trained by the same command without "
                "`--report-only`)" if args.report_only else ""), "",
             f"Epochs per run: {args.epochs}, batch and learning rates from "
             f"`{args.config}`.", "",
             f"Machine: {cpu_name()}, {torch.get_num_threads()} "
             f"threads, torch {torch.__version__}, no GPU; no images exist "
             f"here, so every run is text only.", "",
             "Mean ± standard deviation over seeds of the val split, the "
             "checkpoint chosen on val strict F1.", "",
             "| variant | seeds | " + " | ".join(
                 f"{p} P | {p} R | {p} F1" for p in PROTOCOLS) + " |",
             "|---|---|" + "---|" * (3 * len(PROTOCOLS))]
    summary = {}
    rows = {name: runs for name, runs in rows.items() if runs}
    for name, runs in rows.items():
        cells, summary[name] = [], {}
        for protocol in PROTOCOLS:
            for key in ("precision", "recall", "f1"):
                mean, std = mean_std([m[protocol][key] * 100
                                      for _, m, _, _ in runs])
                summary[name][f"{protocol}_{key}"] = (mean, std)
                cells.append(f"{mean:.2f} ± {std:.2f}")
        seeds = ", ".join(str(seed) for seed, *_ in runs)
        lines.append(f"| {name} | {seeds} | " + " | ".join(cells) + " |")
    if missing:
        lines += ["", "Not run (the benchmark was stopped before them): "
                  + ", ".join(missing) + "."]
    lines += ["", "Time of the epochs, training and val (s): " + ", ".join(
        f"{name} seed {seed}: {seconds:.0f}" for name, runs in rows.items()
        for seed, _, _, seconds in runs), ""]

    if "eega" in rows:
        seed, metrics, run_dir, _ = rows["eega"][0]
        causes, missed = error_analysis(
            run_dir, TrainingConfig.from_file(args.config))
        lines += [f"## Error analysis (eega, seed {seed}, val)", "",
                  f"False positives by cause "
                  f"({sum(causes.values())} in all):", "",
                  "| cause | count |", "|---|---|"]
        lines += [f"| {c} | {n} |" for c, n in causes.most_common()]
        lines += ["", f"Per relation (strict), and the gold quintuples "
                  f"whose entity pair was not extracted at all "
                  f"({sum(missed.values())} in all):", "",
                  "| relation | support | P | R | F1 | pairs missed |",
                  "|---|---|---|---|---|---|"]
        per_relation = metrics["per_relation"]
        for relation in RELATIONS:
            r = per_relation[relation]
            if r["support"]:
                lines.append(
                    f"| {relation} | {r['support']} | {r['precision']:.2f} | "
                    f"{r['recall']:.2f} | {r['f1']:.2f} | "
                    f"{missed[relation]} |")
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    if args.json:
        Path(args.json).write_text(json.dumps(
            {name: {k: {"mean": m, "std": s} for k, (m, s) in v.items()}
             for name, v in summary.items()}, indent=2))


if __name__ == "__main__":
    main()
