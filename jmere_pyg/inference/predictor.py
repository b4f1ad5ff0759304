"""Running trained models over posts: the one inference path of jmere_pyg.

A :class:`Predictor` holds one trained model, or several acting as one
ensemble, and does every step between posts and quintuples: it cuts long
posts into windows of whole sentences, builds each model's graphs (or takes
graphs already built, as a dataset holds them), runs the models on batches
ordered by length, averages an ensemble's tag probabilities, decodes the
quintuples and scores each one. Evaluation, prediction, the teachers of
distillation and the Python API all go through it, so that they cannot
disagree on a post.

One model decodes its own logits; an ensemble decodes the mean of its
members' tag probabilities (on this project's val split, three seeds gain
0.8 to 2.1 strict F1 over their mean, ``docs/results.md``), each member
reading graphs of its own graph builder.
"""
from dataclasses import dataclass, replace
from typing import (Any, Iterable, Iterator, List, Optional, Sequence,
                    Tuple, Union)

import torch
from torch import Tensor
from torch_geometric.data import Batch, HeteroData
from tqdm.auto import tqdm

from ..data.sample import Entity, Quintuple, Sample
from ..graphs import GraphBuilder, window_spans
from ..labels import NUM_TAGS, TAG_TO_ID
from ..limits import CHUNK_SIZE, WINDOW_WORDS
from ..models import EEGA
from ..tagging import decode_grid, probability_logits
from .timings import Timings, stage

#: A quintuple with its confidence: the mean probability of its relation
#: over its head x tail block of cells.
Prediction = Tuple[Quintuple, float]

#: Graphs already built for the posts: ``(builder, graphs)``, ``graphs[i]``
#: the whole post ``i`` as ``builder`` built it.
BuiltGraphs = Tuple[GraphBuilder, Sequence[HeteroData]]


@dataclass
class _Window:
    """A span of words of one post, read as one graph."""
    post: int      # the post's position in the input
    start: int     # the window's first word in the post
    sample: Sample  # the window's words; the post's image and scene graph
    whole: bool    # the window is the whole post


