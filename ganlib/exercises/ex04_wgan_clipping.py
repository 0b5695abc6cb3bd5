"""Exercises of 04_wgan_clipping: one critic update of Algorithm 1 (the loss, the step, then
the clip), and the bound K(c) that the clip puts on a critic's slope."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable

import torch
from torch import Tensor, nn

from ._check import close, diagnose, exercise, passed, require


def _clip_setup() -> tuple[nn.Module, nn.Module, Tensor, Tensor]:
    """A tiny critic (N, 2) -> (N,) with weights past ±0.1, a tiny G, and a real batch and G's
    fakes (still attached to G's graph)."""
    torch.manual_seed(0)
    critic = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 1), nn.Flatten(0))
    G = nn.Linear(2, 2)
    g = torch.Generator().manual_seed(4)
    with torch.no_grad():
        for p in critic.parameters():
            p.copy_(torch.linspace(-1.0, 1.0, p.numel()).view_as(p))
    real = 2 + torch.randn(16, 2, generator=g)  # (16, 2)
    fake = G(torch.randn(16, 2, generator=g))  # (16, 2), attached to G
    return critic, G, real, fake


def _copy_with_stale_gradients(critic: nn.Module) -> nn.Module:
    """A copy of `critic` holding the gradients a previous step would leave behind (a deep copy
    drops them): a step that does not zero them adds them."""
    critic = copy.deepcopy(critic)
    for p in critic.parameters():
        p.grad = torch.full_like(p, 0.5)
    return critic


def _critic_step(critic: nn.Module, real: Tensor, fake: Tensor, c: float, *, sign: float = 1,
                 zero: bool = True, step: bool = True, clip: str = "after") -> nn.Module:
    """The critic step on a copy, right (the defaults) or with one typical mistake; the copy
    keeps the gradients of its backward()."""
    critic = _copy_with_stale_gradients(critic)
    opt = torch.optim.RMSprop(critic.parameters(), lr=0.05)
    with torch.no_grad():
        if clip == "before":
            for p in critic.parameters():
                p.clamp_(-c, c)
    loss = sign * (critic(fake.detach()).mean() - critic(real).mean())
    if zero:
        opt.zero_grad(set_to_none=True)
    loss.backward()
    if step:
        opt.step()
    with torch.no_grad():
        if clip == "after":
            for p in critic.parameters():
                p.clamp_(-c, c)
    return critic


CLIP_FIRST = ("the weights were clipped before the optimizer step: clip after it, or the step "
              "pushes them past c again")


def _weights(net: nn.Module) -> Tensor:
    return torch.cat([p.detach().flatten() for p in net.parameters()])


@exercise("4.1")
def check_critic_step(fn: Callable[[nn.Module, torch.optim.Optimizer, Tensor, Tensor, float],
                                   float], worked: bool = False) -> None:
    """Exercise 4.1: `fn(critic, opt, real, fake, c)` is one critic update of Algorithm 1: the
    loss E[f(fake)] - E[f(real)] on the detached fakes, one step of `opt`, then every parameter
    clamped to [-c, c]; it returns the loss as a float (what ganlib records as d_loss)."""
    name = "critic step"
    c = 0.1
    critic0, G, real, fake = _clip_setup()
    critic = _copy_with_stale_gradients(critic0)
    opt = torch.optim.RMSprop(critic.parameters(), lr=0.05)
    loss = fn(critic, opt, real, fake, c)
    require(isinstance(loss, (Tensor, float)) and torch.as_tensor(loss).numel() == 1,
            f"{name}: return the critic's loss as one number, got {type(loss).__name__}")
    require(G.weight.grad is None,
            f"{name}: G received a gradient from the critic's loss: use fake.detach(), the "
            "critic's step must not reach G")
    clipped0 = copy.deepcopy(critic0)
    with torch.no_grad():
        for p in clipped0.parameters():
            p.clamp_(-c, c)
        f_real, f_fake = critic0(real), critic0(fake)
        diagnose(name, torch.tensor(float(loss)), f_fake.mean() - f_real.mean(), {
            CLIP_FIRST: clipped0(fake).mean() - clipped0(real).mean(),
            "the sign is flipped: the critic *maximises* E[f(real)] - E[f(fake)], so its loss "
            "is E[f(fake)] - E[f(real)]": f_real.mean() - f_fake.mean(),
            "use means, not sums": f_fake.sum() - f_real.sum(),
            "the critic's scores are raw: no sigmoid": (torch.sigmoid(f_fake).mean()
                                                        - torch.sigmoid(f_real).mean()),
        })
    after = _weights(critic)
    right_critic = _critic_step(critic0, real, fake, c)
    if close(after, _weights(right_critic)):
        passed(name, worked)
        return
    pairs = list(zip(critic.parameters(), right_critic.parameters(), strict=True))
    require(not (all(p.grad is not None for p, _ in pairs)
                 and all(close(p.grad, r.grad.clamp(-c, c)) for p, r in pairs)
                 and not all(close(p.grad, r.grad) for p, r in pairs)),
            f"{name}: the gradients were clipped; WGAN clips the weights themselves, after "
            "the step")
    mistakes = {
        CLIP_FIRST: {"clip": "before"},
        "no weight was clipped: after opt.step(), clamp every parameter to [-c, c] in place "
        "(under torch.no_grad())": {"clip": "none"},
        "the critic climbed its loss: minimise E[f(fake)] - E[f(real)] (backward() of the "
        "loss, not of its negative)": {"sign": -1},
        "the gradients of the previous step were added to this one's: call "
        "opt.zero_grad(set_to_none=True) before backward()": {"zero": False},
        "no optimizer step: call opt.step() after backward(), then clip": {"step": False},
    }
    for mistake, options in mistakes.items():
        require(not close(after, _weights(_critic_step(critic0, real, fake, c, **options))),
                f"{name}: {mistake}")
    outside = (after.abs() > c + 1e-6).sum().item()
    raise AssertionError(f"{name}: the critic's parameters differ from one step and a clip "
                         f"({outside} of {after.numel()} outside [-{c}, {c}])")


