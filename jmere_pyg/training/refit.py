"""Refit: the final model trained on train + val for the epochs val chose.

A run of :func:`~jmere_pyg.training.trainer.train` picks its best epoch on
val, so val cannot also train it. Once the run has said how many epochs
help, :func:`refit` trains a fresh model with the run's settings and seed on
the train and val posts together for that many epochs and saves it in the
run folder's ``refit/``, beside ``best/``. The test split stays untouched.

What it replays of the run, epoch by epoch:

* the learning rates: the ``plateau`` schedule halves them when val F1
  stalls, which a refit, training on val, cannot see; after its epoch
  ``e`` the refit takes the rates the run had after its epoch ``e`` (the
  ``lr`` of the run's log). ``linear_warmup`` needs no val and runs as in
  the run, over the refit's own steps.
* the weight average (``ema_decay``): the average is what is saved.
* distillation: the train posts learn their teachers' probabilities as in
  the run; the val posts have none (the teachers' targets cover train), so
  their soft targets are their gold tags, and they learn the gold tags
  alone.

The refit model has seen val: no val figure is ever reported for it. Its
model card and ``refit/refit.json`` hold the epochs, the posts and the
splits it trained on, and no scores; compare it with ``best/`` on a split
neither saw (``benchmarks/quality/refit.py`` measures the gain honestly, on
val, by refitting runs that selected their epochs on a part of train).
"""
import json
import time
from pathlib import Path
from typing import Dict, List, Optional

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from ..data.errors import load_json
from ..graphs import PAIR
from ..labels import NUM_TAGS
from ..models import EEGA
from ..output_files import write_atomically
from ..run_folder import RunFolder
from .config import TrainingConfig
from .distillation import attach_teacher
from .precision import device_precision
from .trainer import (build_loader, build_optimizer, build_scheduler,
                      build_weight_average, check_finite_weights,
                      distillation_targets, load_splits, pick_device,
                      save_checkpoint, seed_everything, train_one_epoch,
                      training_graphs)

#: What the refit trained on and for how long, beside its weights.
REFIT_RECORD = "refit.json"


def refit_schedule(run_dir) -> List[List[float]]:
    """The learning rates after each epoch up to the run's best one:
    ``[best_epoch][param groups]``, read from the run folder's
    ``metrics.json`` (the best epoch) and ``log.jsonl`` (the rates).

    Raises:
        FileNotFoundError: naming the file, when the run has no metrics
            (it has not finished) or no log.
        ValueError: naming the file and line, when the log lacks an epoch up
            to the best one or an epoch's ``lr``.
    """
    run = RunFolder(run_dir)
    for path in (run.metrics, run.log):
        if not path.is_file():
            raise FileNotFoundError(
                f"cannot refit {run.path}: {path} does not exist (refit a "
                f"run that has finished)")
    best_epoch = _read_json(run.metrics).get("best_epoch")
    if not isinstance(best_epoch, int) or best_epoch < 1:
        raise ValueError(f"{run.metrics}: field 'best_epoch' must be a "
                         f"positive integer, got {best_epoch!r}")
    rates: Dict[int, List[float]] = {}
    for number, line in enumerate(run.log.read_text().splitlines(), 1):
        record = _read_json(run.log, line, number)
        if not isinstance(record.get("lr"), list):
            raise ValueError(f"{run.log}, line {number}: field 'lr' must be "
                             f"a list of learning rates")
        rates[record.get("epoch")] = record["lr"]
    missing = [e for e in range(1, best_epoch + 1) if e not in rates]
    if missing:
        raise ValueError(f"{run.log}: no line for epoch {missing[0]} "
                         f"(the best epoch is {best_epoch})")
    return [rates[e] for e in range(1, best_epoch + 1)]


def _read_json(path: Path, text: Optional[str] = None,
               line: Optional[int] = None) -> Dict:
    """The JSON object of ``path`` (or of its line ``line``, ``text``);
    anything else is a ``ValueError`` naming the file and line."""
    where = f"{path}" + (f", line {line}" if line is not None else "")
    try:
        value = load_json(path.read_text() if text is None else text)
    except ValueError as error:
        raise ValueError(f"{where}: not JSON ({error})") from None
    if not isinstance(value, dict):
        raise ValueError(f"{where}: not a JSON object")
    return value


