"""Exercises of 03_dcgan: the transposed convolution's output size, and spherical
interpolation in the latent space."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from ..latent import lerp, slerp
from ._check import diagnose, exercise, passed, require


def _conv_transpose_output(size: int, kernel: int, stride: int, padding: int) -> int:
    layer = nn.ConvTranspose2d(1, 1, kernel, stride, padding, bias=False)
    return layer(torch.zeros(1, 1, size, size)).shape[-1]


@exercise("3.1")
def check_conv_transpose_size(fn: Callable[[int, int, int, int], int], worked: bool = False
                              ) -> None:
    """Exercise 3.1: the side of a ConvTranspose2d's output, from (size, kernel, stride,
    padding). Checked against PyTorch itself (output_padding and dilation at their defaults)."""
    name = "transposed-convolution output size"
    cases = [(1, 4, 1, 0), (4, 4, 2, 1), (16, 4, 2, 1), (5, 3, 2, 0), (7, 5, 3, 2), (3, 2, 1, 0)]
    for n, k, s, p in cases:
        answer = fn(n, k, s, p)
        right = _conv_transpose_output(n, k, s, p)
        if answer == right:
            continue
        wrong = {
            "this is a (forward) convolution's output size (n + 2p - k) // s + 1; a transposed "
            "convolution runs it backwards": (n + 2 * p - k) // s + 1,
            "the padding is removed on both sides: subtract 2p, not p":
                (n - 1) * s - p + k,
            "the stride spaces the n inputs (n - 1) steps apart: (n - 1)·s, not n·s":
                n * s - 2 * p + k,
            "the padding is removed from the output, not added": (n - 1) * s + 2 * p + k,
        }
        mistakes = [m for m, v in wrong.items() if v == answer]
        raise AssertionError(f"{name}: for size {n}, kernel {k}, stride {s}, padding {p} "
                             f"PyTorch gives {right}, you gave {answer}"
                             + (f": {mistakes[0]}" if mistakes else ""))
    passed(name, worked)


def _batch_angle(a: Tensor, b: Tensor, t: float) -> Tensor:
    """The mistake of one angle for the whole batch instead of one per row."""
    omega = torch.arccos((a * b).sum() / (a.norm() * b.norm()))
    return (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)


def _no_sin_ratio(a: Tensor, b: Tensor, t: float) -> Tensor:
    """The mistake of weights not divided by sin(omega)."""
    omega = torch.arccos((a * b).sum(1, keepdim=True) / (a.norm(dim=1, keepdim=True)
                                                         * b.norm(dim=1, keepdim=True)))
    return torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b


@exercise("3.2")
def check_slerp(fn: Callable[[Tensor, Tensor, float], Tensor], worked: bool = False) -> None:
    """Exercise 3.2: spherical interpolation, row by row, from z0 (t = 0) to z1 (t = 1).

    `fn(z0, z1, t)` takes two (N, d) batches and a float t and returns (N, d). The answer is
    `ganlib.latent.slerp`.
    """
    name = "slerp"
    g = torch.Generator().manual_seed(3)
    z0, z1 = torch.randn(4, 16, generator=g), 2 * torch.randn(4, 16, generator=g)
    for t in (0.3, 0.5, 0.0, 1.0):
        out = torch.as_tensor(fn(z0.clone(), z1.clone(), t))
        require(bool(torch.isfinite(out).all()),
                f"{name}: the result is not finite at t = {t:g}: cos ω must be "
                "z0·z1 / (‖z0‖ ‖z1‖), normalised to [-1, 1] before arccos")
        wrong = {
            "this is the straight line (lerp); slerp follows the great circle, with weights "
            "sin((1 - t)ω)/sin ω and sin(tω)/sin ω": lerp(z0, z1, t),
            "t is reversed: t = 0 must give z0 and t = 1 give z1": slerp(z0, z1, 1 - t),
            "ω is one angle for the whole batch; take one per row (sum over dim=1)":
                _batch_angle(z0, z1, t),
            "the weights are not divided by sin ω": _no_sin_ratio(z0, z1, t),
        }
        diagnose(name, out, slerp(z0, z1, t), wrong)
    passed(name, worked)
