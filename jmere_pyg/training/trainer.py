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
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from torch.utils.data import DistributedSampler
from torch_geometric.loader import DataLoader
from tqdm.auto import tqdm

from ..data.tensor_files import load_plain
from ..datasets import JMEREDataset
from ..graphs import PAIR, WORD
from ..models import EEGA
from ..records import RecordFormat
from ..vision import ExtractorConfig
from .config import TrainingConfig
from .distillation import (TEACHER_ATTR, attach_teacher, distillation_loss,
                           load_teacher_cache, load_teacher_targets,
                           save_teacher_cache, save_teacher_targets,
                           teacher_fingerprint, teacher_probabilities)
from .precision import autocast, device_precision
from ..inference import Predictor, evaluate
from ..output_files import save_atomically, write_atomically
from ..run_folder import RUN_FILES, RunFolder
from .sampling import LengthBucketBatchSampler

#: Training steps between two progress-bar updates of the running loss.
PROGRESS_EVERY = 10
#: A run's ``last_state.pt``; files written before the stamps are version 1.
RESUME_STATE_RECORD = RecordFormat("jmere_pyg resume state", unstamped=1)


class TrainingDivergedError(ValueError):
    """The training loss or a weight became NaN or infinite: training stops
    before anything of that epoch is scored or saved, and the message names
    the likely cause."""


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
    """``auto`` -> CUDA when available (this process's local rank), else CPU.

    Raises:
        ValueError: ``cuda`` without a GPU that torch can use.
    """
    if name == "cuda" or (name == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise ValueError("device 'cuda' asked for, but torch sees no GPU; "
                             "use device 'cpu' or 'auto'")
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
    """The train and val :class:`JMEREDataset` of ``config.data_root`` (with
    the scene graphs of ``config.images``, extracted on first use)."""
    if config.mnre_dir is not None:
        JMEREDataset.prepare_root_from_mnre(config.data_root, config.mnre_dir,
                                            required=("train", "val"))
    images = {}
    if config.images is not None:
        extractor = ExtractorConfig()
        if config.detector is not None:
            extractor = extractor.replace(detector=config.detector)
        images = {"images": config.images, "extractor": extractor}
    train_set = JMEREDataset(config.data_root, split="train",
                             max_words=config.max_words, **images)
    val_set = JMEREDataset(config.data_root, split="val",
                           max_words=config.max_words, **images)
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


def training_graphs(config: TrainingConfig, train_set: JMEREDataset
                    ) -> List:
    """The graphs a run trains on: ``train_set``'s, the first
    ``config.max_train_samples`` of them when that is set."""
    graphs = list(train_set)
    if config.max_train_samples is not None:
        graphs = graphs[:config.max_train_samples]
    return graphs


def graph_samples(dataset: JMEREDataset, graphs) -> List:
    """The posts of ``graphs`` (of ``dataset``), in their order."""
    return [dataset.samples[int(g.sample_index)] for g in graphs]


def teacher_targets(config: TrainingConfig, train_set: JMEREDataset,
                    train_graphs, device, progress: bool) -> List[torch.Tensor]:
    """The mean tag probabilities ``[P_g, C]`` of ``config.teachers`` on
    each of ``train_graphs`` (see :mod:`.distillation`)."""
    teachers = [EEGA.from_pretrained(path).to(device).eval()
                for path in config.teachers]
    return teacher_probabilities(
        teachers, train_set.samples_of(train_graphs),
        batch_size=config.eval_batch_size, progress=progress,
        built=(train_set.builder, train_graphs))


def write_teacher_targets(config: TrainingConfig, path, top_k: int = 4,
                          progress: bool = True) -> Dict:
    """Score the training posts of ``config`` with ``config.teachers`` and
    write their probabilities to ``path`` for ``teacher_targets`` (see
    :func:`.distillation.save_teacher_targets`, whose report it returns)."""
    if not config.teachers:
        raise ValueError("writing teacher targets needs teachers")
    train_set, _ = load_splits(config)
    train_graphs = training_graphs(config, train_set)
    targets = teacher_targets(config, train_set, train_graphs,
                              pick_device(config.device), progress)
    return save_teacher_targets(path, targets, train_graphs,
                                graph_samples(train_set, train_graphs),
                                train_set.split, config.teachers, top_k=top_k)


def cached_teacher_targets(path: Path, fingerprint: Dict, notify: bool
                           ) -> Optional[List[torch.Tensor]]:
    """The teachers' probabilities an earlier start of this run kept in
    ``path``, or ``None`` when there are none, with a notice when the file
    is there but stale or unreadable."""
    try:
        targets = load_teacher_cache(path, fingerprint)
    except FileNotFoundError:
        return None
    except ValueError as error:
        if notify:
            tqdm.write(f"{error}; computing the teachers' probabilities again")
        return None
    if notify:
        tqdm.write(f"teachers' probabilities read from {path}")
    return targets


def distillation_targets(config: TrainingConfig, train_set: JMEREDataset,
                         train_graphs, device, *, cache: Optional[Path],
                         progress: bool, notify: bool
                         ) -> Tuple[Optional[List[torch.Tensor]],
                                    Optional[Dict]]:
    """The soft targets ``[P_g, C]`` of each of ``train_graphs`` when
    ``config`` distils: its ``teacher_targets`` file, else its teachers'
    probabilities, read from ``cache`` (a run folder's teacher cache) when
    that holds them for these teachers and graphs, else computed.

    Args:
        cache: the cache file to read, or ``None`` to compute.
        progress: show the teachers' progress bar.
        notify: say when the cache is read, stale or unreadable.

    Returns:
        ``(targets, fingerprint)``: ``targets`` is ``None`` when ``config``
        does not distil; ``fingerprint`` is set when the teachers' were
        computed here and can be cached with it
        (:func:`.distillation.save_teacher_cache`), else ``None``.
    """
    if config.teacher_targets:
        return load_teacher_targets(
            config.teacher_targets, train_graphs,
            graph_samples(train_set, train_graphs), train_set.split), None
    if not config.teachers:
        return None, None
    fingerprint = teacher_fingerprint(config.teachers, train_graphs)
    if cache is not None and fingerprint is not None:
        targets = cached_teacher_targets(cache, fingerprint, notify)
        if targets is not None:
            return targets, None
    return (teacher_targets(config, train_set, train_graphs, device,
                            progress), fingerprint)


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


def build_loader(model: EEGA, graphs: List, config: TrainingConfig,
                 world_size: int = 1, rank: int = 0):
    """The training batches of ``graphs`` for process ``rank`` of
    ``world_size``: ``(sampler, loader)``; call ``sampler.set_epoch(epoch)``
    before each epoch. Length buckets with ``config.bucket_by_length``,
    plain random batches otherwise."""
    # One sampler for every world size: the same global batches, split by
    # rank.
    if config.bucket_by_length:
        sampler = LengthBucketBatchSampler(
            model.encoder.subword_lengths([g.tokens for g in graphs]),
            config.batch_size, num_replicas=world_size, rank=rank,
            seed=config.seed)
        return sampler, DataLoader(graphs, batch_sampler=sampler,
                                   num_workers=config.num_workers)
    sampler = DistributedSampler(graphs, num_replicas=world_size, rank=rank,
                                 shuffle=True, seed=config.seed,
                                 drop_last=False)
    return sampler, DataLoader(graphs,
                               batch_size=config.batch_size // world_size,
                               sampler=sampler,
                               num_workers=config.num_workers)


def build_scheduler(optimizer, config: TrainingConfig, steps_per_epoch: int):
    """The learning-rate schedule that ``config.lr_schedule`` names: a
    :class:`ReduceLROnPlateau` stepped once per epoch with val strict F1,
    or a :class:`LambdaLR` stepped after every optimiser step whose factor
    rises linearly from 0 to 1 over the warm-up steps, then falls linearly
    to 0 at step ``epochs * steps_per_epoch``."""
    if config.lr_schedule == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, mode="max", factor=config.lr_decay,
            patience=config.lr_decay_patience)
    total = config.epochs * steps_per_epoch
    warmup = round(config.warmup_ratio * total)

    def factor(step: int) -> float:
        if step < warmup:
            return step / warmup
        return max(0.0, (total - step) / max(1, total - warmup))
    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def train(config: TrainingConfig, *, model: Optional[EEGA] = None,
          resume: bool = False, overwrite: bool = False,
          progress: bool = True) -> TrainingResult:
    """Train EEGA on ``config.data_root`` with early stopping on val F1.

    The run folder gets ``best/`` (the best-on-val checkpoint in
    ``save_pretrained`` format; the weight average with
    ``config.ema_decay``), ``training_config.json``, ``log.jsonl`` (one
    line per epoch), ``last_state.pt`` (the state after the last finished
    epoch, what ``resume=True`` continues from) and ``metrics.json`` (val
    metrics of the best checkpoint). An interrupted epoch is lost: a resumed
    run repeats it and matches a run that was never interrupted.

    Args:
        resume: continue the run in ``config.run_dir``; its model settings
            must equal ``config.model``'s.
        overwrite: replace the run in ``config.run_dir``. Without
            ``resume`` or ``overwrite`` a folder that holds a run is refused.

    Raises:
        FileExistsError: when ``config.run_dir`` holds a run and neither
            ``resume`` nor ``overwrite`` is set.
        ValueError: when a resumed run's saved model settings differ, or its
            saved state is not a plain-tensor file.
        TrainingDivergedError: a ``ValueError``, when the training loss or
            a weight becomes NaN or infinite (checked every
            ``PROGRESS_EVERY`` steps and after each epoch): the run folder
            keeps what the epochs before saved.
    """
    run = RunFolder(config.run_dir)
    check_run_dir(run, config, resume=resume, overwrite=overwrite)
    device = pick_device(config.device)
    distributed = init_distributed(device)
    rank = dist.get_rank() if distributed else 0
    world_size = dist.get_world_size() if distributed else 1
    is_main = rank == 0
    config, notice = device_precision(config, device)
    if notice is not None and is_main:
        tqdm.write(notice)
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
    train_graphs = training_graphs(config, train_set)
    val_graphs = list(val_set)
    if config.max_eval_samples is not None:
        val_graphs = val_graphs[:config.max_eval_samples]

    if model is None:
        model = EEGA.from_builder(train_set.builder, config.model)
    # Prediction from raw images reuses the extractor of the training graphs.
    model.extractor_record = train_set.extractor_record
    model.to(device)
    # The teachers run before the folder is written, so that a bad teacher
    # leaves no run behind; a resume reads what the first start computed.
    targets, fingerprint = distillation_targets(
        config, train_set, train_graphs, device,
        cache=run.teacher_cache if resume else None,
        progress=progress and is_main, notify=is_main)
    if targets is not None:
        attach_teacher(train_graphs, targets)
    if is_main:
        if overwrite:
            _remove_run(run)
        run.path.mkdir(parents=True, exist_ok=True)
        config.save(run.config)
        if fingerprint is not None:
            save_teacher_cache(run.teacher_cache, fingerprint, targets)

    optimizer = build_optimizer(model, config)
    sampler, loader = build_loader(model, train_graphs, config, world_size,
                                   rank)
    scheduler = build_scheduler(optimizer, config, len(loader))
    averaged = build_weight_average(model, config)
    step_scheduler = (scheduler if config.lr_schedule == "linear_warmup"
                      else None)
    state = {"epoch": 0, "best_f1": -1.0, "best_epoch": 0, "bad_epochs": 0,
             "best_metrics": None, "history": []}
    if resume:
        state = load_last_state(run.last_state, model, optimizer,
                                scheduler, device, averaged)
        if is_main:
            _truncate_log(run.log, state["epoch"])

    # Without scene graphs the object layers get no gradient: let DDP know.
    wrapped = (DistributedDataParallel(
        model, find_unused_parameters=model.config.use_image)
        if distributed else model)

    val_samples = val_set.samples_of(val_graphs)

    def score_val(scored: EEGA) -> Dict:
        return evaluate(Predictor(scored, batch_size=config.eval_batch_size,
                                  progress=progress and is_main),
                        val_samples, built=(val_set.builder, val_graphs))

    for epoch in range(state["epoch"] + 1, config.epochs + 1):
        if state["bad_epochs"] >= config.patience:
            break
        sampler.set_epoch(epoch)
        started = time.time()
        losses = train_one_epoch(wrapped, model, loader, optimizer,
                                 step_scheduler, config, epoch, world_size,
                                 progress and is_main, averaged)
        # No non-finite weight is scored, nor saved as best/ or last_state.
        check_finite_weights([model] if averaged is None
                             else [model, averaged.module], config, epoch)
        # With weight averaging the average is what is scored, selected and
        # saved; the weights themselves are scored too, to show the gain.
        scored = model if averaged is None else averaged.module
        val = score_val(scored)
        online = None if averaged is None else score_val(model)
        f1 = val["strict"]["f1"]
        if step_scheduler is None:
            scheduler.step(f1)
        improved = f1 > state["best_f1"]
        if improved:
            state.update(best_f1=f1, best_epoch=epoch, bad_epochs=0,
                         best_metrics=val)
            if is_main:  # the model card gets settings and val scores
                save_checkpoint(scored, run.best,
                                training=config.to_dict(),
                                metrics={"split": "val", "epoch": epoch,
                                         **val})
        else:
            state["bad_epochs"] += 1
        record = {"epoch": epoch, **losses,
                  "val_strict": val["strict"], "val_paper": val["paper"],
                  "val_mner": val["mner"],
                  "lr": [g["lr"] for g in optimizer.param_groups],
                  "seconds": round(time.time() - started, 1),
                  "best": improved}
        if online is not None:
            record["online"] = {protocol: online[protocol]
                                for protocol in ("strict", "paper", "mner")}
        state["history"].append(record)
        state["epoch"] = epoch
        if is_main:
            with open(run.log, "a") as log:
                log.write(json.dumps(record) + "\n")
            # Only a finished epoch is saved: an interrupted one is lost and
            # redone on resume, as if it had never started.
            save_last_state(run.last_state, model, optimizer,
                            scheduler, state, averaged)
            tqdm.write(_epoch_line(record))
    if distributed:
        dist.barrier()

    # The best epoch was already scored when it was saved.
    val_metrics = state["best_metrics"]
    if is_main:
        write_atomically(run.metrics, json.dumps(
            {"split": "val", "best_epoch": state["best_epoch"],
             **val_metrics}, indent=2) + "\n")
    return TrainingResult(run.path, state["best_epoch"], state["best_f1"],
                          val_metrics, state["history"])


