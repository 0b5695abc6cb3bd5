"""ganlib.speed: every trick gives the same numbers as the plain model it speeds up.

Each fast edge layer computes exactly the convolution it subclasses, gradients and second
derivatives included; `apply` finds them in built nets; a run with the tricks trains the same
weights as one without; the thread count follows the rules.
"""

import math

import pytest
import torch
from torch import nn

from ganlib import speed
from ganlib.config import preset
from ganlib.models import DCGANCritic, DCGANGenerator, MLPCritic, MLPGenerator
from ganlib.speed import (
    Conv2dFromImage,
    ConvTranspose2dFrom1x1,
    ConvTranspose2dToImage,
    overlap_add,
    plain_layers,
)
from ganlib.train import train

_FAST_BACKWARD = "_DownBy2"


def _assert_same_as(conv, fast, shape, channels_last):
    """`fast` gives `conv`'s outputs and gradients, for the input and every parameter."""
    fast.load_state_dict(conv.state_dict())  # the same parameters, by name and shape
    x = torch.randn(shape)
    if channels_last:
        conv, fast = (m.to(memory_format=torch.channels_last) for m in (conv, fast))
        x = x.contiguous(memory_format=torch.channels_last)
    x.requires_grad_()
    want, got = conv(x), fast(x)
    assert got.shape == want.shape
    torch.testing.assert_close(got, want)
    g_want = torch.autograd.grad(want.square().sum(), [x, *conv.parameters()])
    g_got = torch.autograd.grad(got.square().sum(), [x, *fast.parameters()])
    for a, b in zip(g_got, g_want, strict=True):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("bias", [False, True])
def test_the_dense_first_layer_computes_exactly_its_convolution(channels_last, bias):
    torch.manual_seed(0)
    _assert_same_as(nn.ConvTranspose2d(10, 6, 4, 1, 0, bias=bias),
                    ConvTranspose2dFrom1x1(10, 6, 4, 1, 0, bias=bias), (5, 10, 1, 1),
                    channels_last)


def test_the_dense_first_layer_falls_back_to_convolution_on_other_sizes():
    up = ConvTranspose2dFrom1x1(3, 2, 4, 1, 0)
    x = torch.randn(2, 3, 2, 2)
    torch.testing.assert_close(up(x), nn.ConvTranspose2d.forward(up, x))  # (2, 2, 5, 5)


@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("channels", [1, 3])
def test_image_end_layers_compute_exactly_their_convolutions(channels_last, bias, channels):
    torch.manual_seed(0)
    _assert_same_as(nn.ConvTranspose2d(6, channels, 4, 2, 1, bias=bias),
                    ConvTranspose2dToImage(6, channels, 4, 2, 1, bias=bias), (5, 6, 8, 8),
                    channels_last)
    # the critic's first layer is fast only in the generator step: weights frozen
    conv = nn.Conv2d(channels, 6, 4, 2, 1, bias=bias).requires_grad_(False)
    fast = Conv2dFromImage(channels, 6, 4, 2, 1, bias=bias).requires_grad_(False)
    fast.load_state_dict(conv.state_dict())
    x = torch.randn(5, channels, 16, 16)
    if channels_last:
        conv, fast = (m.to(memory_format=torch.channels_last) for m in (conv, fast))
        x = x.contiguous(memory_format=torch.channels_last)
    x.requires_grad_()
    want, got = conv(x), fast(x)
    assert _FAST_BACKWARD in type(got.grad_fn).__name__
    torch.testing.assert_close(got, want)
    (g_want,), (g_got,) = (torch.autograd.grad(y.square().sum(), x) for y in (want, got))
    torch.testing.assert_close(g_got, g_want)
    assert g_got.is_contiguous(memory_format=torch.channels_last) == channels_last or channels == 1


