"""Val quality of EEGA, its ablations and the levers tried, over seeds.

    python benchmarks/quality/quality.py --seeds 42 43 44 --epochs 15

Trains each variant once per seed on the JMERE train split (text only: no
images exist on this machine) with the offline encoder, selects the epoch on
val quintuple F1, and reports mean and standard deviation of val P/R/F1
(strict, the paper's protocol, MNER) plus an error analysis of the first
seed's EEGA run. Finished runs are reused, so an interrupted benchmark
continues where it stopped; ``--report-only`` writes the report from the
runs finished so far and names the ones missing. Writes
``benchmarks/results/quality.md`` (and ``--json``). Each variant is an
experiment file, ``experiments/variants/NAME.json``, extending the main
experiments (``VARIANTS`` says what each one tries). The ``mpnet`` variant
(``experiments/eega_mpnet.json``'s settings) and the ``mpnet_distil``
variant (``eega_mpnet_distil.json``: ``mpnet`` taught by the three seeds of
``mpnet``) and the ``mpnet_student`` variant (``eega_mpnet_student.json``:
``mpnet`` taught by the committed targets of four MiniLM-L6 checkpoints)
and ``mpnet_student_bf16`` (the same under bfloat16 autocast) run only
when named in ``--variants``: they need the ``mpnet`` extra and hours per
seed on a CPU.
"""
import argparse
import json
import statistics
import sys
from pathlib import Path

import torch

from error_analysis import analyse_checkpoint, report_lines
from jmere_pyg import JMEREDataset
from jmere_pyg.models.encoders import DEFAULT_ENCODER
from jmere_pyg.training import TrainingConfig, train
from jmere_pyg.run_folder import RunFolder
from jmere_pyg.testing.machine import describe_cpu

#: The variants, in the order of the report: each is the experiment file
#: experiments/variants/NAME.json, which extends the main experiments.
VARIANTS = (
    # The main job's model without the weight average, as the ablations
    # were measured before the main job took it up; and the two ablations.
    "eega", "no_edge_types", "no_multi_channel",
    # Not an ablation: the main job's model plus dilated convolutions over
    # the word-pair grid, a lever for quality (off by default).
    "grid_conv",
    # Likewise: a rank-128 bilinear (biaffine) term in the pair logits.
    "bilinear",
    # eega scored, selected and saved as an exponential moving average of
    # its weights over about 500 steps: the main job's configuration since
    # (experiments/eega_minilm.json itself).
    "ema",
    # The ablations again on the main job's configuration, weight average
    # included.
    "ema_no_edge_types", "ema_no_multi_channel",
    # Levers on top of ema, the main job. A warm-up over the first 10 % of
    # the steps, then a linear decay to 0, in place of halving on a val
    # plateau; it fixes its own length (20 epochs: the plateau runs stopped
    # after 10-19), since a schedule that decays to 0 at --epochs 30 would
    # still be at half its rate where early stopping ends most runs.
    "ema_linear",
    # Twice and half the encoder's learning rate (the main job's is 5e-5).
    "ema_encoder_lr", "ema_encoder_lr_half",
    # Against overfitting (the main job's training loss falls from 0.13 to
    # 0.004 while val peaks near epoch 10): three times the dropout of the
    # new layers, and half the batch, twice the steps per epoch.
    "ema_dropout", "ema_batch8",
    # Cheaper steps: the encoder's embeddings kept at their pretrained
    # weights (frozen_encoder_layers=1), 21 % off a step in
    # benchmarks/speed/epoch_speed.py (not an epoch's saving: the val
    # passes stay as they are).
    "ema_frozen_embeddings",
    # Entities are the bottleneck: an auxiliary begin / inside / outside
    # tag per word, at half the weight of the word-pair loss.
    "ema_boundary",
    # The MiniLM-L6 student of the committed targets of four MiniLM-L6
    # checkpoints (experiments/eega_minilm_student.json, 52.13 val paper
    # F1 as one ensemble) with the targets at 0.8 of the loss instead of
    # 0.5: closer to the ensemble it learns from.
    "ema_student_weight08",
    # eega with the optional MPNet-base encoder at its own learning rate:
    # experiments/eega_mpnet.json. Needs the `mpnet` extra and about 2.5 h
    # per seed on a 2-core CPU, so it and its students run only when named.
    "mpnet",
    # mpnet distilling the three seeds of mpnet (their mean tag
    # probabilities as soft targets, half the loss):
    # experiments/eega_mpnet_distil.json. Needs those three runs first.
    "mpnet_distil",
    # MPNet-base learning from the committed targets of four MiniLM-L6
    # checkpoints (52.13 val paper F1 as one ensemble), so it needs no
    # teacher runs: experiments/eega_mpnet_student.json.
    "mpnet_student",
    # mpnet_student with its forward passes under bfloat16 autocast, a
    # lever for speed: its steps take 0.6x float32's time on a CPU with
    # AVX512-BF16 (benchmarks/speed/epoch_speed.py). Val is scored in float32:
    # experiments/eega_mpnet_student_bf16.json.
    "mpnet_student_bf16",
)
#: Where the variants' experiment files are.
VARIANTS_DIR = "experiments/variants"
#: What runs when --variants is not given: every MiniLM-L6 variant.
DEFAULT_VARIANTS = [name for name in VARIANTS
                    if not name.startswith("mpnet")]