def train_step(wrapped, model: EEGA, batch, optimizer,
               config: TrainingConfig, world_size: int = 1) -> torch.Tensor:
    """One optimisation step (forward, backward, clipping, update) on a
    batch already on the model's device.

    Args:
        wrapped: ``model`` or its DDP wrapper.
        model: the EEGA model.
        batch: a PyG batch of JMERE graphs with word-pair labels.
        optimizer: from :func:`build_optimizer`.
        config: ``grad_clip``, ``mixed_precision``, ``distils`` and
            ``distill_weight`` are used; when distilling the batch's pairs
            carry the teachers' probabilities (:func:`attach_teacher`).
        world_size: processes sharing the global batch.

    Returns:
        ``[3]`` on the model's device, detached: this process's
        ``(loss, main_loss, graph_loss)``, ``main_loss`` (the word-pair
        loss, mixed with the distillation loss when distilling) scaled by
        its share of the global batch's pairs.
    """
    with autocast(config.mixed_precision, model.device):
        output = wrapped(batch)
        main_loss = output.main_loss
        if config.distils:
            main_loss = ((1.0 - config.distill_weight) * main_loss
                         + config.distill_weight * distillation_loss(
                             output.logits, batch[PAIR][TEACHER_ATTR]))
    # DDP averages gradients over processes: scaling each mean by this
    # process's share of the global batch makes the update that of the
    # mean over the global batch (pairs for the pair loss, words for the
    # boundary loss).
    counts = [batch[PAIR].num_edges]
    if output.boundary_term is not None:
        counts.append(batch[WORD].num_nodes)
    share, *word_share = _global_shares(counts, world_size, model.device)
    loss = main_loss * share
    graph_loss = (output.graph_loss if output.graph_loss is not None
                  else torch.zeros((), device=loss.device))
    if output.graph_term is not None:
        loss = loss + output.graph_term
    if output.boundary_term is not None:
        loss = loss + output.boundary_term * word_share[0]
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
    optimizer.step()
    return torch.stack([loss.detach(), main_loss.detach() * share,
                        graph_loss.detach()])


