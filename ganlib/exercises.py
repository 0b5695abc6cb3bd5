"""Checkers for the notebooks' exercises: the student writes a function, a checker runs it on
known answers and says what is wrong.

Every checker takes the student's function, prints one line when it is right, and otherwise
raises AssertionError with a sentence naming the mistake (a sign error, a whole-batch norm where
a per-sample one belongs, ...). The library's own functions are the worked answers, so every
checker accepts them (tests/test_exercises.py checks that, and that each typical mistake is
caught).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def passed(name: str) -> None:
    """The one line a student sees when an exercise is right."""
    print(f"✓ {name}: correct")


def _diagnose(name: str, answer, right: Tensor, wrong: dict[str, Tensor]) -> None:
    """Pass when `answer` matches `right`, else say which typical mistake it matches.

    `wrong` maps a sentence describing a mistake to the value that mistake gives on the same
    inputs; an answer matching none of them gets a message with both values to compare.
    """
    answer = torch.as_tensor(answer, dtype=right.dtype)
    if answer.shape != right.shape:
        raise AssertionError(f"{name}: expected a result of shape {tuple(right.shape)}, "
                             f"got {tuple(answer.shape)}")
    if torch.allclose(answer, right, rtol=1e-4, atol=1e-5):
        return
    for mistake, value in wrong.items():
        if torch.allclose(answer, value, rtol=1e-4, atol=1e-5):
            raise AssertionError(f"{name}: {mistake}")
    raise AssertionError(f"{name}: expected {right.flatten()[:4].tolist()}, "
                         f"got {answer.flatten()[:4].tolist()}")


def _check_loss_output(name: str, loss, logits: Tensor) -> None:
    """A loss must be a differentiable scalar tensor: the training step calls backward() on it."""
    if not isinstance(loss, Tensor) or loss.dim() != 0:
        raise AssertionError(f"{name}: return one number as a 0-dim tensor (a mean over the "
                             f"batch), got {type(loss).__name__} "
                             f"{tuple(getattr(loss, 'shape', ()))}")
    if not torch.isfinite(loss):
        raise AssertionError(f"{name}: the loss is {loss.item()} for logits of ±30: compute "
                             "from logits (F.logsigmoid, F.softplus, "
                             "binary_cross_entropy_with_logits), not log(sigmoid(l))")
    if not loss.requires_grad:
        raise AssertionError(f"{name}: the loss has no gradient (did you call .item(), "
                             f".detach() or torch.no_grad()?): backward() needs the graph")
    (grad,) = torch.autograd.grad(loss, logits)
    if not torch.isfinite(grad).all():
        raise AssertionError(f"{name}: its gradient is not finite for logits of ±30: "
                             "compute from logits (F.logsigmoid, F.softplus, "
                             "binary_cross_entropy_with_logits), not log(sigmoid(l))")


# ----------------------------------------------------------------------------------------------
# 01_mode_collapse
# ----------------------------------------------------------------------------------------------


# ----------------------------------------------------------------------------------------------
# 02_bce_gan
# ----------------------------------------------------------------------------------------------

def _known_logits(n: int, seed: int) -> Tensor:
    """(n,) logits from clear rejections (-30) to clear acceptances (+30): saturation shows."""
    g = torch.Generator().manual_seed(seed)
    return torch.cat([torch.tensor([-30.0, 30.0]), 3 * torch.randn(n - 2, generator=g)])


def _bce(logits: Tensor, label: float, reduction: str = "mean") -> Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, label),
                                              reduction=reduction)


def check_d_loss_bce(fn: Callable[[Tensor, Tensor], Tensor]) -> None:
    """Exercise 02: the discriminator's loss -[mean log D(x) + mean log(1 - D(G(z)))].

    `fn(real_logits, fake_logits)` gets raw scores (N,) and (M,) and returns a scalar.
    The answer is `ganlib.losses.d_loss_bce`.
    """
    name = "BCE discriminator loss"
    real = _known_logits(6, 0).requires_grad_(True)
    fake = _known_logits(10, 1).requires_grad_(True)
    loss = fn(real, fake)
    _check_loss_output(name, loss, real)
    with torch.no_grad():
        right = _bce(real, 1) + _bce(fake, 0)
        wrong = {
            "the labels are swapped: real samples get label 1 and fakes label 0":
                _bce(real, 0) + _bce(fake, 1),
            "the sigmoid is applied twice: *_with_logits losses take raw logits, so do not "
            "pass sigmoid(l) to them": _bce(torch.sigmoid(real), 1) + _bce(torch.sigmoid(fake), 0),
            "it sums over the batch; take the mean, so the loss (and the step size) does not "
            "grow with the batch size": _bce(real, 1, "sum") + _bce(fake, 0, "sum"),
            "the fake term is missing: D must also learn to say 0 on G(z)": _bce(real, 1),
            "the real term is missing: D must also learn to say 1 on real data": _bce(fake, 0),
            "the sign is flipped: D *minimises* the cross-entropy (it maximises V)":
                -(_bce(real, 1) + _bce(fake, 0)),
            "it averages the two terms; the loss is their sum, -[E log D(x) + "
            "E log(1 - D(G(z)))]": (_bce(real, 1) + _bce(fake, 0)) / 2,
        }
    _diagnose(name, loss.detach(), right, wrong)
    passed(name)


def _check_g_loss(name: str, fn: Callable[[Tensor], Tensor], kind: str) -> None:
    logits = _known_logits(12, 2).requires_grad_(True)
    loss = fn(logits)
    _check_loss_output(name, loss, logits)
    with torch.no_grad():
        values = {"nonsaturating": F.softplus(-logits).mean(),  # -log D(G(z))
                  "minimax": -F.softplus(logits).mean()}  # log(1 - D(G(z)))
        other = "minimax" if kind == "nonsaturating" else "nonsaturating"
        formula = {"nonsaturating": "-log D(G(z))", "minimax": "log(1 - D(G(z)))"}
        right = values[kind]
        wrong = {
            f"the sign is flipped: G minimises {formula[kind]}": -right,
            f"this is the {other} loss {formula[other]}; the exercise asks for the {kind} "
            f"loss {formula[kind]}": values[other],
            f"this is the {other} loss with its sign flipped; the exercise asks for "
            f"{formula[kind]}": -values[other],
            "it sums over the batch; take the mean": right * logits.numel(),
            "the sigmoid is applied twice: D(G(z)) = sigmoid(logit), once":
                {"nonsaturating": F.softplus(-torch.sigmoid(logits)).mean(),
                 "minimax": -F.softplus(torch.sigmoid(logits)).mean()}[kind],
        }
    _diagnose(name, loss.detach(), right, wrong)
    passed(name)


def check_g_loss_nonsaturating(fn: Callable[[Tensor], Tensor]) -> None:
    """Exercise 02: G's non-saturating loss, mean -log D(G(z)), from fake logits (N,).

    The answer is `ganlib.losses.g_loss_nonsaturating`.
    """
    _check_g_loss("non-saturating generator loss", fn, "nonsaturating")


def check_g_loss_minimax(fn: Callable[[Tensor], Tensor]) -> None:
    """Exercise 02: G's minimax loss, mean log(1 - D(G(z))), from fake logits (N,).

    The answer is `ganlib.losses.g_loss_minimax`.
    """
    _check_g_loss("minimax generator loss", fn, "minimax")


# ----------------------------------------------------------------------------------------------
# 03_dcgan
# ----------------------------------------------------------------------------------------------

def check_slerp(fn: Callable[[Tensor, Tensor, float], Tensor]) -> None:
    """Exercise 03: spherical interpolation, row by row, from z0 (t = 0) to z1 (t = 1).

    `fn(z0, z1, t)` takes two (N, d) batches and a float t and returns (N, d). The answer is
    `ganlib.latent.slerp`.
    """
    from .latent import lerp, slerp

    name = "slerp"
    g = torch.Generator().manual_seed(3)
    z0, z1 = torch.randn(4, 16, generator=g), 2 * torch.randn(4, 16, generator=g)

    def batch_angle(a: Tensor, b: Tensor, t: float) -> Tensor:
        # one angle for the whole batch instead of one per row
        omega = torch.arccos((a * b).sum() / (a.norm() * b.norm()))
        return (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)

    def no_sin_ratio(a: Tensor, b: Tensor, t: float) -> Tensor:
        # the weights without dividing by sin(omega)
        omega = torch.arccos((a * b).sum(1, keepdim=True) / (a.norm(dim=1, keepdim=True)
                                                             * b.norm(dim=1, keepdim=True)))
        return torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b

    for t in (0.3, 0.5, 0.0, 1.0):
        out = torch.as_tensor(fn(z0.clone(), z1.clone(), t))
        if not torch.isfinite(out).all():
            raise AssertionError(f"{name}: the result is not finite at t = {t:g}: cos ω must be "
                                 "z0·z1 / (‖z0‖ ‖z1‖), normalised to [-1, 1] before arccos")
        wrong = {
            "this is the straight line (lerp); slerp follows the great circle, with weights "
            "sin((1 - t)ω)/sin ω and sin(tω)/sin ω": lerp(z0, z1, t),
            "t is reversed: t = 0 must give z0 and t = 1 give z1": slerp(z0, z1, 1 - t),
            "ω is one angle for the whole batch; take one per row (sum over dim=1)":
                batch_angle(z0, z1, t),
            "the weights are not divided by sin ω": no_sin_ratio(z0, z1, t),
        }
        _diagnose(name, out, slerp(z0, z1, t), wrong)
    passed(name)


def _conv_transpose_output(size: int, kernel: int, stride: int, padding: int) -> int:
    layer = nn.ConvTranspose2d(1, 1, kernel, stride, padding, bias=False)
    return layer(torch.zeros(1, 1, size, size)).shape[-1]


def check_conv_transpose_size(fn: Callable[[int, int, int, int], int]) -> None:
    """Exercise 03: the side of a ConvTranspose2d's output, from (size, kernel, stride, padding).

    Checked against PyTorch itself (output_padding and dilation left at their defaults).
    """
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
    passed(name)


# ----------------------------------------------------------------------------------------------
# 04_wgan_clipping
# ----------------------------------------------------------------------------------------------


# ----------------------------------------------------------------------------------------------
# 05_wgan_gp
# ----------------------------------------------------------------------------------------------


# ----------------------------------------------------------------------------------------------
# 06_conditional_wgan
# ----------------------------------------------------------------------------------------------
