"""The ``jmere-pyg`` command: stats, train, evaluate, predict."""
import argparse
import json
import os
import sys
from pathlib import Path
from typing import List, Optional

from .data.readers import FORMATS
from .models.eega import WINDOW_WORDS
from .training.config import DEFAULT_MAX_WORDS


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help()
        return 2
    try:
        return args.handler(args) or 0
    except (ValueError, FileNotFoundError) as error:
        # Bad input is the user's to fix: one clear line, no traceback.
        print(f"jmere-pyg {args.command}: error: {error}", file=sys.stderr)
        return 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jmere-pyg",
        description="Joint multimodal entity-relation extraction (EEGA).")
    commands = parser.add_subparsers(dest="command")

    stats = commands.add_parser(
        "stats", help="statistics of a data file, as JSON")
    stats.add_argument("path")
    stats.add_argument("--format", choices=FORMATS)
    stats.set_defaults(handler=run_stats)

    train = commands.add_parser("train", help="train EEGA")
    train.add_argument("--config", help="experiment file (JSON or YAML)")
    train.add_argument("--data-root")
    train.add_argument("--mnre-dir",
                       help="folder with mnre_train.txt and mnre_val.txt")
    train.add_argument("--run-dir")
    train.add_argument("--epochs", type=int)
    train.add_argument("--batch-size", type=int)
    train.add_argument("--encoder-lr", type=float)
    train.add_argument("--lr", type=float)
    train.add_argument("--patience", type=int)
    train.add_argument("--seed", type=int)
    train.add_argument("--device", choices=("auto", "cpu", "cuda"))
    train.add_argument("--max-train-samples", type=int)
    train.add_argument("--max-eval-samples", type=int)
    train.add_argument("--max-words", type=int,
                       help=f"leave out (and count) longer posts (0: no "
                            f"limit; default {DEFAULT_MAX_WORDS})")
    train.add_argument("--encoder", help="Hugging Face name or local path")
    train.add_argument("--set", action="append", default=[],
                       metavar="KEY=VALUE",
                       help="model setting, e.g. --set use_multi_channel=false")
    train.add_argument("--resume", action="store_true",
                       help="continue the interrupted run in --run-dir")
    train.add_argument("--plot", action="store_true",
                       help="write PNG charts into the run folder")
    train.add_argument("--show", type=int, default=5,
                       help="print this many extracted val samples")
    train.set_defaults(handler=run_train)

    evaluate = commands.add_parser(
        "evaluate", help="score a checkpoint on a data file")
    evaluate.add_argument("--checkpoint", required=True)
    evaluate.add_argument("--data", required=True)
    evaluate.add_argument("--format", choices=FORMATS)
    evaluate.add_argument("--scene-graphs")
    evaluate.add_argument("--output")
    evaluate.add_argument("--batch-size", type=int, default=32)
    evaluate.add_argument("--plot", help="folder for PNG charts")
    evaluate.add_argument(
        "--max-words", type=int, default=DEFAULT_MAX_WORDS,
        help="leave out (and count) posts with more words (0: no limit)")
    evaluate.set_defaults(handler=run_evaluate)

    predict = commands.add_parser(
        "predict", help="extract quintuples from text or files")
    source = predict.add_mutually_exclusive_group(required=True)
    source.add_argument("--text")
    source.add_argument("--input")
    predict.add_argument("--format", choices=FORMATS)
    predict.add_argument("--checkpoint", required=True)
    predict.add_argument("--scene-graphs")
    predict.add_argument("--image-id", help="image of --text")
    predict.add_argument("--output")
    predict.add_argument("--batch-size", type=int, default=32)
    predict.add_argument(
        "--window-words", type=int, default=WINDOW_WORDS,
        help="read longer posts in windows of whole sentences of at most "
             "this many words (no pair across windows is extracted)")
    predict.set_defaults(handler=run_predict)
    return parser


def run_stats(args) -> int:
    from .data.readers import read_samples
    from .data.stats import dataset_statistics
    from .tagging import tagging_recovery

    samples, report = read_samples(args.path, args.format)
    statistics = dataset_statistics(samples)
    statistics["tagging_recovery"] = tagging_recovery(samples)
    statistics["read_report"] = report.summary()
    print(json.dumps(statistics, indent=2))
    return 0


def run_train(args) -> int:
    from .training import TrainingConfig, train
    from .training.reporting import print_examples

    config = (TrainingConfig.from_file(args.config) if args.config
              else TrainingConfig())
    model_changes = parse_assignments(args.set)
    if args.encoder:
        model_changes["encoder"] = args.encoder
    flags = {flag: getattr(args, flag) for flag in (
        "data_root", "mnre_dir", "run_dir", "epochs", "batch_size",
        "encoder_lr", "lr", "patience", "seed", "device",
        "max_train_samples", "max_eval_samples", "max_words")
        if getattr(args, flag) is not None}
    if flags.get("max_words") == 0:
        flags["max_words"] = None
    config = config.replace(model=config.model.replace(**model_changes),
                            **flags)
    result = train(config, resume=args.resume)
    if int(os.environ.get("RANK", "0")) != 0:
        return 0  # under torchrun, the first process reports
    print(json.dumps({"run_dir": str(result.run_dir),
                      "best_epoch": result.best_epoch,
                      "val": summary_figures(result.val_metrics)}, indent=2))
    print_examples(result.run_dir, config, limit=args.show)
    if args.plot:
        from .training.plots import plot_run
        for path in plot_run(result.run_dir):
            print(f"wrote {path}")
    return 0


def run_evaluate(args) -> int:
    from .training.inference import evaluate_file

    metrics = evaluate_file(args.checkpoint, args.data, data_format=args.format,
                            scene_graphs=args.scene_graphs,
                            batch_size=args.batch_size, plot_dir=args.plot,
                            max_words=args.max_words or None)
    text = json.dumps(metrics, indent=2)
    print(text)
    if args.output:
        Path(args.output).write_text(text + "\n")
    return 0


def run_predict(args) -> int:
    from .training.inference import predict_to_jsonl

    lines = predict_to_jsonl(args.checkpoint, text=args.text, path=args.input,
                             data_format=args.format, image_id=args.image_id,
                             scene_graphs=args.scene_graphs,
                             batch_size=args.batch_size, output=args.output,
                             window_words=args.window_words)
    if not args.output:
        for line in lines:
            print(line)
    return 0


def parse_assignments(items: List[str]) -> dict:
    """``["a=1", "b=false"]`` -> ``{"a": 1, "b": False}`` (JSON values,
    plain strings otherwise)."""
    values = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep:
            raise ValueError(f"--set takes KEY=VALUE, got {item!r}")
        try:
            values[key] = json.loads(raw)
        except json.JSONDecodeError:
            values[key] = raw
    return values


def summary_figures(metrics: dict) -> dict:
    """P/R/F1 of each protocol, rounded for printing."""
    return {name: {k: round(metrics[name][k], 4)
                   for k in ("precision", "recall", "f1")}
            for name in ("strict", "paper", "mner", "triple")}


if __name__ == "__main__":
    sys.exit(main())
