"""What the networks feel: gradient norms, the critic over the plane, and G's pull on its fakes.

Every function takes the nets and the tensors to measure them on, and returns tensors or
numpy arrays that `ganlib.plotting` draws.

- 01_mode_collapse: `generator_field`, the critic's value over the plane and where G's loss
  pulls each fake point (GAN Lab's picture).
- 02_bce_gan: `generator_grad_norms`, how hard each generator loss pushes G's weights.
- 04_wgan_clipping: `critic_weights`, to see the clipped weights pile up at ±c;
  `critic_panel`, what `CriticPanel` draws.
- 05_wgan_gp: `interpolate_grad_norms`, the critic's slope ‖∇f(x̂)‖ the penalty pulls towards 1.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from . import losses
from .models import eval_mode

__all__ = ["generator_grad_norms", "critic_weights", "interpolate_grad_norms", "critic_values",
           "critic_panel", "generator_field"]


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


def interpolate_grad_norms(critic: torch.nn.Module, real: Tensor, fake: Tensor,
                           generator: torch.Generator | None = None) -> Tensor:
    """‖∇f(x̂)‖ at x̂ = α real[i] + (1 - α) fake[i], one random α per pair, as (N,) on CPU.

    Taught in 05_wgan_gp (Gulrajani et al. 2017, Figure 1): a penalised critic's norms gather
    near 1. The interpolates are the gradient penalty's (`ganlib.losses.gradient_penalty`);
    `generator` draws the α. `real` and `fake` are moved to the critic's device.
    """
    device = next(critic.parameters()).device
    _, norms = losses.gradient_penalty(critic, real.to(device), fake.to(device), 1.0,
                                       generator=generator)
    return norms.detach().cpu()


def _plane(lim: float, n: int) -> tuple[Tensor, Tensor]:
    """An n x n grid over [-lim, lim]²: the axis xs (n,) and the points (n * n, 2), row by row."""
    xs = torch.linspace(-lim, lim, n)
    return xs, torch.stack(torch.meshgrid(xs, xs, indexing="xy"), dim=-1).reshape(-1, 2)


def critic_values(critic: torch.nn.Module, lim: float = 1.6, n: int = 120
                  ) -> tuple[Tensor, Tensor]:
    """The critic's value f(x) over the plane (2-D toys), in eval mode, without autograd.

    Returns the axis xs (n,) and the values (n, n) on CPU, row i at y = xs[i]; what
    `ganlib.plotting.critic_landscape` draws.
    """
    xs, grid = _plane(lim, n)
    device = next(critic.parameters()).device
    with eval_mode(critic):  # also without autograd
        values = critic(grid.to(device)).float().cpu().reshape(n, n)
    return xs, values


def critic_panel(critic: torch.nn.Module, real: Tensor, fake: Tensor,
                 clip_value: float | None = None, lim: float = 1.6, n: int = 120,
                 generator: torch.Generator | None = None) -> dict[str, Any]:
    """What `ganlib.plotting.critic_panel_figure` draws of a toy WGAN's critic.

    Taught in 04_wgan_clipping and 05_wgan_gp. A clipped critic (`clip_value` given) shows its
    weights, which pile up at ±c; a penalised one (`clip_value=None`) its slope at the
    interpolates between `real` and `fake`.

    Args:
        critic: the critic, (N, 2) -> (N,) scores.
        real, fake: (N, 2) points drawn on the landscape (and mixed for the slope).
        clip_value: the clip c of a clipped critic, or None for a penalised one.
        lim, n: the critic's value is computed on an n x n grid over [-lim, lim]².
        generator: draws the interpolates' α (penalised critics only).
    Returns:
        {"xs": (n,), "value": (n, n), "real": (N, 2), "fake": (N, 2), "clip_value"} tensors
        on CPU, with "weights" (clip) or "norms" (penalty).
    """
    xs, value = critic_values(critic, lim, n)
    panel = {"xs": xs, "value": value, "real": real.detach().cpu(),
             "fake": fake.detach().cpu(), "clip_value": clip_value}
    if clip_value is not None:
        panel["weights"] = critic_weights(critic)
    else:
        panel["norms"] = interpolate_grad_norms(critic, real, fake, generator)
    return panel


def generator_field(critic, fake: Tensor, loss: str = "bce", lim: float = 1.6,
                    n: int = 60) -> dict:
    """What G sees at one moment of training: the critic's value over the plane and, at each
    fake point, the direction the generator's loss pushes it (2-D toys).

    Taught in 01_mode_collapse (GAN Lab's picture, Kahng et al. 2018). For loss='bce' the value
    is D(x) = sigmoid(logit) and G's loss is the non-saturating -log D(G(z)); for
    loss='wasserstein' the value is the raw score f(x) and G's loss is -f(G(z)). The arrows are
    minus the gradient of G's loss with respect to each fake point: the pull G's weights follow.

    Args:
        critic: the discriminator or critic, (N, 2) -> (N,) scores.
        fake: (M, 2) generated points.
        loss: 'bce' or 'wasserstein'.
        lim, n: the value is computed on an n x n grid over [-lim, lim]².
    Returns:
        {"xs": (n,), "value": (n, n), "fake": (M, 2), "pull": (M, 2)} numpy arrays, with
        "pull_norm" (the mean ‖pull‖) and "label" ('D(x)' or 'f(x)').
    """
    if loss not in ("bce", "wasserstein"):
        raise ValueError(f"loss must be 'bce' or 'wasserstein', got {loss!r}")
    device = next(critic.parameters()).device
    xs, grid = _plane(lim, n)
    with torch.no_grad():
        scores = critic(grid.to(device)).float().cpu()
    value = torch.sigmoid(scores) if loss == "bce" else scores
    x = fake.detach().float().to(device).requires_grad_(True)  # (M, 2)
    s = critic(x)  # (M,)
    # per-point losses summed, so each point's gradient is its own loss's gradient
    g_loss = torch.nn.functional.softplus(-s).sum() if loss == "bce" else -s.sum()
    (grad,) = torch.autograd.grad(g_loss, x)
    pull = -grad.cpu()  # (M, 2): downhill on G's loss
    return {"xs": xs.numpy(), "value": value.reshape(n, n).numpy(),
            "fake": fake.detach().float().cpu().numpy(), "pull": pull.numpy(),
            "pull_norm": float(pull.norm(dim=1).mean()),
            "label": "D(x)" if loss == "bce" else "f(x)"}
