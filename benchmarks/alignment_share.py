"""The alignment's share of a full EEGA training step at the paper's sizes.

    python benchmarks/alignment_share.py --batch-size 16 --objects 10

Real JMERE training sentences, each given a synthetic scene graph of k
objects with 2k random predicate edges (no images exist here), so the
alignment runs on every sample. A training step (forward, backward,
optimiser) is timed with the alignment on and off, interleaved, on the same
weights and batches; the share is ``1 - t_off / t_on``. The torch profiler
then attributes the step's time to the alignment's ops.
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
from jmere_pyg.graphs import GraphBuilder

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
    parser.add_argument("--steps", type=int, default=6)
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
    builder = GraphBuilder().fit(samples, scene_graphs={
        s.image_id: s.scene_graph for s in samples})
    graphs = builder.build_many(samples, progress=False)
    batches = [Batch.from_data_list(graphs[i:i + args.batch_size])
               for i in range(0, len(graphs), args.batch_size)]
    torch.manual_seed(0)
    model = EEGA.from_builder(builder, EEGAConfig(alignment_mode=args.mode))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-5)
    alignment = model.alignment

    def step(batch, with_alignment: bool) -> float:
        model.alignment = alignment if with_alignment else None
        started = time.perf_counter()
        loss = model(batch).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return time.perf_counter() - started

    step(batches[0], True), step(batches[0], False)  # warm-up
    times = {True: [], False: []}
    for batch in batches:
        for with_alignment in (True, False):
            times[with_alignment].append(step(batch, with_alignment))
    on, off = statistics.median(times[True]), statistics.median(times[False])
    print(f"batch {args.batch_size}, {args.objects} objects, mode "
          f"{args.mode}, {torch.get_num_threads()} threads")
    print(f"training step with alignment    {on * 1000:8.1f} ms (median of "
          f"{len(batches)})")
    print(f"training step without alignment {off * 1000:8.1f} ms")
    print(f"alignment share (A/B)           {100 * (1 - off / on):8.1f} %")

    model.alignment = alignment
    original = alignment.forward

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
