"""The ``jmere-pyg`` command: stats, train, refit, teach, evaluate,
predict, scene-graphs."""
import argparse
import errno
import json
import os
import re
import sys
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, List, Optional, Tuple

# Only light modules here: each command imports what it needs when it runs,
# so that --help and mistyped flags answer at once.
from jmere_pyg import __version__
from .data.errors import DataNotice
from .data.readers import FORMATS
from .limits import (CHUNK_SIZE, DEFAULT_MAX_WORDS, IMAGE_WORKERS,
                     SCENE_GRAPH_CHUNK, WINDOW_WORDS)

if TYPE_CHECKING:  # for the annotations only
    from .training import TrainingConfig
    from .vision import ExtractorConfig

#: Errors that mean bad input or setup, the user's to fix: printed as one
#: line, no traceback (with the vision layer's ``DetectorLoadError``, see
#: :func:`is_user_error`).
USER_ERRORS = (ValueError, FileNotFoundError, FileExistsError,
               PermissionError, IsADirectoryError, NotADirectoryError)
#: ``errno`` of the other ``OSError`` s that are the user's to fix: a
#: symbolic link loop, a full disk, a read-only file system.
USER_ERRNOS = (errno.ELOOP, errno.ENOSPC, errno.EROFS)
#: Exit status of a command stopped with Ctrl-C: 128 + SIGINT, as shells
#: report it.
INTERRUPTED = 130


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help()
        return 2
    try:
        with notices_on_stderr(args.command):
            return args.handler(args) or 0
    except KeyboardInterrupt as interruption:
        print(f"jmere-pyg {args.command}: interrupted"
              + (f"; {interruption}" if str(interruption) else ""),
              file=sys.stderr)
        return INTERRUPTED
    except Exception as error:
        if not is_user_error(error):
            raise
        print(f"jmere-pyg {args.command}: error: {as_flags(str(error))}",
              file=sys.stderr)
        return 1


#: The library names the options a message advises as Python parameters
#: (``overwrite=True``, ``detector=NAME_OR_PATH``); :func:`as_flags` writes
#: them as this command's flags.
PARAMETER = re.compile(r"\b(overwrite|resume|force_detector|detector|"
                       r"scene_graphs|run_dir|output)=(True|[A-Z_]+)")


def as_flags(message: str) -> str:
    """``message`` with the parameters it advises written as flags:
    ``overwrite=True`` -> ``--overwrite``, ``detector=NAME_OR_PATH`` ->
    ``--detector NAME_OR_PATH``."""
    def flag(match: "re.Match") -> str:
        name = "--" + match.group(1).replace("_", "-")
        return name if match.group(2) == "True" else f"{name} {match.group(2)}"
    return PARAMETER.sub(flag, message)


def is_user_error(error: Exception) -> bool:
    """Whether ``error`` is the user's to fix (:data:`USER_ERRORS`,
    :data:`USER_ERRNOS`, a detector that cannot be loaded)."""
    from .vision import DetectorLoadError  # not needed for --help
    return isinstance(error, (*USER_ERRORS, DetectorLoadError)) or (
        isinstance(error, OSError) and error.errno in USER_ERRNOS)


