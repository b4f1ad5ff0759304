"""Val F1 of trained checkpoints under each way of decoding entities.

    python benchmarks/quality/decoding.py runs/quality/eega_seed42/best \\
        runs/quality/no_edge_types_seed42/best --data-root data/jmere

Runs each model once over the val split and decodes the same logits with
every entity decoding of :data:`jmere_pyg.tagging.ENTITY_DECODINGS`, so the
rows differ in the decoding alone. Neither decoding has a free parameter:
nothing is tuned on val here. Writes ``benchmarks/results/decoding.md``.
"""
import argparse
import sys
from pathlib import Path

from jmere_pyg import EEGA, JMEREDataset
from jmere_pyg.metrics import quintuple_metrics
from jmere_pyg.tagging import ENTITY_DECODINGS, decode_grid
from jmere_pyg.inference import Predictor

PROTOCOLS = ("strict", "paper", "mner")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="+")
    parser.add_argument("--data-root", default="data/jmere")
    parser.add_argument("--max-words", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--out", default="benchmarks/results/decoding.md")
    args = parser.parse_args()

    dataset = JMEREDataset(args.data_root, split="val",
                           max_words=args.max_words)
    graphs = list(dataset)
    header = ("| checkpoint | entity decoding | " + " | ".join(
        f"{p} P | {p} R | {p} F1" for p in PROTOCOLS) + " |")
    lines = ["# Entity decoding on the val split", "",
             f"Command: `python {' '.join(sys.argv)}`", "",
             f"{len(graphs)} val posts; P/R/F1 in %, the same logits "
             f"decoded each way.", "", header,
             "|---|---|" + "---|" * (3 * len(PROTOCOLS))]
    gains = {p: [] for p in PROTOCOLS}
    for checkpoint in args.checkpoints:
        model = EEGA.from_pretrained(checkpoint)
        grids = list(Predictor(model, batch_size=args.batch_size).grids(
            dataset.samples_of(graphs), built=(dataset.builder, graphs)))
        gold = [dataset.samples[int(g.sample_index)].quintuples
                for g in graphs]
        scores = {}
        for decoding in ENTITY_DECODINGS:
            predictions = [decode_grid(g, entity_decoding=decoding)
                           for g in grids]
            scores[decoding] = quintuple_metrics(predictions, gold)
            cells = [f"{100 * scores[decoding][p][k]:.2f}"
                     for p in PROTOCOLS for k in ("precision", "recall", "f1")]
            lines.append(f"| {checkpoint} | {decoding} | "
                         + " | ".join(cells) + " |")
            print(lines[-1], flush=True)
        for p in PROTOCOLS:
            gains[p].append(100 * (scores["segment"][p]["f1"]
                                   - scores["diagonal"][p]["f1"]))
    differences = "; ".join(
        f"{p} " + ", ".join(f"{g:+.2f}" for g in gains[p]) for p in PROTOCOLS)
    lines += ["", f"F1 of `segment` minus `diagonal`, per checkpoint: "
              f"{differences}", ""]
    Path(args.out).write_text("\n".join(lines))
    print(lines[-2])


if __name__ == "__main__":
    main()
