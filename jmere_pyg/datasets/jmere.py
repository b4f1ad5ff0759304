"""The JMERE corpus as a PyG ``InMemoryDataset`` (one per split).

Layout of ``root``::

    root/raw/        one file per split, in any format read_samples reads:
                     mnre_{split}.txt  (MNRE v2 text file), or
                     {split}.json      (official JMERE JSON), or
                     {split}.jsonl     (our JSON lines)
                     for split in train, val, test (only one file per split);
                     optional scene_graphs.json (our scene graph format, see
                     jmere_pyg.data.scene_graph; matched by image file name)
                     and scene_graph_extractor.json (the extractor that made
                     scene_graphs.json from images, when one did)
    root/processed/  {split}.pt            the HeteroData graphs (tensors
                                           and plain values, read with
                                           ``torch.load(weights_only=True)``)
                     {split}_samples.jsonl the samples (gold quintuples)
                     {split}_report.json   the split's ReadReport and summary
                     graph_builder.json    the GraphBuilder fitted on train

``process()`` handles every split present in ``raw/`` at once, so that the
graph builder is fitted on train only and shared by all splits.
"""
import json
import os
import shutil
import warnings
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

from torch_geometric.data import HeteroData, InMemoryDataset

from ..data.errors import ReadReport
from ..data.readers import read_samples, write_jsonl
from ..data.sample import Sample
from ..data.scene_graph import (SceneGraph, attach_scene_graphs,
                                read_scene_graphs)
from ..data.tensor_files import load_plain
from ..graphs.builder import FILE_NAME as BUILDER_FILE
from ..graphs.builder import GraphBuilder
from ..vision import (EXTRACTOR_FILE, ExtractorConfig, ExtractorRecord,
                      SceneGraphExtractor, read_extractor_file)
from ..vision.folders import cache_scene_graphs, object_feature_dim

PathLike = Union[str, os.PathLike]

#: How to get past a refused or damaged processed file.
RELOAD_HINT = "; delete it or pass force_reload=True to build it again"

SPLITS = ("train", "val", "test")
#: Accepted raw file names of a split, ``{split}`` filled in.
RAW_PATTERNS = ("mnre_{split}.txt", "{split}.json", "{split}.jsonl")
SCENE_GRAPH_FILE = "scene_graphs.json"