@contextmanager
def notices_on_stderr(command: str):
    """Print every :class:`DataNotice` as ``jmere-pyg COMMAND: notice: ...``
    on stderr (each one, not once per place); other warnings as usual."""
    with warnings.catch_warnings():
        warnings.simplefilter("always", DataNotice)
        show = warnings.showwarning

        def print_notice(message, category, *args, **kwargs):
            if issubclass(category, DataNotice):
                print(f"jmere-pyg {command}: notice: {message}",
                      file=sys.stderr)
            else:
                show(message, category, *args, **kwargs)
        warnings.showwarning = print_notice
        yield


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jmere-pyg",
        description="Joint multimodal entity-relation extraction (EEGA).")
    parser.add_argument("--version", action="version",
                        version=f"jmere-pyg {__version__}")
    commands = parser.add_subparsers(dest="command")

    stats = commands.add_parser(
        "stats", help="statistics of a data file, as JSON")
    stats.add_argument("path")
    stats.add_argument("--format", choices=FORMATS)
    stats.set_defaults(handler=run_stats)

    train = commands.add_parser("train", help="train EEGA")
    train.add_argument("--config", help="experiment file (JSON or YAML); "
                       "default: the best configuration on a GPU, the main "
                       "job's without")
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
    train.add_argument("--teachers", nargs="+", metavar="CHECKPOINT",
                       help="trained checkpoints to distil into the model "
                            "(their mean tag probabilities)")
    train.add_argument("--teacher-targets", metavar="FILE",
                       help="the teachers' probabilities written by "
                            "`jmere-pyg teach`, instead of --teachers")
    train.add_argument("--distill-weight", type=float,
                       help="share of the teachers' soft targets in the "
                            "word-pair loss (default 0.5)")
    train.add_argument("--set", action="append", default=[],
                       metavar="KEY=VALUE",
                       help="model setting, e.g. --set use_multi_channel=false")
    train.add_argument("--resume", action="store_true",
                       help="continue the interrupted run in --run-dir")
    train.add_argument("--overwrite", action="store_true",
                       help="replace the run in --run-dir")
    train.add_argument("--plot", action="store_true",
                       help="write PNG charts into the run folder")
    train.add_argument("--show", type=int, default=5,
                       help="print this many extracted val samples")
    train.add_argument("--images", help="folder of the corpus's images: "
                       "their scene graphs are extracted once into "
                       "DATA_ROOT/raw")
    train.add_argument("--detector", help="object detector for --images: "
                       "Hugging Face name or local folder")
    train.add_argument("--refit", action="store_true",
                       help="then train the final model on train + val for "
                            "the best epochs, into RUN_DIR/refit (see "
                            "`jmere-pyg refit`)")
    train.set_defaults(handler=run_train)

    refit = commands.add_parser(
        "refit", help="train a finished run's final model on train + val "
                      "for the epochs val chose, into RUN_DIR/refit; it "
                      "has seen val, so score it on another split")
    refit.add_argument("run_dir", help="the run folder of `jmere-pyg train`")
    refit.add_argument("--overwrite", action="store_true",
                       help="replace an earlier refit of the run")
    refit.add_argument("--device", choices=("auto", "cpu", "cuda"))
    refit.set_defaults(handler=run_refit)

    teach = commands.add_parser(
        "teach", help="write trained checkpoints' probabilities on the "
                      "training posts, for students elsewhere "
                      "(train --teacher-targets)")
    teach.add_argument("--config", help="experiment file (JSON or YAML): its "
                       "data settings choose the training posts")
    teach.add_argument("--data-root")
    teach.add_argument("--mnre-dir",
                       help="folder with mnre_train.txt and mnre_val.txt")
    teach.add_argument("--teachers", nargs="+", metavar="CHECKPOINT",
                       help="the trained checkpoints (default: the config's)")
    teach.add_argument("--output", required=True)
    teach.add_argument("--overwrite", action="store_true",
                       help="replace an existing --output")
    teach.add_argument("--top-k", type=int, default=4,
                       help="tags kept per word pair (default 4)")
    teach.add_argument("--device", choices=("auto", "cpu", "cuda"))
    teach.add_argument("--max-train-samples", type=int)
    teach.set_defaults(handler=run_teach)

    evaluate = commands.add_parser(
        "evaluate", help="score a checkpoint on a data file")
    evaluate.add_argument(
        "--checkpoint", required=True, nargs="+",
        help="a checkpoint folder; several are scored as one ensemble (the "
             "mean of their tag probabilities)")
    evaluate.add_argument("--data", required=True)
    evaluate.add_argument("--format", choices=FORMATS)
    evaluate.add_argument("--scene-graphs")
    evaluate.add_argument("--images",
                          help="folder of the images of --data's posts "
                               "(matched by file name), turned into scene "
                               "graphs with the checkpoint's detector")
    add_detector_options(evaluate)
    evaluate.add_argument("--output")
    evaluate.add_argument("--overwrite", action="store_true",
                          help="replace an existing --output")
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
    predict.add_argument(
        "--checkpoint", required=True, nargs="+",
        help="a checkpoint folder; several extract as one ensemble (the "
             "mean of their tag probabilities; images use the first one's "
             "detector)")
    predict.add_argument("--scene-graphs")
    predict.add_argument("--image-id", help="image of --text")
    predict.add_argument("--output")
    predict.add_argument("--overwrite", action="store_true",
                         help="replace an existing --output")
    predict.add_argument("--batch-size", type=int, default=32)
    predict.add_argument("--image", help="image file of --text")
    predict.add_argument("--images",
                         help="folder of the images of --input's posts "
                              "(matched by image_id file name)")
    add_detector_options(predict)
    predict.add_argument("--plot", help="folder for one PNG per post with "
                         "an image: boxes, predicates and quintuples")
    predict.add_argument(
        "--window-words", type=int, default=WINDOW_WORDS,
        help="read longer posts in windows of whole sentences of at most "
             "this many words (no pair across windows is extracted)")
    add_corpus_flags(predict, "posts", CHUNK_SIZE)
    predict.add_argument("--strict", action="store_true",
                         help="stop at the first faulty line of --input "
                              "(default: skip and count it)")
    predict.set_defaults(handler=run_predict)

    scene = commands.add_parser(
        "scene-graphs", help="extract scene graphs from images")
    scene.add_argument("--images", nargs="+", required=True,
                       metavar="DIR_OR_FILE",
                       help="image files, or folders of them")
    scene.add_argument("--output", required=True,
                       help="scene graph JSON; scene_graph_extractor.json "
                            "is written beside it")
    scene.add_argument("--overwrite", action="store_true",
                       help="replace an existing --output (and the record "
                            "beside it)")
    scene.add_argument("--detector",
                       help="Hugging Face name or local folder")
    scene.add_argument("--top-k", type=int, help="objects kept per image")
    scene.add_argument("--score-threshold", type=float,
                       help="lowest detection score kept")
    scene.add_argument("--batch-size", type=int, help="images per batch")
    scene.add_argument("--device", choices=("auto", "cpu", "cuda"),
                       default="auto")
    scene.add_argument("--plot", help="folder for one PNG per image: boxes, "
                       "labels and predicate arrows")
    add_corpus_flags(scene, "images", SCENE_GRAPH_CHUNK)
    scene.set_defaults(handler=run_scene_graphs)
    return parser