def build_weight_average(model: EEGA, config: TrainingConfig
                         ) -> Optional[AveragedModel]:
    """The exponential moving average of ``model``'s weights that
    ``config.ema_decay`` asks for (its ``.module`` is an :class:`EEGA`), or
    ``None``. Its first update copies the weights."""
    if config.ema_decay is None:
        return None
    return AveragedModel(model,
                         multi_avg_fn=get_ema_multi_avg_fn(config.ema_decay))


def train_one_epoch(wrapped, model: EEGA, loader, optimizer, step_scheduler,
                    config: TrainingConfig, epoch: int, world_size: int,
                    progress: bool,
                    averaged: Optional[AveragedModel] = None
                    ) -> Dict[str, float]:
    """One epoch of :func:`train_step` over ``loader``, the step schedule
    (``linear_warmup``) and the weight average updated after each step;
    returns the epoch's mean ``loss``, ``main_loss`` and ``graph_loss``
    over the global batches. A non-finite running loss stops it
    (:class:`TrainingDivergedError`)."""
    model.train()
    # Summed on the model's device: the host reads them back only for the
    # progress bar (every PROGRESS_EVERY steps) and at the end, so that it
    # does not wait for the device after every step.
    totals = torch.zeros(3, dtype=torch.float64, device=model.device)
    steps = 0
    bar = tqdm(loader, desc=f"epoch {epoch}", disable=not progress,
               leave=False)
    for batch in bar:
        batch = batch.to(model.device)
        step = train_step(wrapped, model, batch, optimizer, config,
                          world_size).double()
        if step_scheduler is not None:
            step_scheduler.step()
        if averaged is not None:
            averaged.update_parameters(model)
        steps += 1
        # Logged figures are those of the whole global batch.
        if world_size > 1:
            dist.all_reduce(step)
            step = step / world_size
        totals += step
        if steps % PROGRESS_EVERY == 0:
            # A diverged run stops within PROGRESS_EVERY steps.
            running = (totals / steps).tolist()
            check_finite_loss(running, config, epoch, steps)
            if progress:
                bar.set_postfix(loss=f"{running[0]:.4f}")
    means = (totals.cpu() / max(steps, 1)).tolist()
    check_finite_loss(means, config, epoch, steps)
    return {name: round(value, 6) for name, value in
            zip(("loss", "main_loss", "graph_loss"), means)}


