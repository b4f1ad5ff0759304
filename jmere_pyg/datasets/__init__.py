"""Corpora as PyG datasets: the top data layer, above samples
(:mod:`jmere_pyg.data`) and graphs (:mod:`jmere_pyg.graphs`), as PyG keeps
``datasets/`` above ``data/``."""
from .jmere import JMEREDataset, link_mnre_files

__all__ = ["JMEREDataset", "link_mnre_files"]