def add_detector_options(command: argparse.ArgumentParser) -> None:
    """``--detector``, ``--force-detector`` and ``--device``: how a command
    that reads a checkpoint turns raw images into scene graphs."""
    command.add_argument("--detector", help="object detector for raw images "
                         "(default: the one recorded in the checkpoint)")
    command.add_argument("--force-detector", action="store_true",
                         help="use --detector although the checkpoint was "
                              "trained with another")
    command.add_argument("--device", choices=("auto", "cpu", "cuda"),
                         default="cpu")


def add_corpus_flags(command: argparse.ArgumentParser, unit: str,
                     chunk_size: int) -> None:
    """The flags of a run over a corpus (``jmere_pyg.inference.stream``)."""
    command.add_argument("--resume", action="store_true",
                         help="continue the interrupted run that wrote "
                              "--output (its .partial file)")
    command.add_argument("--chunk-size", type=int, default=chunk_size,
                         help=f"{unit} read, worked and written at a time "
                              f"(default {chunk_size})")
    command.add_argument("--image-workers", type=int, default=IMAGE_WORKERS,
                         help=f"threads reading images ahead of the "
                              f"detector (0: none; default {IMAGE_WORKERS})")
    command.add_argument("--profile", action="store_true",
                         help="print where the time went")


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


