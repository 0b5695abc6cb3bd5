"""Every fast edge layer computes exactly the convolution it subclasses, gradients included."""

import pytest
import torch
from torch import nn

from ganlib.fast_layers import (
    Conv2dFromImage,
    Conv2dTo1x1,
    ConvTranspose2dFrom1x1,
    ConvTranspose2dToImage,
    overlap_add,
    to_plain_convolutions,
)

_FAST_BACKWARD = "_ImageGradientByOverlapAdd"


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
def test_dense_end_layers_compute_exactly_their_convolutions(channels_last, bias):
    torch.manual_seed(0)
    _assert_same_as(nn.ConvTranspose2d(10, 6, 4, 1, 0, bias=bias),
                    ConvTranspose2dFrom1x1(10, 6, 4, 1, 0, bias=bias), (5, 10, 1, 1),
                    channels_last)
    _assert_same_as(nn.Conv2d(6, 1, 4, 1, 0, bias=bias), Conv2dTo1x1(6, 1, 4, 1, 0, bias=bias),
                    (5, 6, 4, 4), channels_last)


def test_dense_end_layers_fall_back_to_convolution_on_other_sizes():
    up = ConvTranspose2dFrom1x1(3, 2, 4, 1, 0)
    down = Conv2dTo1x1(2, 1, 4, 1, 0)
    x = torch.randn(2, 3, 2, 2)
    torch.testing.assert_close(up(x), nn.ConvTranspose2d.forward(up, x))  # (2, 2, 5, 5)
    y = torch.randn(2, 2, 6, 6)
    torch.testing.assert_close(down(y), nn.Conv2d.forward(down, y))  # (2, 1, 3, 3)
    assert down(y).shape == (2, 1, 3, 3)


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
    # the generator step: critic weights frozen, only the image's gradient (the fast path);
    # the critic step: images without gradient, only the weights' (the plain convolution)
    torch.manual_seed(0)
    conv, fast = nn.Conv2d(1, 6, 4, 2, 1), Conv2dFromImage(1, 6, 4, 2, 1)
    fast.load_state_dict(conv.state_dict())
    conv.requires_grad_(False), fast.requires_grad_(False)
    x = torch.randn(3, 1, 16, 16, requires_grad=True)
    assert _FAST_BACKWARD in type(fast(x).grad_fn).__name__
    torch.testing.assert_close(torch.autograd.grad(fast(x).square().sum(), x),
                               torch.autograd.grad(conv(x).square().sum(), x))
    conv.requires_grad_(True), fast.requires_grad_(True)
    # the penalty wants both gradients in the end: oneDNN's combined backward, as nn.Conv2d
    assert type(fast(x).grad_fn) is type(conv(x).grad_fn)
    x = x.detach()
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
    down = Conv2dFromImage(2, 3, 4, 2, 1).double().requires_grad_(False)  # the generator step
    x = torch.randn(2, 2, 6, 8, dtype=torch.float64, requires_grad=True)
    assert _FAST_BACKWARD in type(down(x).grad_fn).__name__
    assert torch.autograd.gradcheck(down, (x,))
    assert torch.autograd.gradgradcheck(down, (x,))


def test_overlap_add_is_a_transposed_convolution():
    torch.manual_seed(1)
    x, w = torch.randn(2, 5, 3, 7), torch.randn(5, 2, 4, 4)
    torch.testing.assert_close(overlap_add(x, w),
                               nn.functional.conv_transpose2d(x, w, None, 2, 1))


def test_image_end_layers_fall_back_to_convolution_on_other_shapes():
    up = ConvTranspose2dToImage(3, 1, 3, 1, 1)  # not 4x4 / stride 2
    down = Conv2dFromImage(1, 3, 3, 1, 1)
    x, y = torch.randn(2, 3, 5, 5), torch.randn(2, 1, 5, 5, requires_grad=True)
    torch.testing.assert_close(up(x), nn.ConvTranspose2d.forward(up, x))
    torch.testing.assert_close(down(y), nn.Conv2d.forward(down, y))
    # weights frozen, as in the generator step, but a size or padding overlap-add cannot do
    odd = Conv2dFromImage(1, 3, 4, 2, 1).requires_grad_(False)  # 5x5 -> 2x2 -> 4x4, not 5x5
    reflect = Conv2dFromImage(1, 3, 4, 2, 1, padding_mode="reflect").requires_grad_(False)
    for layer in (odd, reflect):
        out = layer(y)
        assert _FAST_BACKWARD not in type(out.grad_fn).__name__
        torch.testing.assert_close(out, nn.Conv2d.forward(layer, y))
        assert torch.autograd.grad(out.sum(), y)[0].shape == y.shape


def test_to_plain_convolutions_keeps_the_numbers():
    from ganlib.models import DCGANCritic, DCGANGenerator

    torch.manual_seed(0)
    G, D = DCGANGenerator(width=4), DCGANCritic(width=4)
    z = torch.randn(3, 100)
    with torch.no_grad():
        before = D(G(z))
        to_plain_convolutions(G), to_plain_convolutions(D)
        after = D(G(z))
    kinds = {type(m) for m in [*G.modules(), *D.modules()]}
    assert nn.Conv2d in kinds and nn.ConvTranspose2d in kinds
    assert not kinds & {Conv2dFromImage, Conv2dTo1x1, ConvTranspose2dFrom1x1,
                        ConvTranspose2dToImage}
    torch.testing.assert_close(after, before)
