"""jmere_pyg: joint multimodal entity-relation extraction on PyTorch Geometric.

From a post's words and its image, extract every quintuple
``(entity1, type1, entity2, type2, relation)`` with EEGA (edge-enhanced graph
alignment network and word-pair relation tagging, AAAI 2023).
"""
from .data import (Entity, Quintuple, Sample, SceneGraph, SceneObject,
                   SceneRelation, dataset_statistics, read_samples,
                   read_scene_graphs, write_jsonl)
from .datasets import JMEREDataset
from .graphs import GraphBuilder
from .inference import Predictor
from .labels import ENTITY_TYPES, RELATIONS, SYMMETRIC_RELATIONS, TAGS
from .metrics import QuintupleMetrics
from .models import EEGA, EEGAConfig
from .tagging import decode_grid, encode_grid
from .vision import ExtractorConfig, SceneGraphExtractor

__version__ = "0.1.0"

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
