"""ganlib: the small library behind a six-notebook course on GANs.

Import cost is kept low and nothing is downloaded at import: data, the digit judge and models
are loaded only when asked for.
"""

from .config import MODELS, TrainConfig, preset
from .outputs import save_checkpoint
from .run import Run, load_checkpoint, load_generator, make_run, pick_device
from .train import TrainingDiverged, train

__all__ = ["MODELS", "Run", "TrainConfig", "TrainingDiverged", "load_checkpoint",
           "load_generator", "make_run", "pick_device", "preset", "save_checkpoint", "train"]
__version__ = "0.1.0"
