"""Training EEGA: optimiser, schedule, early stopping, checkpoints, DDP.

One process trains as is. Under ``torchrun`` every process takes its share of
each batch (a :class:`DistributedSampler` over the same permutation) and
:class:`DistributedDataParallel` averages the gradients; the word-pair loss is
rescaled so that the averaged gradient equals the gradient of the loss of the
whole batch, so N processes train the same model as one. (The alignment
term, present only with scene graphs, is each process's own mean over its
samples, averaged over processes: equal to one process's up to how the
samples with objects fall between the processes.)
"""
import json
import math
import os
import random
import shutil
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DistributedSampler
from torch_geometric.loader import DataLoader
from tqdm.auto import tqdm

from ..datasets import JMEREDataset
from ..graphs import PAIR, WORD
from ..models import EEGA
from .config import TrainingConfig
from .evaluation import evaluate

LAST_STATE = "last_state.pt"
BEST_DIR = "best"
LOG_NAME = "log.jsonl"
METRICS_NAME = "metrics.json"


@dataclass
class TrainingResult:
    """What :func:`train` leaves behind: the run folder, the best epoch and
    the val metrics of the best checkpoint."""
    run_dir: Path
    best_epoch: int
    best_f1: float
    val_metrics: Dict
    history: List[Dict]


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def pick_device(name: str) -> torch.device:
    """``auto`` -> CUDA when available (this process's local rank), else CPU."""
    if name == "cuda" or (name == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise RuntimeError("device 'cuda' asked for, but torch sees no GPU")
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    return torch.device("cpu")


def init_distributed(device: torch.device) -> bool:
    """Join the process group that ``torchrun`` describes, if any."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return False
    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend=backend)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    return True


def load_splits(config: TrainingConfig):
    """The train and val :class:`JMEREDataset` of ``config.data_root``."""
    if config.mnre_dir is not None:
        JMEREDataset.prepare_root_from_mnre(config.data_root, config.mnre_dir)
    train_set = JMEREDataset(config.data_root, split="train",
                             max_words=config.max_words)
    val_set = JMEREDataset(config.data_root, split="val",
                           max_words=config.max_words)
    return train_set, val_set


def skip_notices(config: TrainingConfig, *datasets: JMEREDataset
                 ) -> List[str]:
    """One line per split that left posts out as longer than
    ``config.max_words`` words."""
    counts = [(dataset.split, dataset.read_report.skipped["too_long"])
              for dataset in datasets]
    return [f"{split}: left out {count:,} posts longer than "
            f"max_words={config.max_words} words"
            for split, count in counts if count]


def build_optimizer(model: EEGA, config: TrainingConfig):
    """Adam with the encoder's own learning rate and another for new layers."""
    encoder = [p for p in model.encoder.parameters() if p.requires_grad]
    encoder_ids = {id(p) for p in encoder}
    rest = [p for p in model.parameters()
            if p.requires_grad and id(p) not in encoder_ids]
    # The fused kernel updates every tensor in one pass: on CPU it is about
    # four times faster than the per-parameter loop (about 10 % of a step).
    fused = all(p.device.type in ("cpu", "cuda") and p.is_floating_point()
                for p in encoder + rest)
    return torch.optim.Adam([
        {"params": encoder, "lr": config.encoder_lr},
        {"params": rest, "lr": config.lr},
    ], weight_decay=config.weight_decay, fused=fused)


def train(config: TrainingConfig, *, model: Optional[EEGA] = None,
          resume: bool = False, progress: bool = True) -> TrainingResult:
    """Train EEGA on ``config.data_root`` with early stopping on val F1.

    The run folder gets ``best/`` (the best-on-val checkpoint in
    ``save_pretrained`` format), ``training_config.json``, ``log.jsonl`` (one
    line per epoch), ``last_state.pt`` (what ``resume=True`` continues from)
    and ``metrics.json`` (val metrics of the best checkpoint).
    """
    device = pick_device(config.device)
    distributed = init_distributed(device)
    rank = dist.get_rank() if distributed else 0
    world_size = dist.get_world_size() if distributed else 1
    is_main = rank == 0
    if config.batch_size % world_size:
        raise ValueError(f"batch_size {config.batch_size} must be divisible by "
                         f"the number of processes ({world_size})")
    seed_everything(config.seed)

    # The first process builds the processed files; the others then read them.
    if is_main:
        train_set, val_set = load_splits(config)
    if distributed:
        dist.barrier()
    if not is_main:
        train_set, val_set = load_splits(config)
    if is_main:
        for notice in skip_notices(config, train_set, val_set):
            tqdm.write(notice)
    train_graphs = list(train_set)
    if config.max_train_samples is not None:
        train_graphs = train_graphs[:config.max_train_samples]
    val_graphs = list(val_set)
    if config.max_eval_samples is not None:
        val_graphs = val_graphs[:config.max_eval_samples]

    if model is None:
        model = EEGA.from_builder(train_set.builder, config.model)
    model.to(device)
    run_dir = Path(config.run_dir)
    if is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "training_config.json").write_text(
            json.dumps(config.to_dict(), indent=2) + "\n")

    optimizer = build_optimizer(model, config)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, mode="max", factor=config.lr_decay,
        patience=config.lr_decay_patience)
    state = {"epoch": 0, "best_f1": -1.0, "best_epoch": 0, "bad_epochs": 0,
             "best_metrics": None, "history": []}
    if resume:
        state = _load_last_state(run_dir, model, optimizer, scheduler, device)
    elif is_main and (run_dir / LOG_NAME).exists():
        (run_dir / LOG_NAME).unlink()

    # Without scene graphs the object layers get no gradient: let DDP know.
    wrapped = (DistributedDataParallel(
        model, find_unused_parameters=model.config.use_image)
        if distributed else model)
    # One sampler for every world size: the same permutation, split by rank.
    sampler = DistributedSampler(train_graphs, num_replicas=world_size,
                                 rank=rank, shuffle=True, seed=config.seed,
                                 drop_last=False)
    loader = DataLoader(train_graphs, batch_size=config.batch_size // world_size,
                        sampler=sampler, num_workers=config.num_workers)

    try:
        for epoch in range(state["epoch"] + 1, config.epochs + 1):
            if state["bad_epochs"] >= config.patience:
                break
            sampler.set_epoch(epoch)
            started = time.time()
            losses = _train_one_epoch(wrapped, model, loader, optimizer,
                                      config, epoch, world_size,
                                      progress and is_main)
            val = evaluate(model, val_graphs, val_set.samples,
                           batch_size=config.eval_batch_size,
                           progress=progress and is_main)
            f1 = val["strict"]["f1"]
            scheduler.step(f1)
            improved = f1 > state["best_f1"]
            if improved:
                state.update(best_f1=f1, best_epoch=epoch, bad_epochs=0,
                             best_metrics=val)
                if is_main:
                    model.save_pretrained(run_dir / BEST_DIR)
            else:
                state["bad_epochs"] += 1
            record = {"epoch": epoch, **losses,
                      "val_strict": val["strict"], "val_paper": val["paper"],
                      "val_mner": val["mner"],
                      "lr": [g["lr"] for g in optimizer.param_groups],
                      "seconds": round(time.time() - started, 1),
                      "best": improved}
            state["history"].append(record)
            state["epoch"] = epoch
            if is_main:
                with open(run_dir / LOG_NAME, "a") as log:
                    log.write(json.dumps(record) + "\n")
                tqdm.write(_epoch_line(record))
    finally:
        if is_main:
            _save_last_state(run_dir, model, optimizer, scheduler, state)
    if distributed:
        dist.barrier()

    # The best epoch was already scored when it was saved.
    val_metrics = state["best_metrics"]
    if is_main:
        (run_dir / METRICS_NAME).write_text(json.dumps(
            {"split": "val", "best_epoch": state["best_epoch"],
             **val_metrics}, indent=2) + "\n")
    return TrainingResult(run_dir, state["best_epoch"], state["best_f1"],
                          val_metrics, state["history"])


