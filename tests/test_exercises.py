"""Each checker accepts the library's answer and rejects each typical wrong answer."""

import pytest
import torch
import torch.nn.functional as F

from ganlib import exercises, latent, losses
from ganlib.models import DCGANCritic


def test_passed_prints_one_line(capsys):
    exercises.passed("demo")
    assert capsys.readouterr().out == "✓ demo: correct\n"


# --- 01_mode_collapse --------------------------------------------------------------------------

def _modes_captured_library(points, modes, sigma):
    from ganlib.metrics import mode_coverage

    return mode_coverage(points, modes, sigma)["modes_captured"]


def _reverse_kl_library(counts):
    from ganlib.metrics import mode_coverage

    # the library's reverse KL from counts: points placed exactly on the modes they count
    modes = torch.tensor([[float(i), 0.0] for i in range(len(counts))])
    points = torch.repeat_interleave(modes, counts.long(), dim=0)
    return mode_coverage(points, modes, 0.1)["reverse_kl"]


def test_check_modes_captured_accepts_the_library_and_names_each_mistake(capsys):
    exercises.check_modes_captured(_modes_captured_library)
    assert "✓ modes_captured" in capsys.readouterr().out

    def nearest(points, modes, sigma, radius=None, count_points=False):
        d, k = torch.cdist(points, modes).min(dim=1)
        good = d <= radius * sigma if radius else torch.ones_like(d, dtype=torch.bool)
        return int(good.sum()) if count_points else len(set(k[good].tolist()))

    for wrong, message in (
            (lambda p, m, s: nearest(p, m, s), "within 3σ of its nearest mode"),
            (lambda p, m, s: nearest(p, m, s, radius=1), "3σ, not σ"),
            (lambda p, m, s: nearest(p, m, s, radius=3, count_points=True), "not the high"),
            (lambda p, m, s: 1, "expected 3 modes captured, got 1")):
        with pytest.raises(AssertionError, match=message):
            exercises.check_modes_captured(wrong)


def test_check_reverse_kl_accepts_the_library_and_names_each_mistake(capsys):
    import math

    exercises.check_reverse_kl(_reverse_kl_library)
    assert "✓ reverse_kl" in capsys.readouterr().out

    def kl(counts, base=math.e, normalise=True, forward=False, uniform=True, skip_empty=True):
        q = counts / counts.sum() if normalise else counts
        u = torch.full_like(q, 1 / len(q))
        hit = q > 0 if skip_empty else torch.ones_like(q, dtype=torch.bool)
        if forward:
            return float((u[hit] * torch.log(u[hit] / q[hit])).sum())
        ratio = q[hit] * len(q) if uniform else q[hit]
        return float((q[hit] * torch.log(ratio)).sum() / math.log(base))

    for wrong, message in ((lambda c: kl(c, base=2), "log base 2"),
                           (lambda c: kl(c, normalise=False), "normalise the counts"),
                           (lambda c: kl(c, forward=True), "forward KL"),
                           (lambda c: kl(c, uniform=False), "1/K per mode"),
                           (lambda c: kl(c, skip_empty=False), "NaN"),
                           (lambda c: 0.5, "expected")):
        with pytest.raises(AssertionError, match=message):
            exercises.check_reverse_kl(wrong)


# --- 02_bce_gan --------------------------------------------------------------------------------


def _bce(logits, label, reduction="mean"):
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, label),
                                              reduction=reduction)


def test_check_d_loss_bce_accepts_the_library(capsys):
    exercises.check_d_loss_bce(losses.d_loss_bce)
    assert "✓ BCE discriminator loss" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, message", [
    (lambda r, f: _bce(r, 0) + _bce(f, 1), "labels are swapped"),
    (lambda r, f: _bce(torch.sigmoid(r), 1) + _bce(torch.sigmoid(f), 0),
     "sigmoid is applied twice"),
    (lambda r, f: _bce(r, 1, "sum") + _bce(f, 0, "sum"), "sums over the batch"),
    (lambda r, f: _bce(r, 1), "fake term is missing"),
    (lambda r, f: -(_bce(r, 1) + _bce(f, 0)), "sign is flipped"),
    (lambda r, f: -(torch.log(torch.sigmoid(r)).mean()
                    + torch.log(1 - torch.sigmoid(f)).mean()), "not log\\(sigmoid"),
    (lambda r, f: torch.tensor(losses.d_loss_bce(r, f).item()), "has no gradient"),
    (lambda r, f: _bce(r, 1) + _bce(f, 0) + 0.1, "expected"),
])
def test_check_d_loss_bce_names_the_mistake(wrong, message):
    with pytest.raises(AssertionError, match=message):
        exercises.check_d_loss_bce(wrong)


