"""Images in: scene graphs from raw images with a pretrained object detector.

The only code of jmere_pyg that reads pixels. :func:`load_image` reads any
image file robustly (or raises :class:`ImageError` naming it),
:class:`SceneGraphExtractor` detects objects and keeps, per object, label,
score, box and the detector's feature vector, and
:func:`geometric_relations` relates the kept objects by their boxes, and
:func:`plot_scene_graph` draws the result.
Imports only :mod:`jmere_pyg.data` and below.
"""
from .extractor import (DEFAULT_DETECTOR, DetectorLoadError, ExtractionResult,
                        ExtractorConfig, SceneGraphExtractor,
                        detector_identity, extraction_summary,
                        load_detector)
from .images import IMAGE_ERROR_REASONS, ImageError, load_image, read_image
from .plots import plot_scene_graph
from .predicates import PREDICATES, geometric_relations
from .record import (EXTRACTOR_FILE, ExtractorRecord,
                     check_same_extractor, check_scene_graph_sources,
                     extractor_for_checkpoint, read_extractor_file,
                     scene_graphs_record, write_extractor_file)

__all__ = ["DEFAULT_DETECTOR", "DetectorLoadError", "EXTRACTOR_FILE",
           "ExtractionResult", "ExtractorConfig", "IMAGE_ERROR_REASONS",
           "ImageError", "PREDICATES", "SceneGraphExtractor",
           "extraction_summary", "geometric_relations", "load_detector", "load_image",
           "plot_scene_graph", "read_image", "check_same_extractor",
           "read_extractor_file", "write_extractor_file", "ExtractorRecord",
           "check_scene_graph_sources", "detector_identity",
           "extractor_for_checkpoint", "scene_graphs_record"]
