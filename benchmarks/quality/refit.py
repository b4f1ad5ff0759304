"""What refitting on train + val gains, measured on val without touching it.

A refit (``jmere-pyg refit``) trains on the posts that chose its epochs, so
its own val figure would be meaningless. This script measures the gain one
level down, where an untouched split remains: it holds out ``--holdout``
training posts (a fixed random choice, the same for every seed) as the
selecting split, and per seed

* trains the experiment on the rest of train, choosing its epoch on the
  held-out posts (``selected``: what ``best/`` is in a normal run);
* refits it on the rest of train + the held-out posts, i.e. all of train,
  for the chosen epochs at the run's learning rates (``refit``);
* scores both on val, which neither saw.

The refit adds ``holdout / (train - holdout)`` more posts (16 % for 473 of
3,468), as refitting a real run adds val's 473 posts to train's 3,468
(14 %).

    python benchmarks/quality/refit.py --config experiments/eega_minilm.json \\
        --seeds 42 43 --work runs/refit_study
    python benchmarks/quality/refit.py --work runs/refit_study --seeds 42 43 \\
        --report-only --out benchmarks/results/refit.md \\
        --json benchmarks/results/refit.json

Seeds may run as separate processes (each writes ``WORK/seed_N.json``); the
report reads them.
"""
import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from jmere_pyg.testing.machine import describe_machine, git_commit  # noqa: E402,E501

PROTOCOLS = ("strict", "paper", "mner")


def holdout_root(work: Path, mnre_dir: Path, holdout: int) -> Path:
    """``WORK/data``: raw ``train.jsonl`` (train less the held-out posts)
    and ``val.jsonl`` (the held-out posts, the selecting split)."""
    from jmere_pyg.data import write_jsonl
    from jmere_pyg.data.readers import read_samples

    root = work / "data"
    raw = root / "raw"
    if (raw / "val.jsonl").is_file():
        return root
    samples, _ = read_samples(mnre_dir / "mnre_train.txt")
    if not 0 < holdout < len(samples):
        raise SystemExit(f"--holdout must lie in (0, {len(samples)})")
    chosen = set(random.Random(0).sample(range(len(samples)), holdout))
    raw.mkdir(parents=True, exist_ok=True)
    write_jsonl([s for i, s in enumerate(samples) if i not in chosen],
                raw / "train.jsonl")
    write_jsonl([samples[i] for i in sorted(chosen)], raw / "val.jsonl")
    return root


def figures(metrics) -> dict:
    return {p: round(100 * metrics[p]["f1"], 2) for p in PROTOCOLS}


def run_seed(args, seed: int) -> dict:
    """Train, refit and score one seed (what is already in WORK is
    reused)."""
    from jmere_pyg.inference import evaluate_file
    from jmere_pyg.run_folder import RunFolder
    from jmere_pyg.training import TrainingConfig, refit, refit_schedule, train

    root = holdout_root(args.work, args.mnre_dir, args.holdout)
    run = RunFolder(args.work / f"seed_{seed}")
    config = TrainingConfig.from_file(args.config).replace(
        data_root=str(root), mnre_dir=None, run_dir=str(run.path), seed=seed)
    seconds = {}
    if not run.metrics.is_file():
        started = time.time()
        train(config, resume=run.last_state.is_file(), progress=False)
        seconds["selected"] = round(time.time() - started)
    schedule = refit_schedule(run.path)
    if not (run.refit / "refit.json").is_file():
        started = time.time()
        refit(config, schedule=schedule, overwrite=True, progress=False)
        seconds["refit"] = round(time.time() - started)
    val = str(args.mnre_dir / "mnre_val.txt")
    result = {"seed": seed, "best_epoch": len(schedule),
              "selecting_f1": figures(json.loads(run.metrics.read_text())),
              "seconds": seconds}
    for name, folder in (("selected", run.best), ("refit", run.refit)):
        result[name] = figures(evaluate_file(str(folder), val))
    path = args.work / f"seed_{seed}.json"
    old = json.loads(path.read_text()) if path.is_file() else {}
    # Times of an earlier call that did the training are kept.
    result["seconds"] = {**old.get("seconds", {}), **seconds}
    path.write_text(json.dumps(result, indent=2) + "\n")
    return result


def mean_std(values) -> str:
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f}"


def report(args, results) -> str:
    commit = git_commit(ROOT)
    lines = [
        "# Refit on train + val: the gain, measured on val",
        "",
        f"Command: `python benchmarks/quality/refit.py --config "
        f"{args.config_name} --holdout {args.holdout} --seeds "
        f"{' '.join(str(r['seed']) for r in results)} --work WORK`, "
        f"report at {commit}.",
        "",
        f"{args.holdout} training posts (a fixed random choice) choose the "
        f"epoch (`selected`, trained on the other training posts); `refit` "
        f"trains on all of train for that many epochs at the selected run's "
        f"learning rates. Both are scored on val, which neither saw.",
        "", f"Machine: {describe_machine()}"
        + (f"; {args.runs_note}" if args.runs_note else "") + ".",
        "",
        "| model | seeds | strict F1 | paper F1 | MNER F1 |",
        "|---|---|---|---|---|"]
    for name in ("selected", "refit"):
        cells = [mean_std([r[name][p] for r in results]) for p in PROTOCOLS]
        lines.append(f"| {name} | {len(results)} | " + " | ".join(cells)
                     + " |")
    gains = [mean_std([r["refit"][p] - r["selected"][p] for r in results])
             for p in PROTOCOLS]
    lines.append(f"| refit − selected | {len(results)} | "
                 + " | ".join(gains) + " |")
    lines += ["", "| seed | best epoch | selecting split strict F1 | "
              "selected strict / paper / MNER | refit strict / paper / MNER "
              "| seconds (train, refit) |", "|---|---|---|---|---|---|"]
    for r in results:
        lines.append(
            f"| {r['seed']} | {r['best_epoch']} | "
            f"{r['selecting_f1']['strict']:.2f} | "
            + " / ".join(f"{r['selected'][p]:.2f}" for p in PROTOCOLS)
            + " | " + " / ".join(f"{r['refit'][p]:.2f}" for p in PROTOCOLS)
            + f" | {r['seconds'].get('selected', '?')}, "
              f"{r['seconds'].get('refit', '?')} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="experiments/eega_minilm.json")
    parser.add_argument("--mnre-dir", type=Path,
                        default=ROOT.parent / "shared" / "data" / "mnre")
    parser.add_argument("--holdout", type=int, default=473)
    parser.add_argument("--seeds", type=int, nargs="+", default=[42])
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--report-only", action="store_true",
                        help="report the seeds' results already in WORK")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--runs-note", help="how the runs were made (one "
                        "call per seed, threads, what ran beside them), for "
                        "the report")
    args = parser.parse_args()
    args.config_name = args.config
    args.config = str(Path(args.config).resolve())
    results = []
    for seed in args.seeds:
        path = args.work / f"seed_{seed}.json"
        if args.report_only:
            if not path.is_file():
                raise SystemExit(f"{path} does not exist: run the seed "
                                 f"first (without --report-only)")
            results.append(json.loads(path.read_text()))
        else:
            results.append(run_seed(args, seed))
    text = report(args, results)
    print(text)
    if args.out:
        args.out.write_text(text)
    if args.json:
        args.json.write_text(json.dumps(
            {"config": args.config_name, "holdout": args.holdout,
             "machine": describe_machine(), "runs_note": args.runs_note,
             "runs": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
