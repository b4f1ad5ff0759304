"""Distilling trained models (teachers) into the model being trained.

The mean of several seeds' tag probabilities decodes better than any one
seed (a :class:`~jmere_pyg.inference.Predictor` of several models: +2.5
paper F1 on val for three MPNet-base seeds), at the cost of running them
all. Distillation trains one model towards that mean: every training
word pair gets the teachers' mean tag distribution as a second, soft
target (Hinton et al., 2015, at temperature 1), and the loss mixes the
two,

.. math::
    \\mathcal{L} = (1 - \\alpha) \\, \\mathcal{L}_{main}
    + \\alpha \\, \\frac{1}{|\\mathcal{P}|} \\sum_{(i,j) \\in \\mathcal{P}}
    - \\sum_t q_{i,j}(t) \\log \\textrm{softmax}(\\mathbf{y}_{i,j})[t],

with :math:`q_{i,j}` the teachers' mean probabilities of pair ``(i, j)``
and :math:`\\alpha` ``TrainingConfig.distill_weight``. The teachers score
the training posts they were trained on; they do not fit them exactly (an
MPNet-base seed gets 87.8 strict F1 on train, ``docs/results.md``), so
the soft targets carry more than the gold tags.

The teachers' pass costs minutes (about 5.5 for three MPNet-base seeds on
a 2-core CPU); a run keeps its result in its folder
(:func:`save_teacher_cache`) so that a resumed run reads it instead.

The probabilities can also travel without the teachers
(:func:`save_teacher_targets`, ``jmere-pyg teach``): a compact file of each
pair's most likely tags, computed once where the teachers are (a GPU
machine, say) and read by students elsewhere (``TrainingConfig.
teacher_targets``), checked against their training posts (the split, each
post's words and image) and for probabilities that are no distribution: a
student on some of the posts, in any order, reads the rows of its own.
"""
import bisect
import hashlib
import itertools
import math
import os
import warnings
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.data import HeteroData

from ..data.errors import DataNotice
from ..data.sample import Sample
from ..data.tensor_files import load_plain
from ..graphs import PAIR
from ..inference import Predictor
from ..inference.predictor import BuiltGraphs
from ..output_files import save_atomically
from ..records import KIND_KEY, VERSION_KEY, RecordFormat

#: The pair attribute that holds the teachers' mean tag probabilities.
TEACHER_ATTR = "teacher_probs"

#: A run's cache of its teachers' probabilities (:func:`save_teacher_cache`);
#: files written before the stamps are version 1.
TEACHER_CACHE_RECORD = RecordFormat("jmere_pyg teacher cache", unstamped=1)
#: A teacher-targets file (:func:`save_teacher_targets`). Version 2 adds the
#: split and a digest of each post (:func:`post_digest`); version 1 files
#: are matched by sample index and word-pair count only.
TARGETS_RECORD = RecordFormat("jmere_pyg teacher-targets file", version=2)
#: What files of format version 1 hold in place of the stamp (they were
#: written before it).
TARGETS_FORMAT_1 = "jmere_pyg teacher targets 1"

#: How far the kept probabilities of a word pair may sum above one, or
#: below one less the largest dropped mass of the file (float16 rounding).
SUM_TOLERANCE = 1e-2


def teacher_probabilities(teachers: Sequence, samples: Sequence[Sample],
                          batch_size: int = 32, progress: bool = False,
                          built: Optional[BuiltGraphs] = None
                          ) -> List[Tensor]:
    """The teachers' mean tag probabilities of every word pair of every
    sample, each teacher reading graphs of its own graph builder
    (:meth:`jmere_pyg.inference.Predictor.tag_probabilities`).

    Args:
        teachers (sequence of EEGA): the trained models.
        samples (sequence of Sample): the posts, in the order of the result,
            each with its scene graph (for teachers that read images).
        batch_size (int): graphs per forward pass.
        progress (bool): show progress bars.
        built (tuple, optional): ``(builder, graphs)``, the samples' graphs
            in their order as ``builder`` already built them. A teacher whose
            builder equals it (same settings, vocabularies and statistics:
            teachers trained on the same dataset) reads these graphs instead
            of parsing the posts again, which also spares a machine without
            the parser.

    Returns:
        one ``[n * n, C]`` float16 tensor per sample (``n`` its words; rows
        in the row-major pair order of the graphs).

    Raises:
        ValueError: without teachers, or when teachers disagree on a
            sample's number of words.
    """
    if not teachers:
        raise ValueError("distillation needs at least one teacher")
    if built is not None and len(built[1]) != len(samples):
        raise ValueError(f"{len(built[1])} built graphs for {len(samples)} "
                         f"samples")
    # Every training post is read whole, however long, and the posts are
    # batched by length all at once (one chunk), as targets always were.
    predictor = Predictor(teachers, batch_size=batch_size,
                          window_words=max([len(s.tokens) for s in samples],
                                           default=1),
                          chunk_size=max(len(samples), 1), progress=progress)
    return [p.flatten(0, 1).half()
            for p in predictor.tag_probabilities(samples, built=built)]


