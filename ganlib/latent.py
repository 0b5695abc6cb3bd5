"""Walking the latent space: fixed noise from a seed, and straight or spherical paths.

Taught in 03_dcgan (and 06_conditional_wgan, where z stays fixed while the class changes).
A smooth walk from z0 to z1 that gives smoothly changing images is Radford et al.'s evidence
that the generator learned a space of digits rather than memorising training images.
"""

from __future__ import annotations

import torch
from torch import Tensor


def noise_from_seed(seed: int, z_dim: int, n: int = 1) -> Tensor:
    """(n, z_dim) standard normal noise that is the same for the same seed, everywhere."""
    return torch.randn(n, z_dim, generator=torch.Generator().manual_seed(int(seed)))


def lerp(z0: Tensor, z1: Tensor, t: float) -> Tensor:
    """The straight line (1 - t) z0 + t z1."""
    return (1 - t) * z0 + t * z1


def slerp(z0: Tensor, z1: Tensor, t: float) -> Tensor:
    """Spherical interpolation along the great circle from z0 to z1 (White 2016).

    In high dimensions almost all of N(0, I)'s mass lies near the sphere of radius sqrt(d),
    and the midpoint of a straight line falls inside it, where G has seen almost no noise.
    slerp keeps the norm near sqrt(d) all the way. Falls back to lerp for (anti)parallel z.
    """
    a, b = z0.flatten(1), z1.flatten(1)
    cos = (a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1)).clamp_min(1e-12)
    omega = torch.arccos(cos.clamp(-1.0, 1.0)).unsqueeze(1)  # (n, 1) angle between them
    so = torch.sin(omega)
    safe = so.abs() > 1e-6
    so = torch.where(safe, so, torch.ones_like(so))
    out = (torch.sin((1 - t) * omega) / so) * a + (torch.sin(t * omega) / so) * b
    out = torch.where(safe, out, lerp(a, b, t))
    return out.view_as(z0)


def interpolate(z0: Tensor, z1: Tensor, t: float, mode: str = "spherical") -> Tensor:
    if mode in ("linear", "lerp"):
        return lerp(z0, z1, t)
    if mode in ("spherical", "slerp"):
        return slerp(z0, z1, t)
    raise ValueError(f"unknown interpolation {mode!r}; choose linear or spherical")


def latent_path(z0: Tensor, z1: Tensor, n: int = 8, mode: str = "spherical") -> Tensor:
    """n points from z0 to z1 (both ends included): (1, z_dim) x2 -> (n, z_dim)."""
    if n < 2:
        raise ValueError(f"a path needs n >= 2 points, got {n}")
    return torch.cat([interpolate(z0, z1, float(t), mode) for t in torch.linspace(0, 1, n)])


def class_sweep(G, z: Tensor, classes: list[int] | None = None) -> Tensor:
    """The same noise drawn as every class: z (n, z_dim) -> (K, n, C, H, W) on the CPU.

    Taught in 06_conditional_wgan. Row k is G(z, k) for all n noise vectors, so a row shows one
    class in n styles and a column shows one style (slant, stroke width) in every class: once
    the label says *which* digit, what is left for z to say is *how* it is written.
    """
    if getattr(G, "n_classes", None) is None:
        raise ValueError("class_sweep needs a conditional generator (G.n_classes is None); "
                         "train model='cwgan-gp' or use G.sample for an unconditional G")
    classes = list(range(G.n_classes)) if classes is None else [int(k) for k in classes]
    n = z.shape[0]
    labels = torch.tensor(classes).repeat_interleave(n)  # (K*n,): 0,0,..,0,1,1,..
    images = G.sample(z=z.repeat(len(classes), 1), labels=labels)  # (K*n, C, H, W)
    return images.view(len(classes), n, *images.shape[1:])


def walk_strip(G, seed_a: int, seed_b: int, steps: int = 9, n: int = 1,
               mode: str = "spherical", label: int | None = None) -> Tensor:
    """n walks from seed_a's noise to seed_b's at `steps` evenly spaced t: (n, steps, C, H, W).

    Taught in 03_dcgan: the static picture of the latent-walk widget. Row i is the widget's
    i-th image (`ganlib.widgets.walk_images` with the same seeds and mode) at t = 0, ..., 1,
    so an executed notebook shows the walk without a live kernel. Draw it with
    `ganlib.plotting.class_rows_figure`.
    """
    if steps < 2:
        raise ValueError(f"a walk needs steps >= 2 points, got {steps}")
    z0, z1 = noise_from_seed(seed_a, G.z_dim, n), noise_from_seed(seed_b, G.z_dim, n)
    z = torch.stack([interpolate(z0, z1, float(t), mode)
                     for t in torch.linspace(0, 1, steps)], dim=1)  # (n, steps, z_dim)
    labels = None
    if getattr(G, "n_classes", None) is not None:
        labels = torch.full((n * steps,), int(label or 0))
    images = G.sample(z=z.reshape(n * steps, -1), labels=labels)  # (n*steps, C, H, W)
    return images.view(n, steps, *images.shape[1:])