def experiment_config(args):
    """The ``TrainingConfig`` of ``--config``, or the defaults."""
    from .training import TrainingConfig
    return (TrainingConfig.from_file(args.config) if args.config
            else TrainingConfig())


def training_config(args) -> Tuple["TrainingConfig", Optional[str]]:
    """The ``TrainingConfig`` of ``--config``; without it, the experiment
    picked for the device (:mod:`jmere_pyg.training.defaults`) and the line
    saying which, for the caller to print once the settings hold."""
    from .training import TrainingConfig
    from .training.defaults import default_experiment

    if args.config:
        return experiment_config(args), None
    picked = default_experiment(args.device or "auto")
    return (TrainingConfig() if picked.path is None
            else TrainingConfig.from_file(picked.path)), picked.reason


def first_process() -> bool:
    """Whether this is the process that reports: the only one, or rank 0
    under ``torchrun``."""
    return int(os.environ.get("RANK", "0")) == 0


def given_flags(args, names) -> dict:
    """``name -> value`` of the flags among ``names`` given on the command
    line (the others, ``None``, leave the experiment file's value)."""
    return {name: getattr(args, name) for name in names
            if getattr(args, name) is not None}


def run_train(args) -> int:
    from .training import train
    from .training.reporting import print_examples

    config, picked = training_config(args)
    model_changes = parse_assignments(args.set)
    if args.encoder:
        model_changes["encoder"] = args.encoder
    flags = given_flags(args, (
        "data_root", "mnre_dir", "run_dir", "epochs", "batch_size",
        "encoder_lr", "lr", "patience", "seed", "device",
        "max_train_samples", "max_eval_samples", "max_words", "images",
        "detector", "teachers", "teacher_targets", "distill_weight"))
    if args.teacher_targets:
        flags["teachers"] = None  # the file stands for the config's teachers
    if flags.get("max_words") == 0:
        flags["max_words"] = None
    config = config.replace(model=config.model.replace(**model_changes),
                            **flags)
    if args.refit and int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise ValueError("--refit runs in one process: refit the run with "
                         "`jmere-pyg refit RUN_DIR` after torchrun ends")
    if picked and first_process():
        print(f"jmere-pyg train: {picked}", file=sys.stderr)
    try:
        result = train(config, resume=args.resume, overwrite=args.overwrite)
    except KeyboardInterrupt:
        raise KeyboardInterrupt(resume_hint(Path(config.run_dir))) from None
    if not first_process():
        return 0  # under torchrun, the first process reports
    print(json.dumps({"run_dir": str(result.run_dir),
                      "best_epoch": result.best_epoch,
                      "val": summary_figures(result.val_metrics)}, indent=2))
    print_examples(result.run_dir, config, limit=args.show)
    if args.plot:
        from .plots import plot_run
        for path in plot_run(result.run_dir):
            print(f"wrote {path}")
    if args.refit:
        refit_and_print(config, overwrite=True)
    return 0


def run_refit(args) -> int:
    from .run_folder import RunFolder
    from .training import TrainingConfig

    run = RunFolder(args.run_dir)
    if not run.config.is_file():
        raise FileNotFoundError(f"{run.config} does not exist: RUN_DIR must "
                                f"be the folder of a `jmere-pyg train` run")
    # The folder given, not the one saved: the run may have moved.
    config = TrainingConfig.load(run.config).replace(
        run_dir=str(run.path), **given_flags(args, ("device",)))
    refit_and_print(config, overwrite=args.overwrite)
    return 0


def refit_and_print(config: "TrainingConfig", *, overwrite: bool) -> None:
    """Refit the run of ``config`` and print where the model went."""
    from .training.refit import refit, refit_schedule

    schedule = refit_schedule(config.run_dir)
    folder = refit(config, schedule=schedule, overwrite=overwrite)
    print(json.dumps({"refit": str(folder), "epochs": len(schedule),
                      "splits": ["train", "val"]}, indent=2))


