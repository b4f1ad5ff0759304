"""jmere_pyg: joint multimodal entity-relation extraction on PyTorch Geometric.

From a post's words and its image, extract every quintuple
``(entity1, type1, entity2, type2, relation)`` with EEGA (edge-enhanced graph
alignment network and word-pair relation tagging, AAAI 2023).

The names below are imported on first use (PEP 562), so that importing a
part of the package, e.g. the ``jmere-pyg`` command for ``--help``, does not
load every layer and its libraries.
"""
import importlib
from typing import Any

__version__ = "0.1.0"

#: Public name -> the module it lives in.
_EXPORTS = {
    **dict.fromkeys(("Entity", "Quintuple", "Sample", "SceneGraph",
                     "SceneObject", "SceneRelation", "dataset_statistics",
                     "read_samples", "read_scene_graphs", "write_jsonl"),
                    ".data"),
    "JMEREDataset": ".datasets",
    "GraphBuilder": ".graphs",
    "Predictor": ".inference",
    **dict.fromkeys(("ENTITY_TYPES", "RELATIONS", "SYMMETRIC_RELATIONS",
                     "TAGS"), ".labels"),
    "QuintupleMetrics": ".metrics",
    **dict.fromkeys(("EEGA", "EEGAConfig"), ".models"),
    **dict.fromkeys(("decode_grid", "encode_grid"), ".tagging"),
    **dict.fromkeys(("ExtractorConfig", "SceneGraphExtractor"), ".vision"),
}

__all__ = [
    "EEGA", "EEGAConfig", "ENTITY_TYPES", "Entity", "GraphBuilder",
    "JMEREDataset", "Predictor", "Quintuple", "QuintupleMetrics", "RELATIONS",
    "SYMMETRIC_RELATIONS",
    "Sample", "SceneGraph", "SceneObject", "SceneRelation", "TAGS",
    "dataset_statistics", "decode_grid", "encode_grid", "read_samples",
    "read_scene_graphs",
    "write_jsonl",
    "ExtractorConfig", "SceneGraphExtractor",
]


def __getattr__(name: str) -> Any:
    """The public ``name``, imported from its module on first use."""
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name], __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__():
    """The module's names, the ones not yet imported included."""
    return sorted(set(globals()) | set(__all__))
