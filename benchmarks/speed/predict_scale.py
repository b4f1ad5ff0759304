"""``jmere-pyg predict`` at corpus scale: posts/s, wall time and peak memory
for N posts, one process against several, streaming against the code
before it; ``scene-graphs`` with and without images read ahead.

The posts are the val sentences of the shared MNRE files (words and image
id), repeated in order until there are N, written as JSON lines. Each run
is the command line users type, in a child process of its own (a small
wrapper that runs it and reads ``getrusage(RUSAGE_CHILDREN).ru_maxrss``:
the peak resident memory of the largest process of the run, for
``torchrun`` that of the largest worker). Timed: the whole command, model
loading included.

* ``streaming``: this checkout, ``--processes`` 1 (the machine's threads)
  and P > 1 under ``torchrun`` (threads split between the processes); the
  outputs of P processes are compared byte for byte with one process's.
* ``before`` (``--compare-baseline``): the code of commit ``7fb4bf2``, the
  last before streaming, from a git worktree beside the runs, run with the
  same interpreter, threads and options, on the same machine in the same
  run; its quintuples are compared with the streaming output's post by
  post (confidences aside: batches of other posts round differently).
* ``--scene-graph-images K``: ``scene-graphs`` on K synthetic 640 x 480
  images with a detector at RT-DETR R18 sizes and random weights
  (``benchmarks/speed/vision.py`` builds it; none can be downloaded here),
  ``--image-workers 0`` against ``2``; images/s and identical output.

Usage (a checkpoint of the main job's config)::

    python benchmarks/speed/predict_scale.py --checkpoint runs/scale_ckpt/best \\
        --posts 1000 10000 100000 --processes 1 2 --compare-baseline \\
        --output benchmarks/results/predict_scale.md
"""
import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BASELINE_COMMIT = "7fb4bf2"


def measure(command, code: Path, threads: int) -> dict:
    """Run ``command`` with the package of the checkout ``code`` and
    ``threads`` threads per process, in a wrapper process; its wall time
    and the peak RSS (MiB) of its largest process."""
    wrapper = [sys.executable, str(Path(__file__).resolve()), "--measure",
               json.dumps(command)]
    env = dict(os.environ, OMP_NUM_THREADS=str(threads),
               PYTHONPATH=str(code))
    # ``python -m`` looks in the working folder first: run in ``code``.
    completed = subprocess.run(wrapper, env=env, cwd=code,
                               capture_output=True, text=True)
    if completed.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n"
                           f"{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def run_measured(command) -> None:
    """The wrapper: run ``command`` (stderr passed on), print the figures
    as the last line of stdout."""
    start = time.perf_counter()
    completed = subprocess.run(command, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    if completed.returncode != 0:
        sys.exit(completed.returncode)
    print(json.dumps({"seconds": seconds, "peak_mib": peak}))


def write_posts(mnre_val: Path, count: int, path: Path) -> None:
    """``count`` posts: the val sentences repeated in order."""
    sys.path.insert(0, str(ROOT))
    from jmere_pyg.data import read_samples

    samples, _ = read_samples(mnre_val)
    with open(path, "w", encoding="utf-8") as file:
        for i in range(count):
            sample = samples[i % len(samples)]
            file.write(json.dumps({"tokens": sample.tokens,
                                   "image_id": sample.image_id}) + "\n")


def baseline_checkout(args, work: Path) -> Path:
    """``--baseline-checkout``, or a git worktree of :data:`BASELINE_COMMIT`
    in ``work`` (reused; ``git worktree remove`` deletes it)."""
    if args.baseline_checkout:
        return Path(args.baseline_checkout).resolve()
    folder = work / f"baseline_{BASELINE_COMMIT}"
    if not folder.exists():
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach",
                        str(folder), BASELINE_COMMIT], check=True,
                       capture_output=True)
    return folder


def predict_command(args, posts: Path, output: Path, processes: int,
                    streaming: bool):
    cli = (["-m", "torch.distributed.run", "--standalone",
            f"--nproc_per_node={processes}"] if processes > 1 else [])
    command = [sys.executable, *cli, "-m", "jmere_pyg.cli", "predict",
               "--checkpoint", args.checkpoint, "--input", str(posts),
               "--output", str(output), "--batch-size",
               str(args.batch_size)]
    if args.scene_graphs:
        command += ["--scene-graphs", args.scene_graphs]
    if args.device != "cpu":
        command += ["--device", args.device]
    if streaming:
        command += ["--chunk-size", str(args.chunk_size)]
    return command


