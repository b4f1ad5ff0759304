"""Val F1 of a run's best checkpoint averaged with its last state.

    python benchmarks/quality/checkpoint_average.py runs/eega_mpnet \\
        runs/eega_mpnet_seed43 runs/eega_mpnet_seed44 --data-root data/jmere

A run folder of ``jmere-pyg train`` holds its best-on-val checkpoint
(``best/``) and the weights after its last epoch (``last_state.pt``), a few
epochs later at a lower learning rate. Averaging the two weight sets is a
one-model alternative to an ensemble (a two-point "model soup"), free after
training. This scores, for each run, the best checkpoint and the uniform
average of the two on the val split, and their mean change. Writes
``benchmarks/results/checkpoint_average.md``.
"""
import argparse
import statistics
import sys
from pathlib import Path

from jmere_pyg import EEGA, JMEREDataset
from jmere_pyg.data.tensor_files import load_plain
from jmere_pyg.training import evaluate
from jmere_pyg.run_folder import LAST_STATE_FILE, RunFolder

PROTOCOLS = ("strict", "paper", "mner")


def average_with_last(model: EEGA, run_dir: Path) -> EEGA:
    """Replace every floating-point weight of ``model`` (the run's best
    checkpoint) by its mean with the same weight of ``last_state.pt``."""
    last = load_plain(RunFolder(run_dir).last_state, "resume state")["model"]
    best = model.state_dict()
    if best.keys() != last.keys():
        sys.exit(f"{run_dir}: best/ and {LAST_STATE_FILE} hold different "
                 f"weights")
    model.load_state_dict({
        name: (value + last[name].to(value.dtype)) / 2
        if value.is_floating_point() else value
        for name, value in best.items()})
    return model


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--data-root", default="data/jmere")
    parser.add_argument("--max-words", type=int, default=128)
    parser.add_argument("--out",
                        default="benchmarks/results/checkpoint_average.md")
    args = parser.parse_args()
    dataset = JMEREDataset(args.data_root, split="val",
                           max_words=args.max_words)
    graphs = list(dataset)

    def f1s(model):
        metrics = evaluate(model.eval(), graphs, dataset.samples)
        return [100 * metrics[p]["f1"] for p in PROTOCOLS]

    lines = ["# Best checkpoint averaged with the last state (val)", "",
             f"Command: `python {' '.join(sys.argv)}`", "",
             f"{len(graphs)} val posts; F1 in %.", "",
             "| run | weights | " + " | ".join(f"{p} F1" for p in PROTOCOLS)
             + " |", "|---|---|" + "---|" * len(PROTOCOLS)]
    changes = []
    for run_dir in args.runs:
        model = EEGA.from_pretrained(RunFolder(run_dir).best)
        best = f1s(model)
        mean = f1s(average_with_last(model, run_dir))
        changes.append([m - b for m, b in zip(mean, best)])
        for label, row in (("best", best), ("mean of best and last", mean)):
            lines.append(f"| {run_dir} | {label} | "
                         + " | ".join(f"{x:.2f}" for x in row) + " |")
            print(lines[-1], flush=True)
    lines += ["", "Mean change over the runs: " + ", ".join(
        f"{p} {statistics.mean(c[k] for c in changes):+.2f}"
        for k, p in enumerate(PROTOCOLS)) + "."]
    Path(args.out).write_text("\n".join(lines) + "\n")
    print(lines[-1])


if __name__ == "__main__":
    main()