def gold_targets(graph) -> torch.Tensor:
    """A post's gold tags as soft targets: ``[P_g, NUM_TAGS]`` one-hot,
    float16 like the teachers' probabilities."""
    return F.one_hot(graph[PAIR].edge_label, NUM_TAGS).to(torch.float16)


def refit(config: TrainingConfig, *, schedule: List[List[float]],
          overwrite: bool = False, progress: bool = True) -> Path:
    """Train a fresh model on ``config``'s train and val posts together for
    ``len(schedule)`` epochs and save it (the weight average with
    ``config.ema_decay``) in ``config.run_dir/refit``.

    Args:
        config: the settings of the run that chose the epochs (its
            ``training_config.json``); ``max_train_samples`` limits the
            train posts, ``max_eval_samples`` the val posts.
        schedule: ``[epochs][param groups]``, the learning rates after each
            epoch, from :func:`refit_schedule` (the first epoch trains at
            ``config``'s); with ``linear_warmup`` only its length is used.
        overwrite: replace an earlier refit of the run.

    Returns:
        The ``refit`` folder.

    Raises:
        FileExistsError: when the run already has a refit and not
            ``overwrite``.
        RuntimeError: under ``torchrun`` with more than one process (a
            refit runs in one).
        TrainingDivergedError: as :func:`~.trainer.train`; nothing is saved.
    """
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        if torch.distributed.get_world_size() > 1:
            raise RuntimeError("refit runs in one process, not under "
                               "torchrun with several")
    if not schedule:
        raise ValueError("schedule must hold at least one epoch")
    folder = RunFolder(config.run_dir).refit
    if folder.exists() and not overwrite:
        raise FileExistsError(f"{folder} holds a refit; replace it with "
                              f"overwrite=True")
    device = pick_device(config.device)
    config, notice = device_precision(config, device)
    if notice is not None and progress:
        tqdm.write(notice)
    seed_everything(config.seed)
    train_set, val_set = load_splits(config)
    train_graphs = training_graphs(config, train_set)
    val_graphs = list(val_set)
    if config.max_eval_samples is not None:
        val_graphs = val_graphs[:config.max_eval_samples]
    if config.distils:
        targets, _ = distillation_targets(
            config, train_set, train_graphs, device,
            cache=RunFolder(config.run_dir).teacher_cache,
            progress=progress, notify=progress)
        attach_teacher(train_graphs, targets)
        attach_teacher(val_graphs, [gold_targets(g) for g in val_graphs])
    graphs = train_graphs + val_graphs

    model = EEGA.from_builder(train_set.builder, config.model)
    model.extractor_record = train_set.extractor_record
    model.to(device)
    optimizer = build_optimizer(model, config)
    sampler, loader = build_loader(model, graphs, config)
    scheduler = build_scheduler(optimizer, config, len(loader))
    step_scheduler = (scheduler if config.lr_schedule == "linear_warmup"
                      else None)
    averaged = build_weight_average(model, config)
    log = []
    for epoch, rates in enumerate(schedule, 1):
        sampler.set_epoch(epoch)
        started = time.time()
        losses = train_one_epoch(model, model, loader, optimizer,
                                 step_scheduler, config, epoch, 1, progress,
                                 averaged)
        check_finite_weights([model] if averaged is None
                             else [model, averaged.module], config, epoch)
        # Where the run's plateau schedule decayed after this epoch.
        if step_scheduler is None:
            for group, rate in zip(optimizer.param_groups, rates):
                group["lr"] = rate
        # As in the run's log: the rates after the epoch.
        log.append({"epoch": epoch, **losses,
                    "lr": [g["lr"] for g in optimizer.param_groups],
                    "seconds": round(time.time() - started, 1)})
        if progress:
            tqdm.write(f"refit epoch {epoch}/{len(schedule)}: loss "
                       f"{losses['loss']:.4f} ({log[-1]['seconds']:.0f} s)")
    record = {"splits": ["train", "val"], "epochs": len(schedule),
              "train_posts": len(train_graphs), "val_posts": len(val_graphs),
              "log": log}
    # The card's table shows the refit beside the settings; no metrics.
    save_checkpoint(model if averaged is None else averaged.module, folder,
                    training={**config.to_dict(),
                              "refit_splits": "train + val",
                              "refit_epochs": len(schedule),
                              "refit_posts": len(graphs)})
    write_atomically(folder / REFIT_RECORD,
                     json.dumps(record, indent=2) + "\n")
    return folder

