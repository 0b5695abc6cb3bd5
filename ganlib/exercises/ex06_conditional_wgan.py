"""Exercises of 06_conditional_wgan: one-hot label channels for a conditional critic, and the
judge's accuracy per class."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from ._check import close, exercise, passed, require


@exercise("6.1")
def check_label_channels(fn: Callable[[Tensor, Tensor, int], Tensor], worked: bool = False
                         ) -> None:
    """Exercise 6.1: `fn(x, labels, n_classes)` returns (N, C + K, H, W): the images, then K
    one-hot label maps, channel k all ones for the samples of class k, zeros elsewhere."""
    name = "label channels"
    x = torch.randn(3, 1, 5, 6, generator=torch.Generator().manual_seed(0))  # H != W on purpose
    labels, k = torch.tensor([2, 0, 1]), 4
    n, c, h, w = x.shape
    out = fn(x, labels, k)
    require(isinstance(out, Tensor), f"{name}: return a tensor, got {type(out).__name__}")
    require(out.dim() == 4, f"{name}: return (N, C + K, H, W), got shape {tuple(out.shape)}")
    require(out.shape[0] == n,
            f"{name}: got {out.shape[0]} samples from {n}: concatenated on the batch dim (0); "
            "join the label maps to the images along the channels, dim=1")
    require(out.shape[2:] == (h, w),
            f"{name}: got a {tuple(out.shape[2:])} image from {(h, w)}: concatenated on a "
            "spatial dim (2 or 3); join along the channels, dim=1")
    got = out.shape[1] - c
    require(got == k,
            f"{name}: one-hot of the wrong size: {got} label channels for {k} classes"
            + (" (labels.max() + 1: the batch need not hold the last class; pass "
               "num_classes=n_classes to F.one_hot)" if got == int(labels.max()) + 1 else ""))
    one_hot = F.one_hot(labels, k).to(x.dtype)  # (N, K)
    expected = torch.cat([x, one_hot[:, :, None, None].expand(n, k, h, w)], dim=1)
    if not close(out[:, :c], x):
        require(not close(out[:, k:], x), f"{name}: the images come first, then the label "
                                          "maps: torch.cat([x, maps], dim=1)")
        raise AssertionError(f"{name}: channels 0..C-1 must be the images, unchanged")
    maps = out[:, c:].detach()
    require(close(maps, maps[:, :, :1, :1].expand_as(maps)),
            f"{name}: the label map is not broadcast to H×W: every pixel of channel k must hold "
            "the one-hot value; expand (N, K, 1, 1) to (N, K, H, W)")
    require(close(out, expected), f"{name}: channel C + k must be 1 where the label is k and 0 "
                                  "elsewhere (F.one_hot(labels, K))")
    passed(name, worked)


@exercise("6.2")
def check_per_class_accuracy(fn: Callable[[Tensor, Tensor, int], Tensor], worked: bool = False
                             ) -> None:
    """Exercise 6.2: `fn(probs, labels, n_classes)` returns (K,): for each class k, the share
    of the images asked for as k that the judge reads as k (its most probable class)."""
    name = "per-class accuracy"
    g = torch.Generator().manual_seed(0)
    labels = torch.tensor([0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2])  # 5, 4 and 3 images
    k = 3
    probs = torch.rand(len(labels), k, generator=g).softmax(dim=1)
    out = torch.as_tensor(fn(probs, labels, k), dtype=torch.float64)
    require(out.shape == (k,), f"{name}: return one accuracy per class, shape ({k},), got "
                               f"{tuple(out.shape)}")
    pred = probs.argmax(dim=1)
    hit = (pred == labels).double()
    count = torch.bincount(labels, minlength=k).double()
    right = torch.bincount(labels, weights=hit, minlength=k) / count
    wrong = {
        "divided by the batch size: divide each class's hits by the number of images asked for "
        "as that class": torch.bincount(labels, weights=hit, minlength=k) / len(labels),
        "that is the share per *predicted* class (precision); we want, among the images asked "
        "for as k, the share read as k": torch.bincount(pred, weights=hit, minlength=k)
        / torch.bincount(pred, minlength=k).clamp_min(1).double(),
        "averaged the probability of the asked-for class; count the images whose most probable "
        "class (argmax over dim 1) is the one asked for": torch.bincount(
            labels, weights=probs[torch.arange(len(labels)), labels].double(), minlength=k)
        / count,
    }
    for mistake, value in wrong.items():
        require(not close(out, value), f"{name}: {mistake}")
    require(close(out, right), f"{name}: for class k take the images with labels == k and the "
                               "share of them whose probs.argmax(dim=1) equals k")
    passed(name, worked)