def test_critic_first_layer_gives_each_training_step_the_gradient_it_needs():
    # the generator step: critic weights frozen, only the image's gradient (overlap-add);
    # the penalty: image and weights; the critic step: images without gradient (plain conv)
    torch.manual_seed(0)
    conv, fast = nn.Conv2d(1, 6, 4, 2, 1), Conv2dFromImage(1, 6, 4, 2, 1)
    fast.load_state_dict(conv.state_dict())
    conv.requires_grad_(False), fast.requires_grad_(False)
    x = torch.randn(3, 1, 16, 16, requires_grad=True)
    assert _FAST_BACKWARD in type(fast(x).grad_fn).__name__
    torch.testing.assert_close(torch.autograd.grad(fast(x).square().sum(), x),
                               torch.autograd.grad(conv(x).square().sum(), x))
    conv.requires_grad_(True), fast.requires_grad_(True)
    params = [x, *conv.parameters()]
    torch.testing.assert_close(
        torch.autograd.grad(fast(x).square().sum(), [x, *fast.parameters()]),
        torch.autograd.grad(conv(x).square().sum(), params))
    x = x.detach()
    assert type(fast(x).grad_fn) is type(conv(x).grad_fn)
    torch.testing.assert_close(torch.autograd.grad(fast(x).square().sum(), list(fast.parameters())),
                               torch.autograd.grad(conv(x).square().sum(), list(conv.parameters())))


def test_image_end_layers_have_the_penalty_second_derivatives():
    # WGAN-GP differentiates the critic's input gradient again: gradgradcheck in float64
    torch.manual_seed(0)
    up = ConvTranspose2dToImage(3, 2, 4, 2, 1).double()
    x = torch.randn(2, 3, 3, 4, dtype=torch.float64, requires_grad=True)

    def f(x, w, b):
        return torch.func.functional_call(up, {"weight": w, "bias": b}, (x,))

    assert torch.autograd.gradcheck(f, (x, up.weight, up.bias))
    assert torch.autograd.gradgradcheck(f, (x, up.weight, up.bias))
    down = Conv2dFromImage(2, 3, 4, 2, 1).double()
    x = torch.randn(2, 2, 6, 8, dtype=torch.float64, requires_grad=True)
    assert _FAST_BACKWARD in type(down(x).grad_fn).__name__

    def g(x, w, b):
        return torch.func.functional_call(down, {"weight": w, "bias": b}, (x,))

    assert torch.autograd.gradcheck(g, (x, down.weight, down.bias))  # the penalty's case
    assert torch.autograd.gradgradcheck(g, (x, down.weight, down.bias))
    down.requires_grad_(False)  # the generator step
    assert torch.autograd.gradcheck(down, (x,))
    assert torch.autograd.gradgradcheck(down, (x,))


def test_overlap_add_is_a_transposed_convolution():
    torch.manual_seed(1)
    x, w = torch.randn(2, 5, 3, 7), torch.randn(5, 2, 4, 4)
    torch.testing.assert_close(overlap_add(x, w),
                               nn.functional.conv_transpose2d(x, w, None, 2, 1))


def test_image_end_layers_fall_back_to_convolution_on_odd_sizes():
    # weights frozen, as in the generator step, but a size overlap-add cannot invert
    y = torch.randn(2, 1, 5, 5, requires_grad=True)
    odd = Conv2dFromImage(1, 3, 4, 2, 1).requires_grad_(False)  # 5x5 -> 2x2 -> 4x4, not 5x5
    out = odd(y)
    torch.testing.assert_close(out, nn.Conv2d.forward(odd, y))
    want = torch.autograd.grad(nn.Conv2d.forward(odd, y).square().sum(), y)[0]
    torch.testing.assert_close(torch.autograd.grad(out.square().sum(), y)[0], want)


