"""How close prediction runs to the CPU's arithmetic limit: the encoder's
floating-point rate against a plain matrix product of its shapes, the
encoder's share of the model's time, and what int8 weights would buy.

On the val posts of the shared MNRE files (length-ordered batches, as
``Predictor`` runs them), with a trained checkpoint:

* **encoder**: its forward passes timed alone; its arithmetic counted from
  the encoder's config (per sub-word and layer: the query, key, value and
  output projections, ``4 d^2``, and the feed-forward layer, ``2 d f``,
  multiply-adds; attention adds ``2 n d`` per sub-word, counted too) over
  the batches' padded sub-words; GFLOP/s = 2 x multiply-adds / seconds.
* **sgemm**: ``torch.matmul`` of float32 matrices of the encoder's shapes
  (``[batch sub-words, d] x [d, f]`` and back), the rate this CPU's BLAS
  reaches on them: the encoder cannot run faster than this in float32.
* **model**: the whole forward pass (graphs built before), the encoder's
  share of it.
* ``--int8``: the encoder's linear layers quantised to int8 (dynamic,
  ``torch.ao.quantization.quantize_dynamic``): its time, and val F1 of the
  whole model against float32.

Usage::

    python benchmarks/speed/model_arithmetic.py --checkpoint runs/eega_minilm/best \\
        --int8 --output benchmarks/results/model_arithmetic.md
"""
import argparse
import copy
import json
import os
import sys
import time
import warnings
from pathlib import Path

import torch
from torch_geometric.data import Batch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from jmere_pyg.data import read_samples  # noqa: E402
from jmere_pyg.inference import Predictor  # noqa: E402
from jmere_pyg.inference.evaluation import evaluate  # noqa: E402
from jmere_pyg.testing.machine import describe_machine, git_commit  # noqa: E402,E501


def batches(order, size):
    return [order[i:i + size] for i in range(0, len(order), size)]


def encoder_multiply_adds(config, tokens: int, length: int) -> float:
    """Multiply-adds of a BERT-like encoder over ``tokens`` sub-words in
    sequences of ``length``."""
    d, f = config.hidden_size, config.intermediate_size
    per_token = 4 * d * d + 2 * d * f + 2 * length * d
    return config.num_hidden_layers * per_token * tokens


def timed(function, repeats: int) -> float:
    """The least of ``repeats`` timings of ``function()`` (seconds)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def measure_encoder(encoder, posts, order, batch_size, repeats):
    """Seconds of the encoder's passes and their multiply-adds."""
    groups = [[posts[i] for i in at] for at in batches(order, batch_size)]
    work = 0.0
    for group in groups:
        lengths = encoder.subword_lengths(group)
        padded = max(lengths)  # special tokens included
        work += encoder_multiply_adds(encoder.model.config,
                                      padded * len(group), padded)

    def run():
        with torch.no_grad():
            for group in groups:
                encoder(group)
    return timed(run, repeats), work


def sgemm_rate(config, rows: int, repeats: int) -> float:
    """GFLOP/s of float32 products of the encoder's feed-forward shapes."""
    d, f = config.hidden_size, config.intermediate_size
    a, b = torch.randn(rows, d), torch.randn(d, f)
    c, e = torch.randn(rows, f), torch.randn(f, d)

    def run():
        for _ in range(10):
            a @ b
            c @ e
    run()
    seconds = timed(run, repeats)
    return 2 * 10 * 2 * rows * d * f / seconds / 1e9


def model_seconds(model, graphs, order, batch_size, repeats) -> float:
    def run():
        with torch.no_grad():
            for at in batches(order, batch_size):
                model(Batch.from_data_list([graphs[i] for i in at]))
    return timed(run, repeats)


def f1s(predictor, samples):
    metrics = evaluate(predictor, samples)
    return {protocol: round(100 * metrics[protocol]["f1"], 2)
            for protocol in ("strict", "paper", "mner")}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--mnre-val", default=str(
        ROOT.parent / "shared" / "data" / "mnre" / "mnre_val.txt"))
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3,
                        help="timings of each part; the least is kept")
    parser.add_argument("--int8", action="store_true",
                        help="also the encoder with int8 linear layers")
    parser.add_argument("--threads", type=int,
                        help="torch threads (default: torch's)")
    parser.add_argument("--output", help="Markdown report (its JSON beside)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")

    samples, _ = read_samples(args.mnre_val)
    predictor = Predictor.from_pretrained(args.checkpoint)
    model = predictor.models[0].eval()
    encoder = model.encoder
    posts = [sample.tokens for sample in samples]
    lengths = encoder.subword_lengths(posts)
    order = sorted(range(len(posts)), key=lengths.__getitem__)
    graphs = model.graph_builder.build_many(samples, progress=False)

    encoder_s, work = measure_encoder(encoder, posts, order,
                                      args.batch_size, args.repeats)
    encoder_rate = 2 * work / encoder_s / 1e9
    rows = args.batch_size * round(sum(lengths) / len(lengths))
    blas_rate = sgemm_rate(encoder.model.config, rows, args.repeats)
    whole_s = model_seconds(model, graphs, order, args.batch_size,
                            args.repeats)
    result = {
        "posts": len(posts), "batch_size": args.batch_size,
        "threads": torch.get_num_threads(),
        "mean_subwords": round(sum(lengths) / len(lengths), 1),
        "encoder_seconds": round(encoder_s, 3),
        "encoder_gflop": round(2 * work / 1e9, 1),
        "encoder_gflops_per_s": round(encoder_rate, 1),
        "sgemm_rows": rows, "sgemm_gflops_per_s": round(blas_rate, 1),
        "encoder_share_of_sgemm": round(encoder_rate / blas_rate, 2),
        "model_seconds": round(whole_s, 3),
        "encoder_share_of_model": round(encoder_s / whole_s, 2),
        "ms_per_post": {"encoder": round(1000 * encoder_s / len(posts), 2),
                        "model": round(1000 * whole_s / len(posts), 2)},
    }
    if args.int8:
        result["f1_float32"] = f1s(predictor, samples)
        original = encoder.model
        encoder.model = torch.ao.quantization.quantize_dynamic(
            copy.deepcopy(original), {torch.nn.Linear}, dtype=torch.qint8)
        result["encoder_seconds_int8"] = round(measure_encoder(
            encoder, posts, order, args.batch_size, args.repeats)[0], 3)
        result["f1_int8"] = f1s(predictor, samples)
        encoder.model = original

    command = "python benchmarks/speed/model_arithmetic.py " + " ".join(
        sys.argv[1:])
    commit, machine = git_commit(ROOT), describe_machine()
    lines = [
        "# The model's arithmetic on this CPU", "",
        "Command (from the repository root):", "", f"    {command}", "",
        f"Commit {commit}; machine: {machine}; load average "
        f"{os.getloadavg()[0]:.1f} at the end.", "",
        "| figure | value |", "|---|---|",
        *[f"| {key} | {value} |" for key, value in result.items()], ""]
    text = "\n".join(lines)
    print(text)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        Path(args.output).with_suffix(".json").write_text(json.dumps(
            {"command": command, "commit": commit, "machine": machine,
             "result": result}, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
