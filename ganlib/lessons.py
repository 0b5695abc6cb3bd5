"""Small pure functions that two lessons compute and plot: divergences, loss curves, coverage.

- 01_mode_collapse: `js_divergence`, `emd_1d` and `shift_divergences` (why the Jensen-Shannon
  divergence gives no gradient where the earth mover's distance does); `CoverageRecorder` (a
  training callback that records modes captured over training) with `coverage_figure` and
  `coverage_strip` to draw what it recorded.
- 02_bce_gan: `generator_loss_curves` (the minimax and non-saturating generator losses and
  their gradients against D(G(z))) and `generator_grad_norms` (the same, felt by a real G).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure

from . import losses, plotting
from .metrics import mode_coverage

__all__ = ["js_divergence", "emd_1d", "shifted_pair", "shift_divergences",
           "generator_loss_curves", "generator_grad_norms", "CoverageRecorder",
           "coverage_figure", "coverage_strip"]


# ------------------------------------------------------------------------------------------------
# 01: Jensen-Shannon vs earth mover's distance
# ------------------------------------------------------------------------------------------------


def _as_distribution(p, name: str) -> np.ndarray:
    p = np.asarray(p, dtype=np.float64)
    if p.ndim != 1 or len(p) == 0 or (p < 0).any() or not p.sum() > 0:
        raise ValueError(f"{name} must be a 1-D histogram of non-negative weights with a "
                         f"positive sum, got shape {p.shape}")
    return p / p.sum()


def js_divergence(p, q) -> float:
    """Jensen-Shannon divergence (nats) between two histograms on the same bins.

    Taught in 01_mode_collapse. JS(p, q) = ½ KL(p ‖ m) + ½ KL(q ‖ m) with m = ½ (p + q). It is
    0 for equal histograms and exactly log 2 for histograms that share no bin, however far
    apart those bins are: that flatness is what starves a GAN generator of gradient.

    Args:
        p, q: (K,) non-negative weights (normalised here).
    Returns:
        JS in [0, log 2].
    """
    p, q = _as_distribution(p, "p"), _as_distribution(q, "q")
    if p.shape != q.shape:
        raise ValueError(f"p and q need the same bins, got {p.shape} and {q.shape}")
    m = 0.5 * (p + q)

    def kl(a: np.ndarray) -> float:
        ok = (a > 0) & (m > 0)  # 0 log 0 = 0 (m can underflow to 0 beside denormal a)
        return float((a[ok] * np.log(np.minimum(a[ok] / m[ok], 2.0))).sum())  # a/m <= 2

    return min(max(0.5 * kl(p) + 0.5 * kl(q), 0.0), math.log(2))


def emd_1d(p, q, x) -> float:
    """Earth mover's (Wasserstein-1) distance between two histograms on sorted 1-D points x.

    Taught in 01_mode_collapse. In one dimension the cheapest way to move p onto q costs
    ∫ |F_p(t) - F_q(t)| dt, the area between the two cumulative distribution functions.

    Args:
        p, q: (K,) non-negative weights at the points x (normalised here).
        x: (K,) increasing positions.
    Returns:
        The distance, in the units of x.
    """
    p, q = _as_distribution(p, "p"), _as_distribution(q, "q")
    x = np.asarray(x, dtype=np.float64)
    if not (p.shape == q.shape == x.shape):
        raise ValueError(f"p, q and x need the same length, got {p.shape}, {q.shape}, {x.shape}")
    if (np.diff(x) <= 0).any():
        raise ValueError("x must be strictly increasing")
    gap = np.abs(np.cumsum(p) - np.cumsum(q))[:-1]  # |F_p - F_q| between x[i] and x[i+1]
    return float((gap * np.diff(x)).sum())


def shifted_pair(theta: float, x, sigma: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Two histograms on the grid x: P_0 centred at 0 and P_θ, the same shape shifted by θ.

    Taught in 01_mode_collapse (Arjovsky et al. 2017, Example 1). sigma = 0 puts all the mass
    on the grid point nearest the centre (the paper's distributions on parallel lines);
    sigma > 0 uses Gaussian bumps of that width.
    """
    x = np.asarray(x, dtype=np.float64)

    def bump(centre: float) -> np.ndarray:
        if sigma > 0:
            w = np.exp(-0.5 * ((x - centre) / sigma) ** 2)
            if w.sum() > 0:
                return w / w.sum()
        w = np.zeros_like(x)
        w[np.abs(x - centre).argmin()] = 1.0
        return w

    return bump(0.0), bump(theta)