def test_apply_gives_the_dcgan_edge_layers_their_fast_form_and_plain_layers_undoes_it():
    torch.manual_seed(0)
    G, D = DCGANGenerator(width=4), DCGANCritic(width=4)
    z = torch.randn(3, 100)
    with torch.no_grad():
        before = D(G(z))
    speed.apply(G, D, torch.device("cpu"))
    assert isinstance(G.net[0], ConvTranspose2dFrom1x1)
    assert isinstance(G.net[-2], ConvTranspose2dToImage)
    assert isinstance(D.net[0], Conv2dFromImage)
    assert type(D.net[-1]) is nn.Conv2d  # the critic's last layer gained too little to keep
    convs = (nn.Conv2d, nn.ConvTranspose2d)
    middle = [m for m in [*G.net[1:-2], *D.net[1:-1]] if isinstance(m, convs)]
    assert middle and all(type(m) in (nn.Conv2d, nn.ConvTranspose2d) for m in middle)
    assert G.net[0].weight.is_contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        torch.testing.assert_close(D(G(z)), before)
    plain_layers(G), plain_layers(D)
    kinds = {type(m) for m in [*G.modules(), *D.modules()]}
    assert not kinds & set(speed._FAST_CLASSES)
    mlp = MLPGenerator(2, (2,), 8), MLPCritic((2,), 8)
    speed.apply(*mlp, torch.device("cpu"))
    assert all(type(m) in (nn.Linear, nn.ReLU, nn.LeakyReLU, nn.Sequential, nn.Identity,
                           MLPGenerator, MLPCritic) for net in mlp for m in net.modules())


@pytest.mark.parametrize("model", ["dcgan", "wgan-gp", "wgan"])
def test_a_run_with_the_speed_tricks_trains_the_same_weights(model, tiny_images):
    cfg = preset(model, "digits5k", steps=3, width=4, n_critic=2 if model != "dcgan" else 1)
    fast = train(cfg, tiny_images, progress=False)
    plain = train(cfg.replace(fast=False), tiny_images, progress=False)
    assert any(isinstance(m, Conv2dFromImage) for m in fast.critic.modules())
    assert not any(isinstance(m, speed._FAST_CLASSES) for m in plain.critic.modules())
    for key in ("d_loss", "g_loss"):
        assert all(math.isclose(a, b, rel_tol=1e-4, abs_tol=1e-5)
                   for a, b in zip(fast.history[key], plain.history[key], strict=True))
    for a, b in zip(fast.G.parameters(), plain.G.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=2e-4)  # RMSProp: ~lr
    if model != "wgan":  # RMSProp has no fused form
        assert plain.opt_g.defaults["fused"] is None and fast.opt_g.defaults["fused"]


# --- threads -----------------------------------------------------------------------------------


def test_a_requested_count_wins(monkeypatch):
    monkeypatch.setenv(speed.THREADS_ENV_VAR, "3")
    assert speed.pick_threads(2) == 2


def test_the_environment_variable_overrides_auto(monkeypatch):
    monkeypatch.setenv(speed.THREADS_ENV_VAR, "2")
    assert speed.pick_threads(0, toy=True) == 2


@pytest.mark.parametrize("value", ["0", "two", "-1"])
def test_a_bad_environment_variable_is_a_clear_error(monkeypatch, value):
    monkeypatch.setenv(speed.THREADS_ENV_VAR, value)
    with pytest.raises(ValueError, match="GANLIB_THREADS must be a whole number"):
        speed.pick_threads(0)


@pytest.mark.parametrize("idle,physical,expected", [
    (1.98, 2, 2),  # a quiet 2-core machine: both cores
    (1.75, 2, 2),  # desktop noise still counts as free
    (1.0, 2, 1),  # another process holds one core: one thread, never two
    (0.1, 2, 1),  # everything busy: still one thread
    (7.9, 4, 4),  # hyper-threads (8 logical CPUs) do not count as cores
])
def test_auto_takes_the_idle_physical_cores_for_images(monkeypatch, idle, physical, expected):
    monkeypatch.delenv(speed.THREADS_ENV_VAR, raising=False)
    monkeypatch.setattr(speed, "idle_cores", lambda interval=0.1: idle)
    monkeypatch.setattr(speed, "physical_cores", lambda: physical)
    assert speed.pick_threads(0) == expected
    assert speed.pick_threads(0, toy=True) == 1  # the toys: always one


