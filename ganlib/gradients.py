"""What the networks feel: gradient norms of G and of the critic, and the critic's weights.

- 02_bce_gan: `generator_grad_norms`, how hard each generator loss pushes G's weights.
- 04_wgan_clipping: `critic_weights`, to see the clipped weights pile up at ±c.
- 05_wgan_gp: `interpolate_grad_norms`, the critic's slope ‖∇f(x̂)‖ the penalty pulls towards 1.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from . import losses
from .data import load

if TYPE_CHECKING:
    from .run import Run

__all__ = ["generator_grad_norms", "critic_weights", "interpolate_grad_norms"]


def generator_grad_norms(G: Any, critic: Any, z: torch.Tensor) -> dict[str, float]:
    """How hard each generator loss pushes G's weights, for one batch of noise `z`.

    Taught in 02_bce_gan. Backpropagates `ganlib.losses.g_loss_minimax` and
    `g_loss_nonsaturating` of `critic(G(z))` into G and returns the norm of the gradient over
    all of G's parameters for each, with the mean D(G(z)) = sigmoid(logit) of the batch. When D
    rejects the fakes (D(G(z)) ≈ 0) the minimax norm is smaller by a factor of about
    1 / D(G(z)). Leaves no gradients behind on G or the critic.

    Args:
        G: a generator, z (N, z_dim) -> fakes.
        critic: the discriminator, fakes -> (N,) logits.
        z: (N, z_dim) noise.
    Returns:
        {"minimax": float, "nonsaturating": float, "d_fake": float}.
    """
    params = [p for p in G.parameters() if p.requires_grad]
    out: dict[str, float] = {}
    for name, fn in (("minimax", losses.g_loss_minimax),
                     ("nonsaturating", losses.g_loss_nonsaturating)):
        logits = critic(G(z))  # (N,)
        grads = torch.autograd.grad(fn(logits), params, allow_unused=True)
        out[name] = float(torch.sqrt(sum((g.detach() ** 2).sum() for g in grads
                                         if g is not None)))
    with torch.no_grad():
        out["d_fake"] = float(torch.sigmoid(critic(G(z))).mean())
    return out


def critic_weights(critic: torch.nn.Module) -> Tensor:
    """All critic weights (not biases) as one flat tensor, for the ±c histogram.

    Taught in 04_wgan_clipping.
    """
    return torch.cat([p.detach().flatten().cpu() for n, p in critic.named_parameters()
                      if n.endswith("weight")])


def interpolate_grad_norms(run: Run, n: int = 512) -> Tensor:
    """‖∇f(x̂)‖ at n random interpolates between real and generated samples, as (n,).

    Taught in 05_wgan_gp (Gulrajani et al. 2017, Figure 1): a penalised critic's norms gather
    near 1. Seeded, so every call draws the same real points, noise and mixing weights.
    """
    data = load(run.config.data)
    g = torch.Generator().manual_seed(123)
    real, _ = data.sample(n, generator=g)
    fake = run.G.sample(n, generator=g)
    _, norms = losses.gradient_penalty(run.critic, real.to(run.device), fake.to(run.device), 1.0,
                                       generator=g)
    return norms.detach().cpu()