def resume_hint(run_dir: Path) -> str:
    """What an interrupted ``train`` into ``run_dir`` can do next."""
    from .run_folder import RunFolder

    run = RunFolder(run_dir)
    if run.last_state.is_file():
        return (f"the same command with --resume continues from the last "
                f"finished epoch, saved in {run_dir}")
    if run.used():
        return (f"no epoch had finished; start again with --overwrite to "
                f"replace what {run_dir} holds")
    return "nothing was written; start again"


def run_teach(args) -> int:
    from .output_files import check_output
    from .training.trainer import write_teacher_targets

    config = experiment_config(args).replace(**given_flags(args, (
        "data_root", "mnre_dir", "teachers", "device", "max_train_samples")))
    if not config.teachers:
        raise ValueError("teach needs --teachers (or teachers in --config)")
    output = check_output(args.output, config.teachers,
                          overwrite=args.overwrite)
    report = write_teacher_targets(config, output, top_k=args.top_k)
    print(json.dumps({"output": str(output), **report}, indent=2))
    return 0


def run_evaluate(args) -> int:
    from .inference import evaluate_file
    from .training.trainer import pick_device

    if args.scene_graphs is not None and args.images is not None:
        raise ValueError("--scene-graphs and --images both give scene "
                         "graphs: pick one")
    metrics = evaluate_file(args.checkpoint, args.data, data_format=args.format,
                            scene_graphs=args.scene_graphs,
                            images=args.images, detector=args.detector,
                            force_detector=args.force_detector,
                            device=str(pick_device(args.device)),
                            batch_size=args.batch_size, plot_dir=args.plot,
                            output=args.output, overwrite=args.overwrite,
                            max_words=args.max_words or None)
    print(json.dumps(metrics, indent=2))
    return 0


def run_predict(args) -> int:
    from .inference import predict_file, predict_to_jsonl
    from .training.trainer import pick_device

    if args.image is not None and args.text is None:
        raise ValueError("--image goes with --text; give a folder with "
                         "--images for the posts of --input")
    if args.image is not None and args.image_id is not None:
        raise ValueError("give --image or --image-id, not both")
    if args.images is not None and args.input is None:
        raise ValueError("--images goes with --input; give one file with "
                         "--image for --text")
    if args.scene_graphs is not None and (args.image is not None
                                          or args.images is not None):
        raise ValueError("--scene-graphs and --image/--images both give "
                         "scene graphs: pick one")
    if args.text is not None and not args.text.strip():
        raise ValueError("--text is empty: nothing to extract from")
    options = dict(scene_graphs=args.scene_graphs, batch_size=args.batch_size,
                   output=args.output, overwrite=args.overwrite,
                   detector=args.detector,
                   force_detector=args.force_detector,
                   device=str(pick_device(args.device)), plot_dir=args.plot,
                   window_words=args.window_words)
    if args.text is not None:
        lines = predict_to_jsonl(args.checkpoint, text=args.text,
                                 image_id=args.image_id, image=args.image,
                                 **options)
        if not args.output:
            print_lines(lines)
        return 0
    with resumable(args.output):
        predict_file(args.checkpoint, args.input, data_format=args.format,
                     images=args.images, chunk_size=args.chunk_size,
                     image_workers=args.image_workers, resume=args.resume,
                     strict=args.strict, progress=True,
                     profile=args.profile,
                     sink=None if args.output else print_lines, **options)
    return 0


@contextmanager
def resumable(output: Optional[str]):
    """An interruption of a run over a corpus says how to continue it."""
    try:
        yield
    except KeyboardInterrupt:
        if output is None:
            raise
        raise KeyboardInterrupt(
            f"the same command with --resume continues from the chunks "
            f"already written to {output}.partial") from None


