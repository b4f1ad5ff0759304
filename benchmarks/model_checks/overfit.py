"""Can the whole chain learn? EEGA with the offline encoder overfits a few
real training sentences.

    python benchmarks/model_checks/overfit.py --samples 32 --epochs 40

Trains on the first N MNRE training sentences (text only: no images here)
and reports the train quintuple F1 after each epoch and the wall time
(``benchmarks/results/model.md`` has the figures).
"""
import argparse
import json
import time

import torch
from torch_geometric.loader import DataLoader

from jmere_pyg import EEGA, EEGAConfig, JMEREDataset
from jmere_pyg.inference import Predictor, evaluate
from jmere_pyg.testing.machine import describe_machine
from jmere_pyg.training.trainer import build_optimizer, seed_everything
from jmere_pyg.training import TrainingConfig


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnre-dir", default="../shared/data/mnre")
    parser.add_argument("--data-root", default="data/jmere")
    parser.add_argument("--samples", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--target", type=float, default=0.9)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--encoder-lr", type=float, default=1e-4)
    parser.add_argument("--json", help="write the curve here")
    args = parser.parse_args()

    seed_everything(0)
    JMEREDataset.prepare_root_from_mnre(args.data_root, args.mnre_dir)
    dataset = JMEREDataset(args.data_root, split="train")
    graphs = [dataset[i] for i in range(args.samples)]
    model = EEGA.from_builder(dataset.builder, EEGAConfig(dropout=0.0))
    optimizer = build_optimizer(model, TrainingConfig(
        lr=args.lr, encoder_lr=args.encoder_lr))
    loader = DataLoader(graphs, batch_size=8, shuffle=True)

    started = time.time()
    curve = []
    for epoch in range(1, args.epochs + 1):
        model.train()
        for batch in loader:
            loss = model(batch).loss
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
        f1 = evaluate(Predictor(model), dataset.samples_of(graphs),
                      built=(dataset.builder, graphs))["strict"]["f1"]
        seconds = time.time() - started
        curve.append({"epoch": epoch, "loss": loss.item(), "train_f1": f1,
                      "seconds": round(seconds, 1)})
        print(f"epoch {epoch:3d}  loss {loss.item():.4f}  "
              f"train strict F1 {f1:.4f}  {seconds:6.1f}s", flush=True)
        if f1 >= args.target:
            break
    reached = curve[-1]["train_f1"] >= args.target
    print(f"\n{'reached' if reached else 'did NOT reach'} train F1 "
          f">= {args.target} on {args.samples} sentences: "
          f"F1 {curve[-1]['train_f1']:.4f} after {curve[-1]['epoch']} epochs, "
          f"{curve[-1]['seconds']}s on {describe_machine()}")
    if args.json:
        with open(args.json, "w") as out:
            json.dump(curve, out, indent=2)


if __name__ == "__main__":
    main()
