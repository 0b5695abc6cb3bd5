"""Checkers for the notebooks' exercises: the student writes a function, a checker runs it on
known answers and says what is wrong.

Every checker takes the student's function, prints one line when it is right, and otherwise
raises AssertionError with a sentence naming the mistake (a sign error, a whole-batch norm where
a per-sample one belongs, ...). The library's own functions are the worked answers, so every
checker accepts them (tests/test_exercises.py checks that, and that each typical mistake is
caught).
"""

from __future__ import annotations


def passed(name: str) -> None:
    """The one line a student sees when an exercise is right."""
    print(f"✓ {name}: correct")


# ----------------------------------------------------------------------------------------------
# 01_mode_collapse
# ----------------------------------------------------------------------------------------------


# ----------------------------------------------------------------------------------------------
# 02_bce_gan
# ----------------------------------------------------------------------------------------------


# ----------------------------------------------------------------------------------------------
# 03_dcgan
# ----------------------------------------------------------------------------------------------


# ----------------------------------------------------------------------------------------------
# 04_wgan_clipping
# ----------------------------------------------------------------------------------------------


# ----------------------------------------------------------------------------------------------
# 05_wgan_gp
# ----------------------------------------------------------------------------------------------
# (imports inside the functions keep each notebook's section self-contained)


def _gp_batch(seed: int = 0):
    """A tiny critic (N, 1, 4, 4) -> (N,) and a real and a fake batch of 6 such images."""
    import torch
    from torch import nn

    torch.manual_seed(seed)
    critic = nn.Sequential(nn.Flatten(), nn.Linear(16, 8), nn.Tanh(), nn.Linear(8, 1),
                           nn.Flatten(0))
    g = torch.Generator().manual_seed(seed)
    real, fake = torch.randn(6, 1, 4, 4, generator=g), torch.randn(6, 1, 4, 4, generator=g)
    return critic, real, fake


def _close(a, b) -> bool:
    import torch

    a, b = torch.as_tensor(a).detach().float(), torch.as_tensor(b).detach().float()
    return a.shape == b.shape and torch.allclose(a, b, rtol=1e-4, atol=1e-5)


def check_interpolates(fn) -> None:
    """Exercise 5.1: `fn(real, fake, generator)` returns x̂ = α·real + (1 − α)·fake with one
    α ~ U[0, 1] per sample, drawn as `torch.rand(N, generator=generator)` (as ganlib does)."""
    import torch

    _, real, fake = _gp_batch()
    n = real.shape[0]
    out = fn(real, fake, torch.Generator().manual_seed(1))
    assert isinstance(out, torch.Tensor), f"return a tensor, got {type(out).__name__}"
    assert out.shape == real.shape, (
        f"x̂ must have real's shape {tuple(real.shape)}, got {tuple(out.shape)}")
    alpha = torch.rand(n, generator=torch.Generator().manual_seed(1)).view(n, 1, 1, 1)
    per_pixel = torch.rand(real.shape, generator=torch.Generator().manual_seed(1))
    assert not _close(out, per_pixel * real + (1 - per_pixel) * fake), (
        "one α per pixel: draw one α per *sample*, torch.rand(N), and view it as (N, 1, 1, 1) "
        "so it broadcasts over the sample's pixels; x̂ must lie on the line from fake to real")
    assert not _close(out, real), "x̂ is the real batch itself: mix real and fake with α"
    assert not _close(out, fake), "x̂ is the fake batch itself: mix real and fake with α"
    assert not _close(out, (1 - alpha) * real + alpha * fake), (
        "α and 1 − α are swapped: use α·real + (1 − α)·fake (the same distribution, but "
        "ganlib's numbers)")
    assert _close(out, alpha * real + (1 - alpha) * fake), (
        "x̂ is not α·real + (1 − α)·fake with α = torch.rand(N, generator=generator), drawn "
        "once and before anything else from the generator")
    passed("interpolates")


