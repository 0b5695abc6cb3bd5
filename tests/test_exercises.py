"""Each checker accepts the library's answer and rejects each typical wrong answer."""

import pytest

from ganlib import exercises, losses
from ganlib.models import DCGANCritic


def test_passed_prints_one_line(capsys):
    exercises.passed("demo")
    assert capsys.readouterr().out == "✓ demo: correct\n"


# --- 01_mode_collapse --------------------------------------------------------------------------


# --- 02_bce_gan --------------------------------------------------------------------------------


# --- 03_dcgan ----------------------------------------------------------------------------------


# --- 04_wgan_clipping --------------------------------------------------------------------------


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
