"""Every GAN loss as a plain function of critic outputs (raw scores, no sigmoid applied).

Plain functions, not classes, so a notebook can write a loss inline, compare it with the one
here using `torch.testing.assert_close`, and a test can check it against a known answer.
`generator_loss_curves` draws the two generator losses and their slopes for 02_bce_gan.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn


def d_loss_bce(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """The discriminator's binary cross-entropy: -[log D(x) + log(1 - D(G(z)))].

    Taught in 02_bce_gan (Goodfellow et al. 2014, eq. 1). Computed from logits with
    `binary_cross_entropy_with_logits`, which never takes log(0).

    Args:
        real_logits: (N,) scores of real samples.
        fake_logits: (M,) scores of generated samples.
    Returns:
        scalar loss.
    """
    real = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return real + fake


def g_loss_minimax(fake_logits: Tensor) -> Tensor:
    """The generator's original loss, minimise log(1 - D(G(z))). Taught in 02_bce_gan.

    log(1 - sigmoid(l)) = -softplus(l): when D confidently rejects fakes (l very negative) the
    curve is flat, so G gets almost no gradient: the loss *saturates*.
    """
    return -F.softplus(fake_logits).mean()


def g_loss_nonsaturating(fake_logits: Tensor) -> Tensor:
    """The generator's practical loss, minimise -log D(G(z)) = softplus(-l). Taught in 02.

    Same fixed point as the minimax loss but steep exactly where the minimax one is flat.
    """
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


def generator_loss_curves(logits) -> dict[str, np.ndarray]:
    """Each generator loss, and its gradient with respect to the logit, for every logit.

    Taught in 02_bce_gan. Computed with the two functions above and autograd, one fake sample
    at a time, so the curves are the library's losses and not a re-derivation. With
    D = sigmoid(l): the minimax loss log(1 - D) has slope -D (vanishing where D rejects the
    fake, D → 0) and the non-saturating loss -log D has slope -(1 - D) (close to -1 there).

    Args:
        logits: (T,) discriminator logits l of fake samples.
    Returns:
        {"logit", "d_fake" (= sigmoid(l)), "minimax", "nonsaturating", "grad_minimax",
        "grad_nonsaturating"}: (T,) arrays.
    """
    logits = torch.as_tensor(logits, dtype=torch.float64).reshape(-1)
    out: dict[str, list[float]] = {k: [] for k in ("minimax", "nonsaturating", "grad_minimax",
                                                   "grad_nonsaturating")}
    for value in logits:
        for name, fn in (("minimax", g_loss_minimax), ("nonsaturating", g_loss_nonsaturating)):
            l = value.clone().reshape(1).requires_grad_(True)  # one fake sample's logit
            loss = fn(l)
            (grad,) = torch.autograd.grad(loss, l)
            out[name].append(loss.item())
            out[f"grad_{name}"].append(grad.item())
    result = {k: np.array(v) for k, v in out.items()}
    result["logit"] = logits.numpy()
    result["d_fake"] = torch.sigmoid(logits).numpy()
    return result


def critic_loss_wasserstein(real_scores: Tensor, fake_scores: Tensor) -> Tensor:
    """The critic minimises E[f(fake)] - E[f(real)]. Taught in 04_wgan_clipping.

    Its negative, E[f(real)] - E[f(fake)], estimates the earth mover's distance when f is
    1-Lipschitz (Arjovsky et al. 2017, Kantorovich-Rubinstein duality).
    """
    return fake_scores.mean() - real_scores.mean()


def g_loss_wasserstein(fake_scores: Tensor) -> Tensor:
    """The generator maximises the critic's score of its samples: minimise -E[f(G(z))]."""
    return -fake_scores.mean()


def gradient_penalty(critic: nn.Module, real: Tensor, fake: Tensor, gp_lambda: float = 10.0,
                     labels: Tensor | None = None, generator: torch.Generator | None = None,
                     alpha: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """λ E[(‖∇f(x̂)‖₂ - 1)²] at x̂ = α·real + (1-α)·fake, α ~ U[0, 1] per sample.

    Taught in 05_wgan_gp (Gulrajani et al. 2017, Algorithm 1). The norm is taken per sample,
    over every dimension but the batch: a whole-batch norm would be a different (wrong)
    penalty. `create_graph=True` keeps the penalty differentiable so the critic can lower it.

    Args:
        critic: f, mapping (N, ...) to (N,) scores (and labels, if conditional).
        real, fake: (N, ...) batches of the same shape; `fake` should be detached.
        gp_lambda: λ, the penalty weight (10 in the paper).
        labels: class labels passed to a conditional critic.
        generator: random source for α, for reproducible runs.
        alpha: (N,) the α of each sample, when the caller draws them (drawn here if None).
    Returns:
        (penalty, grad_norms): the scalar λ·mean((‖g‖ - 1)²) and the (N,) per-sample norms.
    """
    if real.shape != fake.shape:
        raise ValueError(f"real {tuple(real.shape)} and fake {tuple(fake.shape)} must match")
    n = real.shape[0]
    if alpha is None:
        alpha = torch.rand(n, generator=generator)
    alpha = alpha.to(real.device, real.dtype)
    alpha = alpha.view(n, *([1] * (real.dim() - 1)))  # one α per sample, broadcast over pixels
    x_hat = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
    scores = critic(x_hat, labels) if labels is not None else critic(x_hat)
    (grads,) = torch.autograd.grad(scores.sum(), x_hat, create_graph=True)
    grad_norms = grads.flatten(1).norm(2, dim=1)  # (N,)
    return gp_lambda * ((grad_norms - 1) ** 2).mean(), grad_norms


@torch.no_grad()
def clip_weights(critic: nn.Module, clip_value: float) -> None:
    """Clamp every critic parameter to [-c, c] in place. Taught in 04_wgan_clipping.

    Arjovsky et al.'s crude way to keep f Lipschitz: bounded weights bound the slope. Too small
    a c and the critic cannot learn (vanishing gradients); too large and it takes long to reach
    its optimum. Weights pile up at ±c, which 04 shows with a histogram.
    """
    if not clip_value > 0:
        raise ValueError(f"clip_value must be > 0, got {clip_value!r}")
    for p in critic.parameters():
        p.clamp_(-clip_value, clip_value)