def check_gradient_penalty(fn) -> None:
    """Exercise 5.2: `fn(critic, real, fake, gp_lambda=..., generator=...)` returns
    (penalty, norms) like `ganlib.losses.gradient_penalty`."""
    import torch

    from .losses import gradient_penalty

    critic, real, fake = _gp_batch()
    lam = 10.0
    out = fn(critic, real, fake, gp_lambda=lam, generator=torch.Generator().manual_seed(1))
    assert isinstance(out, tuple) and len(out) == 2, (
        "return a pair (penalty, norms): the scalar penalty and the (N,) per-sample norms")
    penalty, norms = out
    assert torch.is_tensor(penalty) and penalty.dim() == 0, "the penalty must be a scalar tensor"
    n = real.shape[0]

    def norms_at(points=None, alpha_shape=(n, 1, 1, 1), whole_batch=False):
        # torch.rand((N, 1, 1, 1)) draws the same numbers as torch.rand(N): ganlib's α
        alpha = torch.rand(alpha_shape, generator=torch.Generator().manual_seed(1))
        x = alpha * real + (1 - alpha) * fake if points is None else points
        x = x.detach().requires_grad_(True)
        (grads,) = torch.autograd.grad(critic(x).sum(), x)
        return grads.norm() if whole_batch else grads.flatten(1).norm(2, dim=1)

    right, right_norms = gradient_penalty(critic, real, fake, lam,
                                          generator=torch.Generator().manual_seed(1))
    wrong = {
        "whole-batch norm: take one norm per sample, grads.flatten(1).norm(2, dim=1), not one "
        "over the whole batch (that pushes each sample's slope towards 1/√N)":
            lam * (norms_at(whole_batch=True) - 1) ** 2,
        "one α per pixel: draw one α per sample, shape (N, 1, 1, 1), broadcast over its pixels":
            lam * ((norms_at(alpha_shape=real.shape) - 1) ** 2).mean(),
        "penalised at the real points: take the gradient at the interpolates x̂ between real "
        "and fake": lam * ((norms_at(points=real) - 1) ** 2).mean(),
        "penalised at the fake points: take the gradient at the interpolates x̂ between real "
        "and fake": lam * ((norms_at(points=fake) - 1) ** 2).mean(),
        "(‖g‖ − 1) is not squared: the penalty is λ·mean((‖g‖ − 1)²)":
            lam * (right_norms - 1).mean(),
        "|‖g‖ − 1| is not squared: the penalty is λ·mean((‖g‖ − 1)²)":
            lam * (right_norms - 1).abs().mean(),
        "sign error: the penalty is added to the critic's loss, so it must be +λ·mean(...), "
        "never negative": -right,
        "λ is missing: multiply the mean squared error by gp_lambda": right / lam,
    }
    for message, value in wrong.items():
        assert not _close(penalty, value), message
    assert penalty.requires_grad, (
        "the penalty does not depend on the critic's weights: call torch.autograd.grad(..., "
        "create_graph=True) so the optimiser can differentiate through the gradient")
    assert torch.is_tensor(norms) and norms.shape == (n,), (
        f"norms must hold one gradient norm per sample, shape ({n},), got "
        f"{tuple(torch.as_tensor(norms).shape)}")
    assert _close(norms, right_norms), (
        "the per-sample norms are wrong: ‖∇f(x̂_i)‖₂ over all of sample i's pixels")
    assert _close(penalty, right), (
        "the penalty is not λ·mean((‖∇f(x̂)‖ − 1)²) at x̂ = α·real + (1 − α)·fake (draw α "
        "first, with torch.rand(N, generator=generator))")
    first = next(critic.parameters())
    (weight_grad,) = torch.autograd.grad(penalty, first)
    assert weight_grad.abs().sum() > 0, "the penalty gives the critic's weights no gradient"
    passed("gradient penalty")


def check_penalised_critic(critic) -> None:
    """Exercise 5.3: `critic` maps (N, 1, 32, 32) to (N,), and in training mode each sample's
    score depends on that sample alone (what the per-sample penalty assumes)."""
    import torch
    from torch import nn

    critic.train()
    x = torch.randn(4, 1, 32, 32, generator=torch.Generator().manual_seed(0))
    x.requires_grad_(True)
    scores = critic(x)
    assert scores.shape == (4,), (
        f"the critic must map (N, 1, 32, 32) to (N,), got {tuple(scores.shape)}")
    (g,) = torch.autograd.grad(scores[0], x)
    has_bn = any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in critic.modules())
    leak = g[1:].abs().max().item()
    assert not has_bn and leak == 0.0, (
        "the critic's score of sample 0 depends on the other samples of the batch "
        f"(max |∂f(x_0)/∂x_j| = {leak:.1e})" + (": BatchNorm normalises with the batch's "
                                                 "statistics" if has_bn else "") +
        "; the penalty constrains each sample's own gradient, so use LayerNorm "
        "(norm='layer'), InstanceNorm or none")
    passed("penalised critic")


