"""The alignment's share of a full EEGA training step at the paper's sizes.

    python benchmarks/speed/alignment_share.py --batch-size 16 --objects 10

Real JMERE training sentences, each given a synthetic scene graph of k
objects with 2k random predicate edges (no images exist here), so the
alignment runs on every sample. Three measurements, on the same weights
and batches:

* direct: in every training step (forward, backward, optimiser) the
  alignment's inputs are kept; its forward and backward are then timed
  again on exactly those tensors, and divided by the step's time;
* A/B: steps with the alignment on and off, interleaved; the share is
  ``1 - t_off / t_on`` (noisy on a shared machine: it is a difference of
  two large numbers);
* profiler: the alignment's ops in one forward pass.
"""
import argparse
import random
import statistics
import time

import torch
from torch.profiler import ProfilerActivity, profile, record_function
from torch_geometric.data import Batch

from jmere_pyg import (EEGA, EEGAConfig, JMEREDataset, Sample, SceneGraph,
                       SceneObject, SceneRelation)
from jmere_pyg.graphs import PAIR, GraphBuilder
from jmere_pyg.training.trainer import build_optimizer
from jmere_pyg.training import TrainingConfig

CLASSES = ["man", "woman", "shirt", "ball", "trophy", "court", "car", "tree"]
PREDICATES = ["near", "holding", "wearing", "on", "behind", "has"]


def scene(k: int, rng: random.Random) -> SceneGraph:
    objects = [SceneObject(rng.choice(CLASSES), 1.0 - 0.01 * i,
                           [0, 0, 10, 10]) for i in range(k)]
    relations = [SceneRelation(rng.randrange(k), rng.choice(PREDICATES),
                               rng.randrange(k)) for _ in range(2 * k)]
    return SceneGraph(objects, relations)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", default="data/jmere")
    parser.add_argument("--mnre-dir", default="../shared/data/mnre")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--objects", type=int, default=10)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--mode", default="sparse", choices=["sparse",
                                                             "dense"])
    args = parser.parse_args()

    rng = random.Random(0)
    JMEREDataset.prepare_root_from_mnre(args.data_root, args.mnre_dir)
    dataset = JMEREDataset(args.data_root, split="train", log=False)
    samples = [Sample(s.tokens, f"{i}.jpg", s.quintuples,
                      scene(args.objects, rng))
               for i, s in enumerate(dataset.samples[:args.batch_size
                                                     * args.steps])]
    builder = GraphBuilder().fit(samples)
    graphs = builder.build_many(samples, progress=False)
    batches = [Batch.from_data_list(graphs[i:i + args.batch_size])
               for i in range(0, len(graphs), args.batch_size)]
    torch.manual_seed(0)
    model = EEGA.from_builder(builder, EEGAConfig(alignment_mode=args.mode))
    model.train()
    optimizer = build_optimizer(model, TrainingConfig())
    alignment = model.alignment
    original = alignment.forward
    kept = {}

    def keep_inputs(*inputs):
        kept["inputs"] = inputs
        return original(*inputs)

    def step(batch, with_alignment: bool) -> float:
        model.alignment = alignment if with_alignment else None
        started = time.perf_counter()
        loss = model(batch).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return time.perf_counter() - started

    def alignment_alone(batch) -> float:
        """Forward and backward of the alignment on the kept inputs."""
        inputs = [t.detach().requires_grad_() if t.is_floating_point() else t
                  for t in kept["inputs"][:-1]] + [kept["inputs"][-1]]
        pairs = batch[PAIR].num_edges
        started = time.perf_counter()
        graph_loss = original(*inputs).loss
        model.graph_term(graph_loss, batch.num_graphs, pairs).backward()
        return time.perf_counter() - started

    alignment.forward = keep_inputs
    step(batches[0], True), step(batches[0], False)  # warm-up
    times = {True: [], False: []}
    direct = []
    for batch in batches:
        for with_alignment in (True, False):
            times[with_alignment].append(step(batch, with_alignment))
        direct.append(alignment_alone(batch) / times[True][-1])
    on, off = statistics.median(times[True]), statistics.median(times[False])
    print(f"batch {args.batch_size}, {args.objects} objects, mode "
          f"{args.mode}, {torch.get_num_threads()} threads, "
          f"{len(batches)} batches")
    print(f"training step with alignment    {on * 1000:8.1f} ms (median)")
    print(f"training step without alignment {off * 1000:8.1f} ms (median)")
    print(f"alignment share (direct)        {100 * statistics.median(direct):8.1f} %"
          f" (median; min {100 * min(direct):.1f}, max {100 * max(direct):.1f})")
    print(f"alignment share (A/B)           {100 * (1 - off / on):8.1f} %")

    model.alignment = alignment

    def labelled(*inputs, **kwargs):
        with record_function("graph_alignment"):
            return original(*inputs, **kwargs)

    alignment.forward = labelled
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        loss = model(batches[0]).loss
    total = sum(e.self_cpu_time_total for e in prof.key_averages())
    share = next(e.cpu_time_total for e in prof.key_averages()
                 if e.key == "graph_alignment")
    print(f"alignment share of the forward pass (profiler) "
          f"{100 * share / total:8.1f} %")


if __name__ == "__main__":
    main()