def shift_divergences(thetas, sigma: float = 0.0, half_width: float = 3.0,
                      n: int = 2001) -> dict[str, np.ndarray]:
    """JS and EMD between P_0 and P_θ for each θ, computed numerically on a grid.

    Taught in 01_mode_collapse. For point masses (sigma = 0) the answer is known: JS = log 2
    for every θ ≠ 0 (flat: no gradient telling P_θ which way to move) while EMD = |θ| (a slope
    of ±1 everywhere). Narrow bumps (sigma > 0) give the same picture once |θ| exceeds a few σ.

    Args:
        thetas: (T,) shifts; keep |θ| + 4σ within half_width so both bumps fit the grid.
        sigma: width of the bumps (0: point masses).
        half_width: the grid spans [-half_width, half_width] ...
        n: ... with n points.
    Returns:
        {"theta": (T,), "js": (T,), "emd": (T,)} arrays.
    """
    thetas = np.asarray(thetas, dtype=np.float64).reshape(-1)
    if (np.abs(thetas) + 4 * sigma > half_width).any():
        raise ValueError(f"every |θ| + 4σ must be <= half_width={half_width} so both bumps fit "
                         f"on the grid; raise half_width or shrink the θ range")
    x = np.linspace(-half_width, half_width, n)
    js, emd = [], []
    for theta in thetas:
        p, q = shifted_pair(theta, x, sigma)
        js.append(js_divergence(p, q))
        emd.append(emd_1d(p, q, x))
    return {"theta": thetas, "js": np.array(js), "emd": np.array(emd)}


# ------------------------------------------------------------------------------------------------
# 02: the generator's two losses
# ------------------------------------------------------------------------------------------------


