"""Fixtures of the vision tests: tiny detectors saved like any Hugging Face
detector folder, and a folder of drawn images."""
from pathlib import Path

import pytest
import torch

from vision_testing import FAMILIES, draw_scene, tiny_detector


@pytest.fixture(scope="session")
def tiny_detector_paths(tmp_path_factory):
    """``family -> folder`` of a saved tiny detector and image processor,
    its weights perturbed so that queries get distinct scores and boxes."""
    root = tmp_path_factory.mktemp("tiny_detectors")
    paths = {}
    for family in FAMILIES:
        torch.manual_seed(0)
        model, processor = tiny_detector(family)
        with torch.no_grad():  # spread the queries' scores and boxes apart
            for name, weight in model.named_parameters():
                if weight.dim() > 1 or name.endswith("bias"):
                    weight.add_(0.3 * torch.randn_like(weight))
        folder = root / family
        model.save_pretrained(folder)
        processor.save_pretrained(folder)
        paths[family] = str(folder)
    return paths


@pytest.fixture(scope="session")
def other_detr_path(tiny_detector_paths, tmp_path_factory) -> str:
    """The tiny DETR with other weights: the same architecture and feature
    size, another model."""
    from transformers import AutoImageProcessor, AutoModelForObjectDetection

    source = tiny_detector_paths["detr"]
    model = AutoModelForObjectDetection.from_pretrained(source)
    torch.manual_seed(1)
    with torch.no_grad():
        for weight in model.parameters():
            weight.add_(0.3 * torch.randn_like(weight))
    folder = tmp_path_factory.mktemp("other_detr")
    model.save_pretrained(folder)
    AutoImageProcessor.from_pretrained(source).save_pretrained(folder)
    return str(folder)


@pytest.fixture
def image_files(tmp_path) -> Path:
    """A folder with three drawn JPEG/PNG images."""
    folder = tmp_path / "images"
    folder.mkdir()
    draw_scene((160, 120), 0).save(folder / "a.jpg")
    draw_scene((90, 140), 1).save(folder / "b.png")
    draw_scene((200, 100), 2).save(folder / "c.jpg", quality=90)
    return folder