def check_finite_loss(losses: List[float], config: TrainingConfig,
                      epoch: int, steps: int) -> None:
    """Raises :class:`TrainingDivergedError` when one of an epoch's mean
    ``(loss, main_loss, graph_loss)`` after ``steps`` steps is not
    finite."""
    if not all(map(math.isfinite, losses)):
        raise TrainingDivergedError(
            f"epoch {epoch}: the training loss is {losses[0]} after {steps} "
            f"steps; training stopped, nothing of this epoch saved; "
            f"{_divergence_causes(config)}")


def check_finite_weights(models: List[torch.nn.Module],
                         config: TrainingConfig, epoch: int) -> None:
    """Raises :class:`TrainingDivergedError` naming the first weight of
    ``models`` that holds a NaN or an infinity."""
    for module in models:
        for name, tensor in module.state_dict().items():
            if (tensor.is_floating_point()
                    and not bool(torch.isfinite(tensor).all())):
                raise TrainingDivergedError(
                    f"epoch {epoch}: the weight {name} holds NaN or "
                    f"infinite values; training stopped, nothing of this "
                    f"epoch saved; {_divergence_causes(config)}")


def _divergence_causes(config: TrainingConfig) -> str:
    causes = (f"a learning rate too high (lr {config.lr:g}, encoder_lr "
              f"{config.encoder_lr:g})")
    if config.teacher_targets is not None:
        causes += f" or bad teacher targets in {config.teacher_targets}"
    elif config.teachers:
        causes += (f" or teachers with bad probabilities "
                   f"({', '.join(config.teachers)})")
    return f"likely cause: {causes}"