def attach_teacher(graphs: Sequence[HeteroData],
                   probabilities: Sequence[Tensor]) -> None:
    """Store each graph's teacher probabilities ``[P_g, C]`` on its word
    pairs (``graph['word', 'pair', 'word'].teacher_probs``), where batching
    concatenates them like the pairs' labels.

    Raises:
        ValueError: when a graph's pairs and its probabilities differ in
            number.
    """
    if len(graphs) != len(probabilities):
        raise ValueError(f"{len(graphs)} graphs but {len(probabilities)} "
                         f"teacher probability tensors")
    for i, (graph, probs) in enumerate(zip(graphs, probabilities)):
        if probs.size(0) != graph[PAIR].num_edges:
            raise ValueError(f"graph {i}: {graph[PAIR].num_edges} word pairs "
                             f"but {probs.size(0)} teacher rows")
        graph[PAIR][TEACHER_ATTR] = probs


def distillation_loss(logits: Tensor, teacher: Tensor) -> Tensor:
    """Cross-entropy of the pair logits ``[P, C]`` against the teachers'
    probabilities ``[P, C]``, averaged over pairs (the scale of
    :func:`jmere_pyg.nn.word_pair_loss`); zero with a gradient path when
    there are no pairs."""
    if logits.shape != teacher.shape:
        raise ValueError(f"logits {tuple(logits.shape)} and teacher "
                         f"probabilities {tuple(teacher.shape)} differ")
    if logits.size(0) == 0:
        return logits.sum() * 0.0
    return F.cross_entropy(logits, teacher.to(logits.dtype))


def teacher_fingerprint(teachers: Sequence[Union[str, os.PathLike]],
                        graphs: Sequence[HeteroData]) -> Optional[Dict]:
    """What the teachers' probabilities of ``graphs`` depend on: every file
    of each teacher checkpoint (absolute path, size, modification time) and
    the graphs' posts and word pairs, in order. ``None`` when a teacher is
    not a local folder (a hub name): its probabilities are never cached."""
    files = []
    for teacher in teachers:
        folder = Path(teacher).resolve()
        if not folder.is_dir():
            return None
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                stat = path.stat()
                files.append([str(path), stat.st_size, stat.st_mtime_ns])
    return {"teacher_files": files,
            "sample_indices": [int(g.sample_index) for g in graphs],
            "pairs": [int(g[PAIR].num_edges) for g in graphs]}


def save_teacher_cache(path: Union[str, os.PathLike], fingerprint: Dict,
                       probabilities: Sequence[Tensor]) -> None:
    """Write the teachers' probabilities with their fingerprint
    (:func:`teacher_fingerprint`), tensors and plain values only, through a
    temporary file so that an interruption leaves no half-written cache."""
    save_atomically(TEACHER_CACHE_RECORD.stamp({
        "fingerprint": fingerprint, "probabilities": list(probabilities)}),
        path)