PROTOCOLS = ("strict", "paper", "mner")
#: The figures reported for each protocol.
FIGURES = ("precision", "recall", "f1")


def variant_config(name: str, folder: str = VARIANTS_DIR,
                   **settings) -> TrainingConfig:
    """The variant's experiment file ``folder/NAME.json`` with ``settings``
    (run folder, seed, epochs) applied."""
    return TrainingConfig.from_file(Path(folder) / f"{name}.json").replace(
        **settings)


def own_epochs(config: TrainingConfig) -> bool:
    """Whether a variant keeps its own number of epochs rather than
    ``--epochs``: a linear schedule decays to 0 at its last epoch, so its
    length is part of the variant."""
    return config.lr_schedule == "linear_warmup"


def run_variant(name, seed, args):
    run = RunFolder(Path(args.runs) / f"{name}_seed{seed}")
    run_dir = run.path
    if not run.metrics.is_file():
        if args.report_only:
            return None, run_dir, None
        config = variant_config(name, args.variants_dir,
                                run_dir=str(run_dir), seed=seed)
        if not own_epochs(config):
            config = config.replace(epochs=args.epochs)
        train(config, progress=False)
    # Training and val time of every epoch, from the run's own log.
    with open(run.log) as log:
        epochs = [json.loads(line) for line in log]
    timing = {"epochs": len(epochs),
              "seconds": round(sum(e["seconds"] for e in epochs))}
    if "online" in epochs[0]:
        # A weight-averaged run also scored the weights themselves: their
        # best epoch is what the same run would have kept without averaging.
        online = max(epochs, key=lambda e: e["online"]["strict"]["f1"])
        timing["online"] = {"best_epoch": online["epoch"],
                            **{f"{p}_f1": 100 * online["online"][p]["f1"]
                               for p in PROTOCOLS}}
    return json.loads(run.metrics.read_text()), run_dir, timing


def machine(config: TrainingConfig) -> str:
    """The processor, and the GPU where the runs' device is one."""
    gpu = (torch.cuda.get_device_name() if config.device != "cpu"
           and torch.cuda.is_available() else None)
    return (f"{describe_cpu()}, {torch.get_num_threads()} threads, torch "
            f"{torch.__version__}, " + (f"GPU {gpu}" if gpu else "no GPU"))


def mean_std(values):
    """The mean and sample standard deviation; ``None`` for the deviation of
    a single run, which has none (not 0, which would claim no spread)."""
    return (statistics.mean(values),
            statistics.stdev(values) if len(values) > 1 else None)


#: Settings that say where a run reads and writes, not how it trains.
PLACES = ("data_root", "mnre_dir", "run_dir")