def _global_shares(counts: List[int], world_size: int,
                   device: torch.device) -> List[float]:
    """``world_size * local / global`` for each of this process's
    ``counts`` (word pairs, words), the global counts summed over the
    processes in one all-reduce; all 1 in a single process."""
    if world_size == 1:
        return [1.0] * len(counts)
    local = torch.tensor(counts, dtype=torch.float64, device=device)
    total = local.clone()
    dist.all_reduce(total)
    return (world_size * local / total).tolist()


def _epoch_line(record: Dict) -> str:
    strict, paper, mner = (record["val_strict"], record["val_paper"],
                           record["val_mner"])
    return (f"epoch {record['epoch']:3d} | loss {record['loss']:.4f} "
            f"(main {record['main_loss']:.4f}, graph {record['graph_loss']:.4f})"
            f" | val strict P {strict['precision']:.4f} R {strict['recall']:.4f}"
            f" F1 {strict['f1']:.4f} | paper F1 {paper['f1']:.4f}"
            f" | MNER F1 {mner['f1']:.4f}"
            + (f" | online strict F1 {record['online']['strict']['f1']:.4f}"
               if "online" in record else "")
            + f" | {record['seconds']}s" + (" *" if record["best"] else ""))


def check_run_dir(run: RunFolder, config: TrainingConfig, *, resume: bool,
                  overwrite: bool) -> None:
    """Refuse to train into ``run`` when that would lose a run, before
    anything is written: a used folder needs ``resume`` or ``overwrite``, and
    a resume needs the saved state and the same model settings.

    Raises:
        FileExistsError: a used folder without ``resume`` or ``overwrite``.
        FileNotFoundError: ``resume`` without a saved state.
        ValueError: ``resume`` and ``overwrite`` together, or a resume whose
            model settings differ from the saved ones (the fields named), or
            that adds or drops weight averaging.
    """
    if resume and overwrite:
        raise ValueError("choose one of resume and overwrite, not both")
    used = run.used()
    if not resume:
        if used and not overwrite:
            raise FileExistsError(
                f"{run.path} holds a run ({', '.join(used)}); resume it with "
                f"resume=True, replace it with overwrite=True, or choose "
                f"another run_dir=FOLDER")
        return
    if not run.last_state.is_file():
        raise FileNotFoundError(f"cannot resume: {run.last_state} does "
                                f"not exist (no epoch of this run finished)")
    saved_path = run.config
    try:
        saved = TrainingConfig.load(saved_path)
    except FileNotFoundError:
        raise FileNotFoundError(f"cannot resume: {saved_path} does not "
                                f"exist") from None
    except ValueError as error:
        raise ValueError(f"cannot resume: {error}") from None
    if (saved.ema_decay is None) != (config.ema_decay is None):
        raise ValueError(f"cannot resume {run.path}: it was trained with "
                         f"ema_decay {saved.ema_decay}, not "
                         f"{config.ema_decay} ({saved_path})")
    old, new = saved.model.to_dict(), config.model.to_dict()
    differing = [name for name in new if old.get(name) != new[name]]
    if differing:
        changes = "; ".join(f"{name}: {old.get(name)!r} -> {new[name]!r}"
                            for name in differing)
        raise ValueError(f"cannot resume {run.path}: model settings differ "
                         f"from {saved_path} ({changes})")