def load_teacher_cache(path: Union[str, os.PathLike], fingerprint: Dict
                       ) -> List[Tensor]:
    """The probabilities :func:`save_teacher_cache` wrote to ``path``.

    Raises:
        FileNotFoundError: when ``path`` does not exist.
        ValueError: naming ``path``, when it is unreadable, holds more than
            tensors and plain values, or was computed for other teacher
            files or other training posts.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist")
    saved = TEACHER_CACHE_RECORD.read(load_plain(path, "teacher cache"),
                                      path)
    if "probabilities" not in saved:
        raise ValueError(f"{path}: not a teacher cache")
    if saved.get("fingerprint") != fingerprint:
        raise ValueError(f"{path}: computed for other teacher checkpoints or "
                         f"other training posts")
    return saved["probabilities"]


def post_digest(sample: Sample) -> int:
    """The first 8 bytes of the SHA-256 of a post's words and image id, as a
    signed 64-bit integer: what identifies the post in a teacher-targets
    file."""
    text = "\0".join([*sample.tokens, "\1", sample.image_id or ""])
    digest = hashlib.sha256(text.encode("utf-8")).digest()[:8]
    return int.from_bytes(digest, "little", signed=True)


def save_teacher_targets(path: Union[str, os.PathLike],
                         probabilities: Sequence[Tensor],
                         graphs: Sequence[HeteroData],
                         samples: Sequence[Sample], split: str,
                         teachers: Sequence[str], top_k: int = 4) -> Dict:
    """Write the teachers' probabilities of ``graphs`` compactly: each word
    pair keeps its ``top_k`` most likely tags (index and float16
    probability), the rest of its mass is dropped, and reading renormalises
    what was kept. With the rows' order, the file records the split, the
    graphs' sample indices and pair counts and a digest of each post
    (:func:`post_digest`), which :func:`load_teacher_targets` checks.

    Args:
        path: the file to write (through a temporary file).
        probabilities (sequence of Tensor): ``[P_g, C]`` per graph, as
            :func:`teacher_probabilities` returns them.
        graphs (sequence of HeteroData): the graphs they belong to.
        samples (sequence of Sample): the posts of ``graphs``, in their
            order.
        split (str): the dataset split of the posts, e.g. ``'train'``.
        teachers (sequence of str): the teachers' names, for the record.
        top_k (int): tags kept per pair, at most ``C``.

    Returns:
        what was dropped: ``{"pairs", "top_k", "num_tags",
        "dropped_mass_mean", "dropped_mass_max"}`` (a pair's dropped mass is
        the probability of the tags it does not keep).
    """
    if len(graphs) != len(probabilities) or not graphs:
        raise ValueError(f"{len(graphs)} graphs but {len(probabilities)} "
                         f"probability tensors")
    if len(samples) != len(graphs):
        raise ValueError(f"{len(graphs)} graphs but {len(samples)} samples")
    rows = torch.cat([p.float() for p in probabilities])
    _check_rows(rows, [p.size(0) for p in probabilities],
                [int(g.sample_index) for g in graphs], 1.0 - SUM_TOLERANCE,
                "the teachers' probabilities")
    num_tags = rows.size(1)
    if not 1 <= top_k <= min(num_tags, 255):
        raise ValueError(f"top_k must lie in [1, {min(num_tags, 255)}], got "
                         f"{top_k}")
    kept, tags = rows.topk(top_k, dim=1)
    dropped = (1.0 - kept.sum(dim=1)).clamp_min(0.0)
    report = {"pairs": rows.size(0), "top_k": top_k, "num_tags": num_tags,
              "dropped_mass_mean": float(dropped.mean()),
              "dropped_mass_max": float(dropped.max())}
    save_atomically(TARGETS_RECORD.stamp({
        "teachers": [str(t) for t in teachers], "split": split,
        "sample_indices": torch.tensor([int(g.sample_index) for g in graphs]),
        "post_digests": torch.tensor([post_digest(s) for s in samples]),
        "pairs": torch.tensor([p.size(0) for p in probabilities]),
        "tags": tags.to(torch.uint8), "probabilities": kept.half(),
        "report": report}), path)
    return report


def load_teacher_targets(path: Union[str, os.PathLike],
                         graphs: Sequence[HeteroData],
                         samples: Sequence[Sample], split: str
                         ) -> List[Tensor]:
    """The probabilities :func:`save_teacher_targets` wrote, one dense
    ``[P_g, C]`` float16 tensor per graph of ``graphs`` (whose posts are
    ``samples``, of the dataset split ``split``), the kept tags of each pair
    renormalised to sum to one.

    A file of format 1 (written before posts were recorded) is matched by
    sample index and word-pair count only, with a
    :class:`~jmere_pyg.data.DataNotice`.

    Raises:
        FileNotFoundError: when ``path`` does not exist.
        ValueError: naming ``path``, when it is not a teacher-targets file
            or of a format version this jmere_pyg does not read, is
            damaged, holds a word pair whose kept probabilities are not
            finite, negative, or do not sum to one less at most the file's
            largest dropped mass (naming the first such row), was computed
            on another split, or lacks one of ``graphs``' posts (by sample
            index), gives it another number of word pairs or records
            another post there (naming the first).
    """
    if len(samples) != len(graphs):
        raise ValueError(f"{len(graphs)} graphs but {len(samples)} samples")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"teacher targets {path} do not exist")
    saved = load_plain(path, "teacher targets")
    if isinstance(saved, dict) and saved.get("format") == TARGETS_FORMAT_1:
        saved = {**{k: v for k, v in saved.items() if k != "format"},
                 KIND_KEY: TARGETS_RECORD.kind, VERSION_KEY: 1}
    version = saved.get(VERSION_KEY) if isinstance(saved, dict) else None
    saved = TARGETS_RECORD.read(saved, path)
    recorded_posts = version >= 2
    try:
        tags, kept = saved["tags"].long(), saved["probabilities"].float()
        num_tags = int(saved["report"]["num_tags"])
        dropped_max = float(saved["report"]["dropped_mass_max"])
        counts = saved["pairs"].tolist()
        indices = saved["sample_indices"].tolist()
        consistent = (tags.shape == kept.shape and tags.dim() == 2
                      and tags.size(0) == sum(counts)
                      and len(indices) == len(counts)
                      and 0 <= int(tags.min()) and int(tags.max()) < num_tags)
        digests = (saved["post_digests"].tolist() if recorded_posts
                   else None)
        if recorded_posts:
            consistent = (consistent and len(digests) == len(counts)
                          and isinstance(saved["split"], str))
    except (KeyError, TypeError, AttributeError, RuntimeError, ValueError):
        consistent = False
    if not consistent:
        raise ValueError(f"{path}: damaged teacher-targets file (its tags, "
                         f"probabilities and pair counts disagree)")
    # The kept tags of a pair hold all its mass but what was dropped (NaN
    # only beside a NaN row, which is named).
    lowest = 1.0 - dropped_max - SUM_TOLERANCE
    _check_rows(kept, counts, indices,
                lowest if math.isfinite(lowest) else 0.0, str(path))
    if not recorded_posts:
        warnings.warn(f"{path} was written before teacher targets recorded "
                      f"their posts: they are matched by sample index and "
                      f"number of word pairs only", DataNotice, stacklevel=2)
    elif saved["split"] != split:
        raise ValueError(f"{path}: computed on the {saved['split']!r} "
                         f"split, not on {split!r}, the split trained on")
    # Rows of each post in the file, by sample index: a run on some of the
    # posts (max_train_samples, another order) reads just theirs.
    starts = list(itertools.accumulate(counts, initial=0))
    where = {index: post for post, index in enumerate(indices)}
    if len(where) != len(counts):
        raise ValueError(f"{path}: damaged teacher-targets file (a post's "
                         f"sample index appears twice)")
    rows, sizes = [], []
    for data, sample in zip(graphs, samples):
        index, pairs = int(data.sample_index), int(data[PAIR].num_edges)
        if index not in where:
            raise ValueError(f"{path}: written for other training posts (no "
                             f"targets for sample {index}; the file has "
                             f"{len(where)} posts)")
        post = where[index]
        start, count = starts[post], counts[post]
        if count != pairs:
            raise ValueError(f"{path}: written for graphs of other word pairs "
                             f"(sample {index} has {pairs} pairs here, "
                             f"{count} in the file)")
        if recorded_posts and digests[post] != post_digest(sample):
            words = " ".join(sample.tokens[:8])
            raise ValueError(
                f"{path}: written for other training posts (sample {index}, "
                f"{words!r}{'...' if len(sample.tokens) > 8 else ''} with "
                f"image {sample.image_id!r}, is not the post the targets "
                f"were computed on: its words or image differ)")
        rows.append(torch.arange(start, start + count))
        sizes.append(count)
    rows = torch.cat(rows) if rows else torch.zeros(0, dtype=torch.long)
    kept, tags = kept[rows], tags[rows]
    kept = kept / kept.sum(dim=1, keepdim=True).clamp_min(1e-12)
    dense = torch.zeros(kept.size(0), num_tags).scatter_(1, tags, kept)
    return list(dense.half().split(sizes))


def _check_rows(rows: Tensor, counts: Sequence[int],
                sample_indices: Sequence[int], min_sum: float,
                source: str) -> None:
    """Raises ``ValueError`` naming ``source`` and the first row of
    ``rows`` ``[R, k]`` (the word pairs of posts of ``counts`` pairs and
    ``sample_indices``, in order) that holds a non-finite or negative
    probability or sums to zero or outside ``[min_sum, 1 +
    SUM_TOLERANCE]``."""
    finite = torch.isfinite(rows).all(dim=1)
    non_negative = (rows >= 0).all(dim=1)
    sums = rows.sum(dim=1)
    fine = (finite & non_negative & (sums > 0) & (sums >= min_sum)
            & (sums <= 1.0 + SUM_TOLERANCE))
    if bool(fine.all()):
        return
    row = int((~fine).nonzero()[0])
    if not finite[row]:
        value = rows[row][~torch.isfinite(rows[row])][0]
        why = f"a probability is {float(value)}"
    elif not non_negative[row]:
        why = f"a probability is {float(rows[row].min()):.4g}"
    else:
        why = f"its probabilities sum to {float(sums[row]):.4g}"
    starts = list(itertools.accumulate(counts, initial=0))
    post = bisect.bisect_right(starts, row) - 1
    raise ValueError(
        f"{source}: bad teacher targets at row {row} (sample "
        f"{sample_indices[post]}, word pair {row - starts[post]}): {why}; a "
        f"word pair's probabilities must be finite, non-negative and sum to "
        f"one")
