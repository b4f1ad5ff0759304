"""Training-step time and encoder padding with and without length bucketing.

    python benchmarks/speed/epoch_speed.py --steps 60 --threads 1
    python benchmarks/speed/epoch_speed.py \\
        --config experiments/eega_mpnet.json --steps 24 --threads 1
    python benchmarks/speed/epoch_speed.py \\
        --config experiments/eega_mpnet.json --steps 12 --threads 2 \\
        --kinds bucketed --mixed-precision bf16
    python benchmarks/speed/epoch_speed.py --steps 40 --threads 2 \\
        --kinds bucketed --set frozen_encoder_layers=3

For each batching (``plain``: the trainer's random batches; ``bucketed``:
:class:`LengthBucketBatchSampler`) it reports the padding ratio of a whole
training epoch (sub-word positions the encoder runs over the real ones, each
batch padded to its longest sample), then trains a fresh model (same seed)
for ``--steps`` steps of that epoch's batches as the trainer does (forward,
backward, clipping, Adam) and times each step. The projected epoch is the
mean step time times the steps of an epoch, plus one timed pass over val
(``--eval``). The tokenisation of the training set is done (and timed) once
before, as the trainer does. ``--mixed-precision bf16`` runs the forward
pass under bfloat16 autocast, as ``TrainingConfig.mixed_precision`` does; on
a CPU with AVX512-BF16 its matrix products run in bfloat16 too. Without it
torch emulates bfloat16, which this script times as asked, while the
trainer trains such a run in float32 (``jmere_pyg.training.precision``).
"""
import argparse
import dataclasses
import json
import os
import statistics
import time

import torch
from torch.utils.data import DistributedSampler
from torch_geometric.loader import DataLoader

from jmere_pyg import EEGA
from jmere_pyg.cli import parse_assignments
from jmere_pyg.inference import Predictor
from jmere_pyg.testing.machine import describe_machine, git_commit
from jmere_pyg.training import TrainingConfig
from jmere_pyg.training.config import MIXED_PRECISION
from jmere_pyg.training.sampling import LengthBucketBatchSampler, padding_ratio
from jmere_pyg.training.trainer import (build_optimizer, load_splits,
                                        seed_everything, train_step)


def epoch_batches(kind, lengths, config, epoch=1):
    """The global batches of one training epoch, as the trainer draws them."""
    if kind == "bucketed":
        sampler = LengthBucketBatchSampler(lengths, config.batch_size,
                                           seed=config.seed)
        sampler.set_epoch(epoch)
        return list(sampler)
    sampler = DistributedSampler(range(len(lengths)), num_replicas=1, rank=0,
                                 shuffle=True, seed=config.seed)
    sampler.set_epoch(epoch)
    order = list(sampler)
    return [order[i:i + config.batch_size]
            for i in range(0, len(order), config.batch_size)]


def time_steps(config, train_set, graphs, batches):
    """Seconds of each training step over ``batches``, a fresh model.

    Each step is the trainer's :func:`train_step`. A student config is
    timed without its distillation term: the teachers' soft targets need
    not be on this machine, and the term costs one cross-entropy over the
    logits the step computes anyway.
    """
    config = dataclasses.replace(config, teachers=None, teacher_targets=None)
    seed_everything(config.seed)
    model = EEGA.from_builder(train_set.builder, config.model)
    model.encoder.subword_lengths([g.tokens for g in graphs])  # the cache
    optimizer = build_optimizer(model, config)
    model.train()
    seconds = []
    for batch_indices in batches:
        batch = next(iter(DataLoader([graphs[i] for i in batch_indices],
                                     batch_size=len(batch_indices))))
        started = time.perf_counter()
        train_step(model, model, batch, optimizer, config)
        seconds.append(time.perf_counter() - started)
    return model, seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="experiments/eega_minilm.json")
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--kinds", nargs="+", default=["plain", "bucketed"],
                        choices=["plain", "bucketed"])
    parser.add_argument("--eval", action="store_true",
                        help="also time one prediction pass over val")
    parser.add_argument("--mixed-precision", choices=MIXED_PRECISION,
                        help="override the config's mixed_precision")
    parser.add_argument("--set", action="append", default=[],
                        metavar="KEY=VALUE",
                        help="model setting, as for jmere-pyg train "
                             "(e.g. --set frozen_encoder_layers=3)")
    parser.add_argument("--json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    config = TrainingConfig.from_file(args.config)
    if args.mixed_precision is not None:
        config.mixed_precision = args.mixed_precision
    config = config.replace(model=config.model.replace(
        **parse_assignments(args.set)))
    train_set, val_set = load_splits(config)
    graphs, val_graphs = list(train_set), list(val_set)

    seed_everything(config.seed)
    probe = EEGA.from_builder(train_set.builder, config.model)
    started = time.perf_counter()
    lengths = probe.encoder.subword_lengths([g.tokens for g in graphs])
    tokenise_s = time.perf_counter() - started
    val_lengths = probe.encoder.subword_lengths([g.tokens for g in val_graphs])
    del probe
    eval_size = config.eval_batch_size
    in_order = [list(range(i, min(i + eval_size, len(val_lengths))))
                for i in range(0, len(val_lengths), eval_size)]
    by_length = sorted(range(len(val_lengths)), key=val_lengths.__getitem__)
    by_length = [by_length[i:i + eval_size]
                 for i in range(0, len(by_length), eval_size)]
    result = {
        "machine": describe_machine(args.threads), "commit": git_commit("."),
        "config": args.config, "model_settings": args.set,
        "encoder": config.model.encoder,
        "threads": args.threads, "mixed_precision": config.mixed_precision,
        "batch_size": config.batch_size,
        "train_samples": len(graphs),
        "tokenise_train_s": round(tokenise_s, 2),
        "val_padding_ratio": {
            "in_order": round(padding_ratio(val_lengths, in_order), 3),
            "sorted": round(padding_ratio(val_lengths, by_length), 3)},
        "load_before": os.getloadavg()[0], "kinds": {}}
    print(json.dumps(result), flush=True)
    model = None
    for kind in args.kinds:
        batches = epoch_batches(kind, lengths, config)
        model, seconds = time_steps(config, train_set, graphs,
                                    batches[:args.steps])
        mean = statistics.mean(seconds)
        result["kinds"][kind] = {
            "steps_per_epoch": len(batches),
            "epoch_padding_ratio": round(padding_ratio(lengths, batches), 3),
            "timed_padding_ratio": round(
                padding_ratio(lengths, batches[:args.steps]), 3),
            "timed_steps": len(seconds),
            "mean_step_s": round(mean, 3),
            "median_step_s": round(statistics.median(seconds), 3),
            "projected_train_epoch_s": round(mean * len(batches), 1)}
        print(kind, json.dumps(result["kinds"][kind]), flush=True)
    if args.eval and model is not None:
        started = time.perf_counter()
        Predictor(model, batch_size=eval_size).extract(
            val_set.samples_of(val_graphs),
            built=(val_set.builder, val_graphs))
        result["val_pass_s"] = round(time.perf_counter() - started, 1)
    result["load_after"] = os.getloadavg()[0]
    print(json.dumps(result, indent=2))
    if args.json:
        with open(args.json, "w") as out:
            json.dump(result, out, indent=2)


if __name__ == "__main__":
    main()
