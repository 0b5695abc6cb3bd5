"""Shared test fixtures (tiny, seeded, CPU only) and the smoke copies of the notebooks.

`pytest` also runs every notebook under nbval (`--nbval-lax` in pyproject.toml): before
collection, papermill writes a copy of each notebook with `smoke = True` and `solutions = True`
(the worked solutions, so every exercise check runs) injected (prepare only, nothing executed)
into the git-ignored tests/smoke_notebooks/, where nbval collects them. Only a run that will
collect that folder prepares them: `pytest tests/test_losses.py` does not.
"""

import os
from pathlib import Path

import pytest
import torch

SMOKE_DIR = Path(__file__).parent / "smoke_notebooks"


def collects_smoke_notebooks(args: list[str], root: Path) -> bool:
    """Whether a run given these command-line paths collects tests/smoke_notebooks/: one of them
    is that folder, lies inside it, or is a folder above it."""
    smoke = SMOKE_DIR.resolve()
    for arg in args:
        path = (root / arg.split("::")[0]).resolve()
        if path == smoke or smoke in path.parents or path in smoke.parents:
            return True
    return False


def pytest_configure(config):
    if not collects_smoke_notebooks(config.args, Path(config.invocation_params.dir)):
        return
    import papermill as pm

    from ganlib.course import course_notebooks

    SMOKE_DIR.mkdir(exist_ok=True)
    for old in SMOKE_DIR.glob("*.ipynb"):
        old.unlink()
    for book in course_notebooks():
        pm.execute_notebook(str(book), str(SMOKE_DIR / book.name),
                            parameters={"smoke": True, "solutions": True}, prepare_only=True,
                            kernel_name="python3", progress_bar=False, log_output=False)


# One thread, here and (through the environment) in the notebook kernels nbval starts: the
# test models are tiny, and on a 2-core machine a second thread only adds contention
# (docs/performance.md). It also keeps every run's numbers independent of how busy the
# machine is.
os.environ["GANLIB_THREADS"] = "1"
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _seed_and_threads():
    torch.manual_seed(0)
    yield


class TinyImages:
    """A stand-in image data set: 64 random 1x32x32 'images' in [-1, 1] with 10 labels."""

    is_toy = False
    n_classes = 10
    shape = (1, 32, 32)

    def __init__(self, n: int = 64, channels: int = 1, size: int = 32):
        g = torch.Generator().manual_seed(1)
        self.shape = (channels, size, size)
        self.images = torch.rand(n, channels, size, size, generator=g) * 2 - 1
        self.labels = torch.arange(n) % 10

    def __len__(self):
        return len(self.images)

    def sample(self, n, generator=None):
        idx = torch.randint(len(self), (n,), generator=generator)
        return self.images[idx], self.labels[idx]


@pytest.fixture
def tiny_images():
    return TinyImages()