def print_lines(lines: List[str]) -> None:
    for line in lines:
        print(line)
    sys.stdout.flush()


def run_scene_graphs(args) -> int:
    from .inference.images import (FAILED, SCENE_GRAPHS,
                                   extract_scene_graph_file,
                                   scene_graphs_summary)
    from .training.trainer import pick_device
    from .vision import ExtractorConfig
    from .vision.folders import list_images

    paths = list_images(args.images)
    if not paths:
        raise ValueError(f"no image files in {' '.join(args.images)}")
    settings = {"detector": args.detector, "top_k": args.top_k,
                "score_threshold": args.score_threshold,
                "batch_size": args.batch_size}
    config = ExtractorConfig().replace(
        **{k: v for k, v in settings.items() if v is not None})
    output, record = check_scene_graph_output(args.output, args.images,
                                              config, args.overwrite)
    with resumable(args.output):
        result = extract_scene_graph_file(
            paths, output, config, device=str(pick_device(args.device)),
            chunk_size=args.chunk_size, image_workers=args.image_workers,
            plot_dir=args.plot, overwrite=args.overwrite,
            resume=args.resume, progress=True)
    if not first_process():
        return 0  # under torchrun, the first process reports
    tally = result.tally
    print(f"read {len(paths)} images: {scene_graphs_summary(tally)}")
    for note in tally.notes:
        print(f"  {note}")
    failed = sum(count for name, count in tally.counts.items()
                 if name.startswith(FAILED))
    if failed > len(tally.notes):
        print(f"  and {failed - len(tally.notes):,} more")
    print(f"wrote {output} and {record}")
    if args.plot:
        print(f"wrote {tally.counts[SCENE_GRAPHS]} pictures to {args.plot}")
    if args.profile:
        print(f"{result.worked:,} images worked; "
              f"{result.timings.summary(result.worked, 'image')}")
    return 0


def check_scene_graph_output(output: str, images: List[str],
                             config: "ExtractorConfig",
                             overwrite: bool) -> Tuple[Path, Path]:
    """``(output, record)``: the scene-graph file and the extractor record
    beside it, checked before any work as ``predict --output`` is
    (:func:`~jmere_pyg.output_files.check_output`). The folder may
    hold no checkpoint nor training run, whose recorded extractor the record
    would replace, and an existing record of another extractor is replaced
    only with ``--overwrite``.

    Raises:
        ValueError: naming the file or folder and why.
    """
    from .models.eega import CONFIG_NAME, WEIGHTS_NAME
    from .output_files import check_output
    from .run_folder import RunFolder
    from .vision import EXTRACTOR_FILE, ExtractorRecord, read_extractor_file
    from .vision.record import extractor_changes

    output = check_output(output, images, overwrite=overwrite)
    folder = output.resolve().parent
    record = output.parent / EXTRACTOR_FILE
    if output.name == EXTRACTOR_FILE:
        raise ValueError(f"--output {output}: {EXTRACTOR_FILE} is the name "
                         f"of the extractor record written beside it; name "
                         f"the scene graph file otherwise")
    if all((folder / name).is_file() for name in (CONFIG_NAME, WEIGHTS_NAME)):
        raise ValueError(f"--output {output}: {folder} holds a checkpoint, "
                         f"whose {EXTRACTOR_FILE} would be replaced; write "
                         f"the scene graphs elsewhere")
    run_files = RunFolder(folder).used()
    if run_files:
        raise ValueError(f"--output {output}: {folder} holds a training run "
                         f"({', '.join(run_files)}); write the scene graphs "
                         f"elsewhere")
    if record.exists() and not overwrite and extractor_changes(
            read_extractor_file(record), ExtractorRecord.of(config)):
        raise ValueError(f"--output {output}: {record} records another "
                         f"extractor, for other scene graphs in the folder; "
                         f"pass --overwrite to replace it, or write "
                         f"elsewhere")
    return output, record


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