def _linear_sizes(critic: nn.Module) -> list[tuple[int, int]]:
    return [(m.in_features, m.out_features) for m in critic.modules()
            if isinstance(m, nn.Linear)]


@exercise("4.2")
def check_slope_bound(fn: Callable[[nn.Module, float], float], worked: bool = False) -> None:
    """Exercise 4.2: `fn(critic, c)` returns K(c), the largest slope ‖∇f(x)‖ that any MLP critic
    with `critic`'s layer sizes can have once every weight is in [-c, c] (ReLU-like activations
    pass slopes of at most 1): the product over its nn.Linear layers of c·√(fan_in·fan_out)."""
    name = "slope bound K(c)"
    torch.manual_seed(0)
    critics = [nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 1), nn.Flatten(0)),
               nn.Sequential(nn.Linear(2, 16), nn.LeakyReLU(0.2), nn.Linear(16, 4),
                             nn.LeakyReLU(0.2), nn.Linear(4, 1), nn.Flatten(0))]
    for critic in critics:
        for c in (0.01, 0.1):
            clipped = copy.deepcopy(critic)
            with torch.no_grad():
                for p in clipped.parameters():
                    p.clamp_(-c, c)
            sizes = _linear_sizes(clipped)
            weights = [m.weight.detach() for m in clipped.modules() if isinstance(m, nn.Linear)]
            answer = fn(clipped, c)
            answer = float(answer.item() if isinstance(answer, Tensor) else answer)
            right = math.prod(c * math.sqrt(i * o) for i, o in sizes)
            wrong = {
                "c·fan_in bounds a layer's slope in the ∞-norm; ‖∇f‖ is a 2-norm, bounded by "
                "the Frobenius norm c·√(fan_in·fan_out)": math.prod(c * i for i, o in sizes),
                "each layer of fan_in × fan_out weights at ±c can stretch by c·√(fan_in·"
                "fan_out), not by c": c ** len(sizes),
                "the Frobenius norm is the square root of the sum of squares: c·√(fan_in·"
                "fan_out), not c·fan_in·fan_out": math.prod(c * i * o for i, o in sizes),
                "the slopes of layers in a chain multiply (chain rule), they do not add":
                    sum(c * math.sqrt(i * o) for i, o in sizes),
                "the biases shift f but do not change its slope: count the weights only":
                    math.prod(c * math.sqrt((i + 1) * o) for i, o in sizes),
                "that is this critic's own spectral norms; K(c) must hold for every critic "
                "clipped at c: take each weight at its worst, ±c":
                    math.prod(float(torch.linalg.matrix_norm(w, 2)) for w in weights),
                "that is this critic's own Frobenius norms; K(c) must hold for every critic "
                "clipped at c: take each weight at its worst, ±c":
                    math.prod(float(w.norm()) for w in weights),
            }
            diagnose(f"{name} at c = {c:g} for layers {sizes}",
                     torch.tensor(answer, dtype=torch.float64),
                     torch.tensor(right, dtype=torch.float64),
                     {m: torch.tensor(v, dtype=torch.float64) for m, v in wrong.items()})
    passed(name, worked)
