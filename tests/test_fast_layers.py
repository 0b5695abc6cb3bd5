"""Every fast edge layer computes exactly the convolution it subclasses, gradients included."""

import pytest
import torch
from torch import nn

from ganlib.fast_layers import (
    Conv2dTo1x1,
    ConvTranspose2dFrom1x1,
    ConvTranspose2dToImage,
    overlap_add,
    to_plain_convolutions,
)


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
def test_image_end_layer_computes_exactly_their_convolutions(channels_last, bias, channels):
    torch.manual_seed(0)
    _assert_same_as(nn.ConvTranspose2d(6, channels, 4, 2, 1, bias=bias),
                    ConvTranspose2dToImage(6, channels, 4, 2, 1, bias=bias), (5, 6, 8, 8),
                    channels_last)


def test_image_end_layer_has_exact_first_and_second_derivatives():
    # its backward is a custom autograd Function: gradcheck and gradgradcheck in float64
    torch.manual_seed(0)
    up = ConvTranspose2dToImage(3, 2, 4, 2, 1).double()
    x = torch.randn(2, 3, 3, 4, dtype=torch.float64, requires_grad=True)

    def f(x, w, b):
        return torch.func.functional_call(up, {"weight": w, "bias": b}, (x,))

    assert torch.autograd.gradcheck(f, (x, up.weight, up.bias))
    assert torch.autograd.gradgradcheck(f, (x, up.weight, up.bias))


def test_overlap_add_is_a_transposed_convolution():
    torch.manual_seed(1)
    x, w = torch.randn(2, 5, 3, 7), torch.randn(5, 2, 4, 4)
    torch.testing.assert_close(overlap_add(x, w),
                               nn.functional.conv_transpose2d(x, w, None, 2, 1))


def test_image_end_layer_falls_back_to_convolution_on_other_shapes():
    up = ConvTranspose2dToImage(3, 1, 3, 1, 1)  # not 4x4 / stride 2
    x = torch.randn(2, 3, 5, 5)
    torch.testing.assert_close(up(x), nn.ConvTranspose2d.forward(up, x))


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
    assert not kinds & {Conv2dTo1x1, ConvTranspose2dFrom1x1, ConvTranspose2dToImage}
    torch.testing.assert_close(after, before)
