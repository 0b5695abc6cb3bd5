"""Known answers for ganlib.lessons: divergences, generator loss curves, the coverage recorder."""

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from ganlib import lessons
from ganlib.data import load


def test_js_divergence_known_answers():
    p = [0.5, 0.5, 0.0, 0.0]
    assert lessons.js_divergence(p, p) == pytest.approx(0.0, abs=1e-12)
    # disjoint supports: log 2, however far apart
    assert lessons.js_divergence([1, 0, 0, 0], [0, 1, 0, 0]) == pytest.approx(math.log(2))
    assert lessons.js_divergence([1, 0, 0, 0], [0, 0, 0, 1]) == pytest.approx(math.log(2))
    # symmetric, and weights are normalised
    a, b = [1, 2, 3, 0], [0, 1, 1, 2]
    assert lessons.js_divergence(a, b) == pytest.approx(lessons.js_divergence(b, a))
    assert lessons.js_divergence([2, 2], [1, 3]) == pytest.approx(
        lessons.js_divergence([0.5, 0.5], [0.25, 0.75]))
    # half overlapping: p = (½, ½, 0), q = (0, ½, ½) -> m = (¼, ½, ¼); JS = ½ log 2
    assert lessons.js_divergence([0.5, 0.5, 0], [0, 0.5, 0.5]) == pytest.approx(
        0.5 * math.log(2))


def test_js_divergence_rejects_bad_input():
    with pytest.raises(ValueError, match="non-negative"):
        lessons.js_divergence([-1, 2], [1, 1])
    with pytest.raises(ValueError, match="same bins"):
        lessons.js_divergence([1, 1], [1, 1, 1])


def test_emd_1d_known_answers():
    x = np.linspace(-2, 2, 401)  # step 0.01
    p, q = np.zeros_like(x), np.zeros_like(x)
    p[200], q[250] = 1, 1  # point masses at 0 and 0.5
    assert lessons.emd_1d(p, q, x) == pytest.approx(0.5)
    assert lessons.emd_1d(q, p, x) == pytest.approx(0.5)
    assert lessons.emd_1d(p, p, x) == 0.0
    # half the mass moves by 1: cost ½
    r = np.zeros_like(x)
    r[200], r[300] = 0.5, 0.5
    assert lessons.emd_1d(p, r, x) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="increasing"):
        lessons.emd_1d([1, 0], [0, 1], [1.0, 0.0])


def test_shift_divergences_point_masses_js_flat_emd_linear():
    thetas = np.linspace(-1, 1, 21)
    curves = lessons.shift_divergences(thetas, sigma=0.0)
    off = np.abs(thetas) > 1e-9
    np.testing.assert_allclose(curves["js"][off], math.log(2))
    assert curves["js"][~off][0] == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_allclose(curves["emd"], np.abs(thetas), atol=2e-3)  # grid step 0.003
    # JS has zero slope away from 0; EMD has slope ±1
    assert np.abs(np.diff(curves["js"][thetas > 0.05])).max() < 1e-12
    np.testing.assert_allclose(np.diff(curves["emd"][thetas > 0]) / 0.1, 1.0, atol=0.05)


def test_shift_divergences_bumps_saturate_at_log2():
    curves = lessons.shift_divergences([0.0, 0.05, 1.0], sigma=0.05)
    js = curves["js"]
    assert js[0] == pytest.approx(0.0, abs=1e-12)
    assert 0 < js[1] < math.log(2) - 0.1  # still overlapping: JS has a slope here
    assert js[2] == pytest.approx(math.log(2), abs=1e-6)  # 20σ apart: flat at log 2
    np.testing.assert_allclose(curves["emd"], [0.0, 0.05, 1.0], atol=2e-3)
    with pytest.raises(ValueError, match="half_width"):
        lessons.shift_divergences([2.9], sigma=0.1, half_width=3.0)