def quintuples_of(path: Path):
    with open(path, encoding="utf-8") as file:
        for line in file:
            yield [{k: v for k, v in q.items() if k != "confidence"}
                   for q in json.loads(line)["quintuples"]]


def agreement(first: Path, second: Path) -> str:
    same = total = 0
    for a, b in zip(quintuples_of(first), quintuples_of(second)):
        same += a == b
        total += 1
    return f"{same:,} of {total:,} posts"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def bench_predict(args, work: Path, rows: list, checks: list) -> None:
    threads = args.threads or os.cpu_count()
    for count in args.posts:
        posts = work / f"posts_{count}.jsonl"
        write_posts(Path(args.mnre_val), count, posts)
        outputs = {}
        for processes in args.processes:
            output = work / f"streaming_{count}_{processes}.jsonl"
            output.unlink(missing_ok=True)
            result = measure(
                predict_command(args, posts, output, processes, True), ROOT,
                max(threads // processes, 1))
            outputs[processes] = output
            rows.append(("streaming", processes, count, result))
            print(row_line(rows[-1]), flush=True)
        for processes, output in outputs.items():
            if processes > 1:
                same = digest(output) == digest(outputs[1])
                checks.append(f"{count:,} posts: the output of {processes} "
                              f"processes is {identical(same)} to that of "
                              f"one")
        if args.compare_baseline and count in (args.baseline_posts
                                               or args.posts):
            output = work / f"before_{count}.jsonl"
            output.unlink(missing_ok=True)
            result = measure(predict_command(args, posts, output, 1, False),
                             baseline_checkout(args, work), threads)
            rows.append(("before", 1, count, result))
            print(row_line(rows[-1]), flush=True)
            checks.append(f"{count:,} posts: the same quintuples before and "
                          f"streaming for {agreement(output, outputs[1])}")
        for output in [posts, *outputs.values()]:
            output.unlink()


def bench_scene_graphs(args, work: Path, rows: list, checks: list) -> None:
    sys.path.insert(0, str(ROOT / "benchmarks" / "speed"))
    import torch
    from vision import build, draw_images

    images = work / "images"
    images.mkdir(exist_ok=True)
    draw_images(images, args.scene_graph_images)
    torch.manual_seed(0)
    model, processor, _ = build("rt_detr_r18")
    detector = work / "rt_detr_r18"
    model.save_pretrained(detector)
    processor.save_pretrained(detector)
    outputs = []
    for workers in (0, 2):
        output = work / f"scene_graphs_{workers}.json"
        output.unlink(missing_ok=True)
        command = [sys.executable, "-m", "jmere_pyg.cli", "scene-graphs",
                   "--images", str(images), "--output", str(output),
                   "--detector", str(detector), "--score-threshold", "0",
                   "--device", args.device, "--image-workers", str(workers)]
        result = measure(command, ROOT, args.threads or os.cpu_count())
        rows.append((f"scene-graphs, {workers} image workers", 1,
                     args.scene_graph_images, result))
        print(row_line(rows[-1]), flush=True)
        outputs.append(output)
    same = digest(outputs[0]) == digest(outputs[1])
    checks.append(f"scene-graphs: the output with image workers is "
                  f"{identical(same)} to that without")


def identical(same: bool) -> str:
    return "byte-identical" if same else "NOT identical"


def row_line(row) -> str:
    code, processes, count, result = row
    return (f"{code}, {processes} process(es), {count:,} items: "
            f"{result['seconds']:.1f} s, {count / result['seconds']:.3g}/s, "
            f"peak {result['peak_mib']:.0f} MiB")


def table(rows) -> str:
    lines = ["| code | processes | items | wall s | items/s | s per 1,000 | "
             "peak RSS MiB (largest process) |",
             "|---|---|---|---|---|---|---|"]
    for code, processes, count, result in rows:
        seconds = result["seconds"]
        lines.append(f"| {code} | {processes} | {count:,} | {seconds:.1f} | "
                     f"{count / seconds:.3g} | {1000 * seconds / count:.1f} "
                     f"| {result['peak_mib']:.0f} |")
    return "\n".join(lines)


def ratios(rows, args) -> list:
    """Peak memory of the largest N against the smallest, and posts/s of
    streaming against before and of P processes against one."""
    found = {(code, processes, count): result
             for code, processes, count, result in rows}
    lines = []
    one = [count for count in args.posts if ("streaming", 1, count) in found]
    if len(one) > 1:
        small, large = found["streaming", 1, one[0]], found[
            "streaming", 1, one[-1]]
        lines.append(f"peak RSS, {one[-1]:,} posts / {one[0]:,} posts (one "
                     f"process): {large['peak_mib'] / small['peak_mib']:.2f}")
    for count in args.posts:
        rate = {key[:2]: count / found[key]["seconds"] for key in found
                if key[2] == count}
        if ("before", 1) in rate:
            lines.append(f"{count:,} posts: posts/s streaming / before: "
                         f"{rate['streaming', 1] / rate['before', 1]:.2f}")
        for processes in args.processes[1:]:
            lines.append(
                f"{count:,} posts: posts/s {processes} processes / 1: "
                f"{rate['streaming', processes] / rate['streaming', 1]:.2f}")
    return lines


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--measure":
        run_measured(json.loads(sys.argv[2]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--posts", type=int, nargs="+", default=[1000])
    parser.add_argument("--processes", type=int, nargs="+", default=[1],
                        help="process counts, the first 1 (the "
                             "reference)")
    parser.add_argument("--compare-baseline", action="store_true",
                        help=f"also time the code of {BASELINE_COMMIT}")
    parser.add_argument("--baseline-checkout", help=f"a checkout of "
                        f"{BASELINE_COMMIT} to time (default: a git worktree "
                        f"made in the work folder)")
    parser.add_argument("--baseline-posts", type=int, nargs="+",
                        help="post counts to time before streaming "
                             "(default: all of --posts)")
    parser.add_argument("--scene-graph-images", type=int, default=0,
                        help="also time scene-graphs on this many images")
    parser.add_argument("--mnre-val", default=str(
        ROOT.parent / "shared" / "data" / "mnre" / "mnre_val.txt"))
    parser.add_argument("--scene-graphs", help="scene graph file of the "
                        "val images, given to every run")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--chunk-size", type=int, default=1024)
    parser.add_argument("--threads", type=int,
                        help="threads of one process (default: all cores)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--work-dir", help="folder for the posts, outputs "
                        "and the baseline worktree (default: a temporary "
                        "one)")
    parser.add_argument("--output", help="Markdown file for the results "
                        "(their JSON is written beside it)")
    args = parser.parse_args()
    if args.processes[0] != 1:
        parser.error("the first of --processes is the reference: 1")
    args.checkpoint = str(Path(args.checkpoint).resolve())
    if args.scene_graphs:
        args.scene_graphs = str(Path(args.scene_graphs).resolve())
    rows, checks = [], []
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.work_dir or tmp)
        work.mkdir(parents=True, exist_ok=True)
        bench_predict(args, work, rows, checks)
        if args.scene_graph_images:
            bench_scene_graphs(args, work, rows, checks)
    load_after = os.getloadavg()
    sys.path.insert(0, str(ROOT))
    from jmere_pyg.testing.machine import describe_machine, git_commit

    commit, machine = git_commit(ROOT), describe_machine()
    text = "\n".join([
        "# Prediction at corpus scale (issue 37)", "",
        "Command (from the repository root):", "",
        "    python benchmarks/speed/predict_scale.py " + " ".join(sys.argv[1:]),
        "", f"Commit {commit}; machine: {machine}; load average "
        f"{load_before[0]:.1f} before, {load_after[0]:.1f} after.", "",
        table(rows), "", *[f"- {line}" for line in ratios(rows, args)],
        *[f"- {line}" for line in checks], ""])
    print(text)
    if args.output:
        # The report and, beside it, its figures as JSON (results policy).
        Path(args.output).write_text(text, encoding="utf-8")
        Path(args.output).with_suffix(".json").write_text(json.dumps({
            "command": "python benchmarks/speed/predict_scale.py "
                       + " ".join(sys.argv[1:]),
            "commit": commit, "machine": machine,
            "load_average": {"before": load_before[0],
                             "after": load_after[0]},
            "rows": rows, "ratios": ratios(rows, args), "checks": checks},
            indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
