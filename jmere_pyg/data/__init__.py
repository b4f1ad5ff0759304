"""JMERE data: samples and scene graphs, their readers and writers, input
validation and statistics. The bottom layer: imports nothing of jmere_pyg but
:mod:`jmere_pyg.labels`."""
from .sample import Entity, Quintuple, Sample
from .scene_graph import (SceneGraph, SceneObject, SceneRelation,
                          attach_scene_graphs, image_key, lookup_scene_graph,
                          read_scene_graphs, write_scene_graphs)
from .errors import (DataFormatError, DataNotice, ReadReport,
                     SceneGraphFormatError)
from .readers import FORMATS, read_samples, write_jsonl
from .sgb import read_sgb_output
from .stats import dataset_statistics

__all__ = ["DataFormatError", "DataNotice", "Entity", "FORMATS",
           "Quintuple", "ReadReport", "Sample", "SceneGraph",
           "SceneGraphFormatError", "SceneObject", "SceneRelation",
           "attach_scene_graphs", "dataset_statistics", "image_key",
           "lookup_scene_graph", "read_samples", "read_scene_graphs",
           "read_sgb_output", "write_jsonl", "write_scene_graphs"]
