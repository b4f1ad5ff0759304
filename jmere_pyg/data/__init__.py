"""JMERE samples: types, readers, validation, statistics and the dataset."""
from .sample import Entity, Quintuple, Sample
from .errors import DataFormatError, ReadReport
from .readers import read_samples, write_jsonl
from .stats import dataset_statistics
from .dataset import JMEREDataset

__all__ = ["DataFormatError", "Entity", "JMEREDataset", "Quintuple",
           "ReadReport", "Sample", "dataset_statistics", "read_samples",
           "write_jsonl"]
