"""Quick WGANs on a 2-D toy and the picture of their critic. Taught in 04 and 05.

The sliders in 04_wgan_clipping (clip value, n_critic) and 05_wgan_gp (λ, n_critic) retrain
one of these in seconds and redraw `critic_panel_figure`: the critic's value landscape, the
Wasserstein estimate over training, and either the critic's weights piling up at ±c (clipping)
or the gradient norms at the interpolates gathering near 1 (penalty).
"""

from __future__ import annotations

import torch
from matplotlib.figure import Figure
from torch import Tensor

from . import losses, plotting
from .config import preset
from .data import load
from .train import Run, train


def quick_toy_wgan(clip_value: float | None = 0.01, gp_lambda: float = 0.0, n_critic: int = 5,
                   data: str = "ring8", steps: int = 300, width: int = 64, seed: int = 0,
                   **overrides) -> Run:
    """A small WGAN on a 2-D toy, clipped (clip_value) or penalised (gp_lambda), in seconds."""
    if clip_value is not None and gp_lambda > 0:
        base = preset("wgan-gp", data)
    else:
        base = preset("wgan" if clip_value is not None else "wgan-gp", data)
    config = base.replace(clip_value=clip_value, gp_lambda=gp_lambda, n_critic=n_critic,
                          steps=steps, width=width, seed=seed, device="cpu", **overrides)
    return train(config, load(data), progress=False)


def critic_weights(critic: torch.nn.Module) -> Tensor:
    """All critic weights (not biases) as one flat tensor, for the ±c histogram."""
    return torch.cat([p.detach().flatten().cpu() for n, p in critic.named_parameters()
                      if n.endswith("weight")])


def interpolate_grad_norms(run: Run, n: int = 512) -> Tensor:
    """‖∇f(x̂)‖ at n random interpolates between real and generated samples (05's Figure 1)."""
    data = load(run.config.data)
    g = torch.Generator().manual_seed(123)
    real, _ = data.sample(n, generator=g)
    fake = run.G.sample(n, generator=g)
    _, norms = losses.gradient_penalty(run.critic.cpu(), real, fake, 1.0, generator=g)
    return norms.detach()


def critic_panel_figure(run: Run, title: str | None = None) -> Figure:
    """Landscape | Wasserstein estimate | weights at ±c (clip) or gradient norms (penalty)."""
    cfg = run.config
    data = load(cfg.data)
    fig = Figure(figsize=(13, 3.6))
    a1, a2, a3 = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1.2, 1, 1]})
    lim = float(data.modes.abs().max()) * 1.6
    real, _ = data.sample(400, generator=torch.Generator().manual_seed(0))
    plotting.critic_landscape(run.critic, lim=lim, points=run.G.sample(400), real=real,
                              ax=a1, title="critic value f(x)")
    plotting.loss_curves(run.history, keys=("wasserstein",), window=25, ax=a2,
                         title="Wasserstein estimate E[f(real)] - E[f(fake)]")
    if cfg.clip_value is not None:
        c = cfg.clip_value
        at = run.history["w_at_clip"][-1]
        plotting.histogram(critic_weights(run.critic), ax=a3, marks=(-c, c),
                           title=f"critic weights ({at:.0%} at ±c)", xlabel="weight")
    else:
        norms = interpolate_grad_norms(run)
        plotting.histogram(norms, ax=a3, marks=(1.0,), xlabel="‖∇f(x̂)‖",
                           title=f"gradient norms at interpolates (mean {norms.mean():.2f})")
    knobs = (f"clip c={cfg.clip_value:g}" if cfg.clip_value is not None
             else f"λ={cfg.gp_lambda:g}")
    fig.suptitle(title or f"{knobs}, n_critic={cfg.n_critic}, {run.step} steps on {cfg.data}")
    fig.tight_layout()
    return fig
