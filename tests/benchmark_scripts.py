"""Imports a script of benchmarks/ as a module for its tests (the folder is not a package)."""

import importlib
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).parents[1] / "benchmarks"


def load_script(name: str):
    """benchmarks/NAME.py as the module NAME, with its folder first on the path, as running
    the script puts it (for its `from _common import ...`)."""
    if str(BENCHMARKS) not in sys.path:
        sys.path.insert(0, str(BENCHMARKS))
    module = importlib.import_module(name)
    assert Path(module.__file__).parent == BENCHMARKS, f"{name} came from {module.__file__}"
    return module