def generator_loss_curves(logits) -> dict[str, np.ndarray]:
    """Each generator loss, and its gradient with respect to the logit, for every logit.

    Taught in 02_bce_gan. Computed with `ganlib.losses` and autograd, one fake sample at a
    time, so the curves are the library's losses and not a re-derivation. With D = sigmoid(l):
    the minimax loss log(1 - D) has slope -D (vanishing where D rejects the fake, D → 0) and the
    non-saturating loss -log D has slope -(1 - D) (close to -1 there).

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
        for name, fn in (("minimax", losses.g_loss_minimax),
                         ("nonsaturating", losses.g_loss_nonsaturating)):
            l = value.clone().reshape(1).requires_grad_(True)  # one fake sample's logit
            loss = fn(l)
            (grad,) = torch.autograd.grad(loss, l)
            out[name].append(loss.item())
            out[f"grad_{name}"].append(grad.item())
    result = {k: np.array(v) for k, v in out.items()}
    result["logit"] = logits.numpy()
    result["d_fake"] = torch.sigmoid(logits).numpy()
    return result


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


# ------------------------------------------------------------------------------------------------
# 01: modes captured over training
# ------------------------------------------------------------------------------------------------


class CoverageRecorder:
    """A `ganlib.train` callback that scores a 2-D generator every `every` steps.

    Taught in 01_mode_collapse. Each record draws `n` points from a fresh generator seeded with
    `seed` (the same noise every time, so changes come from G, not from sampling) and keeps
    `ganlib.metrics.mode_coverage` (modes captured, high quality, reverse KL) and the points, for
    scatter plots over time. It never stops training (returns None).

        rec = CoverageRecorder(data, every=50)
        run = ganlib.train(config, data, callback=rec)
        rec.steps, rec.modes_captured          # the modes-captured curve
    """

    def __init__(self, data: Any, every: int = 50, n: int = 2500, seed: int = 0,
                 keep_points: bool = True):
        if every < 1 or n < 1:
            raise ValueError(f"every and n must be >= 1, got every={every}, n={n}")
        self.data, self.every, self.n, self.seed = data, every, n, seed
        self.keep_points = keep_points
        self.steps: list[int] = []
        self.modes_captured: list[int] = []
        self.high_quality: list[float] = []
        self.reverse_kl: list[float] = []
        self.points: list[tuple[int, torch.Tensor]] = []  # (step, (n, 2) samples)

    def record(self, G: Any, step: int) -> dict:
        """Score G now and append the numbers (also usable before training, at step 0)."""
        generator = torch.Generator().manual_seed(self.seed)
        points = G.sample(self.n, generator=generator)  # (n, 2)
        m = mode_coverage(points, self.data.modes, self.data.sigma)
        self.steps.append(int(step))
        self.modes_captured.append(m["modes_captured"])
        self.high_quality.append(m["high_quality"])
        self.reverse_kl.append(m["reverse_kl"])
        if self.keep_points:
            self.points.append((int(step), points))
        return m

    def __call__(self, run: Any) -> None:
        if run.step % self.every == 0:
            self.record(run.G, run.step)
        return None

    def mean_modes(self, last: float = 0.5) -> float:
        """Average modes captured over the last `last` share of the records (a steadier number
        than the final value for a generator that hops between modes)."""
        if not self.modes_captured:
            raise ValueError("nothing recorded yet; pass the recorder as callback to train()")
        k = max(1, math.ceil(last * len(self.modes_captured)))
        return float(np.mean(self.modes_captured[-k:]))



def coverage_figure(recorders: dict[str, CoverageRecorder], n_modes: int,
                    title: str | None = None) -> Figure:
    """Modes captured (left) and the high-quality share (right) over training, one line per run.

    Taught in 01_mode_collapse: a collapsing generator's curve stays low or jumps up and down
    as it hops between modes; a generator that spreads out climbs to `n_modes` and stays there.
    """
    fig = Figure(figsize=(9, 3.2))
    left, right = fig.subplots(1, 2)
    for name, rec in recorders.items():
        left.plot(rec.steps, rec.modes_captured, marker=".", label=name)
        right.plot(rec.steps, [100 * h for h in rec.high_quality], marker=".", label=name)
    left.axhline(n_modes, color="gray", ls="--", lw=1)
    left.set_ylim(0, n_modes + 1)
    left.set_ylabel("modes captured")
    right.set_ylim(0, 100)
    right.set_ylabel("high-quality samples (%)")
    for ax in (left, right):
        ax.set_xlabel("generator step")
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def coverage_strip(snapshots: list[tuple[int, torch.Tensor]], recorder: CoverageRecorder,
                   modes: torch.Tensor, k: int = 6, size: float = 2.2) -> Figure:
    """`k` evenly spaced fixed-noise scatters over training, each titled with its modes captured.

    Taught in 01_mode_collapse. `snapshots` is a run's `(step, (n, 2) points)` list; a panel's
    score is the recorder's at the same step (blank where it recorded nothing, e.g. step 0).
    """
    if not snapshots:
        raise ValueError("no snapshots to draw; train for at least one step")
    idx = np.unique(np.linspace(0, len(snapshots) - 1, min(k, len(snapshots))).round()
                    .astype(int))
    picked = [snapshots[i] for i in idx]
    score = dict(zip(recorder.steps, recorder.modes_captured, strict=True))
    n_modes = len(modes)
    labels = [f"{score[s]}/{n_modes} modes" if s in score else "" for s, _ in picked]
    return plotting.snapshots_strip(picked, n=len(picked), modes=modes, size=size,
                                    values=labels)