class Predictor:
    r"""Extract quintuples from posts with one model or an ensemble.

    Args:
        models (EEGA or sequence of EEGA): the trained model, or the members
            of an ensemble (they must decode entities the same way). Each
            needs its fitted ``graph_builder``.
        batch_size (int): windows per forward pass. (default: ``32``)
        window_words (int): word limit of a window; a longer post is read
            in windows of whole sentences
            (:func:`jmere_pyg.graphs.windows.window_spans`), so that time and
            memory grow linearly with its length, and quintuples whose head
            and tail fall in different windows are not extracted.
            (default: ``100``)
        chunk_size (int): posts whose graphs and grids are held at once;
            memory does not grow with the number of posts beyond it.
            (default: ``1024``)
        progress (bool): show a progress bar. (default: ``False``)
        timings (Timings, optional): receives the seconds spent building
            graphs (parsing included), in the models (``model``) and
            decoding. (default: ``None``)

    Example::

        predictor = Predictor.from_pretrained("runs/eega_minilm/best")
        predictor.extract([Sample(["Curry", "joins", "the", "Warriors"])])
    """

    def __init__(self, models: Union[EEGA, Sequence[EEGA]], *,
                 batch_size: int = 32, window_words: int = WINDOW_WORDS,
                 chunk_size: int = CHUNK_SIZE, progress: bool = False,
                 timings: Optional[Timings] = None):
        self.models = [models] if isinstance(models, EEGA) else list(models)
        if not self.models:
            raise ValueError("give at least one model")
        for model in self.models:
            if model.graph_builder is None:
                raise ValueError(
                    "prediction needs a fitted graph_builder; build the model "
                    "with EEGA.from_builder or load it with "
                    "EEGA.from_pretrained")
        decodings = {model.config.entity_decoding for model in self.models}
        if len(decodings) != 1:
            raise ValueError(f"the models decode entities differently "
                             f"({sorted(decodings)}); an ensemble needs one "
                             f"way")
        self.entity_decoding = decodings.pop()
        for name, value in (("batch_size", batch_size),
                            ("window_words", window_words),
                            ("chunk_size", chunk_size)):
            if value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        self.batch_size = batch_size
        self.window_words = window_words
        self.chunk_size = chunk_size
        self.progress = progress
        self.timings = timings

    @classmethod
    def from_pretrained(cls, checkpoints: Union[str, Sequence[str]],
                        map_location: Union[str, torch.device] = "cpu",
                        **kwargs) -> "Predictor":
        """A predictor of the checkpoint (a folder or Hub id, as
        :meth:`EEGA.from_pretrained` reads it), or of several as one
        ensemble; keyword arguments as the constructor's."""
        names = [checkpoints] if isinstance(checkpoints, str) else list(
            checkpoints)
        return cls([EEGA.from_pretrained(name, map_location=map_location)
                    for name in names], **kwargs)

    # ------------------------------------------------------------ public
    def extract(self, samples: Iterable[Sample], *,
                built: Optional[BuiltGraphs] = None
                ) -> List[List[Quintuple]]:
        """The quintuples of every post, in the order of ``samples`` (their
        gold quintuples, if any, are ignored; a post without words gets
        none).

        Args:
            samples: the posts, each with its ``scene_graph`` if it has one
                (:func:`~jmere_pyg.data.attach_scene_graphs`).
            built: graphs already built for the posts (a dataset's), read
                instead of parsing again by every model whose graph builder
                equals ``built``'s, for the posts that fit in one window.
        """
        return [[quintuple for quintuple, _ in found]
                for found in self.iter_predict(samples, built=built)]

    def predict(self, samples: Iterable[Sample], *,
                built: Optional[BuiltGraphs] = None
                ) -> List[List[Prediction]]:
        """Like :meth:`extract`, each quintuple with its confidence."""
        return list(self.iter_predict(samples, built=built))

    def iter_predict(self, samples: Iterable[Sample], *,
                     built: Optional[BuiltGraphs] = None
                     ) -> Iterator[List[Prediction]]:
        """:meth:`predict`, one post at a time in input order, reading
        ``samples`` ``chunk_size`` posts at a time (a generator may stream
        them)."""
        with self._progress(samples) as bar:
            for first, chunk in self._chunks(samples):
                windows = self._windows(chunk, first)
                # Each batch is decoded as it comes, so that the grids of one
                # batch are held, not a chunk's (a 100-word window's is 1 MB).
                per_window: List[List[Prediction]] = [[] for _ in windows]
                for at, scores in self._scored_batches(windows, built):
                    with stage(self.timings, "decoding"):
                        for i, (grid, probabilities) in zip(at, scores):
                            per_window[i] = self._decoded(
                                windows[i], grid, probabilities)
                found: List[List[Prediction]] = [[] for _ in chunk]
                for window, predictions in zip(windows, per_window):
                    found[window.post - first].extend(predictions)
                yield from found
                bar.update(len(chunk))

    def _decoded(self, window: _Window, grid: Tensor,
                 probabilities) -> List[Prediction]:
        """The quintuples of one window's grid, placed in its post, with
        their confidences."""
        quintuples = decode_grid(grid, entity_decoding=self.entity_decoding)
        if not quintuples:
            return []
        grid_probabilities = probabilities()
        return [(_shifted(q, window.start), _confidence(grid_probabilities, q))
                for q in quintuples]

    def grids(self, samples: Iterable[Sample], *,
              built: Optional[BuiltGraphs] = None) -> Iterator[Tensor]:
        """The tag scores ``[n, n, C]`` of every whole post, in input order,
        on the CPU: one model's logits, or the log of an ensemble's mean
        probabilities (:func:`~jmere_pyg.tagging.probability_logits`);
        :func:`~jmere_pyg.tagging.decode_grid` decodes them as
        :meth:`extract` does.

        Raises:
            ValueError: for a post longer than ``window_words`` words, which
                is only read in windows.
        """
        for grid, _ in self._whole_posts(samples, built):
            yield grid

    def tag_probabilities(self, samples: Iterable[Sample], *,
                          built: Optional[BuiltGraphs] = None
                          ) -> Iterator[Tensor]:
        """The (mean) tag probabilities ``[n, n, C]`` of every whole post,
        in input order, on the CPU (as :meth:`grids`; used as the soft
        targets of distillation).

        Raises:
            ValueError: for a post longer than ``window_words`` words.
        """
        for _, probabilities in self._whole_posts(samples, built):
            yield probabilities()

    # ---------------------------------------------------------- internals
    def _chunks(self, samples: Iterable[Sample]
                ) -> Iterator[Tuple[int, List[Sample]]]:
        """``(position of the first, posts)`` of ``chunk_size`` posts at a
        time."""
        chunk: List[Sample] = []
        first = 0
        for sample in samples:
            chunk.append(sample)
            if len(chunk) == self.chunk_size:
                yield first, chunk
                first += len(chunk)
                chunk = []
        if chunk:
            yield first, chunk

    def _progress(self, samples):
        total = len(samples) if hasattr(samples, "__len__") else None
        return tqdm(total=total, desc="predict", unit="post",
                    disable=not self.progress, leave=False)

    def _windows(self, chunk: Sequence[Sample], first: int) -> List[_Window]:
        """The windows of the posts of ``chunk`` (numbered from ``first``):
        none for a post without words, the whole post up to
        ``window_words`` words, else windows of whole sentences. Gold
        quintuples play no part in extraction and are left out. The long
        posts are parsed in one batch."""
        long_posts = [sample.tokens for sample in chunk
                      if len(sample.tokens) > self.window_words]
        with stage(self.timings, "graphs"):
            parses = iter(self.models[0].graph_builder.parser.parse_many(
                long_posts))
        windows = []
        for post, sample in enumerate(chunk, start=first):
            n = len(sample.tokens)
            if n <= self.window_words:
                spans = [(0, n)] if n else []
            else:
                spans = window_spans(next(parses).heads, self.window_words)
            windows += [_Window(post, start, replace(
                sample, tokens=sample.tokens[start:end], quintuples=[]),
                whole=(start, end) == (0, n)) for start, end in spans]
        return windows

    def _whole_posts(self, samples: Iterable[Sample],
                     built: Optional[BuiltGraphs]):
        """``(grid, probabilities())`` of every whole post in input order."""
        for first, chunk in self._chunks(samples):
            for post, sample in enumerate(chunk, start=first):
                if len(sample.tokens) > self.window_words:
                    raise ValueError(
                        f"post {post} has {len(sample.tokens)} words, more "
                        f"than window_words={self.window_words}: it is only "
                        f"read in windows")
            windows = [_Window(post, 0, replace(sample, quintuples=[]), True)
                       for post, sample in enumerate(chunk, start=first)]
            scored = iter(self._scores(
                [w for w in windows if w.sample.tokens], built))
            for window in windows:
                if window.sample.tokens:
                    yield next(scored)
                else:
                    empty = torch.zeros(0, 0, NUM_TAGS)
                    yield empty, lambda empty=empty: empty

    def _scores(self, windows: Sequence[_Window],
                built: Optional[BuiltGraphs]) -> List[Tuple[Tensor, Any]]:
        """Per window, in the order of ``windows``: what
        :meth:`_scored_batches` gives it."""
        scored: List[Any] = [None] * len(windows)
        for at, scores in self._scored_batches(windows, built):
            for i, score in zip(at, scores):
                scored[i] = score
        return scored

    @torch.no_grad()
    def _scored_batches(self, windows: Sequence[_Window],
                        built: Optional[BuiltGraphs]
                        ) -> Iterator[Tuple[List[int], List[Tuple[Tensor,
                                                                   Any]]]]:
        """``(indices, scores)`` batch after batch, the windows by
        increasing length, ``batch_size`` at a time: for each window of
        ``indices``, ``(grid, probabilities)``, the decodable tag scores
        ``[n, n, C]`` (on the CPU) and a function giving its tag
        probabilities (computed on demand: evaluation needs none). One model
        decodes its logits; an ensemble the mean of its members' tag
        probabilities."""
        if not windows:
            return
        with stage(self.timings, "model"):
            order = _length_order(self.models[0], windows)
        with stage(self.timings, "graphs"):
            graphs = [_graphs_of(model.graph_builder, windows, built)
                      for model in self.models]
        modes = [model.training for model in self.models]
        for model in self.models:
            model.eval()
        try:
            for first in range(0, len(order), self.batch_size):
                at = order[first:first + self.batch_size]
                with stage(self.timings, "model"):
                    per_model = [_grids(model, [model_graphs[i] for i in at])
                                 for model, model_graphs in zip(self.models,
                                                                graphs)]
                yield at, self._combined(at, windows, per_model)
        finally:
            for model, mode in zip(self.models, modes):
                model.train(mode)

    def _combined(self, at: Sequence[int], windows: Sequence[_Window],
                  per_model: List[List[Tensor]]
                  ) -> List[Tuple[Tensor, Any]]:
        """``(grid, probabilities)`` of the windows ``at`` from each model's
        logits."""
        if len(self.models) == 1:
            return [(grid, lambda grid=grid: grid.softmax(dim=-1))
                    for grid in per_model[0]]
        scored = []
        for k, i in enumerate(at):
            grids = [grids[k] for grids in per_model]
            if len({grid.shape for grid in grids}) != 1:
                raise ValueError(
                    f"post {windows[i].post}: the models read "
                    f"{[grid.size(0) for grid in grids]} words")
            mean = torch.stack([grid.float().softmax(dim=-1)
                                for grid in grids]).mean(dim=0)
            scored.append((probability_logits(mean), lambda mean=mean: mean))
        return scored


