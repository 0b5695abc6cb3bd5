"""Distances between two distributions: Jensen-Shannon, and the earth mover's distance (W1).

The library computes them with scipy; the notebooks write the formulas out for teaching.

- 01_mode_collapse: `js_divergence`, `emd_1d`, `shifted_pair` and `shift_divergences` show why
  the Jensen-Shannon divergence gives no gradient where the earth mover's distance does.
- 04_wgan_clipping: `empirical_w1`, the exact W1 between two point clouds, to check the critic's
  estimate against.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import jensenshannon
from scipy.stats import wasserstein_distance
from torch import Tensor

__all__ = ["js_divergence", "emd_1d", "shifted_pair", "shift_divergences", "empirical_w1"]


def _as_distribution(p, name: str) -> np.ndarray:
    p = np.asarray(p, dtype=np.float64)
    if p.ndim != 1 or len(p) == 0 or (p < 0).any() or not p.sum() > 0:
        raise ValueError(f"{name} must be a 1-D histogram of non-negative weights with a "
                         f"positive sum, got shape {p.shape}")
    p = p / p.sum()
    # half of a subnormal weight rounds to 0, and KL(p || m) would then be infinite
    return np.where(p < np.finfo(np.float64).tiny, 0.0, p)


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
    # scipy returns the Jensen-Shannon *distance*, the square root of the divergence
    return min(float(jensenshannon(p, q)) ** 2, math.log(2))


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
    return float(wasserstein_distance(x, x, u_weights=p, v_weights=q))


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


def empirical_w1(a: Tensor, b: Tensor) -> float:
    """The exact earth mover's distance W1 between two equal-size point clouds (n, d).

    Taught in 04_wgan_clipping. Between two sets of n points with equal weights, the optimal
    transport plan is a one-to-one matching, so W1 is the mean distance of the cheapest
    matching (the Hungarian algorithm, `scipy.optimize.linear_sum_assignment`). It needs no
    critic, so it checks the critic's estimate: with clipping, E[f(real)] - E[f(fake)] is W1
    times an unknown Lipschitz constant that depends on c. O(n^3): keep n to a few hundred.
    """
    # scipy.stats.wasserstein_distance_nd gives the same number, but as a linear program over
    # all n² pairs it is far slower than the matching for the few hundred points used here
    a, b = torch.as_tensor(a).detach().double().cpu(), torch.as_tensor(b).detach().double().cpu()
    if a.dim() != 2 or a.shape != b.shape:
        raise ValueError(f"empirical_w1 needs two (n, d) point sets of the same shape, got "
                         f"{tuple(a.shape)} and {tuple(b.shape)}; sample the same n from each")
    cost = torch.cdist(a, b).numpy()  # (n, n) pairwise distances
    rows, cols = linear_sum_assignment(cost)
    return float(cost[rows, cols].mean())
