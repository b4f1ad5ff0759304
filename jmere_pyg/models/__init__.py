"""The EEGA model and its configuration."""
from .config import EEGAConfig
from .eega import EEGA, EEGAOutput

__all__ = ["EEGA", "EEGAConfig", "EEGAOutput"]