def _remove_run(run: RunFolder) -> None:
    """Delete the files of a previous run (and nothing else) from
    ``run``."""
    for name in RUN_FILES:
        path = run.path / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def save_checkpoint(model: EEGA, path: Path, **card) -> None:
    """``model.save_pretrained(path, **card)`` written beside it first, so
    that an interruption leaves the previous best checkpoint whole."""
    fresh = path.with_name(path.name + ".tmp")
    stale = path.with_name(path.name + ".old")
    for folder in (fresh, stale):
        if folder.exists():
            shutil.rmtree(folder)
    model.save_pretrained(fresh, **card)
    if path.exists():
        os.replace(path, stale)
    os.replace(fresh, path)
    if stale.exists():
        shutil.rmtree(stale)


def _truncate_log(path: Path, epochs: int) -> None:
    """Keep the first ``epochs`` lines of the log: a line written just
    before an interruption, whose state was not saved, belongs to an epoch
    that the resumed run redoes."""
    if path.is_file():
        lines = path.read_text().splitlines(keepends=True)
        write_atomically(path, "".join(lines[:epochs]))


def save_last_state(path: Path, model, optimizer, scheduler,
                    state: Dict, averaged: Optional[AveragedModel] = None
                    ) -> None:
    """Write what a resume needs, tensors and plain values only, so that
    :func:`load_last_state` reads it with ``torch.load(weights_only=True)``
    (no pickled code): weights, optimiser and scheduler state, progress,
    every random generator's state and the weight average, if any, stamped
    as :data:`RESUME_STATE_RECORD`."""
    numpy_rng = np.random.get_state()
    python_rng = random.getstate()
    saved = {"model": model.state_dict(),
             "optimizer": optimizer.state_dict(),
             "scheduler": scheduler.state_dict(),
             "state": state,
             "torch_rng": torch.get_rng_state(),
             "numpy_rng": [numpy_rng[0], torch.from_numpy(
                 numpy_rng[1].astype(np.int64)), *numpy_rng[2:]],
             "python_rng": [python_rng[0], list(python_rng[1]),
                            python_rng[2]]}
    if torch.cuda.is_available():
        saved["cuda_rng"] = torch.cuda.get_rng_state_all()
    if averaged is not None:
        saved["averaged"] = averaged.state_dict()
    save_atomically(RESUME_STATE_RECORD.stamp(saved), path)


