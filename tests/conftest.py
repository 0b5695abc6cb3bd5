"""Shared test fixtures: tiny, seeded, CPU only."""

import pytest
import torch


# One thread: the test models are tiny, and on a 2-core machine a second thread only adds
# contention (measured: the training tests took 183 s with 2 threads beside another busy
# process, 6 s with one).
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
