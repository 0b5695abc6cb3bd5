import math

import numpy as np
import pytest
import torch
from torch import nn

from ganlib import losses


def test_bce_losses_known_values():
    zero = torch.zeros(4)
    # D(x) = D(G(z)) = 1/2: -log(1/2) twice
    assert losses.d_loss_bce(zero, zero).item() == pytest.approx(2 * math.log(2))
    assert losses.g_loss_nonsaturating(zero).item() == pytest.approx(math.log(2))
    # minimax: log(1 - 1/2)
    assert losses.g_loss_minimax(zero).item() == pytest.approx(math.log(0.5))


def test_minimax_saturates_where_nonsaturating_does_not():
    # D confidently rejects the fakes: logit -10, D(G(z)) ~ 4.5e-5
    logit = torch.tensor([-10.0], requires_grad=True)
    (g_mm,) = torch.autograd.grad(losses.g_loss_minimax(logit), logit)
    (g_ns,) = torch.autograd.grad(losses.g_loss_nonsaturating(logit), logit)
    assert abs(g_mm.item()) < 1e-4 and abs(g_ns.item()) > 0.99


def test_losses_match_the_formulas_with_sigmoid():
    l = torch.tensor([-2.0, 0.3, 1.5])
    d = torch.sigmoid(l)
    torch.testing.assert_close(losses.g_loss_minimax(l), torch.log(1 - d).mean())
    torch.testing.assert_close(losses.g_loss_nonsaturating(l), -torch.log(d).mean())
    torch.testing.assert_close(losses.d_loss_bce(l, l),
                               -(torch.log(d).mean() + torch.log(1 - d).mean()))


def test_wasserstein_losses():
    real, fake = torch.tensor([1.0, 3.0]), torch.tensor([0.0, -2.0])
    assert losses.critic_loss_wasserstein(real, fake).item() == pytest.approx(-1 - 2)
    assert losses.g_loss_wasserstein(fake).item() == pytest.approx(1.0)


class Linear(nn.Module):
    def __init__(self, w):
        super().__init__()
        self.w = nn.Parameter(w)

    def forward(self, x, labels=None):
        return x.flatten(1) @ self.w


@pytest.mark.parametrize("shape", [(2,), (1, 4, 4), (3, 2, 2)])
def test_gradient_penalty_known_answer_linear_critic(shape):
    # f(x) = w.x has gradient w everywhere, so every per-sample norm is |w| and the penalty
    # is exactly lambda (|w| - 1)^2
    d = math.prod(shape)
    w = torch.full((d,), 0.5)
    real, fake = torch.randn(8, *shape), torch.randn(8, *shape)
    penalty, norms = losses.gradient_penalty(Linear(w), real, fake, gp_lambda=10.0)
    expected = 10.0 * (w.norm().item() - 1) ** 2
    torch.testing.assert_close(norms, torch.full((8,), w.norm().item()))
    assert penalty.item() == pytest.approx(expected, rel=1e-5)


def test_gradient_penalty_is_per_sample_not_whole_batch():
    # critic f(x) = |x|^2 / 2 has gradient x: norms must be each sample's own |x|
    class Square(nn.Module):
        def forward(self, x, labels=None):
            return 0.5 * (x**2).flatten(1).sum(1)

    real = torch.tensor([[3.0, 4.0], [0.6, 0.8]])
    _, norms = losses.gradient_penalty(Square(), real, real.clone(), gp_lambda=1.0)
    torch.testing.assert_close(norms, torch.tensor([5.0, 1.0]))


def test_gradient_penalty_is_differentiable_and_seeded():
    critic = nn.Sequential(nn.Flatten(), nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))
    real, fake = torch.randn(6, 4), torch.randn(6, 4)
    p1, _ = losses.gradient_penalty(lambda x: critic(x).squeeze(1), real, fake,
                                    generator=torch.Generator().manual_seed(3))
    p2, _ = losses.gradient_penalty(lambda x: critic(x).squeeze(1), real, fake,
                                    generator=torch.Generator().manual_seed(3))
    assert p1.item() == p2.item()
    p1.backward()
    assert critic[1].weight.grad is not None and critic[1].weight.grad.abs().sum() > 0


def test_gradient_penalty_shape_mismatch():
    with pytest.raises(ValueError, match="must match"):
        losses.gradient_penalty(Linear(torch.ones(2)), torch.zeros(3, 2), torch.zeros(4, 2))


def test_clip_weights():
    layer = nn.Linear(10, 10)
    nn.init.normal_(layer.weight, 0, 1)
    losses.clip_weights(layer, 0.01)
    assert layer.weight.abs().max().item() <= 0.01
    assert (layer.weight.abs() == 0.01).float().mean() > 0.9
    with pytest.raises(ValueError, match="clip_value"):
        losses.clip_weights(layer, 0.0)


def test_generator_loss_curves_match_closed_forms():
    logits = np.linspace(-8, 8, 33)
    c = losses.generator_loss_curves(logits)
    d = 1 / (1 + np.exp(-logits))
    np.testing.assert_allclose(c["d_fake"], d)
    np.testing.assert_allclose(c["minimax"], np.log(1 - d), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(c["nonsaturating"], -np.log(d), rtol=1e-9)
    np.testing.assert_allclose(c["grad_minimax"], -d, atol=1e-12)
    np.testing.assert_allclose(c["grad_nonsaturating"], -(1 - d), atol=1e-12)
    # where D confidently rejects fakes (D(G(z)) ≈ 0.0003) the minimax slope has vanished
    assert abs(c["grad_minimax"][0]) < 1e-3 < 0.99 < abs(c["grad_nonsaturating"][0])