def roles(configs) -> dict:
    """variant -> ``{"main_job": True}`` or ``{"best": True}`` for the
    variants whose settings are those of the README's main job and of the
    best configuration (the experiment files ``jmere-pyg train`` picks,
    :mod:`jmere_pyg.training.defaults`), wherever they read and write."""
    from jmere_pyg.training import defaults

    def how(config: TrainingConfig) -> dict:
        settings = {k: v for k, v in config.to_dict().items()
                    if k not in PLACES}
        # The same file, however the experiment file named it.
        if settings["teacher_targets"]:
            settings["teacher_targets"] = str(
                Path(settings["teacher_targets"]).resolve())
        return settings
    found = {}
    for role, file in (("main_job", defaults.MAIN_JOB),
                       ("best", defaults.BEST)):
        wanted = how(TrainingConfig.from_file(defaults.EXPERIMENTS / file))
        found.update({name: {role: True} for name, config in configs.items()
                      if how(config) == wanted})
    return found


def role_lines(marks) -> list:
    """One line naming the variants of :func:`roles`."""
    from jmere_pyg.training import defaults

    files = {"main_job": ("the README's main job", defaults.MAIN_JOB),
             "best": ("the best configuration", defaults.BEST)}
    named = [f"`{name}` is {files[role][0]} "
             f"(`experiments/{files[role][1]}`)"
             for name, mark in marks.items() for role in mark]
    return ["; ".join(named) + " (`main_job` and `best` in the JSON)."] \
        if named else []


