"""Numbers that say how good a generator is: mode coverage, Fréchet distance, judge statistics.

Every function here is pure (tensors in, a float or a dict of plain Python numbers out) so that
notebooks can print, plot and assert on them, and tests can check them against known answers.

- Toy data (ring8, grid25): `mode_coverage` / `toy_metrics`, the VEEGAN / PacGAN protocol, and
  `CoverageRecorder`, a training callback that keeps them over training.
- Digits: `class_stats`, `frechet_distance`, `accuracy`, `label_accuracy`, `image_metrics`,
  computed with the digit judge of `ganlib.judge` (a small CNN trained offline on real digits).
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import scipy.linalg
import torch
from torch import Tensor

__all__ = [
    "mode_coverage",
    "toy_metrics",
    "CoverageRecorder",
    "frechet_distance",
    "class_stats",
    "accuracy",
    "label_accuracy",
    "image_metrics",
]


# ------------------------------------------------------------------------------------------------
# Toy mixtures: mode coverage
# ------------------------------------------------------------------------------------------------


def mode_coverage(points: Tensor, modes: Tensor, sigma: float) -> dict[str, Any]:
    """Count the modes a generator hits, the VEEGAN / PacGAN way.

    Taught in 01_mode_collapse. A sample is *high quality* when it lies within 3 standard
    deviations (3σ) of its nearest mode; a mode is *captured* when it is the nearest mode of at
    least one high-quality sample. Mode collapse shows up as few captured modes and a large
    reverse KL even when every sample is high quality, which is why we report all three numbers.

    Args:
        points: (N, 2) generated samples.
        modes: (K, 2) centres of the mixture components.
        sigma: standard deviation of each component (ring8: 0.01, grid25: 0.05).

    Returns:
        A dict with
        - ``modes_captured`` (int): modes that are the nearest mode of >= 1 high-quality point.
        - ``n_modes`` (int): K.
        - ``high_quality`` (float in [0, 1]): share of the N points within 3σ of their nearest mode.
        - ``reverse_kl`` (float): KL(q || uniform) = Σ_k q_k log(q_k K) over modes with q_k > 0,
          where q is the histogram of the high-quality points over the modes. 0 means all modes
          are hit equally often; log K means everything lands on a single mode. When there are
          no high-quality points at all, q is undefined and we report the worst finite value,
          log K, so curves and averages stay plottable (``modes_captured`` is then 0, which tells
          this case apart from a collapse onto one mode).
        - ``counts`` (list[int]): high-quality points per mode, in the order of ``modes``.
    """
    points = torch.as_tensor(points).detach().cpu().double()
    modes = torch.as_tensor(modes).detach().cpu().double()
    if points.ndim != 2 or modes.ndim != 2 or points.shape[1] != modes.shape[1]:
        raise ValueError(
            f"mode_coverage expects points (N, D) and modes (K, D) with the same D, got "
            f"{tuple(points.shape)} and {tuple(modes.shape)}."
        )
    if sigma <= 0:
        raise ValueError(f"sigma must be positive, got {sigma}; use the data set's .sigma.")
    n_modes = modes.shape[0]
    if points.shape[0] == 0:
        raise ValueError("mode_coverage got no points; sample at least one point from G.")

    dist = torch.cdist(points, modes)  # (N, K)
    nearest_dist, nearest = dist.min(dim=1)  # (N,), (N,)
    # NaN points (a diverged G) compare False, so they are never high quality.
    good = nearest_dist <= 3.0 * sigma
    counts = torch.bincount(nearest[good], minlength=n_modes)  # (K,)

    n_good = int(good.sum())
    if n_good == 0:
        reverse_kl = math.log(n_modes)
    else:
        q = counts.double() / n_good
        q = q[q > 0]
        reverse_kl = float((q * torch.log(q * n_modes)).sum())
    return {
        "modes_captured": int((counts > 0).sum()),
        "n_modes": int(n_modes),
        "high_quality": n_good / points.shape[0],
        "reverse_kl": max(reverse_kl, 0.0),  # exact 0 for a perfectly even histogram
        "counts": [int(c) for c in counts],
    }


def toy_metrics(G: Any, data: Any, n: int = 2500, generator: torch.Generator | None = None) -> dict:
    """Sample ``n`` points from a 2-D generator and score them with `mode_coverage`.

    Taught in 01_mode_collapse. 2500 samples is the PacGAN setting: enough that a mode holding
    1/25 of the mass receives ~100 samples, so a missed mode is a real miss and not bad luck.

    Args:
        G: a generator with ``G.sample(n, generator=...) -> (n, 2)``.
        data: a toy data set with ``.modes`` (K, 2) and ``.sigma`` (e.g. ``load("ring8")``).
        n: number of generated points.
        generator: optional torch.Generator for reproducible noise.

    Returns:
        The `mode_coverage` dict.
    """
    points = G.sample(n, generator=generator)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(
            f"toy_metrics needs a generator of 2-D points, but G.sample gave shape "
            f"{tuple(points.shape)}; use image_metrics for image generators."
        )
    return mode_coverage(points, data.modes, data.sigma)


class CoverageRecorder:
    """A `ganlib.train` callback that scores a 2-D generator every `every` steps.

    Taught in 01_mode_collapse. Each record draws `n` points from a fresh generator seeded with
    `seed` (the same noise every time, so changes come from G, not from sampling) and keeps
    `mode_coverage` (modes captured, high quality, reverse KL) and the points, for scatter plots
    over time (`ganlib.plotting.coverage_figure`, `coverage_strip`). It never stops training
    (returns None).

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
        self.points: list[tuple[int, Tensor]] = []  # (step, (n, 2) samples)

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