def test_check_g_losses_accept_the_library(capsys):
    exercises.check_g_loss_nonsaturating(losses.g_loss_nonsaturating)
    exercises.check_g_loss_minimax(losses.g_loss_minimax)
    out = capsys.readouterr().out
    assert "✓ non-saturating generator loss" in out and "✓ minimax generator loss" in out


@pytest.mark.parametrize("wrong, message", [
    (lambda f: F.logsigmoid(f).mean(), "sign is flipped"),
    (losses.g_loss_minimax, "this is the minimax loss"),
    (lambda f: F.softplus(f).mean(), "minimax loss with its sign flipped"),
    (lambda f: F.softplus(-f).sum(), "sums over the batch"),
    (lambda f: F.softplus(-torch.sigmoid(f)).mean(), "sigmoid is applied twice"),
    (lambda f: F.softplus(-f), "0-dim tensor"),
])
def test_check_g_loss_nonsaturating_names_the_mistake(wrong, message):
    with pytest.raises(AssertionError, match=message):
        exercises.check_g_loss_nonsaturating(wrong)


@pytest.mark.parametrize("wrong, message", [
    (lambda f: F.softplus(f).mean(), "sign is flipped"),
    (losses.g_loss_nonsaturating, "this is the nonsaturating loss"),
    (lambda f: torch.log1p(-torch.sigmoid(f)).mean(), "not log\\(sigmoid"),
])
def test_check_g_loss_minimax_names_the_mistake(wrong, message):
    with pytest.raises(AssertionError, match=message):
        exercises.check_g_loss_minimax(wrong)


# --- 03_dcgan ----------------------------------------------------------------------------------


def test_check_slerp_accepts_the_library(capsys):
    exercises.check_slerp(latent.slerp)
    assert "✓ slerp" in capsys.readouterr().out


def _slerp_with(angle, weights_over_sin=True):
    def fn(a, b, t):
        omega = angle(a, b)
        out = torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b
        return out / torch.sin(omega) if weights_over_sin else out
    return fn


def _row_angle(a, b):
    return torch.arccos((a * b).sum(1, keepdim=True)
                        / (a.norm(dim=1, keepdim=True) * b.norm(dim=1, keepdim=True)))


@pytest.mark.parametrize("wrong, message", [
    (latent.lerp, "straight line"),
    (lambda a, b, t: latent.slerp(a, b, 1 - t), "t is reversed"),
    (_slerp_with(lambda a, b: torch.arccos((a * b).sum(1, keepdim=True))), "normalised to"),
    (_slerp_with(lambda a, b: torch.arccos((a * b).sum() / (a.norm() * b.norm()))),
     "one per row"),
    (_slerp_with(_row_angle, weights_over_sin=False), "not divided by sin"),
    (lambda a, b, t: latent.slerp(a, b, t) + t * (1 - t), "expected"),
])
def test_check_slerp_names_the_mistake(wrong, message):
    with pytest.raises(AssertionError, match=message):
        exercises.check_slerp(wrong)


def test_check_conv_transpose_size_accepts_the_formula(capsys):
    exercises.check_conv_transpose_size(lambda n, k, s, p: (n - 1) * s - 2 * p + k)
    assert "✓ transposed-convolution output size" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, message", [
    (lambda n, k, s, p: (n + 2 * p - k) // s + 1, "forward\\) convolution"),
    (lambda n, k, s, p: (n - 1) * s - p + k, "subtract 2p"),
    (lambda n, k, s, p: n * s - 2 * p + k, "not n·s"),
    (lambda n, k, s, p: (n - 1) * s + 2 * p + k, "not added"),
    (lambda n, k, s, p: 2 * n, "PyTorch gives"),
])
def test_check_conv_transpose_size_names_the_mistake(wrong, message):
    with pytest.raises(AssertionError, match=message):
        exercises.check_conv_transpose_size(wrong)


# --- 04_wgan_clipping --------------------------------------------------------------------------