def load_last_state(path: Path, model, optimizer, scheduler,
                    device, averaged: Optional[AveragedModel] = None) -> Dict:
    """Restore what :func:`save_last_state` wrote; returns the progress
    (``epoch``, best epoch and F1, history).

    Raises:
        ValueError: naming ``path`` when the file holds anything but tensors
            and plain values (nothing in it is run), is damaged, is another
            kind of record or of a format version this jmere_pyg does not
            read, or when ``averaged`` is given and the run was saved
            without a weight average (or the other way round).
    """
    saved = RESUME_STATE_RECORD.read(
        load_plain(path, "resume state", map_location=device), path)
    if (averaged is None) != ("averaged" not in saved):
        raise ValueError(
            f"{path}: the run was saved "
            f"{'with' if averaged is None else 'without'} a weight average; "
            f"resume it with the ema_decay it was trained with")
    try:
        if averaged is not None:
            averaged.load_state_dict(saved["averaged"])
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        torch.set_rng_state(saved["torch_rng"].cpu())
        name, keys, *rest = saved["numpy_rng"]
        np.random.set_state((name, keys.cpu().numpy().astype(np.uint32),
                             *rest))
        version, internal, gauss = saved["python_rng"]
        random.setstate((version, tuple(internal), gauss))
        if "cuda_rng" in saved and torch.cuda.is_available():
            torch.cuda.set_rng_state_all([s.cpu() for s in saved["cuda_rng"]])
        return saved["state"]
    except (KeyError, TypeError, ValueError, RuntimeError) as error:
        raise ValueError(f"{path}: not a resume state of this model "
                         f"({str(error).splitlines()[0]})") from None
