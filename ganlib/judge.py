"""The digit judge: a small CNN classifier that scores generated digits offline on a CPU.

FID needs Inception weights (a download, a GPU-sized network, 299×299 inputs). For 32×32 digits
a 0.6M-parameter CNN trained in well under a minute on the real digits does the same job: its
predictions say *which* digits a generator draws (`ganlib.metrics.class_stats`) and its 128
penultimate features feed the Fréchet distance (`ganlib.metrics.frechet_distance`).

    judge = load_judge()                   # trains once (< 1 min), then loads from the cache
    probs = judge.predict_proba(fake)      # (N, 10), rows sum to 1
    feats = judge.embed(fake)              # (N, 128) features for the Fréchet distance
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganlib import data as ganlib_data
from ganlib.files import atomic_write
from ganlib.metrics import accuracy
from ganlib.models import eval_mode

__all__ = ["Judge", "train_judge", "load_judge", "judge_path", "prepare_images"]

# Bump when the architecture or training recipe changes: older caches are then retrained.
JUDGE_VERSION = 1
IMAGE_SIZE = 32
N_CLASSES = 10
FEATURE_DIM = 128


class Judge(nn.Module):
    """conv 32 -> conv 64 -> fc 128 -> 10 on (N, 1, 32, 32) images in [-1, 1].

    Taught in 03_dcgan. Deliberately tiny: it trains in well under a minute on two CPU
    cores, yet reaches ~98% held-out accuracy on the bundled digits, which is all a metric needs.
    ``accuracy`` is the held-out accuracy measured when it was trained (NaN if untrained).
    """

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1),  # (N, 1, 32, 32) -> (N, 32, 32, 32)
            nn.BatchNorm2d(32),  # BatchNorm: ~1% more held-out accuracy in the same few epochs
            nn.ReLU(),
            nn.MaxPool2d(2),  # -> (N, 32, 16, 16)
            nn.Conv2d(32, 64, 3, padding=1),  # -> (N, 64, 16, 16)
            nn.BatchNorm2d(64),
            nn.ReLU(),
            nn.MaxPool2d(2),  # -> (N, 64, 8, 8)
            nn.Flatten(),  # -> (N, 4096)
            nn.Dropout(0.25),
            nn.Linear(64 * 8 * 8, FEATURE_DIM),  # -> (N, 128)
            nn.ReLU(),
        )
        self.head = nn.Linear(FEATURE_DIM, N_CLASSES)  # (N, 128) -> (N, 10)
        self.accuracy: float = math.nan
        self.n_test: int = 0
        self.dataset: str | None = None

    def features(self, x: Tensor) -> Tensor:
        """(N, 1, 32, 32) -> (N, 128) penultimate activations (with autograd; no checks)."""
        return self.body(x)

    def forward(self, x: Tensor) -> Tensor:
        """(N, 1, 32, 32) -> (N, 10) logits."""
        return self.head(self.features(x))

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def predict(self, images: Tensor, batch_size: int = 500) -> tuple[Tensor, Tensor]:
        """Class probabilities (N, 10) and features (N, 128) in one pass, both on the CPU.

        Runs in eval mode (no dropout) without autograd, in batches so 60k images fit in memory,
        and restores the previous train/eval mode. Images go through `prepare_images` first.
        """
        images = prepare_images(images)
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}.")
        probs, feats = [], []
        with eval_mode(self):
            for batch in images.split(batch_size):
                f = self.features(batch.to(self.device))
                probs.append(self.head(f).softmax(dim=1).cpu())
                feats.append(f.cpu())
        if not probs:  # zero images
            return torch.empty(0, N_CLASSES), torch.empty(0, FEATURE_DIM)
        return torch.cat(probs), torch.cat(feats)

    def predict_proba(self, images: Tensor, batch_size: int = 500) -> Tensor:
        """(N, 1, 32, 32) images in [-1, 1] -> (N, 10) class probabilities (see `predict`)."""
        return self.predict(images, batch_size)[0]

    def embed(self, images: Tensor, batch_size: int = 500) -> Tensor:
        """(N, 1, 32, 32) images in [-1, 1] -> (N, 128) features for the Fréchet distance."""
        return self.predict(images, batch_size)[1]


def prepare_images(images: Tensor) -> Tensor:
    """Check and convert images to what the judge expects: float (N, 1, 32, 32) in [-1, 1].

    Generators in the course output exactly that, but a student may pass RGB images or a 64×64
    DCGAN: RGB (N, 3, H, W) is averaged over channels, square images of another size are resized
    to 32×32 (bilinear, antialiased), and (N, H, W) gets its channel axis. Anything else, integer
    images, or values far outside [-1, 1] (e.g. 0..255) raise a ValueError saying what is expected.
    """
    images = torch.as_tensor(images).detach()
    expected = "expected float images of shape (N, 1, 32, 32) with values in [-1, 1]"
    if not images.is_floating_point():
        raise ValueError(f"{expected}, got dtype {images.dtype}; scale with x / 127.5 - 1.")
    if images.ndim == 3:
        images = images.unsqueeze(1)  # (N, H, W) -> (N, 1, H, W)
    if images.ndim != 4 or images.shape[1] not in (1, 3) or images.shape[2] != images.shape[3]:
        raise ValueError(f"{expected}, got shape {tuple(images.shape)}.")
    images = images.float().cpu()
    if images.numel() and images.abs().max() > 1.5:
        raise ValueError(
            f"{expected}, got values in [{images.min():.3g}, {images.max():.3g}]; "
            f"for 0..255 pixels use x / 127.5 - 1, for [0, 1] use 2 * x - 1."
        )
    if images.shape[1] == 3:
        images = images.mean(dim=1, keepdim=True)  # RGB -> gray
    if images.shape[-1] != IMAGE_SIZE and len(images):
        images = F.interpolate(
            images,
            size=(IMAGE_SIZE, IMAGE_SIZE),
            mode="bilinear",
            antialias=True,
            align_corners=False,
        )
    return images


def _random_shift(x: Tensor, max_shift: float, generator: torch.Generator) -> Tensor:
    """Shift each image by up to ``max_shift`` pixels in x and y, filling with background (-1).

    The light augmentation that makes the judge tolerant to the slightly off-centre digits a GAN
    draws. grid_sample pads with 0, so we shift x + 1 (background 0) and subtract 1 afterwards.
    """
    n = x.shape[0]
    shift = (torch.rand(n, 2, generator=generator) * 2 - 1) * max_shift * 2 / x.shape[-1]
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = 1.0
    theta[:, :, 2] = shift  # translation in normalised [-1, 1] coordinates
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x + 1, grid, align_corners=False) - 1


def train_judge(
    images: Tensor,
    labels: Tensor,
    epochs: int = 5,
    test_share: float = 0.1,
    seed: int = 0,
    verbose: bool = True,
) -> Judge:
    """Train a `Judge` on real digits, holding out a seeded ``test_share`` to measure accuracy.

    Taught in 03_dcgan. Adam (lr 2e-3 with cosine decay, batch 64) and random shifts of
    up to 2 pixels. All randomness (initial weights, split, shuffling, augmentation, dropout)
    comes from ``seed`` inside `torch.random.fork_rng`, so the result is reproducible and the
    caller's global RNG is left untouched.

    Args:
        images: (N, 1, 32, 32) real digits in [-1, 1].
        labels: (N,) class numbers 0..9.
        epochs: passes over the training split.
        test_share: share of the images held out for ``judge.accuracy``.
        seed: seed for everything random.
        verbose: print one line per epoch.

    Returns:
        The trained judge in eval mode, with ``accuracy`` and ``n_test`` set.
    """
    images = prepare_images(images)
    labels = torch.as_tensor(labels).long().reshape(-1)
    if len(images) != len(labels) or len(images) < 20:
        raise ValueError(
            f"train_judge needs >= 20 images with one label each, got {len(images)} images and "
            f"{len(labels)} labels."
        )
    gen = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(images), generator=gen)
    n_test = max(1, round(test_share * len(images)))
    test_idx, train_idx = order[:n_test], order[n_test:]
    x_train, y_train = images[train_idx], labels[train_idx]

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = Judge()
        opt = torch.optim.Adam(model.parameters(), lr=2e-3)
        n_steps = epochs * math.ceil(len(x_train) / 64)
        # cosine decay to 0: the last steps polish the weights instead of bouncing around
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(n_steps, 1))
        model.train()
        for epoch in range(epochs):
            perm = torch.randperm(len(x_train), generator=gen)
            total = 0.0
            for batch in perm.split(64):
                x = _random_shift(x_train[batch], 2.0, gen)
                loss = F.cross_entropy(model(x), y_train[batch])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                total += loss.item() * len(batch)
            if verbose:
                print(f"  judge epoch {epoch + 1}/{epochs}: train loss {total / len(x_train):.3f}")
    model.eval()
    model.accuracy = accuracy(model.predict_proba(images[test_idx]), labels[test_idx])
    model.n_test = n_test
    return model


def judge_path(dataset: str = "digits5k") -> Path:
    """Where the cached judge for ``dataset`` lives: ``data_dir()/judge_<dataset>.pt``."""
    return ganlib_data.data_dir() / f"judge_{dataset}.pt"


def _try_load(path: Path, settings: dict) -> Judge | None:
    """The cached judge if the file exists and matches ``settings``; None means retrain."""
    if not path.exists():
        return None
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
        if ckpt.get("version") != JUDGE_VERSION or ckpt.get("settings") != settings:
            return None
        model = Judge()
        model.load_state_dict(ckpt["state_dict"])
        model.accuracy = float(ckpt["accuracy"])
        model.n_test = int(ckpt["n_test"])
    except Exception:  # a truncated or foreign file: retraining is the fix
        return None
    return model.eval()


def load_judge(
    dataset: str = "digits5k",
    retrain: bool = False,
    verbose: bool = True,
    epochs: int = 5,
    limit: int | None = None,
    seed: int = 0,
) -> Judge:
    """The digit judge for ``dataset``: from the cache, or trained once and cached.

    Taught in 03_dcgan. Training takes well under a minute on a 2-core CPU; afterwards the
    weights load from ``data_dir()/judge_<dataset>.pt`` in a fraction of a second. A cache that is
    missing, unreadable, from an older version of this file, or trained with other settings is
    retrained and overwritten.

    Args:
        dataset: a `ganlib.data.load` name with images and labels ("digits5k", "mnist").
        retrain: ignore the cache and train again.
        verbose: print the held-out accuracy and the cache path.
        epochs: training epochs (the tests use 1 with a small ``limit`` for speed).
        limit: train and test on a seeded random ``limit`` digits (None: all of them).
        seed: seed for the split, initialisation and augmentation.

    Returns:
        The judge in eval mode, with ``judge.accuracy`` (held-out accuracy) and ``judge.dataset``.
    """
    settings = {"dataset": dataset, "epochs": epochs, "limit": limit, "seed": seed}
    path = judge_path(dataset)
    model = None if retrain else _try_load(path, settings)
    action = "cached at"
    if model is None:
        digits = ganlib_data.load(dataset, limit=limit)  # a seeded random subset if limited
        images, labels = getattr(digits, "images", None), getattr(digits, "labels", None)
        if images is None or labels is None:
            raise ValueError(
                f"the judge needs a labelled image data set, but {dataset!r} has no "
                f".images/.labels; use 'digits5k' or 'mnist'."
            )
        if verbose:
            print(f"digit judge: training on {len(images)} {dataset} digits (once, < 1 min) ...")
        start = time.perf_counter()
        model = train_judge(images, labels, epochs=epochs, seed=seed, verbose=verbose)
        seconds = time.perf_counter() - start
        path.parent.mkdir(parents=True, exist_ok=True)
        ckpt = {
            "version": JUDGE_VERSION,
            "settings": settings,
            "state_dict": model.state_dict(),
            "accuracy": model.accuracy,
            "n_test": model.n_test,
        }
        atomic_write(path, lambda tmp: torch.save(ckpt, tmp))
        action = f"trained in {seconds:.0f} s, cached at"
    model.dataset = dataset
    if verbose:
        print(
            f"digit judge: held-out accuracy {100 * model.accuracy:.1f}% on {model.n_test} "
            f"digits ({action} {path})"
        )
    return model