def test_check_clip_weights_accepts_the_library_and_names_each_mistake(capsys):
    exercises.check_clip_weights(losses.clip_weights)
    assert "✓ clip_weights" in capsys.readouterr().out

    @torch.no_grad()
    def clip_some(critic, c, which="all", low=None):
        for name, p in critic.named_parameters():
            if which == "all" or name.endswith(which):
                p.clamp_(-c if low is None else low, c)

    def clip_grads(critic, c):
        for p in critic.parameters():
            p.grad.clamp_(-c, c)

    def not_in_place(critic, c):
        for p in critic.parameters():
            p = p.clamp(-c, c)  # noqa: PLW2901 - the mistake under test

    def recorded(critic, c):
        for p in critic.parameters():
            p.clamp_(-c, c)  # no torch.no_grad(): autograd refuses

    for wrong, message in ((lambda m, c: clip_some(m, c, "weight"), "biases were not clipped"),
                           (lambda m, c: clip_some(m, c, "bias"), "weights were not clipped"),
                           (lambda m, c: clip_some(m, c, low=0.0), r"not \[0, c\]"),
                           (clip_grads, "you clipped the gradients"),
                           (not_in_place, "no parameter changed"),
                           (recorded, "torch.no_grad"),
                           (lambda m, c: clip_some(m, c / 2), "should be clamped")):
        with pytest.raises(AssertionError, match=message):
            exercises.check_clip_weights(wrong)


def test_check_critic_loss_accepts_the_library_and_names_each_mistake(capsys):
    exercises.check_critic_loss(losses.critic_loss_wasserstein)
    assert "✓ critic_loss" in capsys.readouterr().out
    for wrong, message in (
            (lambda r, f: r.mean() - f.mean(), "sign is flipped"),
            (lambda r, f: f.sum() - r.sum(), "means, not sums"),
            (losses.d_loss_bce, "no sigmoid and no log"),
            (lambda r, f: torch.sigmoid(f).mean() - torch.sigmoid(r).mean(), "unbounded"),
            (lambda r, f: (f.mean() - r.mean()).detach(), "no gradient"),
            (lambda r, f: (f.mean() - r.mean()).view(1), "0-dim tensor"),
            (lambda r, f: f.mean() - 2 * r.mean(), "expected")):
        with pytest.raises(AssertionError, match=message):
            exercises.check_critic_loss(wrong)


# --- 05_wgan_gp --------------------------------------------------------------------------------


def _interpolates(real, fake, generator, per_pixel=False, swap=False):
    import torch

    n = real.shape[0]
    alpha = torch.rand(real.shape if per_pixel else (n, 1, 1, 1), generator=generator)
    if swap:
        alpha = 1 - alpha
    return alpha * real + (1 - alpha) * fake


def test_check_interpolates_accepts_the_answer(capsys):
    exercises.check_interpolates(_interpolates)
    assert "interpolates: correct" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, message", [
    (lambda r, f, g: _interpolates(r, f, g, per_pixel=True), "one α per pixel"),
    (lambda r, f, g: _interpolates(r, f, g, swap=True), "swapped"),
    (lambda r, f, g: r.clone(), "real batch itself"),
    (lambda r, f, g: f.clone(), "fake batch itself"),
    (lambda r, f, g: _interpolates(r, f, g)[:, :, :2], "real's shape"),
])
def test_check_interpolates_names_the_mistake(wrong, message):
    with pytest.raises(AssertionError, match=message):
        exercises.check_interpolates(wrong)


def _penalty(critic, real, fake, gp_lambda=10.0, generator=None, mistake=None):
    """ganlib's penalty written out, with one typical mistake switched on."""
    import torch

    n = real.shape[0]
    alpha = torch.rand(real.shape if mistake == "per_pixel" else (n, 1, 1, 1),
                       generator=generator)
    x_hat = alpha * real + (1 - alpha) * fake
    x_hat = {"at_real": real, "at_fake": fake}.get(mistake, x_hat).detach().requires_grad_(True)
    (grads,) = torch.autograd.grad(critic(x_hat).sum(), x_hat,
                                   create_graph=mistake != "no_create_graph")
    norms = grads.norm() if mistake == "batch_norm" else grads.flatten(1).norm(2, dim=1)
    gap = norms - 1
    error = {"not_squared": gap, "abs": gap.abs()}.get(mistake, gap**2)
    penalty = gp_lambda * error.mean()
    return {"sign": -penalty, "no_lambda": penalty / gp_lambda}.get(mistake, penalty), norms


