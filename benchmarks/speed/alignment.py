"""Compare dense and sparse graph alignment (EEGA eq. 5-7) at equal entropic
regularisation and iteration counts.

Methods (each computes L_graph = alpha * D_wd + (1 - alpha) * D_gwd and its
gradient in the node features):

* ``pot_loop``: POT one sample at a time (``ot.sinkhorn``,
  ``ot.gromov.entropic_gromov_wasserstein`` with the proximal solver), fully
  connected graphs;
* ``pot_batched_dense``: POT's batched solvers (``ot.batch``), fully
  connected graphs (``GraphAlignment(mode="dense")``);
* ``masked_dense``: our adjacency-restricted objective with dense masks
  (``mode="masked_dense"``);
* ``sparse``: the same restricted objective with our batched gather/scatter
  kernel (``mode="sparse"``).

Per (method, size): median (and minimum) time of the forward pass and of
forward + backward after a warm-up; peak memory of one forward + backward
above what was held before (CPU: in a fresh subprocess with glibc's mmap
threshold fixed, so that freed tensors leave the resident set, as the rise
of the kernel's resident high-water mark ``VmHWM``; CUDA:
``torch.cuda.max_memory_allocated``); the loss value; the largest L1
marginal violation of the node and edge plans; for ``sparse``, its largest
relative differences to ``masked_dense`` (per-sample edge term and
gradients, float64). Per size also the time of the entropic projections
alone (POT's batched Sinkhorn at these iteration counts on ``[B, K, N]``):
work every batched method shares, a floor for its forward time.

Usage::

    python benchmarks/speed/alignment.py [--quick] [--sizes 8x1024x100 ...]
        [--device cpu|cuda] [--dim 768] [--threads T] [--json FILE]
        [--plot FILE.png] [--methods sparse ...] [--no-torch-scatter]

``--no-torch-scatter`` switches PyG's torch-scatter path off
(``torch_geometric.typing.WITH_TORCH_SCATTER = False``) where torch-scatter
is installed, as on a torch without it.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import torch
import torch_geometric.typing
from torch import Tensor

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import ot  # noqa: E402
from timing import timed_ms  # noqa: E402

from jmere_pyg.alignment import (GraphAlignment,  # noqa: E402
                                 gromov_wasserstein_distance)
from jmere_pyg.alignment.batching import AlignmentProblem  # noqa: E402
from jmere_pyg.testing import (AlignmentInputs,  # noqa: E402
                               per_sample_pot_distances,
                               random_alignment_batch)

METHODS = ("pot_loop", "pot_batched_dense", "masked_dense", "sparse")
MODE_OF = {"pot_batched_dense": "dense", "masked_dense": "masked_dense",
           "sparse": "sparse"}
SIZES = ((32, 70, 10), (32, 256, 36), (8, 1024, 100))
ALPHA, REG, SINKHORN_ITERATIONS, GW_OUTER, GW_INNER = 0.4, 0.1, 20, 5, 20
#: At this many words, ``pot_loop`` solves only this many samples and its
#: times are scaled to the whole batch (a loop of independent solves).
POT_LOOP_SUBSET = (1024, 2)
#: At this many words, 3 timed repeats instead of 7.
FEW_REPEATS_FROM = 1024


def make_batch(batch: int, words: int, objects: int, dim: int, device: str,
               seed: int = 0) -> AlignmentInputs:
    """``batch`` samples of ``words`` words on a random dependency tree
    (both directions) and ``objects`` objects with ``2 * objects`` directed
    predicate edges, self loops everywhere; float32 features ``[*, dim]``."""
    return random_alignment_batch([words] * batch, [objects] * batch,
                                  num_features=dim, dtype=torch.float32,
                                  device=device, seed=seed)


def subset(inputs: AlignmentInputs, samples: int) -> AlignmentInputs:
    """The first ``samples`` samples of a batch."""
    keep_w = inputs.batch_word < samples
    keep_o = inputs.batch_obj < samples
    edge_index_word = inputs.edge_index_word
    edge_index_obj = inputs.edge_index_obj
    return AlignmentInputs(inputs.x_word.detach()[keep_w].requires_grad_(),
                  edge_index_word[:, keep_w[edge_index_word[0]]],
                  inputs.batch_word[keep_w],
                  inputs.x_obj.detach()[keep_o].requires_grad_(),
                  edge_index_obj[:, keep_o[edge_index_obj[0]]],
                  inputs.batch_obj[keep_o], samples)


def marginal_error(plan: Tensor, object_mass: Tensor,
                   word_mass: Tensor) -> float:
    """Largest L1 violation of either marginal over plans ``[B, K, N]``."""
    rows = (plan.sum(2) - object_mass).abs().sum(1)
    cols = (plan.sum(1) - word_mass).abs().sum(1)
    return float(torch.maximum(rows, cols).max())


def uniform_masses(counts: Tensor, size: int, like: Tensor) -> Tensor:
    counts = counts.to(like)
    positions = torch.arange(size, device=like.device)
    return (positions < counts[:, None]) / counts[:, None]


def run_method(method: str, inputs: AlignmentInputs):
    """``(loss, marginal_error)`` of one forward pass; the second is a
    function, to be called outside timings."""
    if method == "pot_loop":
        result = per_sample_pot_distances(
            inputs.x_word, inputs.batch_word, inputs.x_obj, inputs.batch_obj,
            inputs.num_graphs, reg=REG,
            sinkhorn_iterations=SINKHORN_ITERATIONS,
            gw_outer_iterations=GW_OUTER, gw_inner_iterations=GW_INNER)
        loss = (ALPHA * result.wd + (1 - ALPHA) * result.gwd).mean()

        def error():
            return max(marginal_error(
                plan[None], plan.new_full((1, plan.size(0)), 1 / plan.size(0)),
                plan.new_full((1, plan.size(1)), 1 / plan.size(1)))
                       for plan in result.node_plans + result.edge_plans)
        return loss, error
    module = GraphAlignment(alpha=ALPHA, mode=MODE_OF[method], reg=REG,
                            sinkhorn_iterations=SINKHORN_ITERATIONS,
                            gw_outer_iterations=GW_OUTER,
                            gw_inner_iterations=GW_INNER)
    output = module(*inputs)

    def error():
        num_graphs, plan = inputs.num_graphs, output.node_plan
        object_mass = uniform_masses(
            torch.bincount(inputs.batch_obj, minlength=num_graphs),
            plan.size(1), plan)
        word_mass = uniform_masses(
            torch.bincount(inputs.batch_word, minlength=num_graphs),
            plan.size(2), plan)
        return max(marginal_error(plan.detach(), object_mass, word_mass)
                   for plan in (output.node_plan, output.edge_plan))
    return output.loss, error


def sparse_vs_masked_dense(inputs: AlignmentInputs) -> Dict:
    """Largest relative differences of the per-sample edge term and of its
    gradients between ``sparse`` and ``masked_dense``, in float64."""
    results = []
    for mode in ("sparse", "masked_dense"):
        words = inputs.x_word.detach().double().requires_grad_()
        objects = inputs.x_obj.detach().double().requires_grad_()
        value = gromov_wasserstein_distance(
            words, inputs.edge_index_word, inputs.batch_word, objects,
            inputs.edge_index_obj, inputs.batch_obj, inputs.num_graphs,
            mode=mode, reg=REG, outer_iterations=GW_OUTER,
            inner_iterations=GW_INNER).value
        value.sum().backward()
        results.append((value.detach(), words.grad, objects.grad))

    def relative(ours, reference):
        return float((ours - reference).abs().max() / reference.abs().max())
    (value, word_grad, object_grad), reference = results
    return {"sparse_vs_masked_value_rel": relative(value, reference[0]),
            "sparse_vs_masked_grad_rel": max(
                relative(word_grad, reference[1]),
                relative(object_grad, reference[2]))}


def sinkhorn_floor_ms(inputs: AlignmentInputs, device: str, repeats: int) -> float:
    """Median time of the entropic projections every batched method runs at
    these settings: one node-term Sinkhorn and ``GW_OUTER`` proximal steps,
    ``GW_INNER`` (= ``SINKHORN_ITERATIONS``) POT batched log-domain
    iterations each, on ``[B, K, N]`` logits ``-M / reg``."""
    with torch.no_grad():
        problem = AlignmentProblem(inputs.x_word, inputs.batch_word,
                                   inputs.x_obj, inputs.batch_obj,
                                   inputs.num_graphs)
        logits = -problem.node_cost() / REG
        object_mass = problem.layout.objects.uniform_mass(logits.dtype)
        word_mass = problem.layout.words.uniform_mass(logits.dtype)

    def projections():
        for _ in range(1 + GW_OUTER):
            ot.batch.bregman_log_projection_batch(
                logits, object_mass, word_mass, max_iter=GW_INNER, tol=0.0)
    return statistics.median(timed_ms(projections, device, repeats,
                                      warmup=1))


def forward_backward(method: str, inputs: AlignmentInputs) -> None:
    loss, _ = run_method(method, inputs)
    loss.backward()
    inputs.x_word.grad = inputs.x_obj.grad = None


def time_method(method: str, inputs: AlignmentInputs, device: str,
                repeats: int) -> Dict:
    loss, error = run_method(method, inputs)
    forward_backward(method, inputs)
    steps = (("forward", lambda: run_method(method, inputs)),
             ("forward_backward", lambda: forward_backward(method, inputs)))
    row = {}
    for name, step in steps:
        samples = timed_ms(step, device, repeats)
        row[f"{name}_ms"] = statistics.median(samples)
        row[f"{name}_min_ms"] = min(samples)
    return dict(row, value=loss.item(), marginal_error=error())


def _status_mb(key: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(key):
                return int(line.split()[1]) / 1024
    raise KeyError(key)


def peak_memory_mb(method: str, inputs: AlignmentInputs, device: str) -> float:
    """Peak memory of one forward + backward (after a warm-up one) above
    the memory held before."""
    forward_backward(method, inputs)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
        forward_backward(method, inputs)
        torch.cuda.synchronize()
        return (torch.cuda.max_memory_allocated() - before) / 2**20
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")  # reset VmHWM to the current resident set
    before = _status_mb("VmRSS:")
    forward_backward(method, inputs)
    return _status_mb("VmHWM:") - before


def measure_memory_in_subprocess(method: str, size: Tuple[int, int, int],
                                 dim: int) -> float:
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="65536")
    command = [sys.executable, __file__, "--memory-worker", method,
               *map(str, size), str(dim), "--threads",
               str(torch.get_num_threads())]
    if not torch_geometric.typing.WITH_TORCH_SCATTER:
        command.append("--no-torch-scatter")
    output = subprocess.run(command, env=env, check=True,
                            capture_output=True, text=True).stdout
    return float(output.strip().splitlines()[-1])


def benchmark(sizes: Sequence[Tuple[int, int, int]], device: str,
              dim: int, methods: Sequence[str] = METHODS) -> List[Dict]:
    rows = []
    for size in sizes:
        batch, words, objects = size
        inputs = make_batch(batch, words, objects, dim, device)
        repeats = 3 if words >= FEW_REPEATS_FROM else 7
        size_rows = []
        for method in methods:
            timed = inputs
            if method == "pot_loop" and words >= POT_LOOP_SUBSET[0]:
                timed = subset(inputs, min(batch, POT_LOOP_SUBSET[1]))
            row = time_method(method, timed, device, repeats)
            for key in ("forward_ms", "forward_backward_ms",
                        "forward_min_ms", "forward_backward_min_ms"):
                row[key] *= batch / timed.num_graphs
            if device == "cpu":
                peak = measure_memory_in_subprocess(method, size, dim)
            else:
                peak = peak_memory_mb(method, inputs, device)
            if method == "sparse":
                row.update(sparse_vs_masked_dense(inputs))
            size_rows.append(dict(
                method=method, batch=batch, words=words, objects=objects,
                dim=dim, device=device, threads=torch.get_num_threads(),
                torch_scatter=torch_geometric.typing.WITH_TORCH_SCATTER,
                timed_samples=timed.num_graphs, peak_mem_mb=peak, **row))
            print(format_row(size_rows[-1]), flush=True)
        floor = sinkhorn_floor_ms(inputs, device, repeats)
        print(f"{'(projections only)':<18} {batch:>3} {words:>5} "
              f"{objects:>4} {floor:>9.1f}", flush=True)
        rows.extend(dict(row, sinkhorn_floor_ms=floor) for row in size_rows)
    return rows


HEADER = (f"{'method':<18} {'B':>3} {'n':>5} {'k':>4} {'fwd ms':>9} "
          f"{'fwd+bwd ms':>11} {'peak MB':>8} {'value':>10} "
          f"{'marg. err':>9} {'vs masked (val/grad)':>20}")


def format_row(row: Dict) -> str:
    note = "*" if row["timed_samples"] < row["batch"] else ""
    text = (f"{row['method'] + note:<18} {row['batch']:>3} "
            f"{row['words']:>5} {row['objects']:>4} "
            f"{row['forward_ms']:>9.1f} {row['forward_backward_ms']:>11.1f} "
            f"{row['peak_mem_mb']:>8.1f} {row['value']:>10.6f} "
            f"{row['marginal_error']:>9.2e}")
    if "sparse_vs_masked_value_rel" in row:
        text += (f" {row['sparse_vs_masked_value_rel']:>9.1e}/"
                 f"{row['sparse_vs_masked_grad_rel']:.1e}")
    return text


def plot(rows: List[Dict], path: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for method in METHODS:
        points = sorted((r["words"], r["forward_backward_ms"]) for r in rows
                        if r["method"] == method)
        ax.plot(*zip(*points), marker="o", label=method)
    floor = sorted({(r["words"], r["sinkhorn_floor_ms"]) for r in rows})
    ax.plot(*zip(*floor), linestyle="--", color="gray",
            label="projections only (shared)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("words per sample n  (B x n x k = "
                  + ", ".join(f"{r['batch']}x{r['words']}x{r['objects']}"
                              for r in rows if r["method"] == "sparse")
                  + ")")
    ax.set_ylabel("forward + backward (ms)")
    ax.set_title(f"Graph alignment, {rows[0]['device']}, "
                 f"d = {rows[0]['dim']}, {rows[0]['threads']} thread(s)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def parse_size(text: str) -> Tuple[int, int, int]:
    batch, words, objects = (int(part) for part in text.split("x"))
    return batch, words, objects


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="only the smallest size")
    parser.add_argument("--sizes", nargs="+", type=parse_size,
                        help="sizes as BATCHxWORDSxOBJECTS "
                             "(default: 32x70x10 32x256x36 8x1024x100)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dim", type=int, default=768,
                        help="node feature size (the paper's d_T = 768)")
    parser.add_argument("--threads", type=int,
                        help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--json", help="write the rows to this file")
    parser.add_argument("--plot", help="write a time-vs-n plot (PNG) here")
    parser.add_argument("--methods", nargs="+", choices=METHODS,
                        default=list(METHODS),
                        help="methods to run (default: all)")
    parser.add_argument("--no-torch-scatter", action="store_true",
                        help="switch PyG's torch-scatter path off, as on "
                             "a torch without torch-scatter")
    parser.add_argument("--memory-worker", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.no_torch_scatter:
        torch_geometric.typing.WITH_TORCH_SCATTER = False
    if args.memory_worker:
        method, *size = args.memory_worker
        print(peak_memory_mb(method, make_batch(*map(int, size), "cpu"),
                             "cpu"))
        return
    sizes = args.sizes or (SIZES[:1] if args.quick else SIZES)
    print(f"device {args.device}, d = {args.dim}, reg {REG}, Sinkhorn "
          f"{SINKHORN_ITERATIONS} it., GW {GW_OUTER} x {GW_INNER} it., "
          f"torch threads {torch.get_num_threads()}, torch-scatter "
          f"{'on' if torch_geometric.typing.WITH_TORCH_SCATTER else 'off'}")
    print(HEADER)
    rows = benchmark(sizes, args.device, args.dim, args.methods)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    if args.plot:
        plot(rows, args.plot)


if __name__ == "__main__":
    main()