# ------------------------------------------------------------------------------------------------
# Fréchet distance between two sets of feature vectors
# ------------------------------------------------------------------------------------------------


def _as_2d_float64(feats: Tensor | np.ndarray, name: str) -> np.ndarray:
    if isinstance(feats, Tensor):
        feats = feats.detach().cpu().double().numpy()
    feats = np.asarray(feats, dtype=np.float64)
    if feats.ndim != 2 or feats.shape[0] < 2:
        raise ValueError(
            f"{name} must be (N, D) features with N >= 2, got shape {feats.shape}; "
            f"use judge.embed(images) to get (N, 128) judge features."
        )
    return feats


def _trace_sqrt_product(cov_a: np.ndarray, cov_b: np.ndarray, eps: float) -> float:
    """Tr(sqrtm(cov_a @ cov_b)), robust to the numerical trouble of small sample sizes.

    The product of two covariances is similar to a symmetric PSD matrix, so its square root is
    real in exact arithmetic. In floating point, a singular product (N <= D, or judge features
    that are 0 for every image, i.e. dead ReLUs) makes sqrtm warn, return inf/NaN, or add tiny
    imaginary parts. As in pytorch-fid, we then retry with eps added to both diagonals, which
    moves the distance by ~eps * D, and keep the real part.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("error", scipy.linalg.LinAlgWarning)
        try:
            covmean = scipy.linalg.sqrtm(cov_a @ cov_b)
            bad = not np.isfinite(covmean).all()
        except scipy.linalg.LinAlgWarning:  # "Matrix is singular": result may be inaccurate
            bad = True
    if not bad and np.iscomplexobj(covmean):
        bad = not np.allclose(np.diagonal(covmean).imag, 0.0, atol=1e-3)
    if bad:
        offset = np.eye(cov_a.shape[0]) * eps
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
            covmean = scipy.linalg.sqrtm((cov_a + offset) @ (cov_b + offset))
    return float(np.trace(np.real(covmean)))


def frechet_distance(
    feats_a: Tensor | np.ndarray, feats_b: Tensor | np.ndarray, eps: float = 1e-6
) -> float:
    """Fréchet distance between Gaussians fitted to two sets of feature vectors.

    Taught in 03_dcgan. FID is this distance on Inception features; we use the digit
    judge's 128 penultimate features instead, which runs offline on a CPU and sees what matters
    for digits. The distance is ‖μa − μb‖² + Tr(Σa + Σb − 2 (Σa Σb)^½): the first term catches a
    shifted mean, the second a too-narrow (collapsed) or too-wide spread. It is biased upwards for
    small N, so only compare numbers computed with the same N.

    Args:
        feats_a: (N, D) features of one set (tensor or array).
        feats_b: (M, D) features of the other set.
        eps: diagonal offset used only when the covariance product is numerically singular.

    Returns:
        The squared Fréchet distance as a float >= 0 (tiny negative rounding errors are clipped).
    """
    a = _as_2d_float64(feats_a, "feats_a")
    b = _as_2d_float64(feats_b, "feats_b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(
            f"feats_a and feats_b need the same feature size, got {a.shape[1]} and {b.shape[1]}."
        )
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    cov_a = np.atleast_2d(np.cov(a, rowvar=False))  # (D, D), unbiased (N - 1), as in FID
    cov_b = np.atleast_2d(np.cov(b, rowvar=False))
    diff = mu_a - mu_b
    tr_sqrt = _trace_sqrt_product(cov_a, cov_b, eps)
    value = float(diff @ diff + np.trace(cov_a) + np.trace(cov_b) - 2.0 * tr_sqrt)
    return max(value, 0.0)


# ------------------------------------------------------------------------------------------------
# Digits: statistics of the judge's predictions
# ------------------------------------------------------------------------------------------------


def class_stats(probs: Tensor, min_share: float = 0.02) -> dict[str, Any]:
    """Which digits does the generator draw, how evenly, and how clearly?

    Taught in 03_dcgan. The image analogue of mode coverage: each generated image is
    assigned the judge's most likely class. A collapsed generator covers few classes (large
    ``class_kl``); a generator of mush gets low ``confidence`` even if its histogram looks even.

    Args:
        probs: (N, K) class probabilities (rows sum to 1), e.g. ``judge.predict_proba(fake)``.
        min_share: a class counts as covered when it receives at least this share of the
            argmax predictions (2% by default, i.e. a fifth of its fair share for K = 10).

    Returns:
        A dict with ``classes_covered`` (int), ``class_kl`` (KL(histogram || uniform) in nats,
        between 0 and log K), ``confidence`` (mean of the max probability, in [1/K, 1]) and
        ``histogram`` (list of K shares summing to 1).
    """
    probs = torch.as_tensor(probs).detach().cpu().double()
    if probs.ndim != 2 or probs.shape[0] == 0:
        raise ValueError(f"probs must be (N, K) with N >= 1, got shape {tuple(probs.shape)}.")
    row_sums = probs.sum(dim=1)
    if (probs < 0).any() or not torch.allclose(row_sums, torch.ones_like(row_sums), atol=1e-3):
        raise ValueError(
            "probs rows must be probabilities summing to 1; got logits? Pass "
            "judge.predict_proba(images) or logits.softmax(dim=1)."
        )
    n, k = probs.shape
    hist = torch.bincount(probs.argmax(dim=1), minlength=k).double() / n  # (K,)
    nonzero = hist[hist > 0]
    class_kl = float((nonzero * torch.log(nonzero * k)).sum())
    return {
        "classes_covered": int((hist >= min_share).sum()),
        "class_kl": max(class_kl, 0.0),
        "confidence": float(probs.max(dim=1).values.mean()),
        "histogram": [float(h) for h in hist],
    }


def accuracy(probs: Tensor, labels: Tensor) -> float:
    """The share of rows whose most probable class is the label: (N, K), (N,) -> [0, 1].

    The judge's held-out accuracy (`ganlib.judge`) and a conditional G's `label_accuracy`.
    """
    return float((probs.argmax(dim=1) == labels).double().mean())


def label_accuracy(
    G: Any, judge: Any, n_per_class: int = 100, generator: torch.Generator | None = None
) -> float:
    """Share of conditional samples that the judge reads as the digit we asked for.

    Taught in 06_conditional_wgan. A conditional G can draw beautiful digits and ignore its
    label; this number catches that. It is bounded by the judge's own accuracy (~0.97-0.99), so a
    G that returned real digits of the asked class would score about ``judge.accuracy``.

    Args:
        G: a conditional generator (``G.n_classes`` is not None) with
            ``G.sample(n, labels=..., generator=...) -> (n, 1, 32, 32)``.
        judge: a `ganlib.judge.Judge`.
        n_per_class: images generated per class.
        generator: optional torch.Generator for reproducible noise.

    Returns:
        The accuracy as a float in [0, 1].
    """
    n_classes = getattr(G, "n_classes", None)
    if n_classes is None:
        raise ValueError("label_accuracy needs a conditional G (G.n_classes is None).")
    labels = torch.arange(n_classes).repeat_interleave(n_per_class)  # (K * n_per_class,)
    fake = G.sample(len(labels), labels=labels, generator=generator)
    return accuracy(judge.predict_proba(fake), labels)


def image_metrics(
    G: Any,
    judge: Any,
    real_images: Tensor | Any,
    n: int = 1000,
    generator: torch.Generator | None = None,
) -> dict[str, Any]:
    """Everything we report for a digit generator, from one batch of ``n`` generated images.

    Taught in 03_dcgan. Combines `class_stats` of the judge's predictions with the
    Fréchet distance between judge features of the generated images and of ``n`` real images
    (picked at random with ``generator``; the same N on both sides keeps the bias comparable).
    For a conditional G the images are generated with balanced labels 0..K-1, and the same batch
    gives ``label_accuracy`` (so a good conditional G also has an even histogram).

    Args:
        G: a generator of (n, 1, 32, 32) images in [-1, 1] (``G.sample``, ``G.n_classes``
            and, when conditional, ``G.default_labels``).
        judge: a `ganlib.judge.Judge`.
        real_images: (M, 1, 32, 32) real images in [-1, 1], M >= 2 (or a data set with
            ``.images``, e.g. ``load("digits5k")``).
        n: number of generated (and real) images.
        generator: optional torch.Generator for reproducible noise and real-image choice.

    Returns:
        The `class_stats` keys plus ``frechet`` (float), and ``label_accuracy`` (float) when G is
        conditional.
    """
    real_images = getattr(real_images, "images", real_images)
    n_classes = getattr(G, "n_classes", None)
    if n_classes is None:
        fake = G.sample(n, generator=generator)
        labels = None
    else:
        labels = G.default_labels(n)  # 0, 1, ..., K-1, 0, 1, ...: every class alike
        fake = G.sample(n, labels=labels, generator=generator)
    pick = torch.randperm(len(real_images), generator=generator)[:n]
    real = real_images[pick]

    probs_fake, feats_fake = judge.predict(fake)
    feats_real = judge.embed(real)
    out = class_stats(probs_fake)
    out["frechet"] = frechet_distance(feats_fake, feats_real)
    if labels is not None:
        out["label_accuracy"] = accuracy(probs_fake, labels)
    return out
