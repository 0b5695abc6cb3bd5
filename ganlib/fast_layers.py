"""Faster CPU forms of the DCGAN's four edge layers: same weights, same numbers.

On a CPU, PyTorch convolves with oneDNN, which is tuned for layers with many channels on both
sides. The DCGAN's first and last layers are not like that: the generator starts from a 1x1
"image" (z) and ends on 1 (or 3) channels, the critic starts from those channels and ends on a
single score. For these shapes oneDNN is several times slower than the matrix multiplies the
layers really are (batch 64, width 16, one thread, measured; forward + backward unless said):

| layer | oneDNN | here |
|---|---|---|
| G's first, z (1x1) -> 4x4 | 2.7 ms | 0.5 ms (a fully connected layer) |
| critic's last, 4x4 -> one score | 0.94 ms | 0.30 ms (a fully connected layer) |
| G's last, 16 -> 1 channel at 32x32 | 4.8 ms | 2.0 ms (matmul, then overlap-add) |
| critic's first, 1 -> 16 channels, backward to the image only | 3.5 ms | 0.8 ms (overlap-add) |

Each class below is the torch.nn layer it subclasses (same parameters, same state_dict, so
checkpoints do not care), computed faster for the shape it is used at, and the ordinary
convolution for any other shape. They are not part of the lessons: read them as nn.Conv2d and
nn.ConvTranspose2d. The tests check every one against the layer it replaces, gradients
included (and second derivatives, which the gradient penalty takes through the critic).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def _channels_last(weight: Tensor) -> bool:
    return weight.is_contiguous(memory_format=torch.channels_last) and not weight.is_contiguous()


class ConvTranspose2dFrom1x1(nn.ConvTranspose2d):
    """The generator's first layer: (N, z, 1, 1) -> (N, C, k, k), a k x k kernel on a 1x1 input.

    On a 1x1 input a transposed convolution is a fully connected layer: every output pixel is
    z times its own slice of the weight. That is how it is computed here (same weights, same
    numbers), because on a CPU oneDNN's transposed convolution is several times slower for this
    shape (measured at batch 64, 100 -> 64 channels: 2.7 ms forward + backward vs 0.5 ms on
    one thread). Any other input size falls back to the ordinary transposed convolution.
    """

    def forward(self, x: Tensor, output_size=None) -> Tensor:
        if x.shape[-2:] != (1, 1) or self.padding != (0, 0) or self.groups != 1 \
                or self.output_padding != (0, 0) or self.dilation != (1, 1) or output_size:
            return super().forward(x, output_size)
        n, (c_in, c_out, kh, kw) = x.shape[0], self.weight.shape
        if _channels_last(self.weight):  # keep the net's layout: (N, kh, kw, C) in memory
            y = x.reshape(n, c_in) @ self.weight.permute(0, 2, 3, 1).reshape(c_in, -1)
            y = y.view(n, kh, kw, c_out).permute(0, 3, 1, 2)
        else:
            y = (x.reshape(n, c_in) @ self.weight.reshape(c_in, -1)).view(n, c_out, kh, kw)
        return y if self.bias is None else y + self.bias.view(1, -1, 1, 1)


class Conv2dTo1x1(nn.Conv2d):
    """The critic's last layer: (N, C, k, k) -> (N, 1, 1, 1), a k x k kernel on a k x k map.

    Covering the whole map, the convolution is a fully connected layer (a dot product of each
    sample with the weight), computed here as that matrix multiply: same weights, same numbers,
    about 3x faster than oneDNN's convolution for this shape on a CPU (measured at batch 64,
    64 channels: 0.94 vs 0.30 ms forward + backward). Other input sizes use the convolution.
    """

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-2:] != self.kernel_size or self.padding != (0, 0) or self.groups != 1 \
                or self.dilation != (1, 1):
            return super().forward(x)
        n, c_out = x.shape[0], self.out_channels
        if _channels_last(x):  # flatten in memory order, (H, W, C), and the weight alike
            y = x.permute(0, 2, 3, 1).reshape(n, -1) @ \
                self.weight.permute(0, 2, 3, 1).reshape(c_out, -1).t()
        else:
            y = x.reshape(n, -1) @ self.weight.reshape(c_out, -1).t()
        y = y if self.bias is None else y + self.bias
        return y.view(n, c_out, 1, 1)


# ----------------------------------------------------------------------------------------------
# The image ends: 4x4 kernels, stride 2, padding 1, few channels on the image side
# ----------------------------------------------------------------------------------------------

def overlap_add(x: Tensor, weight: Tensor) -> Tensor:
    """conv_transpose2d(x, weight, stride=2, padding=1) for 4x4 kernels, without oneDNN.

    Every input pixel times the weight gives a 4x4 patch per output channel (one matrix
    multiply for all pixels); the patches of neighbouring pixels overlap by 2 and are added,
    which is what `F.fold` does. Returns (N, C_out, 2H, 2W), in x's memory layout. Called
    inside the autograd Function below, whose backward is PyTorch's own.
    """
    n, c_in, h, w = x.shape
    c_out = weight.shape[1]
    # (C_out * 16, C_in) @ (C_in, N * H * W): for a channels-last x the right side is a view
    patches = weight.reshape(c_in, c_out * 16).t() @ x.transpose(0, 1).reshape(c_in, -1)
    patches = patches.view(c_out * 16, n, h * w).transpose(0, 1)  # (N, C_out * 16, H * W)
    y = F.fold(patches, (2 * h, 2 * w), 4, padding=1, stride=2)
    return y.contiguous(memory_format=torch.channels_last) if _channels_last(x) else y


class _TransposedConvUp2(torch.autograd.Function):
    """y = conv_transpose2d(x, W, b, 2, 1): forward by overlap_add, backward by PyTorch's own
    convolution backward (fast for these shapes, and itself differentiable)."""

    @staticmethod
    def forward(ctx, x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
        ctx.save_for_backward(x, weight)
        ctx.has_bias = bias is not None
        y = overlap_add(x, weight)
        return y if bias is None else y.add_(bias.view(1, -1, 1, 1))

    @staticmethod
    def backward(ctx, grad: Tensor):
        x, weight = ctx.saved_tensors
        need = ctx.needs_input_grad
        bias_sizes = [weight.shape[1]] if ctx.has_bias else None
        return torch.ops.aten.convolution_backward(
            grad, x, weight, bias_sizes, [2, 2], [1, 1], [1, 1], True, [0, 0], 1,
            [need[0], need[1], ctx.has_bias and need[2]])


class _ImageGradientByOverlapAdd(torch.autograd.Function):
    """y = conv2d(x, W, b, 2, 1) with weights that need no gradient (the generator step):
    PyTorch's forward, and the gradient for the image by overlap_add, which oneDNN computes
    slowly when the image has few channels."""

    @staticmethod
    def forward(ctx, x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
        ctx.save_for_backward(weight)
        return F.conv2d(x, weight, bias, 2, 1)

    @staticmethod
    def backward(ctx, grad: Tensor):
        (weight,) = ctx.saved_tensors
        return _TransposedConvUp2.apply(grad, weight, None), None, None


def _is_4x4_stride_2(layer: nn.Conv2d | nn.ConvTranspose2d, x: Tensor) -> bool:
    """The shape the image-end layers are fast for: 4x4, stride 2, zero padding 1, on a CPU."""
    return (layer.kernel_size == (4, 4) and layer.stride == (2, 2) and layer.padding == (1, 1)
            and layer.output_padding == (0, 0) and layer.dilation == (1, 1) and layer.groups == 1
            and layer.padding_mode == "zeros" and x.device.type == "cpu" and x.dim() == 4)


class ConvTranspose2dToImage(nn.ConvTranspose2d):
    """The generator's last layer: (N, w, s, s) -> (N, C, 2s, 2s), C the image's 1 or 3
    channels. oneDNN's transposed convolution onto so few channels is slow on a CPU; this
    computes the same numbers with a matrix multiply and overlap-add."""

    def forward(self, x: Tensor, output_size=None) -> Tensor:
        if output_size or not _is_4x4_stride_2(self, x):
            return super().forward(x, output_size)  # cuDNN, or a shape this is not for
        return _TransposedConvUp2.apply(x, self.weight, self.bias)


class Conv2dFromImage(nn.Conv2d):
    """The critic's first layer: (N, C, s, s) -> (N, w, s/2, s/2) from the image's channels.

    Its forward is the ordinary convolution. In the generator step (critic weights frozen,
    the gradient flowing back into G's images) the image's gradient is computed the faster
    way. Everywhere else it is a plain nn.Conv2d: the critic step needs no image gradient, and
    when the weights' gradient is wanted as well, oneDNN's combined backward is faster (3.6 vs
    4.2 ms on 2 threads, measured). In training: +3 % DCGAN steps per second (paired rounds).
    """

    def forward(self, x: Tensor) -> Tensor:
        frozen = not any(p.requires_grad for p in (self.weight, self.bias) if p is not None)
        even = x.dim() == 4 and x.shape[-2] % 2 == 0 and x.shape[-1] % 2 == 0  # 2s -> s -> 2s
        if not (frozen and x.requires_grad and even and _is_4x4_stride_2(self, x)):
            return super().forward(x)
        return _ImageGradientByOverlapAdd.apply(x, self.weight, self.bias)


_PLAIN = {ConvTranspose2dFrom1x1: nn.ConvTranspose2d, Conv2dTo1x1: nn.Conv2d,
          ConvTranspose2dToImage: nn.ConvTranspose2d, Conv2dFromImage: nn.Conv2d}


def to_plain_convolutions(module: nn.Module) -> nn.Module:
    """Turn every fast layer inside `module` back into the torch.nn layer it subclasses, in
    place (same parameters): the benchmark's "no fast_layers" lever, and a way to compare."""
    for m in module.modules():
        if type(m) in _PLAIN:
            m.__class__ = _PLAIN[type(m)]
    return module
