"""The model card (``README.md``) that :meth:`EEGA.save_pretrained` writes
beside the weights, as on the Hugging Face Hub: YAML front matter, then what
the model is, how it was built and trained, how well it did, how to load it.
"""
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Union

import yaml

from .encoders import DEFAULT_ENCODER

if TYPE_CHECKING:  # for the annotations only: eega.py imports this module
    from .eega import EEGA

CARD_NAME = "README.md"
LIBRARY_NAME = "jmere_pyg"
TAGS = ["jmere_pyg", "pytorch_geometric", "multimodal",
        "relation-extraction", "named-entity-recognition", "eega"]
#: Protocol rows of the metrics table, in this order when present.
METRIC_COLUMNS = ("precision", "recall", "f1")


def write_model_card(directory: Union[str, Path], model: "EEGA", *,
                     training: Optional[Mapping[str, Any]] = None,
                     metrics: Optional[Mapping[str, Any]] = None,
                     license: Optional[str] = None,
                     repo_id: Optional[str] = None) -> Path:
    """Writes ``directory/README.md`` for ``model``; returns its path.

    Args:
        directory (str or Path): the saved model's folder.
        model (EEGA): the model.
        training (dict, optional): the training settings
            (``TrainingConfig.to_dict()``); the nested ``model`` settings
            are left out, ``config.json`` holds them. (default: ``None``)
        metrics (dict, optional): val metrics, as
            :meth:`jmere_pyg.metrics.QuintupleMetrics.compute` returns them,
            plus scalars such as ``split`` and ``epoch``. (default: ``None``)
        license (str, optional): a license id for the front matter, e.g.
            ``"mit"``. (default: ``None``)
        repo_id (str, optional): the Hub repository the folder goes to; the
            loading example names it. (default: ``None``)
    """
    path = Path(directory) / CARD_NAME
    path.write_text(model_card(model, training=training, metrics=metrics,
                               license=license, repo_id=repo_id),
                    encoding="utf-8")
    return path


def model_card(model: "EEGA", *, training: Optional[Mapping[str, Any]] = None,
               metrics: Optional[Mapping[str, Any]] = None,
               license: Optional[str] = None,
               repo_id: Optional[str] = None) -> str:
    """The text of the model card (arguments as :func:`write_model_card`)."""
    front: Dict[str, Any] = {"library_name": LIBRARY_NAME, "tags": TAGS}
    if license is not None:
        front["license"] = license
    sections = [
        "---\n" + yaml.safe_dump(front, sort_keys=False) + "---",
        "# EEGA for joint multimodal entity-relation extraction",
        "An EEGA model (edge-enhanced graph alignment network with word-pair "
        "relation tagging, AAAI 2023) saved by `jmere_pyg`. From a post's "
        "words and, optionally, the scene graph of its image, it extracts "
        "quintuples (head entity, head type, tail entity, tail type, "
        "relation).",
        "## Encoder\n\n" + _encoder_lines(model),
        "## Model settings\n\n" + _table(model.config.to_dict()),
    ]
    if model.graph_builder is not None:
        builder = model.graph_builder
        state = builder.to_dict()
        sections.append(
            "## Graph builder\n\n" + _table(state["settings"])
            + "\n\n" + _table({name: len(words) for name, words
                                in state["vocabularies"].items()},
                               header="vocabulary | size")
            + f"\n\nPMI statistics from {builder.pmi.num_sentences} "
            "training sentences.")
    if training:
        sections.append("## Data and training\n\n" + _table(
            {k: v for k, v in training.items()
             if not isinstance(v, Mapping)}))
    if metrics:
        sections.append("## Validation metrics\n\n" + _metrics(metrics))
    name = repo_id or "path/to/this/folder"
    sections.append(
        "## How to load it\n\n```python\n"
        "from jmere_pyg import Predictor, Sample\n"
        f"\npredictor = Predictor.from_pretrained({name!r})\n"
        "quintuples = predictor.extract([Sample(tokens=['Curry', 'joins', "
        "'the', 'Warriors'])])\n```\n\n"
        "`from_pretrained` takes this folder or a Hugging Face Hub "
        "repository id; `config.json`, `model.safetensors`, "
        "`graph_builder.json` and `encoder/` are all it needs.")
    return "\n\n".join(sections) + "\n"


def _encoder_lines(model: "EEGA") -> str:
    name = model.config.encoder or DEFAULT_ENCODER
    architecture = model.encoder.model.config
    return (f"- started from: `{name}`\n"
            f"- architecture: `{architecture.model_type}`, hidden size "
            f"{model.encoder.hidden_size}, "
            f"{getattr(architecture, 'num_hidden_layers', '?')} layers\n"
            f"- its config and tokenizer are in `encoder/`, its weights in "
            f"`model.safetensors`")


def _table(values: Mapping[str, Any], header: str = "setting | value") -> str:
    rows = [f"| {header} |", "|---|---|"]
    rows += [f"| {key} | {_cell(value)} |" for key, value in values.items()]
    return "\n".join(rows)


def _metrics(metrics: Mapping[str, Any]) -> str:
    scalars = [f"- {key}: {_cell(value)}" for key, value in metrics.items()
               if not isinstance(value, Mapping)]
    rows: List[str] = ["| protocol | " + " | ".join(METRIC_COLUMNS) + " |",
                       "|---" * (len(METRIC_COLUMNS) + 1) + "|"]
    rows += [f"| {key} | " + " | ".join(
                 f"{value[column]:.4f}" for column in METRIC_COLUMNS) + " |"
             for key, value in metrics.items()
             if isinstance(value, Mapping)
             and all(column in value for column in METRIC_COLUMNS)]
    return "\n".join(scalars + [""] + rows if scalars else rows)


def _cell(value: Any) -> str:
    return "`None`" if value is None else f"`{value}`"