def _grids(model: EEGA, graphs: Sequence[HeteroData]) -> List[Tensor]:
    """``model``'s logits ``[n, n, C]`` of one batch of graphs, on the
    CPU."""
    batch = Batch.from_data_list(list(graphs)).to(model.device)
    return [grid.cpu() for grid in model.sample_grids(batch,
                                                       model(batch).logits)]


def _graphs_of(builder: GraphBuilder, windows: Sequence[_Window],
               built: Optional[BuiltGraphs]) -> List[HeteroData]:
    """The graphs of ``windows`` by ``builder``: a whole post's from
    ``built`` when ``builder`` equals its builder (same settings,
    vocabularies and statistics), the others built in one batch of
    parses."""
    reuse = built is not None and (builder is built[0] or (
        builder.to_dict() == built[0].to_dict()))
    graphs: List[Optional[HeteroData]] = [
        built[1][w.post] if reuse and w.whole else None for w in windows]
    missing = [i for i, graph in enumerate(graphs) if graph is None]
    if missing:
        for i, graph in zip(missing, builder.build_many(
                [windows[i].sample for i in missing], progress=False)):
            graphs[i] = graph
    return graphs


def _length_order(model: EEGA, windows: Sequence[_Window]) -> List[int]:
    """The indices of ``windows`` by increasing sub-word length (stable):
    batches taken in this order pad the encoder little."""
    lengths = model.encoder.subword_lengths(
        [w.sample.tokens for w in windows])
    return sorted(range(len(windows)), key=lengths.__getitem__)


def _confidence(probabilities: Tensor, quintuple: Quintuple) -> float:
    """The mean probability of ``quintuple``'s relation over its head x
    tail block of cells of ``probabilities`` ``[n, n, C]``."""
    head, tail = quintuple.head, quintuple.tail
    return float(probabilities[head.start:head.end, tail.start:tail.end,
                               TAG_TO_ID[quintuple.relation]].mean())


def _shifted(quintuple: Quintuple, offset: int) -> Quintuple:
    """``quintuple`` with both spans moved ``offset`` words right."""
    if offset == 0:
        return quintuple
    head, tail = quintuple.head, quintuple.tail
    return Quintuple(Entity(head.start + offset, head.end + offset, head.type),
                     Entity(tail.start + offset, tail.end + offset, tail.type),
                     quintuple.relation)