class JMEREDataset(InMemoryDataset):
    r"""One split of a JMERE corpus, each post a
    :class:`~torch_geometric.data.HeteroData` built by
    :class:`~jmere_pyg.graphs.GraphBuilder` (layout in
    ``docs/architecture.md``).

    Raw files in ``root/raw``: per split ``mnre_{split}.txt``,
    ``{split}.json`` or ``{split}.jsonl`` (read by
    :func:`~jmere_pyg.data.readers.read_samples`, format detected from the
    content), and optionally ``scene_graphs.json``. Processing reads every
    split present, fits the builder on train only (unless a fitted one is
    given), and saves each split's graphs, samples and read report, and the
    builder, under ``root/processed``.

    After loading, :attr:`builder` is the builder the graphs were built with,
    :attr:`samples` the split's :class:`~jmere_pyg.data.sample.Sample` list
    (``samples[int(data.sample_index)]`` holds the gold quintuples of
    ``data``; ``dataset[i].sample_index`` is a one-element tensor, as PyG
    stores scalars; the samples' ``scene_graph`` is not kept, the objects are
    in the graphs, and their ``source`` points into
    ``processed/{split}_samples.jsonl``) and :attr:`read_report` the split's
    :class:`~jmere_pyg.data.errors.ReadReport`.

    Object features are used only with a builder that asks for them, e.g.
    ``builder=GraphBuilder(object_feature_dim=4096)``.

    With ``images`` (a folder holding the files named by each line's
    ``img_id``, the MNRE layout) and no ``raw/scene_graphs.json`` yet, the
    scene graphs of every image the split files reference are extracted once
    by :class:`~jmere_pyg.vision.SceneGraphExtractor` and cached in
    ``raw/scene_graphs.json``, its identity in
    ``raw/scene_graph_extractor.json``; unreadable images are counted
    (:attr:`image_failures` of the open that extracts: file name -> reason)
    and their posts have no objects. Later opens read the cache. When
    ``raw/`` records an extractor (:attr:`extractor_record`, ``None`` when
    the scene graphs did not come from one) and no ``builder`` is given, the
    graphs are built with ``GraphBuilder(object_feature_dim=F)``, ``F`` the
    size of the extracted object features.

    Args:
        root (str): Root folder.
        split (str, optional): ``'train'``, ``'val'`` or ``'test'``.
            (default: ``'train'``)
        builder (GraphBuilder, optional): A fitted builder is used as is; an
            unfitted one (e.g. with another parser or ``object_feature_dim``)
            is fitted on train. (default: a new ``GraphBuilder()`` fitted on
            train)
        transform, pre_transform, pre_filter (callable, optional): As in
            :class:`~torch_geometric.data.InMemoryDataset`. A sample dropped
            by ``pre_filter`` stays in :attr:`samples`.
        on_error (str, optional): ``'raise'`` or ``'skip'`` faulty lines
            (see :func:`read_samples`). (default: ``'raise'``)
        max_words (int, optional): Longest accepted text; longer ones are
            left out and counted in :attr:`read_report` (reason
            ``too_long``), whatever ``on_error``. Processed files remember
            the limit they were built with; another limit warns (pass
            ``force_reload=True``). (default: no limit)
        progress (bool, optional): Progress bars while processing.
            (default: ``True``)
        force_reload (bool, optional): Process again even when processed
            files exist; with ``images``, also extract the scene graphs
            again, replacing those in ``raw/``. (default: ``False``)
        images (str, optional): Folder of the corpus's images.
            (default: ``None``)
        extractor (ExtractorConfig or SceneGraphExtractor, optional): How to
            extract scene graphs from ``images``; a config is loaded only
            when extraction is needed, on CUDA when available. (default:
            ``ExtractorConfig()``)

    Raises:
        FileNotFoundError: when the split (or, to fit the builder, train)
            must be processed and its raw file is missing.
        ValueError: when ``images`` is given and ``raw/`` holds scene graphs
            made by another extractor (other settings, or another detector
            by the digest of its files or its Hub revision), or by none,
            naming both, unless ``force_reload``.
    """

    def __init__(self, root: PathLike, split: str = "train",
                 builder: Optional[GraphBuilder] = None,
                 transform: Optional[Callable] = None,
                 pre_transform: Optional[Callable] = None,
                 pre_filter: Optional[Callable] = None,
                 on_error: str = "raise", max_words: Optional[int] = None,
                 progress: bool = True, log: bool = True,
                 force_reload: bool = False,
                 images: Optional[PathLike] = None,
                 extractor: Union[None, ExtractorConfig,
                                  SceneGraphExtractor] = None):
        if split not in SPLITS:
            raise ValueError(f"split must be one of {', '.join(SPLITS)}; "
                             f"got {split!r}")
        self.split = split
        self._given_builder = builder
        self.on_error = on_error
        self.max_words = max_words
        self.progress = progress
        self.image_failures: Dict[str, str] = {}
        if images is not None:
            raw_dir = Path(root) / "raw"
            # Read only when the images are extracted, not for a cache hit.
            image_ids = (sample.image_id
                         for path in find_raw_files(raw_dir).values()
                         for sample in read_samples(
                             path, on_error=on_error,
                             max_words=max_words)[0])
            result = cache_scene_graphs(
                raw_dir / SCENE_GRAPH_FILE, images, image_ids, extractor,
                force=force_reload, progress=progress, log=log)
            if result is not None:
                self.image_failures = dict(result.failed)
                # New scene graphs: the processed graphs are out of date.
                force_reload = True
        self.extractor_record: Optional[ExtractorRecord] = None
        extractor_file = Path(root) / "raw" / EXTRACTOR_FILE
        if extractor_file.is_file():
            self.extractor_record = read_extractor_file(extractor_file)
        # PyG reads processed/*.pt with the full unpickler (pre_transform.pt,
        # pre_filter.pt; the graphs after a failed safe load): check every
        # one with the safe loader first, so that none can run code.
        if not force_reload:
            for path in sorted(Path(root, "processed").glob("*.pt")):
                load_plain(path, "processed file", hint=RELOAD_HINT)
        super().__init__(str(root), transform, pre_transform, pre_filter,
                         log=log, force_reload=force_reload)
        self.load(os.path.join(self.processed_dir, f"{split}.pt"),
                  data_cls=HeteroData)
        self.builder = self._load_builder()
        self.samples: List[Sample] = read_samples(
            os.path.join(self.processed_dir, f"{split}_samples.jsonl"),
            "jsonl")[0]
        self.read_report, saved_max_words = _load_report(
            os.path.join(self.processed_dir, f"{split}_report.json"))
        if saved_max_words != max_words:
            warnings.warn(
                f"the graphs in {self.processed_dir} were built with "
                f"max_words={saved_max_words}, not {max_words}; pass "
                f"force_reload=True to build them again", stacklevel=2)

    def scene_graphs(self) -> Optional[Dict[str, SceneGraph]]:
        """The scene graphs of ``raw/scene_graphs.json`` (image file name ->
        graph, read anew at each call), ``None`` when there is no such file.
        Join them to samples with :func:`~jmere_pyg.data.attach_scene_graphs`.
        """
        path = os.path.join(self.raw_dir, SCENE_GRAPH_FILE)
        return read_scene_graphs(path) if os.path.exists(path) else None

    def samples_of(self, graphs: Optional[Sequence[HeteroData]] = None
                   ) -> List[Sample]:
        """The samples of ``graphs`` (default: the whole split), in their
        order (by each graph's ``sample_index``), each joined with the scene
        graph of its image (:meth:`scene_graphs`): what a
        :class:`~jmere_pyg.inference.Predictor` reads beside the graphs."""
        indices = (range(len(self.samples)) if graphs is None
                   else [int(graph.sample_index) for graph in graphs])
        return attach_scene_graphs([self.samples[i] for i in indices],
                                   self.scene_graphs())

    # ----------------------------------------------------------- file names
    @property
    def raw_file_names(self) -> List[str]:
        """The raw files present: one per split found, and the scene
        graphs."""
        names = [path.name for path in self._raw_files().values()]
        if os.path.exists(os.path.join(self.raw_dir, SCENE_GRAPH_FILE)):
            names.append(SCENE_GRAPH_FILE)
        return names

    @property
    def processed_file_names(self) -> List[str]:
        return [f"{self.split}.pt", f"{self.split}_samples.jsonl",
                f"{self.split}_report.json", BUILDER_FILE]

    def _raw_files(self) -> Dict[str, Path]:
        """Split -> its raw file, for the splits present."""
        return find_raw_files(self.raw_dir)

    def _missing(self, split: str, why: str) -> FileNotFoundError:
        expected = ", ".join(pattern.format(split=split)
                             for pattern in RAW_PATTERNS)
        return FileNotFoundError(
            f"no raw file for split {split!r} {why}: expected one of "
            f"{expected} in {self.raw_dir}")

    def load(self, path: str, data_cls=HeteroData) -> None:
        """Reads graphs written by :meth:`save` with
        ``torch.load(weights_only=True)`` only: unlike PyG's loader, it never
        falls back to the full unpickler.

        Raises:
            ValueError: naming ``path`` when it holds anything but tensors
                and plain values, or not a collated list of graphs.
        """
        saved = load_plain(path, "processed file", hint=RELOAD_HINT)
        if not (isinstance(saved, tuple) and len(saved) == 3
                and isinstance(saved[0], dict)
                and isinstance(saved[1], (dict, type(None)))
                and saved[2] is data_cls):
            raise ValueError(f"{path}: not a processed {type(self).__name__} "
                             f"file; pass force_reload=True to build it "
                             f"again")
        self.data = data_cls.from_dict(saved[0])
        self.slices = saved[1]
    # ------------------------------------------------------------- process
    def process(self) -> None:
        raw_files = self._raw_files()
        if self.split not in raw_files:
            raise self._missing(self.split, "(requested split)")
        scene_graphs = self.scene_graphs()
        builder = self._given_builder
        if builder is None:
            # Extracted scene graphs carry the detector's object features.
            builder = GraphBuilder(object_feature_dim=(
                object_feature_dim(scene_graphs)
                if self.extractor_record is not None and scene_graphs
                else 0))
        if not builder.fitted and "train" not in raw_files:
            raise self._missing("train", "to fit the graph builder on")

        read = {split: read_samples(path, on_error=self.on_error,
                                    max_words=self.max_words,
                                    on_too_long="skip")
                for split, path in raw_files.items()}
        if not builder.fitted:
            builder.fit(attach_scene_graphs(read["train"][0], scene_graphs),
                        progress=self.progress)
        builder.save(self.processed_dir)

        for split, (samples, report) in read.items():
            data_list = builder.build_many(
                attach_scene_graphs(samples, scene_graphs), self.progress)
            if self.pre_filter is not None:
                data_list = [d for d in data_list if self.pre_filter(d)]
            if self.pre_transform is not None:
                data_list = [self.pre_transform(d) for d in data_list]
            self.save(data_list,
                      os.path.join(self.processed_dir, f"{split}.pt"))
            write_jsonl(samples, os.path.join(self.processed_dir,
                                              f"{split}_samples.jsonl"))
            _save_report(report, os.path.join(self.processed_dir,
                                              f"{split}_report.json"),
                         self.max_words)

    def _load_builder(self) -> GraphBuilder:
        given = self._given_builder
        saved = GraphBuilder.load(
            self.processed_dir, parser=None if given is None else given.parser)
        if given is not None:
            state, saved_state = given.to_dict(), saved.to_dict()
            if not given.fitted:
                state, saved_state = state["settings"], saved_state["settings"]
            if state != saved_state:
                warnings.warn(
                    f"the graphs in {self.processed_dir} were built with "
                    f"another graph builder than the one given; pass "
                    f"force_reload=True to build them again", stacklevel=3)
        return saved

    # --------------------------------------------------------------- set-up
    @staticmethod
    def prepare_root_from_mnre(root: PathLike, mnre_dir: PathLike, *,
                               copy: bool = False,
                               required: Sequence[str] = ()) -> List[Path]:
        """Links (or copies) the ``mnre_{split}.txt`` files of ``mnre_dir``
        into ``root/raw``; see :func:`link_mnre_files`. Safe to call again.
        """
        return link_mnre_files(root, mnre_dir, copy=copy, required=required)

    @classmethod
    def from_mnre(cls, root: PathLike, mnre_dir: PathLike,
                  split: str = "train", *, copy: bool = False,
                  **kwargs) -> "JMEREDataset":
        """Sets up ``root/raw`` from a folder of MNRE text files
        (:meth:`prepare_root_from_mnre`) and opens ``split``.

        Example::

            train = JMEREDataset.from_mnre("data/jmere", "path/to/mnre")
            val = JMEREDataset("data/jmere", split="val")
        """
        cls.prepare_root_from_mnre(root, mnre_dir, copy=copy)
        return cls(root, split, **kwargs)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({len(self)}, split={self.split!r})"


