"""Known answers for ganlib.gradients: gradient norms, the critic's weights and values, and G's
pull on its fakes."""

import numpy as np
import pytest
import torch

from ganlib.gradients import (
    critic_panel,
    critic_values,
    critic_weights,
    generator_field,
    generator_grad_norms,
    interpolate_grad_norms,
)


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
    confident = generator_grad_norms(G, Rejecting(-9.0), z)
    assert confident["d_fake"] < 1e-3
    assert confident["nonsaturating"] > 500 * confident["minimax"] > 0
    unsure = generator_grad_norms(G, Rejecting(0.0), z)
    assert 0.2 < unsure["d_fake"] < 0.8
    assert unsure["nonsaturating"] / unsure["minimax"] < 5
    assert all(p.grad is None for p in G.parameters())  # nothing left behind
    # known answer: per sample d(-softplus(l))/dl = -D and d(softplus(-l))/dl = -(1 - D); for a
    # constant logit the two gradient norms differ by exactly D / (1 - D)
    flat = Rejecting(-2.0)
    G2 = torch.nn.Linear(3, 2)
    n = generator_grad_norms(G2, flat, torch.zeros(4, 3))  # G2(z) = bias: same logit
    d = n["d_fake"]
    assert n["minimax"] / n["nonsaturating"] == pytest.approx(d / (1 - d), rel=1e-5)


def test_critic_weights_are_the_weights_without_biases():
    critic = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1))
    with torch.no_grad():
        critic[0].weight.fill_(0.5)
        critic[2].weight.fill_(-0.5)
        critic[0].bias.fill_(9.0)
        critic[2].bias.fill_(9.0)
    w = critic_weights(critic)
    # 2*3 + 3*1 weights, in parameter order; the biases (9.0) are left out
    torch.testing.assert_close(w, torch.tensor([0.5] * 6 + [-0.5] * 3))
    assert not w.requires_grad


def _linear_critic(w: tuple[float, float], b: float = 0.0) -> torch.nn.Module:
    critic = torch.nn.Linear(2, 1)
    with torch.no_grad():
        critic.weight.copy_(torch.tensor([w]))
        critic.bias.fill_(b)
    return torch.nn.Sequential(critic, torch.nn.Flatten(0))  # (N, 2) -> (N,)


def test_generator_field_pulls_fakes_uphill_on_the_critic():
    critic = _linear_critic((2.0, -1.0))  # f(x) = 2 x0 - x1
    fake = torch.tensor([[0.0, 0.0], [1.0, 1.0], [-5.0, 3.0]])
    wgan = generator_field(critic, fake, loss="wasserstein", lim=1.0, n=5)
    # G's loss -f: the pull is +∇f = (2, -1) at every point, whatever its score
    np.testing.assert_allclose(wgan["pull"], [[2.0, -1.0]] * 3, rtol=1e-6)
    assert wgan["pull_norm"] == pytest.approx(5 ** 0.5)
    assert wgan["value"].shape == (5, 5) and wgan["value"][0, -1] == pytest.approx(2.0 + 1.0)
    bce = generator_field(critic, fake, loss="bce", lim=1.0, n=5)
    # -log sigmoid(l): the pull is (1 - D) ∇l, so a point D already calls real is barely pulled
    d = torch.sigmoid(torch.tensor([0.0, 1.0, -13.0])).numpy()
    np.testing.assert_allclose(bce["pull"], (1 - d)[:, None] * np.array([[2.0, -1.0]]),
                               rtol=1e-5)
    assert 0 < bce["value"].min() and bce["value"].max() < 1 and bce["label"] == "D(x)"
    with pytest.raises(ValueError, match="'bce' or 'wasserstein'"):
        generator_field(critic, fake, loss="minimax")


def test_critic_values_are_f_over_the_plane_in_eval_mode():
    critic = _linear_critic((1.0, 0.0))  # f(x) = x_0: rises from left to right
    xs, values = critic_values(critic, lim=2.0, n=5)
    torch.testing.assert_close(xs, torch.tensor([-2.0, -1.0, 0.0, 1.0, 2.0]))
    torch.testing.assert_close(values, xs.repeat(5, 1))  # row i is y = xs[i]: f ignores y
    assert critic.training  # put back in training mode afterwards

    dropout = torch.nn.Sequential(torch.nn.Dropout(0.5), critic)
    _, kept = critic_values(dropout, lim=2.0, n=5)  # eval mode: dropout keeps every unit
    torch.testing.assert_close(kept, values)


def test_interpolate_grad_norms_of_a_linear_critic_are_its_slope():
    critic = _linear_critic((3.0, 4.0))  # ‖∇f‖ = 5 everywhere
    real, fake = torch.randn(6, 2), torch.randn(6, 2)
    norms = interpolate_grad_norms(critic, real, fake)
    torch.testing.assert_close(norms, torch.full((6,), 5.0))
    assert not norms.requires_grad

    class Square(torch.nn.Module):  # f(x) = s ‖x‖², s = 1: ∇f = 2 x̂ depends on where x̂ is
        def __init__(self):
            super().__init__()
            self.s = torch.nn.Parameter(torch.ones(()))

        def forward(self, x):
            return self.s * (x ** 2).sum(1)

    real, fake = torch.ones(4, 2), -torch.ones(4, 2)
    alpha = torch.rand(4, generator=torch.Generator().manual_seed(0))  # the α it will draw
    expected = 2 * (2 * alpha - 1).abs() * 2 ** 0.5  # x̂ = (2α - 1)(1, 1)
    norms = interpolate_grad_norms(Square(), real, fake, torch.Generator().manual_seed(0))
    torch.testing.assert_close(norms, expected)


def test_critic_panel_has_weights_when_clipped_and_norms_when_penalised():
    critic = _linear_critic((3.0, 4.0), b=7.0)
    real, fake = torch.zeros(8, 2), torch.ones(8, 2)
    clipped = critic_panel(critic, real, fake, clip_value=0.01, lim=1.0, n=4)
    assert set(clipped) == {"xs", "value", "real", "fake", "clip_value", "weights"}
    torch.testing.assert_close(clipped["weights"], torch.tensor([3.0, 4.0]))  # no bias
    assert clipped["value"].shape == (4, 4) and clipped["value"][0, 0] == pytest.approx(0.0)
    penalised = critic_panel(critic, real, fake, lim=1.0, n=4)
    assert "weights" not in penalised and penalised["clip_value"] is None
    torch.testing.assert_close(penalised["norms"], torch.full((8,), 5.0))
