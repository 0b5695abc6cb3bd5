"""Checkers for the notebooks' exercises: the student writes a function, a checker runs it on
known answers and says what is wrong.

Every checker takes the student's function, prints one line when it is right, and otherwise
raises AssertionError with a sentence naming the mistake (a sign error, a whole-batch norm where
a per-sample one belongs, ...). The library's own functions are the worked answers, so every
checker accepts them (tests/test_exercises.py checks that, and that each typical mistake is
caught).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .metrics import mode_coverage


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

def _toy_points() -> tuple[Tensor, Tensor, float]:
    """Four modes on a square: 9 points near mode 0 (one 2σ away, one 4σ away), 3 on mode 1,
    one 2σ from mode 2, and one 10σ from mode 3 (too far to capture it)."""
    modes = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])
    sigma = 0.05
    points = torch.tensor([[1.0, 0.0]] * 7 + [[1.1, 0.0], [1.2, 0.0]]
                          + [[0.0, 1.0]] * 3 + [[-1.1, 0.0], [0.0, -1.5]])
    return points, modes, sigma


def check_modes_captured(fn: Callable[[Tensor, Tensor, float], int]) -> None:
    """Exercise 01.1: `fn(points, modes, sigma)` returns how many modes are captured.

    A mode is captured when at least one *high-quality* point (within 3σ of its nearest mode)
    has it as its nearest mode (VEEGAN / PacGAN).
    """
    name = "modes_captured"
    points, modes, sigma = _toy_points()
    right = int(mode_coverage(points, modes, sigma)["modes_captured"])  # 3
    dist = torch.cdist(points, modes)  # (N, K)
    nearest_dist, nearest = dist.min(dim=1)
    good = nearest_dist <= 3 * sigma
    wrong = {
        "a point counts only when it is within 3σ of its nearest mode (high quality); you "
        "counted every point's nearest mode": len(set(nearest.tolist())),
        "the high-quality radius is 3σ, not σ": len(set(nearest[nearest_dist <= sigma]
                                                         .tolist())),
        "count the modes hit (each once), not the high-quality points": int(good.sum()),
    }
    answer = fn(points, modes, sigma)
    answer = int(answer.item() if isinstance(answer, Tensor) else answer)
    if answer != right:
        for mistake, value in wrong.items():
            if answer == value:
                raise AssertionError(f"{name}: {mistake} (got {answer}, expected {right})")
        raise AssertionError(f"{name}: expected {right} modes captured, got {answer}")
    far = points + torch.tensor([5.0, 5.0])  # every point far from every mode
    if int(fn(far, modes, sigma)) != 0:
        raise AssertionError(f"{name}: points far from every mode capture nothing; "
                             f"got {int(fn(far, modes, sigma))} for points 5 units away")
    passed(name)


def check_reverse_kl(fn: Callable[[Tensor], float]) -> None:
    """Exercise 01.2: `fn(counts)` returns KL(q ‖ uniform) for the (K,) high-quality hits
    per mode: Σ q_k log(q_k K) over the modes with q_k > 0, with q = counts / counts.sum()."""
    name = "reverse_kl"
    counts = torch.tensor([6.0, 3.0, 1.0, 0.0])
    k = len(counts)
    q = counts / counts.sum()
    hit = q > 0
    right = torch.tensor(float((q[hit] * torch.log(q[hit] * k)).sum()), dtype=torch.float64)
    p = torch.full_like(q, 1.0 / k)
    wrong = {
        "that is log base 2; use the natural log (nats), as the library does":
            right / torch.log(torch.tensor(2.0, dtype=torch.float64)),
        "normalise the counts to a histogram q = counts / counts.sum() first":
            torch.tensor(float((counts[hit] * torch.log(counts[hit] * k)).sum())),
        "that is the forward KL(uniform ‖ q); the reverse KL puts q first: Σ q log(q / u)":
            torch.tensor(float((p[hit] * torch.log(p[hit] / q[hit])).sum())),
        "the uniform histogram is 1/K per mode, so the term is q log(q K), not q log q":
            torch.tensor(float((q[hit] * torch.log(q[hit])).sum())),
    }
    answer = fn(counts.clone())
    answer = float(answer.item() if isinstance(answer, Tensor) else answer)
    if answer != answer:  # NaN
        raise AssertionError(f"{name}: got NaN: leave out the empty modes (0 log 0 = 0)")
    _diagnose(name, torch.tensor(answer, dtype=torch.float64), right,
              {m: v.double() for m, v in wrong.items()})
    even = float(fn(torch.tensor([5.0, 5.0, 5.0, 5.0])))
    one = float(fn(torch.tensor([0.0, 9.0, 0.0, 0.0])))
    if abs(even) > 1e-6 or abs(one - math.log(4)) > 1e-5:
        raise AssertionError(f"{name}: an even histogram must give 0 (got {even:.4f}) and all "
                             f"hits on one of 4 modes log 4 = {math.log(4):.4f} (got {one:.4f})")
    passed(name)


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

def _clip_critic() -> nn.Module:
    """A tiny critic with weights and biases well past ±0.1, with gradients present."""
    torch.manual_seed(0)
    critic = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 1))
    with torch.no_grad():
        for p in critic.parameters():
            p.copy_(torch.linspace(-1.0, 1.0, p.numel()).view_as(p))
    critic(torch.ones(3, 2)).sum().backward()  # gradients the clip must leave alone
    return critic


def check_clip_weights(fn: Callable[[nn.Module, float], None]) -> None:
    """Exercise 04.1: `fn(critic, c)` clamps every critic parameter to [-c, c] in place."""
    name = "clip_weights"
    c = 0.1
    critic = _clip_critic()
    before = {n: p.detach().clone() for n, p in critic.named_parameters()}
    grads = {n: p.grad.clone() for n, p in critic.named_parameters()}
    try:
        fn(critic, c)
    except RuntimeError as error:
        raise AssertionError(f"{name}: an in-place change of a parameter must not be recorded "
                             "by autograd: wrap the loop in `with torch.no_grad():` "
                             f"({error})") from None
    after = dict(critic.named_parameters())
    changed = {n for n in before if not torch.equal(before[n], after[n].detach())}
    if any(not torch.equal(grads[n], p.grad) for n, p in after.items()):
        if not changed:
            raise AssertionError(f"{name}: you clipped the gradients; WGAN clips the weights "
                                 "themselves, after the optimizer step")
        raise AssertionError(f"{name}: leave the gradients alone; clip only the parameters")
    if not changed:
        raise AssertionError(f"{name}: no parameter changed: `p = p.clamp(-c, c)` only "
                             "rebinds a name; change the tensor in place (p.clamp_(-c, c))")
    for n, p in after.items():
        right = before[n].clamp(-c, c)
        if torch.equal(p.detach(), right):
            continue
        if torch.equal(p.detach(), before[n].clamp(0, c)):
            raise AssertionError(f"{name}: the range is [-c, c], not [0, c]: negative weights "
                                 "must stay negative")
        if torch.equal(p.detach(), before[n]):
            kind = "biases" if n.endswith("bias") else "weights"
            raise AssertionError(f"{name}: the {kind} were not clipped: Arjovsky et al. clip "
                                 "every parameter of the critic (critic.parameters())")
        raise AssertionError(f"{name}: {n} should be clamped to [-{c}, {c}], got values from "
                             f"{p.min().item():.3f} to {p.max().item():.3f}")
    passed(name)


def check_critic_loss(fn: Callable[[Tensor, Tensor], Tensor]) -> None:
    """Exercise 04.2: `fn(real_scores, fake_scores)` is the loss the critic minimises,
    E[f(fake)] - E[f(real)] (its negative estimates the earth mover's distance)."""
    name = "critic_loss"
    g = torch.Generator().manual_seed(4)
    real = (2 + torch.randn(6, generator=g)).requires_grad_(True)  # (6,) raw scores
    fake = torch.randn(10, generator=g).requires_grad_(True)  # (10,): another batch size
    right = fake.mean() - real.mean()
    wrong = {
        "the sign is flipped: the critic *maximises* E[f(real)] - E[f(fake)], so it "
        "minimises E[f(fake)] - E[f(real)]": real.mean() - fake.mean(),
        "use means, not sums: the two batches can differ in size": fake.sum() - real.sum(),
        "the critic's scores are raw: no sigmoid and no log (that is the BCE loss)":
            F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
            + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)),
        "no sigmoid: a Wasserstein critic outputs unbounded scores":
            torch.sigmoid(fake).mean() - torch.sigmoid(real).mean(),
    }
    loss = fn(real, fake)
    if not isinstance(loss, Tensor) or loss.dim() != 0:
        raise AssertionError(f"{name}: return one number as a 0-dim tensor, got "
                             f"{type(loss).__name__} {tuple(getattr(loss, 'shape', ()))}")
    if not loss.requires_grad:
        raise AssertionError(f"{name}: the loss has no gradient (did you call .item(), "
                             ".detach() or torch.no_grad()?): backward() needs the graph")
    _diagnose(name, loss.detach(), right.detach(), {m: v.detach() for m, v in wrong.items()})
    passed(name)


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