def test_idle_cores_is_a_share_of_the_machine():
    assert 0.0 <= speed.idle_cores(interval=0.05) <= __import__("os").cpu_count()


def test_torchrun_processes_share_the_idle_cores(monkeypatch):
    monkeypatch.delenv(speed.THREADS_ENV_VAR, raising=False)
    monkeypatch.setattr(speed, "idle_cores", lambda interval=0.1: 4.0)
    monkeypatch.setattr(speed, "physical_cores", lambda: 4)
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    assert speed.pick_threads(0) == 2


# --- GPU options: autocast and torch.compile --------------------------------------------------


def test_autocast_runs_in_bfloat16_and_returns_float32():
    torch.manual_seed(0)
    critic = DCGANCritic(1, 32, 8, norm="layer")
    x = torch.randn(4, 1, 32, 32)
    exact = critic(x)
    seen = []
    critic.net[0].register_forward_hook(lambda m, i, out: seen.append(out.dtype))
    speed.use_autocast(critic, torch.device("cpu"))
    half = critic(x)
    assert seen == [torch.bfloat16] and half.dtype == torch.float32
    torch.testing.assert_close(half, exact, rtol=0.05, atol=0.05)  # bfloat16: 8 bits of mantissa
    assert list(critic.state_dict()) == list(DCGANCritic(1, 32, 8, "layer").state_dict())


def test_a_deep_copy_of_an_autocast_net_runs_its_own_weights():
    import copy

    torch.manual_seed(0)
    critic = speed.use_autocast(MLPCritic((2,), width=8, depth=2), torch.device("cpu"))
    twin = copy.deepcopy(critic)
    with torch.no_grad():
        for p in twin.parameters():
            p.zero_()  # the copy's weights only: every score is 0 if it runs its own
    x = torch.randn(5, 2)
    assert twin(x).dtype == torch.float32
    torch.testing.assert_close(twin(x), torch.zeros(5))
    assert critic(x).abs().max() > 0  # and the original still runs its own


def test_the_penalty_under_autocast_is_the_float32_penalty_to_bfloat16_precision():
    from ganlib.losses import gradient_penalty

    torch.manual_seed(0)
    critic = DCGANCritic(1, 32, 8, norm="layer")
    real, fake, alpha = torch.randn(6, 1, 32, 32), torch.randn(6, 1, 32, 32), torch.rand(6)
    exact, exact_norms = gradient_penalty(critic, real, fake, 10.0, alpha=alpha)
    exact.backward()
    exact_grads = torch.cat([p.grad.flatten() for p in critic.parameters() if p.grad is not None])
    critic.zero_grad()
    speed.use_autocast(critic, torch.device("cpu"))
    half, norms = gradient_penalty(critic, real, fake, 10.0, alpha=alpha)
    half.backward()  # the double backward, through bfloat16 convolutions
    assert half.dtype == torch.float32
    torch.testing.assert_close(norms, exact_norms, rtol=0.03, atol=0.0)
    grads = torch.cat([p.grad.flatten() for p in critic.parameters() if p.grad is not None])
    assert torch.nn.functional.cosine_similarity(grads, exact_grads, 0) > 0.99


def test_an_amp_run_trains(tiny_images):
    cfg = preset("wgan-gp", "digits5k", steps=2, width=4, batch_size=8, amp=True)
    run = train(cfg, tiny_images, progress=False)
    assert run.step == 2 and all(math.isfinite(v) for v in run.history["d_loss"])
    assert not any(isinstance(m, speed._FAST_CLASSES) for m in run.critic.modules())


def test_compile_leaves_a_penalised_critic_eager():
    G, critic = DCGANGenerator(8, 1, 32, 4), DCGANCritic(1, 32, 4)
    speed.compile_nets(G, critic, penalised=True)  # compiled lazily, at the first call
    assert G._compiled_call_impl is not None and critic._compiled_call_impl is None
    speed.compile_nets(G, critic, penalised=False)
    assert critic._compiled_call_impl is not None