def _train_one_epoch(wrapped, model: EEGA, loader, optimizer,
                     config: TrainingConfig, epoch: int, world_size: int,
                     progress: bool) -> Dict[str, float]:
    model.train()
    totals = torch.zeros(3, dtype=torch.float64)
    steps = 0
    bar = tqdm(loader, desc=f"epoch {epoch}", disable=not progress,
               leave=False)
    for batch in bar:
        batch = batch.to(model.device)
        output = wrapped(batch)
        share = _pair_share(batch, world_size)
        loss = output.main_loss * share
        graph_loss = (output.graph_loss if output.graph_loss is not None
                      else torch.zeros((), device=loss.device))
        if output.graph_term is not None:
            loss = loss + output.graph_term
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        steps += 1
        # Logged figures are those of the whole global batch.
        step = torch.stack([loss.detach(), output.main_loss.detach() * share,
                            graph_loss.detach()]).double().cpu()
        if world_size > 1:
            step = step.to(model.device)
            dist.all_reduce(step)
            step = step.cpu() / world_size
        totals += step
        bar.set_postfix(loss=f"{totals[0].item() / steps:.4f}")
    means = (totals / max(steps, 1)).tolist()
    return {name: round(value, 6) for name, value in
            zip(("loss", "main_loss", "graph_loss"), means)}


def _pair_share(batch, world_size: int) -> float:
    """``world_size * local pairs / global pairs``: DDP averages gradients
    over processes, so this makes the update that of the mean over every
    word pair of the global batch. It is 1 in a single process."""
    if world_size == 1:
        return 1.0
    local = torch.tensor([batch[PAIR].num_edges],
                         dtype=torch.float64, device=batch[WORD].pos.device)
    total = local.clone()
    dist.all_reduce(total)
    return float(world_size * local / total)


def _epoch_line(record: Dict) -> str:
    strict, paper, mner = (record["val_strict"], record["val_paper"],
                           record["val_mner"])
    return (f"epoch {record['epoch']:3d} | loss {record['loss']:.4f} "
            f"(main {record['main_loss']:.4f}, graph {record['graph_loss']:.4f})"
            f" | val strict P {strict['precision']:.4f} R {strict['recall']:.4f}"
            f" F1 {strict['f1']:.4f} | paper F1 {paper['f1']:.4f}"
            f" | MNER F1 {mner['f1']:.4f} | {record['seconds']}s"
            + (" *" if record["best"] else ""))


def _save_last_state(run_dir: Path, model, optimizer, scheduler,
                     state: Dict) -> None:
    tmp = run_dir / (LAST_STATE + ".tmp")
    torch.save({"model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "state": state,
                "torch_rng": torch.get_rng_state(),
                "numpy_rng": np.random.get_state(),
                "python_rng": random.getstate()}, tmp)
    shutil.move(tmp, run_dir / LAST_STATE)


def _load_last_state(run_dir: Path, model, optimizer, scheduler, device):
    path = run_dir / LAST_STATE
    if not path.is_file():
        raise FileNotFoundError(f"cannot resume: {path} does not exist")
    saved = torch.load(path, map_location=device, weights_only=False)
    model.load_state_dict(saved["model"])
    optimizer.load_state_dict(saved["optimizer"])
    scheduler.load_state_dict(saved["scheduler"])
    torch.set_rng_state(saved["torch_rng"])
    np.random.set_state(saved["numpy_rng"])
    random.setstate(saved["python_rng"])
    return saved["state"]
