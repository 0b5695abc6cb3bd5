"""Quick WGANs on a 2-D toy and the picture of their critic. Taught in 04 and 05.

The sliders in 04_wgan_clipping (clip value, n_critic) and 05_wgan_gp (λ, n_critic) retrain
one of these in seconds and redraw `critic_panel_figure`: the critic's value landscape, the
Wasserstein estimate over training, and either the critic's weights piling up at ±c (clipping)
or the gradient norms at the interpolates gathering near 1 (penalty).
"""

from __future__ import annotations

import numpy as np
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


def empirical_w1(a: Tensor, b: Tensor) -> float:
    """The exact earth mover's distance W1 between two equal-size point clouds (n, d).

    Taught in 04_wgan_clipping. Between two sets of n points with equal weights, the optimal
    transport plan is a one-to-one matching, so W1 is the mean distance of the cheapest
    matching (the Hungarian algorithm, `scipy.optimize.linear_sum_assignment`). It needs no
    critic, so it checks the critic's estimate: with clipping, E[f(real)] - E[f(fake)] is W1
    times an unknown Lipschitz constant that depends on c. O(n^3): keep n to a few hundred.
    """
    from scipy.optimize import linear_sum_assignment

    a, b = torch.as_tensor(a).detach().double().cpu(), torch.as_tensor(b).detach().double().cpu()
    if a.dim() != 2 or a.shape != b.shape:
        raise ValueError(f"empirical_w1 needs two (n, d) point sets of the same shape, got "
                         f"{tuple(a.shape)} and {tuple(b.shape)}; sample the same n from each")
    cost = torch.cdist(a, b).numpy()  # (n, n) pairwise distances
    rows, cols = linear_sum_assignment(cost)
    return float(cost[rows, cols].mean())


def sweep_figure(values: list[float], results: list[dict], keys: tuple[str, ...],
                 samples: list[Tensor] | None = None, modes: Tensor | None = None,
                 knob: str = "clip value c", title: str | None = None,
                 log_keys: tuple[str, ...] = ()) -> Figure:
    """A knob sweep at a glance: each run's samples on top, each metric against the knob below.

    Taught in 04_wgan_clipping (the clip value) and usable for 05's λ. `results[i][key]` is
    the metric `key` of the run with knob value `values[i]`; the knob axis is logarithmic, and
    so is the value axis of the metrics named in `log_keys` (those spanning decades).
    """
    if len(values) != len(results) or (samples is not None and len(samples) != len(values)):
        raise ValueError(f"need one result (and one sample set) per knob value: got "
                         f"{len(values)} values, {len(results)} results"
                         + ("" if samples is None else f", {len(samples)} sample sets"))
    missing = [k for k in keys if any(k not in r for r in results)]
    if missing:
        raise ValueError(f"the results lack the keys {missing}; each dict needs {list(keys)}")
    n = len(values)
    fig = Figure(figsize=(max(2.0 * n, 3.2 * len(keys)), 5.6 if samples is not None else 3.0),
                 layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[1, 1.1]) if samples is not None else (
        None, fig)
    if samples is not None:
        for ax, v, x in zip(np.atleast_1d(top.subplots(1, n)), values, samples, strict=True):
            plotting._draw(ax, x, modes)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"{knob.split()[-1]}={v:g}", fontsize=9)
    for ax, key in zip(np.atleast_1d(bottom.subplots(1, len(keys))), keys, strict=True):
        ax.plot(values, [float(r[key]) for r in results], "o-")
        ax.set_xscale("log")
        if key in log_keys:
            ax.set_yscale("log")
        ax.set_xlabel(knob)
        ax.set_title(key, fontsize=10)
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    return fig
