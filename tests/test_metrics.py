"""Known-answer tests for ganlib.metrics: hand-made point sets, exact Gaussians, fake generators."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from ganlib.data import load
from ganlib.judge import train_judge
from ganlib.metrics import (
    CoverageRecorder,
    accuracy,
    class_stats,
    frechet_distance,
    image_metrics,
    label_accuracy,
    mode_coverage,
    toy_metrics,
)
from ganlib.models import Generator

SIGMA = 0.01


def ring_modes(k: int = 8) -> torch.Tensor:
    angle = torch.arange(k) * 2 * math.pi / k
    return torch.stack([angle.cos(), angle.sin()], dim=1)  # (K, 2)


# --- mode coverage --------------------------------------------------------------------------------


def test_three_of_eight_modes():
    modes = ring_modes()
    points = modes[[0, 3, 5]].repeat(100, 1)  # 100 points exactly on each of 3 modes
    out = mode_coverage(points, modes, SIGMA)
    assert out["modes_captured"] == 3 and out["n_modes"] == 8
    assert out["high_quality"] == 1.0
    assert out["reverse_kl"] == pytest.approx(math.log(8 / 3))
    assert out["counts"] == [100, 0, 0, 100, 0, 100, 0, 0]


def test_even_coverage_has_zero_reverse_kl():
    modes = ring_modes()
    points = modes.repeat(10, 1) + 2 * SIGMA  # 2σ off in x and y: 2.83σ away, still inside 3σ
    out = mode_coverage(points, modes, SIGMA)
    assert out["modes_captured"] == 8 and out["high_quality"] == 1.0
    assert out["reverse_kl"] == pytest.approx(0.0, abs=1e-12)


def test_points_four_sigma_away_are_not_high_quality():
    modes = ring_modes()
    points = modes * (1 + 4 * SIGMA)  # radially 4σ outside every mode
    out = mode_coverage(points, modes, SIGMA)
    assert out["high_quality"] == 0.0 and out["modes_captured"] == 0
    assert out["reverse_kl"] == pytest.approx(math.log(8))  # documented value for "none"
    assert out["counts"] == [0] * 8


def test_threshold_is_three_sigma():
    modes = ring_modes()
    inside = modes[:1] * (1 + 2.9 * SIGMA)
    outside = modes[1:2] * (1 + 3.1 * SIGMA)
    out = mode_coverage(torch.cat([inside, outside]), modes, SIGMA)
    assert out["high_quality"] == 0.5 and out["counts"][:2] == [1, 0]


def test_mixed_shares_and_uneven_histogram():
    modes = ring_modes()
    good = torch.cat([modes[[0]].repeat(30, 1), modes[[1]].repeat(10, 1)])
    bad = torch.zeros(40, 2)  # the centre of the ring: 1 away from every mode
    out = mode_coverage(torch.cat([good, bad]), modes, SIGMA)
    assert out["high_quality"] == 0.5 and out["modes_captured"] == 2
    expected = 0.75 * math.log(0.75 * 8) + 0.25 * math.log(0.25 * 8)
    assert out["reverse_kl"] == pytest.approx(expected)


def test_nan_points_are_never_high_quality():
    modes = ring_modes()
    points = torch.cat([modes[:2], torch.full((2, 2), float("nan"))])
    out = mode_coverage(points, modes, SIGMA)
    assert out["high_quality"] == 0.5 and out["modes_captured"] == 2


def test_mode_coverage_rejects_bad_shapes():
    with pytest.raises(ValueError, match="points"):
        mode_coverage(torch.zeros(5, 3), ring_modes(), SIGMA)
    with pytest.raises(ValueError, match="sigma"):
        mode_coverage(torch.zeros(5, 2), ring_modes(), 0.0)


class DataG:
    """A perfect 2-D 'generator': it samples the true mixture."""

    z_dim, n_classes = 2, None

    def __init__(self, data):
        self.data = data

    def sample(self, n, labels=None, generator=None):
        return self.data.sample(n, generator)[0]


@pytest.mark.parametrize("name", ["ring8", "grid25"])
def test_toy_metrics_of_the_true_distribution(name):
    data = load(name)
    out = toy_metrics(DataG(data), data, n=2500, generator=torch.Generator().manual_seed(0))
    assert out["modes_captured"] == out["n_modes"] == len(data.modes)
    # P(|x - mode| <= 3σ) for a 2-D isotropic Gaussian is 1 - exp(-9/2) = 0.989
    assert out["high_quality"] == pytest.approx(1 - math.exp(-4.5), abs=0.01)
    assert out["reverse_kl"] < 0.02


def test_toy_metrics_rejects_image_generators():
    class ImageG(DataG):
        def sample(self, n, labels=None, generator=None):
            return torch.zeros(n, 1, 32, 32)

    with pytest.raises(ValueError, match="image_metrics"):
        toy_metrics(ImageG(None), load("ring8"), n=10)


# --- coverage over training -----------------------------------------------------------------------


class Ring8Generator:
    """A stand-in G that puts its points exactly on the first `k` modes of ring8."""

    def __init__(self, modes, k):
        self.modes, self.k = modes, k

    def sample(self, n, generator=None):
        idx = torch.randint(self.k, (n,), generator=generator)
        return self.modes[idx].clone()


def test_coverage_recorder_records_every_k_steps():
    data = load("ring8")
    rec = CoverageRecorder(data, every=10, n=400)
    for step in range(1, 31):
        run = SimpleNamespace(step=step, G=Ring8Generator(data.modes, 3 if step < 20 else 8))
        assert rec(run) is None  # never stops training
    assert rec.steps == [10, 20, 30]
    assert rec.modes_captured == [3, 8, 8]
    assert rec.high_quality == [1.0, 1.0, 1.0]
    assert rec.reverse_kl[0] == pytest.approx(math.log(8 / 3), abs=0.05)
    assert [s for s, _ in rec.points] == [10, 20, 30]
    assert rec.points[0][1].shape == (400, 2)
    assert rec.mean_modes(last=1.0) == pytest.approx(19 / 3)
    assert rec.mean_modes(last=0.5) == 8.0


def test_coverage_recorder_same_noise_every_record():
    data = load("ring8")
    rec = CoverageRecorder(data, every=1, n=50, keep_points=False)
    G = Ring8Generator(data.modes, 8)
    first = rec.record(G, 0)
    second = rec.record(G, 1)
    assert first["counts"] == second["counts"]  # same seeded noise, same G: same numbers
    assert rec.points == []  # keep_points=False
    with pytest.raises(ValueError, match="nothing recorded"):
        CoverageRecorder(data).mean_modes()
    with pytest.raises(ValueError, match="every"):
        CoverageRecorder(data, every=0)


# --- Fréchet distance -----------------------------------------------------------------------------


def exact_gaussian_sample(mean: np.ndarray, var: np.ndarray, n: int, seed: int) -> np.ndarray:
    """n points whose sample mean is `mean` and sample covariance is diag(var), exactly."""
    x = np.random.default_rng(seed).standard_normal((n, len(mean)))
    x -= x.mean(axis=0)
    x = x @ np.linalg.inv(np.linalg.cholesky(np.cov(x, rowvar=False)).T)  # sample cov -> I
    return x * np.sqrt(var) + mean


def test_frechet_of_identical_sets_is_zero():
    feats = torch.randn(300, 16, generator=torch.Generator().manual_seed(0))
    assert frechet_distance(feats, feats) == pytest.approx(0.0, abs=1e-6)


def test_frechet_of_diagonal_gaussians():
    mu1, mu2 = np.array([0.0, 1.0, -2.0]), np.array([1.0, 1.0, 0.5])
    s1, s2 = np.array([1.0, 4.0, 0.25]), np.array([2.0, 1.0, 0.25])
    a = exact_gaussian_sample(mu1, s1, 500, seed=1)
    b = exact_gaussian_sample(mu2, s2, 400, seed=2)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum(s1 + s2 - 2 * np.sqrt(s1 * s2))
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-6)
    assert frechet_distance(torch.from_numpy(a), b) == pytest.approx(expected, rel=1e-6)


def test_frechet_matches_torchmetrics():
    from torchmetrics.image import fid  # a dev dependency: never skipped
    gen = torch.Generator().manual_seed(3)
    a = torch.randn(400, 12, generator=gen, dtype=torch.float64)
    b = (
        torch.randn(300, 12, generator=gen, dtype=torch.float64)
        @ torch.randn(12, 12, generator=gen, dtype=torch.float64)
        + 0.5
    )
    theirs = fid._compute_fid(a.mean(0), a.T.cov(), b.mean(0), b.T.cov())
    assert frechet_distance(a, b) == pytest.approx(float(theirs), rel=1e-6)


def test_frechet_survives_singular_covariances():
    gen = torch.Generator().manual_seed(4)
    a, b = torch.randn(5, 20, generator=gen), torch.randn(6, 20, generator=gen)  # N < D
    value = frechet_distance(a, b)
    assert math.isfinite(value) and value > 0
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-3)


def test_frechet_rejects_mismatched_features():
    with pytest.raises(ValueError, match="same feature size"):
        frechet_distance(np.zeros((4, 3)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="N >= 2"):
        frechet_distance(np.zeros((1, 3)), np.zeros((4, 3)))


# --- class statistics -----------------------------------------------------------------------------


def one_hot(classes: list[int], k: int = 10) -> torch.Tensor:
    return torch.nn.functional.one_hot(torch.tensor(classes), k).float()


def test_class_stats_two_classes():
    out = class_stats(one_hot([0] * 50 + [1] * 50))
    assert out["classes_covered"] == 2
    assert out["class_kl"] == pytest.approx(math.log(5))
    assert out["confidence"] == pytest.approx(1.0)
    assert out["histogram"] == [0.5, 0.5] + [0.0] * 8


def test_class_stats_even_histogram():
    out = class_stats(one_hot(list(range(10)) * 7))
    assert out["classes_covered"] == 10 and out["class_kl"] == pytest.approx(0.0, abs=1e-12)


def test_class_stats_min_share_and_confidence():
    probs = one_hot([0] * 99 + [2]) * 0.5 + 0.05  # max prob 0.55 for every image
    assert class_stats(probs)["classes_covered"] == 1  # 1% < 2%
    assert class_stats(probs, min_share=0.01)["classes_covered"] == 2
    assert class_stats(probs)["confidence"] == pytest.approx(0.55)
    assert class_stats(torch.full((10, 10), 0.1))["confidence"] == pytest.approx(0.1)


def test_class_stats_rejects_logits():
    with pytest.raises(ValueError, match="softmax"):
        class_stats(torch.randn(8, 10))


# --- judge-based metrics with fake generators -----------------------------------------------------


@pytest.fixture(scope="module")
def digits():
    return load("digits5k", limit=1500)


@pytest.fixture(scope="module")
def judge(digits):
    return train_judge(digits.images, digits.labels, epochs=2, verbose=False)


class DigitsG:
    """A fake generator that returns real digits: of the asked class, or any class."""

    z_dim = 8
    default_labels = Generator.default_labels  # the balanced labels a real G asks for

    def __init__(self, digits, n_classes=None, classes=None, noise=False):
        self.digits, self.n_classes, self.noise = digits, n_classes, noise
        keep = torch.ones(len(digits.labels), dtype=torch.bool)
        if classes is not None:
            keep = torch.isin(digits.labels, torch.tensor(classes))
        self.pool = keep.nonzero().squeeze(1)

    def sample(self, n, labels=None, generator=None):
        if self.noise:
            return torch.rand(n, 1, 32, 32, generator=generator) * 2 - 1
        if labels is None:
            pick = self.pool[torch.randint(len(self.pool), (n,), generator=generator)]
            return self.digits.images[pick]
        out = []
        for y in torch.as_tensor(labels).tolist():
            idx = (self.digits.labels == y).nonzero().squeeze(1)
            out.append(self.digits.images[idx[torch.randint(len(idx), (1,), generator=generator)]])
        return torch.cat(out)


def test_accuracy_is_the_share_of_rows_whose_argmax_is_the_label():
    probs = torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    assert accuracy(probs, torch.tensor([0, 1, 1, 0])) == 0.5
    assert accuracy(probs, torch.tensor([0, 1, 0, 1])) == 1.0


def test_label_accuracy_of_real_digits_is_near_judge_accuracy(digits, judge):
    G = DigitsG(digits, n_classes=10)
    acc = label_accuracy(G, judge, n_per_class=30, generator=torch.Generator().manual_seed(0))
    assert acc > 0.85 and acc > judge.accuracy - 0.1


def test_label_accuracy_catches_a_generator_that_ignores_labels(digits, judge):
    class IgnoresLabels(DigitsG):
        def sample(self, n, labels=None, generator=None):
            return super().sample(n, None, generator)

    G = IgnoresLabels(digits, n_classes=10)
    acc = label_accuracy(G, judge, n_per_class=30, generator=torch.Generator().manual_seed(0))
    assert acc < 0.3
    with pytest.raises(ValueError, match="conditional"):
        label_accuracy(DigitsG(digits), judge)


def test_image_metrics_real_vs_collapsed_vs_noise(digits, judge):
    gen = torch.Generator().manual_seed(0)
    real = image_metrics(DigitsG(digits), judge, digits.images, n=500, generator=gen)
    collapsed = image_metrics(DigitsG(digits, classes=[1]), judge, digits, n=500, generator=gen)
    noise = image_metrics(DigitsG(digits, noise=True), judge, digits.images, n=500, generator=gen)
    assert set(real) == {"classes_covered", "class_kl", "confidence", "histogram", "frechet"}
    assert real["classes_covered"] == 10 and real["class_kl"] < 0.05
    assert collapsed["classes_covered"] <= 2 and collapsed["class_kl"] > 1.5
    assert real["frechet"] < 0.2 * collapsed["frechet"] and real["frechet"] < 0.2 * noise["frechet"]


def test_image_metrics_of_conditional_generator(digits, judge):
    G = DigitsG(digits, n_classes=10)
    out = image_metrics(G, judge, digits.images, n=300, generator=torch.Generator().manual_seed(1))
    assert out["label_accuracy"] > 0.85
    assert out["classes_covered"] == 10  # balanced labels give an even histogram
