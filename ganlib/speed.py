"""CPU speed tricks, applied to models that are already built. Same maths.

`models.py` builds the papers' networks from plain torch.nn layers and knows nothing of this
module; `ganlib.run` applies it to the built nets (`place_models`, for a new run and a loaded
one), and `train.py` asks it only how many threads to train on, so the step reads as the
papers write it. On a CPU the same computation
runs faster with a few changes, all made here, all switched off by `TrainConfig(fast=False)`:

- threads (`pick_threads`): the idle cores for the image models, one for the 2-D toys, whose
  small MLPs gain nothing from a second thread and lose a lot when another process is busy;
- channels-last memory (`apply`): oneDNN's convolutions prefer NHWC tensors;
- fused Adam (`optimizer_options`): one C++ loop updates every tensor;
- faster forms of three DCGAN edge layers (`apply`): the generator's first layer (z is a 1x1
  image) is a fully connected layer, and the layers on the image side (1 or 3 channels) are a
  matrix multiply plus an overlap-add. oneDNN is tuned for many channels on both sides and is
  several times slower on these shapes.

Every fast layer is the torch.nn layer it subclasses (same parameters, same state_dict), gives
the same numbers (tests/test_speed.py checks values, gradients and second derivatives) and
falls back to the plain layer for any other shape. Measured figures live in
docs/performance.md and the benchmark (`benchmarks/`).
"""

from __future__ import annotations

import os
import types

import torch
import torch.nn.functional as F
from torch import Tensor, nn

THREADS_ENV_VAR = "GANLIB_THREADS"


# ----------------------------------------------------------------------------------------------
# Threads
# ----------------------------------------------------------------------------------------------


def idle_cores(interval: float = 0.1) -> float:
    """Cores' worth of CPU left unused over the next `interval` seconds, which we spend
    asleep, so whatever is busy meanwhile is another process."""
    import psutil

    busy = psutil.cpu_percent(interval=interval) / 100.0
    return (os.cpu_count() or 1) * (1.0 - busy)


def physical_cores() -> int:
    import psutil

    return psutil.cpu_count(logical=False) or os.cpu_count() or 1


