"""Exercises of 05_wgan_gp: the zero-centred R1 penalty at the data (the gradient penalty's
sibling), and a critic whose normalisation the per-sample penalty can live with."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from ._check import close, exercise, passed, require


def _penalty_batch(seed: int = 0) -> tuple[nn.Module, Tensor]:
    """A tiny critic (N, 1, 4, 4) -> (N,) and a real batch of 6 such images."""
    torch.manual_seed(seed)
    critic = nn.Sequential(nn.Flatten(), nn.Linear(16, 8), nn.Tanh(), nn.Linear(8, 1),
                           nn.Flatten(0))
    real = torch.randn(6, 1, 4, 4, generator=torch.Generator().manual_seed(seed))
    return critic, real


@exercise("5.1")
def check_r1_penalty(fn: Callable[[nn.Module, Tensor, float], Tensor], worked: bool = False
                     ) -> None:
    """Exercise 5.1: `fn(critic, real, gamma)` returns the R1 penalty of Mescheder et al. 2018,
    γ/2 · mean over the real samples of ‖∇f(x)‖², the squared norm of each sample's own
    gradient, as a scalar the critic's optimizer can differentiate."""
    name = "R1 penalty"
    critic, real = _penalty_batch()
    gamma = 10.0
    penalty = fn(critic, real.clone(), gamma)
    require(isinstance(penalty, Tensor) and penalty.dim() == 0,
            f"{name}: return the penalty as a 0-dim tensor, got {type(penalty).__name__} "
            f"{tuple(getattr(penalty, 'shape', ()))}")

    def grads_at(points: Tensor, of_mean: bool = False) -> Tensor:
        x = points.detach().requires_grad_(True)
        scores = critic(x)
        (g,) = torch.autograd.grad(scores.mean() if of_mean else scores.sum(), x)
        return g  # (N, 1, 4, 4)

    g = grads_at(real)
    norms = g.flatten(1).norm(2, dim=1)  # (N,): one norm per sample
    right = gamma / 2 * (norms**2).mean()
    wrong = {
        "(‖g‖ − 1)² is WGAN-GP's target; R1 pulls the slope at the data to 0: ‖g‖²":
            gamma / 2 * ((norms - 1) ** 2).mean(),
        "the norm is not squared: R1 is γ/2 · mean(‖g‖²)": gamma / 2 * norms.mean(),
        "it sums the squared norms over the batch (one norm of the whole batch's gradient, "
        "squared, is that sum): take the mean over the samples": gamma / 2 * (norms**2).sum(),
        "one norm over the whole batch: take one norm per sample, g.flatten(1).norm(dim=1)":
            gamma / 2 * g.norm(),
        "the factor is γ/2, not γ": gamma * (norms**2).mean(),
        "the sign is flipped: the penalty is added to the critic's loss, so it is positive":
            -right,
        "differentiate scores.sum(), not scores.mean(): the mean divides each sample's "
        "gradient by N": gamma / 2 * (grads_at(real, of_mean=True).flatten(1).norm(dim=1) ** 2)
        .mean(),
    }
    if not close(penalty, right):
        for mistake, value in wrong.items():
            require(not close(penalty, value), f"{name}: {mistake}")
        raise AssertionError(f"{name}: expected {right.item():.4f}, got {penalty.item():.4f}: "
                             "γ/2 · mean of ‖∇f(x_i)‖² over the real samples x_i")
    require(penalty.requires_grad,
            f"{name}: the penalty does not depend on the critic's weights: call "
            "torch.autograd.grad(..., create_graph=True) so the optimizer can differentiate "
            "through the gradient")
    (weight_grad,) = torch.autograd.grad(penalty, next(critic.parameters()))
    require(bool(weight_grad.abs().sum() > 0),
            f"{name}: the penalty gives the critic's weights no gradient")
    passed(name, worked)


@exercise("5.2")
def check_penalised_critic(make_critic: nn.Module | Callable[[], nn.Module],
                           worked: bool = False) -> None:
    """Exercise 5.2: `make_critic()` (or a critic itself) maps (N, 1, 32, 32) to (N,), and in
    training mode each sample's score depends on that sample alone (what the per-sample
    penalty assumes)."""
    name = "penalised critic"
    critic = make_critic if isinstance(make_critic, nn.Module) else make_critic()
    critic.train()
    x = torch.randn(4, 1, 32, 32, generator=torch.Generator().manual_seed(0))
    x.requires_grad_(True)
    scores = critic(x)
    require(scores.shape == (4,),
            f"{name}: the critic must map (N, 1, 32, 32) to (N,), got {tuple(scores.shape)}")
    (g,) = torch.autograd.grad(scores[0], x)
    has_bn = any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in critic.modules())
    leak = g[1:].abs().max().item()
    require(not has_bn and leak == 0.0,
            f"{name}: the critic's score of sample 0 depends on the other samples of the batch "
            f"(max |∂f(x_0)/∂x_j| = {leak:.1e})"
            + (": BatchNorm normalises with the batch's statistics" if has_bn else "")
            + "; the penalty constrains each sample's own gradient, so use LayerNorm "
            "(norm='layer'), InstanceNorm or none")
    passed(name, worked)