def test_check_gradient_penalty_accepts_the_library(capsys):
    exercises.check_gradient_penalty(losses.gradient_penalty)
    exercises.check_gradient_penalty(_penalty)
    assert capsys.readouterr().out.count("gradient penalty: correct") == 2


@pytest.mark.parametrize("mistake, message", [
    ("batch_norm", "whole-batch norm"),
    ("no_create_graph", "create_graph=True"),
    ("per_pixel", "one α per pixel"),
    ("at_real", "real points"),
    ("at_fake", "fake points"),
    ("not_squared", "not squared"),
    ("abs", "not squared"),
    ("sign", "sign error"),
    ("no_lambda", "λ is missing"),
])
def test_check_gradient_penalty_names_the_mistake(mistake, message):
    def wrong(critic, real, fake, gp_lambda=10.0, generator=None):
        return _penalty(critic, real, fake, gp_lambda, generator, mistake)

    with pytest.raises(AssertionError, match=message):
        exercises.check_gradient_penalty(wrong)


@pytest.mark.parametrize("norm", ["layer", "instance", "none"])
def test_check_penalised_critic_accepts_per_sample_norms(norm, capsys):
    exercises.check_penalised_critic(DCGANCritic(channels=1, size=32, width=4, norm=norm))
    assert "penalised critic: correct" in capsys.readouterr().out


def test_check_penalised_critic_names_batchnorm():
    with pytest.raises(AssertionError, match="BatchNorm"):
        exercises.check_penalised_critic(DCGANCritic(channels=1, size=32, width=4, norm="batch"))


# --- 06_conditional_wgan -----------------------------------------------------------------------


def _label_channels(x, labels, n_classes, mistake=None):
    import torch
    import torch.nn.functional as F

    n, _, h, w = x.shape
    size = int(labels.max()) + 1 if mistake == "size" else n_classes
    maps = F.one_hot(labels, size).to(x.dtype)[:, :, None, None]  # (N, K, 1, 1)
    if mistake == "not_broadcast":
        maps = F.pad(maps, (0, w - 1, 0, h - 1))  # the one-hot value in one corner pixel only
    else:
        maps = maps.expand(n, size, h, w)
    if mistake == "order":
        return torch.cat([maps, x], dim=1)
    if mistake in ("dim0", "dim2"):
        return torch.cat([x, maps[:, :1]], dim=int(mistake[-1]))
    return torch.cat([x, maps], dim=1)


def test_check_label_channels_accepts_the_answer(capsys):
    exercises.check_label_channels(_label_channels)
    assert "label channels: correct" in capsys.readouterr().out


@pytest.mark.parametrize("mistake, message", [
    ("size", "wrong size.*num_classes"),
    ("not_broadcast", "not broadcast to H×W"),
    ("dim0", "batch dim"),
    ("dim2", "spatial dim"),
    ("order", "images come first"),
])
def test_check_label_channels_names_the_mistake(mistake, message):
    with pytest.raises(AssertionError, match=message):
        exercises.check_label_channels(
            lambda x, labels, k: _label_channels(x, labels, k, mistake))


def _per_class(probs, labels, n_classes, mistake=None):
    import torch

    pred = probs.argmax(dim=1)
    hit = (pred == labels).double()
    if mistake == "prob":
        hit = probs[torch.arange(len(labels)), labels].double()
    by = pred if mistake == "precision" else labels
    count = torch.bincount(by, minlength=n_classes).clamp_min(1).double()
    if mistake == "batch":
        count = torch.full((n_classes,), float(len(labels)), dtype=torch.float64)
    return torch.bincount(by, weights=hit, minlength=n_classes) / count


def test_check_per_class_accuracy_accepts_the_answer(capsys):
    exercises.check_per_class_accuracy(_per_class)
    assert "per-class accuracy: correct" in capsys.readouterr().out


@pytest.mark.parametrize("mistake, message", [
    ("batch", "batch size"),
    ("precision", "predicted"),
    ("prob", "probability"),
])
def test_check_per_class_accuracy_names_the_mistake(mistake, message):
    with pytest.raises(AssertionError, match=message):
        exercises.check_per_class_accuracy(lambda p, y, k: _per_class(p, y, k, mistake))


def test_check_per_class_accuracy_wants_one_number_per_class():
    with pytest.raises(AssertionError, match="one accuracy per class"):
        exercises.check_per_class_accuracy(lambda p, y, k: _per_class(p, y, k).mean())