def pick_threads(requested: int = 0, toy: bool = False) -> int:
    """The thread count for a training run: `requested` if > 0, else GANLIB_THREADS if set,
    else 1 for the 2-D toys and the idle physical cores (at least 1) for images, shared out
    among torchrun's processes on this machine.

    Threads wait for each other at every operation, so a thread that loses its core to another
    busy process slows them all: hence only the idle cores. Set GANLIB_THREADS=1 if you train
    while the machine does other heavy work.
    """
    if requested:
        return requested
    env = os.environ.get(THREADS_ENV_VAR, "").strip()
    if env:
        if not env.isdigit() or int(env) < 1:
            raise ValueError(f"{THREADS_ENV_VAR} must be a whole number >= 1, got {env!r}; "
                             "unset it to let ganlib choose")
        return int(env)
    if toy:
        return 1
    # +0.3: a core that is 70 % free still counts (the background noise of a desktop session)
    cores = min(physical_cores(), int(idle_cores() + 0.3))
    return max(1, cores // int(os.environ.get("LOCAL_WORLD_SIZE", "1")))  # torchrun's share


# ----------------------------------------------------------------------------------------------
# What the trainer calls
# ----------------------------------------------------------------------------------------------


def apply(G: nn.Module, critic: nn.Module, device: torch.device) -> tuple[nn.Module, nn.Module]:
    """The CPU forms of both nets (in place): channels-last memory and the fast edge layers.

    A no-op on other devices, where cuDNN and MPS have their own fast paths.
    """
    if device.type != "cpu":
        return G, critic
    for net in (G, critic):
        use_fast_layers(net)
        if any(isinstance(m, nn.Conv2d | nn.ConvTranspose2d) for m in net.modules()):
            net.to(memory_format=torch.channels_last)
    return G, critic


def use_autocast(net: nn.Module, device: torch.device) -> nn.Module:
    """Run `net`'s forward pass in bfloat16 where autocast picks it (matrix multiplies and
    convolutions), returning float32 scores and images, so every loss stays in float32.

    bfloat16 keeps float32's range, so no loss scaling is needed. The backward passes run in
    the precision of the forward ops they differentiate: the critic's backward, and the
    gradient penalty's double backward through it, compute in bfloat16 inside the nets, with
    float32 only at the ends (the loss, x̂ and the weights' gradients). The penalty's slopes
    then agree with float32's to about 3% (tests/test_speed.py). (float16 would need a
    GradScaler and the penalty's gradient unscaled before its norm; GPUs without bfloat16
    predate 2020.)
    """
    forward = type(net).forward  # the class's forward, unbound

    def autocast_forward(self, *args, **kwargs):
        with torch.autocast(device.type, dtype=torch.bfloat16):
            return forward(self, *args, **kwargs).float()

    # bound to this net as a method, so that copy.deepcopy binds the copy's to the copy
    net.forward = types.MethodType(autocast_forward, net)
    return net


def compile_nets(G: nn.Module, critic: nn.Module, penalised: bool) -> None:
    """torch.compile both nets in place (their state_dict keeps its names). A critic with a
    gradient penalty stays eager: compiled graphs cannot be differentiated twice."""
    G.compile()
    if not penalised:
        critic.compile()


def optimizer_options(device: torch.device) -> dict:
    """Extra Adam arguments: the fused Adam updates every tensor in one loop (C++ on a CPU, one
    kernel on CUDA) with the same maths; both nets are float32 on one device, as it needs."""
    return {"fused": True} if device.type in ("cpu", "cuda") else {}


def use_fast_layers(net: nn.Module) -> nn.Module:
    """Give the first and last convolution of `net` their fast form, where it has one (same
    object, same parameters: the layer's class becomes the fast subclass)."""
    convs = [m for m in net.modules() if type(m) in (nn.Conv2d, nn.ConvTranspose2d)]
    for m in convs[:1] + convs[-1:]:
        fast = _fast_class(m)
        if fast is not None:
            m.__class__ = fast
    return net


def plain_layers(module: nn.Module) -> nn.Module:
    """Undo `use_fast_layers`: every fast layer back to the torch.nn layer it subclasses."""
    for m in module.modules():
        if type(m) in _FAST_CLASSES:
            m.__class__ = type(m).__mro__[1]
    return module


def _fast_class(m: nn.Module) -> type | None:
    if m.kernel_size != (4, 4) or m.groups != 1:
        return None
    dense = m.stride == (1, 1) and m.padding == (0, 0)  # 1x1 <-> 4x4
    if isinstance(m, nn.ConvTranspose2d):
        return ConvTranspose2dFrom1x1 if dense else \
            ConvTranspose2dToImage if _up_or_down_by_2(m) else None
    return Conv2dFromImage if not dense and _up_or_down_by_2(m) else None


def _up_or_down_by_2(m: nn.Conv2d | nn.ConvTranspose2d) -> bool:
    return (m.stride == (2, 2) and m.padding == (1, 1) and m.dilation == (1, 1)
            and m.output_padding == (0, 0) and m.padding_mode == "zeros")


# ----------------------------------------------------------------------------------------------
# The fast edge layers
# ----------------------------------------------------------------------------------------------


def _channels_last(t: Tensor) -> bool:
    return t.is_contiguous(memory_format=torch.channels_last) and not t.is_contiguous()


class ConvTranspose2dFrom1x1(nn.ConvTranspose2d):
    """G's first layer, (N, z, 1, 1) -> (N, C, k, k): on a 1x1 input a transposed convolution
    is a fully connected layer, every output pixel z times its own slice of the weight."""

    def forward(self, x: Tensor, output_size=None) -> Tensor:
        if x.shape[-2:] != (1, 1) or output_size:
            return super().forward(x, output_size)
        n, (c_in, c_out, kh, kw) = x.shape[0], self.weight.shape
        if _channels_last(self.weight):  # keep the net's layout: (N, kh, kw, C) in memory
            y = x.reshape(n, c_in) @ self.weight.permute(0, 2, 3, 1).reshape(c_in, -1)
            y = y.view(n, kh, kw, c_out).permute(0, 3, 1, 2)
        else:
            y = (x.reshape(n, c_in) @ self.weight.reshape(c_in, -1)).view(n, c_out, kh, kw)
        return y if self.bias is None else y + self.bias.view(1, -1, 1, 1)


def overlap_add(x: Tensor, weight: Tensor) -> Tensor:
    """conv_transpose2d(x, weight, stride=2, padding=1) for 4x4 kernels, without oneDNN.

    Every input pixel times the weight gives a 4x4 patch per output channel (one matrix
    multiply for all pixels); the patches of neighbouring pixels overlap by 2 and are added,
    which is what `F.fold` does. Returns (N, C_out, 2H, 2W) in x's memory layout.
    """
    n, c_in, h, w = x.shape
    c_out = weight.shape[1]
    # (C_out * 16, C_in) @ (C_in, N * H * W): for a channels-last x the right side is a view
    patches = weight.reshape(c_in, c_out * 16).t() @ x.transpose(0, 1).reshape(c_in, -1)
    patches = patches.view(c_out * 16, n, h * w).transpose(0, 1)  # (N, C_out * 16, H * W)
    y = F.fold(patches, (2 * h, 2 * w), 4, padding=1, stride=2)
    return y.contiguous(memory_format=torch.channels_last) if _channels_last(x) else y


def _convolution_backward(grad: Tensor, x: Tensor, weight: Tensor, has_bias: bool,
                          transposed: bool, needs: tuple[bool, ...]):
    """PyTorch's own gradients of a 4x4, stride-2, padding-1 (transposed) convolution; they
    are differentiable again, as the gradient penalty needs."""
    bias_sizes = [weight.shape[1 if transposed else 0]] if has_bias else None
    return torch.ops.aten.convolution_backward(
        grad, x, weight, bias_sizes, [2, 2], [1, 1], [1, 1], transposed, [0, 0], 1,
        [needs[0], needs[1], has_bias and needs[2]])


class _UpBy2(torch.autograd.Function):
    """conv_transpose2d(x, W, b, 2, 1): forward by overlap_add, backward by PyTorch's own."""

    @staticmethod
    def forward(ctx, x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
        ctx.save_for_backward(x, weight)
        ctx.has_bias = bias is not None
        y = overlap_add(x, weight)
        return y if bias is None else y.add_(bias.view(1, -1, 1, 1))

    @staticmethod
    def backward(ctx, grad: Tensor):
        x, weight = ctx.saved_tensors
        return _convolution_backward(grad, x, weight, ctx.has_bias, True, ctx.needs_input_grad)


class _DownBy2(torch.autograd.Function):
    """conv2d(x, W, b, 2, 1): PyTorch's forward; when autograd asks for the image's gradient
    alone (the generator step: the critic's weights are frozen), it is an overlap-add."""

    @staticmethod
    def forward(ctx, x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
        ctx.save_for_backward(x, weight)
        ctx.has_bias = bias is not None
        return F.conv2d(x, weight, bias, 2, 1)

    @staticmethod
    def backward(ctx, grad: Tensor):
        x, weight = ctx.saved_tensors
        if ctx.needs_input_grad == (True, False, False) and grad.shape[-1] * 2 == x.shape[-1] \
                and grad.shape[-2] * 2 == x.shape[-2]:
            return _UpBy2.apply(grad, weight, None), None, None
        return _convolution_backward(grad, x, weight, ctx.has_bias, False, ctx.needs_input_grad)


class ConvTranspose2dToImage(nn.ConvTranspose2d):
    """G's last layer, (N, w, s, s) -> (N, C, 2s, 2s) onto the image's few channels."""

    def forward(self, x: Tensor, output_size=None) -> Tensor:
        if output_size or x.device.type != "cpu" or x.dim() != 4:
            return super().forward(x, output_size)
        return _UpBy2.apply(x, self.weight, self.bias)


class Conv2dFromImage(nn.Conv2d):
    """The critic's first layer, (N, C, 2s, 2s) -> (N, w, s, s) from the image's channels.

    Only an image that needs a gradient (the generator's fakes, the penalty's interpolates)
    goes through the custom backward; real and detached batches take the plain layer.
    """

    def forward(self, x: Tensor) -> Tensor:
        if not x.requires_grad or x.device.type != "cpu" or x.dim() != 4:
            return super().forward(x)
        return _DownBy2.apply(x, self.weight, self.bias)


_FAST_CLASSES = (ConvTranspose2dFrom1x1, ConvTranspose2dToImage, Conv2dFromImage)