def results_json(rows, summary, marks=None) -> dict:
    """The ``--json`` record of each variant: its seeds, every run's best
    epoch, time and val precision, recall and F1 per protocol (in percent;
    the run folders are not committed, so these are what a later report can
    be rebuilt from), and the mean and standard deviation of each figure.

    Args:
        rows: variant -> [(seed, metrics, run folder, timing)], as
            ``run_variant`` returns them.
        summary: variant -> {"<protocol>_<precision|recall|f1>": (mean,
            std)}.
        marks: variant -> what :func:`roles` says of it.
    """
    marks = marks or {}
    return {name: {
        **marks.get(name, {}),
        "seeds": [seed for seed, *_ in rows[name]],
        "runs": [{"seed": seed, "best_epoch": m["best_epoch"], **t,
                  **{f"{p}_{key}": 100 * m[p][key] for p in PROTOCOLS
                     for key in FIGURES}}
                 for seed, m, _, t in rows[name]],
        **{k: {"mean": m, "std": s} for k, (m, s) in v.items()}}
        for name, v in summary.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants-dir", default=VARIANTS_DIR,
                        help="folder of the variants' experiment files")
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 43, 44])
    parser.add_argument("--variants", nargs="+", default=DEFAULT_VARIANTS,
                        choices=list(VARIANTS))
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--runs", default="runs/quality")
    parser.add_argument("--out", default="benchmarks/results/quality.md")
    parser.add_argument("--json")
    parser.add_argument("--report-only", action="store_true",
                        help="train nothing; report the finished runs")
    parser.add_argument("--runs-note", help="how the runs were made (one "
                        "call per run, threads, what ran beside them), for "
                        "the report")
    args = parser.parse_args()

    rows = {name: [] for name in args.variants}
    missing = []
    # Seed by seed, so that a benchmark cut short still compares every
    # variant on the seeds it finished.
    for seed in args.seeds:
        for name in args.variants:
            metrics, run_dir, timing = run_variant(name, seed, args)
            if metrics is None:
                missing.append(f"{name} seed {seed}")
                continue
            rows[name].append((seed, metrics, run_dir, timing))
            print(f"{name} seed {seed}: val strict F1 "
                  f"{metrics['strict']['f1']:.4f}, paper F1 "
                  f"{metrics['paper']['f1']:.4f}, MNER F1 "
                  f"{metrics['mner']['f1']:.4f}", flush=True)

    configs = {name: variant_config(name, args.variants_dir) for name in rows}
    by_encoder = {}
    for name, config in configs.items():
        by_encoder.setdefault(config.model.encoder or DEFAULT_ENCODER,
                              []).append(name)
    (encoder, _), *others = by_encoder.items()
    encoders = [f"encoder {encoder}"] + [
        ", ".join(f"`{name}`" for name in names) + f": {other}"
        for other, names in others]
    config = configs[args.variants[0]]
    lines = [f"# Val quality of EEGA (text only, {', '.join(encoders)})", "",
             f"Command: `python {' '.join(sys.argv)}`"
             + (" (the runs were trained by the same command without "
                "`--report-only`)" if args.report_only else ""), "",
             f"Epochs per run: {args.epochs}"
             + "".join(f", `{name}`: {configs[name].epochs}"
                       for name in rows if own_epochs(configs[name]))
             + f"; every other setting from the variant's experiment file "
             f"(`{args.variants_dir}/NAME.json`).", "",
             f"Machine: {machine(config)}; no images exist here, so every "
             f"run is text only.", "",
             *([f"How the runs were made: {args.runs_note}", ""]
               if args.runs_note else []),
             "Mean ± standard deviation over seeds of the val split (a "
             "variant of one seed shows its value alone), the checkpoint "
             "chosen on val strict F1.", "",
             "| variant | seeds | " + " | ".join(
                 f"{p} P | {p} R | {p} F1" for p in PROTOCOLS) + " |",
             "|---|---|" + "---|" * (3 * len(PROTOCOLS))]
    summary = {}
    rows = {name: runs for name, runs in rows.items() if runs}
    for name, runs in rows.items():
        cells, summary[name] = [], {}
        for protocol in PROTOCOLS:
            for key in FIGURES:
                mean, std = mean_std([m[protocol][key] * 100
                                      for _, m, _, _ in runs])
                summary[name][f"{protocol}_{key}"] = (mean, std)
                cells.append(f"{mean:.2f}" if std is None
                             else f"{mean:.2f} ± {std:.2f}")
        seeds = ", ".join(str(seed) for seed, *_ in runs)
        lines.append(f"| {name} | {seeds} | " + " | ".join(cells) + " |")
    lines += ["", *role_lines(roles(configs))]
    if missing:
        lines += ["", "Not run (the benchmark was stopped before them): "
                  + ", ".join(missing) + "."]
    lines += ["", "Every run: the epoch chosen on val strict F1, the epochs "
              "trained before early stopping, and their time (training and "
              "val, from the run's log).", "",
              "| variant | seed | best epoch | epochs | seconds | strict F1 "
              "| paper F1 | MNER F1 |", "|---|---|---|---|---|---|---|---|"]
    lines += [f"| {name} | {seed} | {m['best_epoch']} | {t['epochs']} | "
              f"{t['seconds']} | " + " | ".join(
                  f"{100 * m[p]['f1']:.2f}" for p in PROTOCOLS) + " |"
              for name, runs in rows.items() for seed, m, _, t in runs]
    averaged = [(name, seed, m, t) for name, runs in rows.items()
                for seed, m, _, t in runs if "online" in t]
    if averaged:
        lines += ["", "Weight-averaged runs: the average against the "
                  "weights themselves in the same run, each at its own best "
                  "epoch on val strict F1 (the trajectory is the averaged "
                  "run's: its learning-rate decay and early stop follow the "
                  "average).", "",
                  "| variant | seed | weights | best epoch | strict F1 | "
                  "paper F1 | MNER F1 |", "|---|---|---|---|---|---|---|"]
        for name, seed, m, t in averaged:
            lines.append(f"| {name} | {seed} | average | {m['best_epoch']} | "
                         + " | ".join(f"{100 * m[p]['f1']:.2f}"
                                      for p in PROTOCOLS) + " |")
            lines.append(f"| {name} | {seed} | themselves | "
                         f"{t['online']['best_epoch']} | " + " | ".join(
                             f"{t['online'][f'{p}_f1']:.2f}"
                             for p in PROTOCOLS) + " |")
    lines.append("")

    if "eega" in rows:
        seed, _, run_dir, _ = rows["eega"][0]
        metrics, analysis, entities = analyse_checkpoint(
            RunFolder(run_dir).best,
            JMEREDataset(configs["eega"].data_root, split="val",
                         max_words=configs["eega"].max_words))
        lines += report_lines(f"Error analysis (eega, seed {seed}, val)",
                              metrics, analysis, entities)
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    if args.json:
        Path(args.json).write_text(
            json.dumps(results_json(rows, summary, roles(configs)),
                       indent=2) + "\n")


if __name__ == "__main__":
    main()