def find_raw_files(raw_dir: PathLike) -> Dict[str, Path]:
    """Split -> its raw file in ``raw_dir``, for the splits present.

    Raises:
        ValueError: when a split has several raw files.
    """
    files = {}
    for split in SPLITS:
        found = [Path(raw_dir, pattern.format(split=split))
                 for pattern in RAW_PATTERNS]
        found = [path for path in found if path.is_file()]
        if len(found) > 1:
            raise ValueError(
                f"split {split!r} has several raw files "
                f"({', '.join(map(str, found))}); keep only one")
        if found:
            files[split] = found[0]
    return files


def link_mnre_files(root: PathLike, mnre_dir: PathLike,
                    splits: Sequence[str] = SPLITS,
                    copy: bool = False,
                    required: Sequence[str] = ()) -> List[Path]:
    """Puts the ``mnre_{split}.txt`` files of ``mnre_dir`` into
    ``root/raw``, as symbolic links (or copies).

    Splits without a file in ``mnre_dir`` are left out (the MNRE test file
    is held out on development machines) unless ``required`` names them
    (training: ``("train", "val")``). A raw file already in place for the
    same source is kept.

    Returns:
        The paths in ``root/raw``.

    Raises:
        FileNotFoundError: if ``mnre_dir`` lacks the file of a ``required``
            split (those files named), or holds none of the files.
        FileExistsError: if ``root/raw`` already holds a different file of
            that name.
    """
    raw_dir = Path(root) / "raw"
    missing = [f"mnre_{split}.txt" for split in required
               if not (Path(mnre_dir) / f"mnre_{split}.txt").is_file()]
    if missing:
        raise FileNotFoundError(f"no {' or '.join(missing)} in {mnre_dir}")
    sources = [Path(mnre_dir) / f"mnre_{split}.txt" for split in splits]
    sources = [source for source in sources if source.is_file()]
    if not sources:
        raise FileNotFoundError(
            f"no MNRE file in {mnre_dir}: expected "
            f"{', '.join(f'mnre_{split}.txt' for split in splits)}")
    raw_dir.mkdir(parents=True, exist_ok=True)
    targets = []
    for source in sources:
        target = raw_dir / source.name
        if target.exists() or target.is_symlink():
            if not (target.exists()
                    and (target.resolve() == source.resolve()
                         or _same_content(target, source))):
                raise FileExistsError(
                    f"{target} exists and differs from {source}")
        elif copy:
            shutil.copyfile(source, target)
        else:
            target.symlink_to(source.resolve())
        targets.append(target)
    return targets


def _same_content(path1: Path, path2: Path) -> bool:
    return (path1.stat().st_size == path2.stat().st_size
            and path1.read_bytes() == path2.read_bytes())


def _save_report(report: ReadReport, path: str,
                 max_words: Optional[int]) -> None:
    state = report.to_dict()
    with open(path, "w", encoding="utf-8") as file:
        json.dump({"summary": report.summary(), "report": state,
                   "max_words": max_words}, file, indent=1,
                  ensure_ascii=False)


def _load_report(path: str) -> Tuple[ReadReport, Optional[int]]:
    """The saved report and the ``max_words`` it was read with (``None``
    for files written before the limit was saved)."""
    with open(path, encoding="utf-8") as file:
        saved = json.load(file)
    return ReadReport.from_dict(saved["report"]), saved.get("max_words")
