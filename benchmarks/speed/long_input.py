"""Time and peak memory of ``predict`` on long posts (bounded work).

    python benchmarks/speed/long_input.py --threads 1 \\
        --json /tmp/long_input.json

Builds a tiny randomly initialised EEGA checkpoint (2-layer, 32-d BERT; the
real offline spaCy parser) and runs ``predict --text`` on posts of 100,
1,000 and 10,000 words, each in a fresh subprocess, which reports the wall
time of the call and its peak resident memory (``ru_maxrss``). With
``--window-words`` (default 100) long posts are read in windows of whole
sentences; the old behaviour is measured where it finishes within
``--old-timeout`` seconds: the whole post as one window, and the old
cubic ``dependency_distances`` (dense matrix products) against the new
breadth-first search.
"""
import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


WORDS = ["Curry", "and", "Thompson", "join", "the", "Warriors", "in", "San",
         "Francisco", "with", "a", "new", "team", "of", "stars", "at",
         "NBA", "trophy", "so", "happy", "city", "New", "York", "player",
         "won", "for"]


def long_text(words: int, seed: int = 0) -> str:
    """``words`` words in sentences of 6 to 20 words, each ending in '.'."""
    rng = random.Random(seed)
    out = []
    while len(out) < words:
        length = rng.randint(5, 19)
        out.extend(rng.choice(WORDS) for _ in range(length))
        out.append(".")
    return " ".join(out[:words])


def make_checkpoint(folder: Path) -> Path:
    """A tiny random EEGA checkpoint fitted on a few sentences."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    from jmere_pyg import EEGA, EEGAConfig, GraphBuilder
    from jmere_pyg.data import Entity, Quintuple, Sample

    encoder = folder / "encoder"
    encoder.mkdir(parents=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "."] + sorted(
        {w.lower() for w in WORDS})
    (encoder / "vocab.txt").write_text("\n".join(vocab) + "\n")
    BertTokenizerFast(vocab_file=str(encoder / "vocab.txt"),
                      do_lower_case=True).save_pretrained(encoder)
    torch.manual_seed(0)
    BertModel(BertConfig(vocab_size=len(vocab), hidden_size=32,
                         num_hidden_layers=2, num_attention_heads=2,
                         intermediate_size=64, max_position_embeddings=512)
              ).save_pretrained(encoder)
    samples = [Sample(long_text(12, seed).split(), None, [Quintuple(
        Entity(0, 1, "per"), Entity(2, 3, "org"), "member_of")])
        for seed in range(8)]
    builder = GraphBuilder().fit(samples)
    model = EEGA.from_builder(builder, EEGAConfig(
        encoder=str(encoder), heads=2, edge_dim=8, channel_dim=8,
        use_image=False))
    model.save_pretrained(folder / "ckpt")
    return folder / "ckpt"


def child(args) -> None:
    """One measurement, in its own process: predict on ``--words`` words."""
    import torch

    from jmere_pyg.inference import predict_to_jsonl

    torch.set_num_threads(args.threads)
    text = long_text(args.words)
    started = time.perf_counter()
    lines = predict_to_jsonl(args.checkpoint, text=text,
                             window_words=args.window_words)
    seconds = time.perf_counter() - started
    record = json.loads(lines[0])
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"words": len(record["tokens"]), "seconds": seconds,
                      "peak_rss_mib": peak_kib / 1024,
                      "quintuples": len(record["quintuples"])}))


def measure(checkpoint: Path, words: int, window_words: int, threads: int,
            timeout: float) -> dict:
    command = [sys.executable, __file__, "--child", "--checkpoint",
               str(checkpoint), "--words", str(words), "--window-words",
               str(window_words), "--threads", str(threads)]
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    try:
        done = subprocess.run(command, capture_output=True, text=True,
                              timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return {"words": words, "window_words": window_words,
                "outcome": f"unfinished after {timeout:.0f} s"}
    if done.returncode != 0:
        return {"words": words, "window_words": window_words,
                "outcome": f"failed: {done.stderr.strip().splitlines()[-1]}"}
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return {**result, "window_words": window_words, "outcome": "finished"}


def distance_timings(words: int) -> dict:
    from jmere_pyg.graphs import TextParser, dependency_distances
    from jmere_pyg.testing import matrix_product_distances

    heads = TextParser().parse(long_text(words).split()).heads
    started = time.perf_counter()
    old = matrix_product_distances(heads)
    old_seconds = time.perf_counter() - started
    started = time.perf_counter()
    new = dependency_distances(heads).numpy()
    new_seconds = time.perf_counter() - started
    return {"words": words, "old_seconds": old_seconds,
            "new_seconds": new_seconds, "equal": bool((old == new).all())}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+",
                        default=[100, 1000, 10000])
    parser.add_argument("--window-words", type=int, default=100)
    parser.add_argument("--old-sizes", type=int, nargs="*", default=[1000],
                        help="sizes also run as one window (old behaviour)")
    parser.add_argument("--old-timeout", type=float, default=300.0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--child", action="store_true",
                        help=argparse.SUPPRESS)
    parser.add_argument("--checkpoint", help=argparse.SUPPRESS)
    parser.add_argument("--words", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args)

    import torch
    from jmere_pyg.testing.machine import describe_machine
    torch.set_num_threads(args.threads)
    results = {"machine": describe_machine(args.threads),
               "threads": args.threads, "window_words": args.window_words,
               "command": " ".join(["python"] + sys.argv),
               "predict": [], "distances": []}
    with tempfile.TemporaryDirectory() as folder:
        checkpoint = make_checkpoint(Path(folder))
        runs = [(words, args.window_words, 600.0) for words in args.sizes]
        runs += [(words, words, args.old_timeout) for words in args.old_sizes]
        for words, window, timeout in runs:
            result = measure(checkpoint, words, window, args.threads, timeout)
            results["predict"].append(result)
            print(json.dumps(result), flush=True)
    for words in args.old_sizes:
        result = distance_timings(words)
        results["distances"].append(result)
        print(json.dumps(result), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
