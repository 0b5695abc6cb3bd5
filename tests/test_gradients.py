"""Known answers for ganlib.gradients: the generator's gradient norms and the critic's weights."""

import pytest
import torch

from ganlib.gradients import critic_weights, generator_grad_norms


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