def test_generator_loss_curves_match_closed_forms():
    logits = np.linspace(-8, 8, 33)
    c = lessons.generator_loss_curves(logits)
    d = 1 / (1 + np.exp(-logits))
    np.testing.assert_allclose(c["d_fake"], d)
    np.testing.assert_allclose(c["minimax"], np.log(1 - d), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(c["nonsaturating"], -np.log(d), rtol=1e-9)
    np.testing.assert_allclose(c["grad_minimax"], -d, atol=1e-12)
    np.testing.assert_allclose(c["grad_nonsaturating"], -(1 - d), atol=1e-12)
    # where D confidently rejects fakes (D(G(z)) ≈ 0.0003) the minimax slope has vanished
    assert abs(c["grad_minimax"][0]) < 1e-3 < 0.99 < abs(c["grad_nonsaturating"][0])


class _Ring8Generator:
    """A stand-in G that puts its points exactly on the first `k` modes of ring8."""

    def __init__(self, modes, k):
        self.modes, self.k = modes, k

    def sample(self, n, generator=None):
        idx = torch.randint(self.k, (n,), generator=generator)
        return self.modes[idx].clone()


def test_coverage_recorder_records_every_k_steps():
    data = load("ring8")
    rec = lessons.CoverageRecorder(data, every=10, n=400)
    for step in range(1, 31):
        run = SimpleNamespace(step=step, G=_Ring8Generator(data.modes, 3 if step < 20 else 8))
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
    rec = lessons.CoverageRecorder(data, every=1, n=50, keep_points=False)
    G = _Ring8Generator(data.modes, 8)
    first = rec.record(G, 0)
    second = rec.record(G, 1)
    assert first["counts"] == second["counts"]  # same seeded noise, same G: same numbers
    assert rec.points == []  # keep_points=False
    with pytest.raises(ValueError, match="nothing recorded"):
        lessons.CoverageRecorder(data).mean_modes()
    with pytest.raises(ValueError, match="every"):
        lessons.CoverageRecorder(data, every=0)


def test_coverage_figure_and_strip():
    data = load("ring8")
    rec = lessons.CoverageRecorder(data, every=10, n=200)
    G = _Ring8Generator(data.modes, 4)
    snapshots = []
    for step in range(0, 31, 10):
        if step:
            rec(SimpleNamespace(step=step, G=G))
        snapshots.append((step, G.sample(64, generator=torch.Generator().manual_seed(step))))
    fig = lessons.coverage_figure({"toy": rec}, n_modes=8, title="t")
    left, right = fig.axes
    assert list(left.lines[0].get_ydata()) == [4, 4, 4]
    assert list(right.lines[0].get_ydata()) == [100.0, 100.0, 100.0]
    strip = lessons.coverage_strip(snapshots, rec, data.modes, k=3)
    titles = [ax.get_title() for ax in strip.axes]
    assert titles[0] == "step 0\n"  # nothing recorded at step 0
    assert titles[-1] == "step 30\n4/8 modes"
    assert len(strip.axes) == 3
    with pytest.raises(ValueError, match="no snapshots"):
        lessons.coverage_strip([], rec, data.modes)


def test_generator_grad_norms_minimax_vanishes_when_d_rejects():
    torch.manual_seed(0)
    G = torch.nn.Linear(3, 2)  # z (N, 3) -> "fakes" (N, 2)

    class Rejecting(torch.nn.Module):
        """A discriminator whose logits sit near `shift` for every fake."""

        def __init__(self, shift):
            super().__init__()
            self.w, self.shift = torch.nn.Linear(2, 1), shift

        def forward(self, x):
            return self.w(x).squeeze(1) + self.shift

    z = torch.randn(32, 3)
    confident = lessons.generator_grad_norms(G, Rejecting(-9.0), z)
    assert confident["d_fake"] < 1e-3
    assert confident["nonsaturating"] > 500 * confident["minimax"] > 0
    unsure = lessons.generator_grad_norms(G, Rejecting(0.0), z)
    assert 0.2 < unsure["d_fake"] < 0.8
    assert unsure["nonsaturating"] / unsure["minimax"] < 5
    assert all(p.grad is None for p in G.parameters())  # nothing left behind
    # known answer: per sample d(-softplus(l))/dl = -D and d(softplus(-l))/dl = -(1 - D); for a
    # constant logit the two gradient norms differ by exactly D / (1 - D)
    flat = Rejecting(-2.0)
    G2 = torch.nn.Linear(3, 2)
    n = lessons.generator_grad_norms(G2, flat, torch.zeros(4, 3))  # G2(z) = bias: same logit
    d = n["d_fake"]
    assert n["minimax"] / n["nonsaturating"] == pytest.approx(d / (1 - d), rel=1e-5)
