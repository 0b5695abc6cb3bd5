"""Each checker accepts the library's answer and rejects each typical wrong answer."""

import pytest
import torch
import torch.nn.functional as F

from ganlib import exercises, latent, losses


def test_passed_prints_one_line(capsys):
    exercises.passed("demo")
    assert capsys.readouterr().out == "✓ demo: correct\n"


# --- 01_mode_collapse --------------------------------------------------------------------------


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


# --- 05_wgan_gp --------------------------------------------------------------------------------


# --- 06_conditional_wgan -----------------------------------------------------------------------
