"""ganlib: the small library behind a six-notebook course on GANs.

Import cost is kept low and nothing is downloaded at import: data, the digit judge and models
are loaded only when asked for.
"""

from .checkpoint import load_checkpoint, load_generator, save_checkpoint
from .config import MODELS, TrainConfig, preset
from .train import Run, TrainingDiverged, pick_device, train

__all__ = ["MODELS", "Run", "TrainConfig", "TrainingDiverged", "load_checkpoint",
           "load_generator", "pick_device", "preset", "save_checkpoint", "train"]
__version__ = "0.1.0"