# ----------------------------------------------------------------------------------------------
# 06_conditional_wgan
# ----------------------------------------------------------------------------------------------


def check_label_channels(fn) -> None:
    """Exercise 6.1: `fn(x, labels, n_classes)` returns (N, C + K, H, W): the images, then K
    one-hot label maps, channel k all ones for the samples of class k, zeros elsewhere."""
    import torch
    import torch.nn.functional as F

    x = torch.randn(3, 1, 5, 6, generator=torch.Generator().manual_seed(0))  # H != W on purpose
    labels, k = torch.tensor([2, 0, 1]), 4
    n, c, h, w = x.shape
    out = fn(x, labels, k)
    assert isinstance(out, torch.Tensor), f"return a tensor, got {type(out).__name__}"
    assert out.dim() == 4, f"return (N, C + K, H, W), got shape {tuple(out.shape)}"
    assert out.shape[0] == n, (
        f"got {out.shape[0]} samples from {n}: concatenated on the batch dim (0); join the "
        "label maps to the images along the channels, dim=1")
    assert out.shape[2:] == (h, w), (
        f"got a {tuple(out.shape[2:])} image from {(h, w)}: concatenated on a spatial dim "
        "(2 or 3); join along the channels, dim=1")
    if out.shape[1] != c + k:
        got = out.shape[1] - c
        hint = (" (labels.max() + 1: the batch need not hold the last class; pass "
                "num_classes=n_classes to F.one_hot)" if got == int(labels.max()) + 1 else "")
        raise AssertionError(f"one-hot of the wrong size: {got} label channels for {k} "
                             f"classes{hint}")
    one_hot = F.one_hot(labels, k).to(x.dtype)  # (N, K)
    expected = torch.cat([x, one_hot[:, :, None, None].expand(n, k, h, w)], dim=1)
    if not _close(out[:, :c], x):
        assert not _close(out[:, k:], x), (
            "the images come first, then the label maps: torch.cat([x, maps], dim=1)")
        raise AssertionError("channels 0..C-1 must be the images, unchanged")
    maps = out[:, c:].detach()
    assert _close(maps, maps[:, :, :1, :1].expand_as(maps)), (
        "the label map is not broadcast to H×W: every pixel of channel k must hold the one-hot "
        "value; expand (N, K, 1, 1) to (N, K, H, W)")
    assert _close(out, expected), (
        "channel C + k must be 1 where the label is k and 0 elsewhere (F.one_hot(labels, K))")
    passed("label channels")


def check_per_class_accuracy(fn) -> None:
    """Exercise 6.2: `fn(probs, labels, n_classes)` returns (K,): for each class k, the share
    of the images asked for as k that the judge reads as k (its most probable class)."""
    import torch

    g = torch.Generator().manual_seed(0)
    labels = torch.tensor([0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2])  # 5, 4 and 3 images
    k = 3
    probs = torch.rand(len(labels), k, generator=g).softmax(dim=1)
    out = fn(probs, labels, k)
    out = torch.as_tensor(out, dtype=torch.float64)
    assert out.shape == (k,), (
        f"return one accuracy per class, shape ({k},), got {tuple(out.shape)}")
    hit = (probs.argmax(dim=1) == labels).double()
    count = torch.bincount(labels, minlength=k).double()
    right = torch.bincount(labels, weights=hit, minlength=k) / count
    pred = probs.argmax(dim=1)
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
    for message, value in wrong.items():
        assert not _close(out, value), message
    assert _close(out, right), (
        "for class k take the images with labels == k and the share of them whose "
        "probs.argmax(dim=1) equals k")
    passed("per-class accuracy")
