"""The EEGA model and its configuration."""
from .config import EEGAConfig
from .eega import EEGA, EEGAOutput, extract_with_confidence

__all__ = ["EEGA", "EEGAConfig", "EEGAOutput", "extract_with_confidence"]
