"""Known answers for ganlib.divergences: Jensen-Shannon, 1-D EMD, shifted pairs, empirical W1."""

import math

import numpy as np
import pytest
import torch

from ganlib.divergences import emd_1d, empirical_w1, js_divergence, shift_divergences


def test_js_divergence_known_answers():
    p = [0.5, 0.5, 0.0, 0.0]
    assert js_divergence(p, p) == pytest.approx(0.0, abs=1e-12)
    # disjoint supports: log 2, however far apart
    assert js_divergence([1, 0, 0, 0], [0, 1, 0, 0]) == pytest.approx(math.log(2))
    assert js_divergence([1, 0, 0, 0], [0, 0, 0, 1]) == pytest.approx(math.log(2))
    # symmetric, and weights are normalised
    a, b = [1, 2, 3, 0], [0, 1, 1, 2]
    assert js_divergence(a, b) == pytest.approx(js_divergence(b, a))
    assert js_divergence([2, 2], [1, 3]) == pytest.approx(js_divergence([0.5, 0.5], [0.25, 0.75]))
    # half overlapping: p = (½, ½, 0), q = (0, ½, ½) -> m = (¼, ½, ¼); JS = ½ log 2
    assert js_divergence([0.5, 0.5, 0], [0, 0.5, 0.5]) == pytest.approx(0.5 * math.log(2))


def test_js_divergence_is_finite_beside_a_subnormal_weight():
    # half of the smallest subnormal rounds to 0: m = 0 where p > 0 would make KL(p || m) inf
    assert js_divergence([5e-324, 0.5, 0.5], [0.0, 0.5, 0.5]) == pytest.approx(0.0, abs=1e-12)


def test_js_divergence_rejects_bad_input():
    with pytest.raises(ValueError, match="non-negative"):
        js_divergence([-1, 2], [1, 1])
    with pytest.raises(ValueError, match="same bins"):
        js_divergence([1, 1], [1, 1, 1])


def test_emd_1d_known_answers():
    x = np.linspace(-2, 2, 401)  # step 0.01
    p, q = np.zeros_like(x), np.zeros_like(x)
    p[200], q[250] = 1, 1  # point masses at 0 and 0.5
    assert emd_1d(p, q, x) == pytest.approx(0.5)
    assert emd_1d(q, p, x) == pytest.approx(0.5)
    assert emd_1d(p, p, x) == 0.0
    # half the mass moves by 1: cost ½
    r = np.zeros_like(x)
    r[200], r[300] = 0.5, 0.5
    assert emd_1d(p, r, x) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="increasing"):
        emd_1d([1, 0], [0, 1], [1.0, 0.0])


def test_shift_divergences_point_masses_js_flat_emd_linear():
    thetas = np.linspace(-1, 1, 21)
    curves = shift_divergences(thetas, sigma=0.0)
    off = np.abs(thetas) > 1e-9
    np.testing.assert_allclose(curves["js"][off], math.log(2))
    assert curves["js"][~off][0] == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_allclose(curves["emd"], np.abs(thetas), atol=2e-3)  # grid step 0.003
    # JS has zero slope away from 0; EMD has slope ±1
    assert np.abs(np.diff(curves["js"][thetas > 0.05])).max() < 1e-12
    np.testing.assert_allclose(np.diff(curves["emd"][thetas > 0]) / 0.1, 1.0, atol=0.05)


def test_shift_divergences_bumps_saturate_at_log2():
    curves = shift_divergences([0.0, 0.05, 1.0], sigma=0.05)
    js = curves["js"]
    assert js[0] == pytest.approx(0.0, abs=1e-12)
    assert 0 < js[1] < math.log(2) - 0.1  # still overlapping: JS has a slope here
    assert js[2] == pytest.approx(math.log(2), abs=1e-6)  # 20σ apart: flat at log 2
    np.testing.assert_allclose(curves["emd"], [0.0, 0.05, 1.0], atol=2e-3)
    with pytest.raises(ValueError, match="half_width"):
        shift_divergences([2.9], sigma=0.1, half_width=3.0)


def test_empirical_w1_known_answers():
    a = torch.tensor([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]])
    assert empirical_w1(a, a) == pytest.approx(0.0)
    assert empirical_w1(a, a + torch.tensor([0.0, 3.0])) == pytest.approx(3.0)  # a shift
    # the matching, not the order, counts: a permutation of the same points is distance 0
    assert empirical_w1(a, a[[2, 0, 1]]) == pytest.approx(0.0)
    # 1-D: W1 matches sorted points; {0, 1} -> {1, 2} moves each point by 1
    assert empirical_w1(torch.tensor([[0.0], [1.0]]), torch.tensor([[2.0], [1.0]])) == \
        pytest.approx(1.0)
    with pytest.raises(ValueError, match="same shape"):
        empirical_w1(a, a[:2])
