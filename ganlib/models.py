"""Generators and critics: MLPs for the 2-D toys and flat digits, DCGANs for images.

Every generator takes `(z, labels=None)` and every critic `(x, labels=None)` and returns one raw
score per sample, shape (N,): no sigmoid inside, because the BCE loss takes logits (stable) and
the Wasserstein critic must not be squashed at all. Plain torch.nn layers, as the papers draw
them; the sizes come from the config's preset (`ganlib.config.preset`), and the papers' sizes
are one argument away (`width=128` at 64x64 gives the DCGAN paper's [1024, 512, 256, 128]
filters). CPU speed tricks are applied to the built nets by `ganlib.speed`, never here.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator

import torch
from torch import Tensor, nn

IMAGE_SIZES = (32, 64)  # the image sides the DCGAN nets are built for


@contextlib.contextmanager
def eval_mode(module: nn.Module) -> Iterator[nn.Module]:
    """Evaluate `module` (BatchNorm's running statistics, no dropout) without autograd, then
    put it back in the mode it was in."""
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            yield module
    finally:
        module.train(was_training)


class Generator(nn.Module):
    """Base class: what every generator offers besides `forward(z, labels)`.

    Subclasses set `z_dim`, `n_classes` (None when unconditional) and `out_shape`.
    """

    z_dim: int
    n_classes: int | None = None
    out_shape: tuple[int, ...]

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def default_labels(self, n: int) -> Tensor:
        """0, 1, ..., K-1, 0, 1, ... so n samples cover the classes evenly."""
        return torch.arange(n) % self.n_classes

    def sample(self, n: int | None = None, labels: Tensor | list | None = None,
               generator: torch.Generator | None = None, z: Tensor | None = None) -> Tensor:
        """n samples on CPU: (n, 2) points or (n, C, H, W) images in [-1, 1].

        Runs in eval mode (BatchNorm uses its running statistics) without autograd, then puts
        the model back in the mode it was in. Give `z` to draw from fixed noise (latent walks).
        """
        if z is None:
            if n is None or isinstance(n, bool) or not isinstance(n, int) or n < 1:
                raise ValueError(f"sample(n) needs a whole number of samples n >= 1 (or the "
                                 f"noise z), got n={n!r}")
            z = torch.randn(n, self.z_dim, generator=generator)
        n = z.shape[0]
        if self.n_classes is not None:
            labels = self.default_labels(n) if labels is None else torch.as_tensor(labels)
            if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
                raise ValueError(f"labels must be whole class numbers in 0..{self.n_classes - 1}"
                                 f", got {labels.dtype} values")  # .long() would truncate 1.5
            labels = labels.long().reshape(-1)
            if labels.numel() == 1 and n > 1:
                labels = labels.expand(n)
            if labels.numel() != n or labels.min() < 0 or labels.max() >= self.n_classes:
                raise ValueError(f"labels must be {n} class numbers in 0..{self.n_classes - 1}")
            labels = labels.to(self.device)
        elif labels is not None:
            raise ValueError("this generator is unconditional: call sample() without labels")
        with eval_mode(self):
            out = self(z.to(self.device), labels)
        return out.float().cpu()


def init_dcgan_weights(module: nn.Module) -> None:
    """Radford et al. 2015: all weights from N(0, 0.02); BatchNorm scales from N(1, 0.02)."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d | nn.ConvTranspose2d | nn.Linear | nn.Embedding):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if getattr(m, "bias", None) is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d | nn.BatchNorm1d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


def critic_norm(kind: str, channels: int) -> nn.Module:
    """The critic's normalisation layer. Taught in 05_wgan_gp.

    BatchNorm makes each score depend on the rest of the batch, which breaks the gradient
    penalty's per-sample gradients, so WGAN-GP uses LayerNorm (here GroupNorm with one group:
    a LayerNorm over C, H, W with per-channel scale) or InstanceNorm with affine parameters.
    """
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "layer":
        return nn.GroupNorm(1, channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown critic_norm {kind!r}; choose batch, layer, instance or none")


# ----------------------------------------------------------------------------------------------
# MLPs: the 2-D toys (01, 04, 05) and the 2014 GAN on flattened digits (02)
# ----------------------------------------------------------------------------------------------


def _mlp(sizes: list[int], act: nn.Module) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(act)
    return nn.Sequential(*layers)


class MLPGenerator(Generator):
    """z (N, z_dim) -> hidden ReLU layers -> (N, *out_shape). Taught in 01_mode_collapse.

    For images the output goes through tanh so pixels land in [-1, 1] like the data; for the
    2-D toys it stays linear because the points can lie anywhere.
    """

    def __init__(self, z_dim: int = 2, out_shape: tuple[int, ...] = (2,), width: int = 128,
                 depth: int = 3):
        super().__init__()
        self.z_dim, self.out_shape = z_dim, tuple(out_shape)
        n_out = math.prod(self.out_shape)
        image = len(self.out_shape) == 3
        # images: widths grow towards the output (256 -> 512 -> 1024), as in the 2014 paper's
        # MLPs; toys: constant width
        hidden = [width * 2**i for i in range(depth)] if image else [width] * depth
        self.net = _mlp([z_dim, *hidden, n_out], nn.ReLU())
        self.out = nn.Tanh() if image else nn.Identity()

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.out(self.net(z)).view(z.shape[0], *self.out_shape)


class MLPCritic(nn.Module):
    """(N, *in_shape) -> flattened -> LeakyReLU(0.2) layers -> (N,) raw scores."""

    def __init__(self, in_shape: tuple[int, ...] = (2,), width: int = 128, depth: int = 3):
        super().__init__()
        image = len(in_shape) == 3
        hidden = [width * 2**i for i in reversed(range(depth))] if image else [width] * depth
        self.net = _mlp([math.prod(in_shape), *hidden, 1], nn.LeakyReLU(0.2))

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.net(x.flatten(1)).squeeze(1)


# ----------------------------------------------------------------------------------------------
# DCGAN (Radford et al. 2015): 03, 04, 05
# ----------------------------------------------------------------------------------------------


def check_image_size(size: int) -> None:
    """The one check of the image side, for a config (ganlib.config), the data and the nets."""
    if size not in IMAGE_SIZES:
        raise ValueError(f"size must be {' or '.join(map(str, IMAGE_SIZES))} (the image sides "
                         f"the DCGAN nets are built for), got {size!r}")


def _n_up(size: int) -> int:
    """How many times the DCGAN doubles a 4x4 map to reach `size`: 3 for 32, 4 for 64."""
    check_image_size(size)
    return int(math.log2(size)) - 2


def _up_block(c_in: int, c_out: int) -> list[nn.Module]:
    # (N, c_in, s, s) -> (N, c_out, 2s, 2s): the transposed convolution that doubles the image
    return [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out),
            nn.ReLU(True)]


class DCGANGenerator(Generator):
    """z (N, z_dim) -> (N, C, size, size) in [-1, 1] with 4x4 stride-2 transposed convolutions.

    Widths halve at every doubling: at size 32 with width w they are [4w, 2w, w]
    (w = 32 gives [128, 64, 32]).
    """

    def __init__(self, z_dim: int = 100, channels: int = 1, size: int = 32, width: int = 32,
                 in_dim: int | None = None):
        super().__init__()
        self.z_dim, self.out_shape = z_dim, (channels, size, size)
        n = _n_up(size)
        widths = [width * 2 ** (n - 1 - i) for i in range(n)]  # e.g. [128, 64, 32]
        layers: list[nn.Module] = [
            # (N, z, 1, 1) -> (N, widths[0], 4, 4)
            nn.ConvTranspose2d(in_dim or z_dim, widths[0], 4, 1, 0, bias=False),
            nn.BatchNorm2d(widths[0]), nn.ReLU(True)]
        for a, b in zip(widths[:-1], widths[1:], strict=True):
            layers += _up_block(a, b)  # 4 -> 8 -> 16 (-> 32)
        # (N, w, size/2, size/2) -> (N, C, size, size)
        layers += [nn.ConvTranspose2d(widths[-1], channels, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        init_dcgan_weights(self)

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.net(z.view(z.shape[0], -1, 1, 1))


class DCGANCritic(nn.Module):
    """(N, C, size, size) -> (N,) raw scores with 4x4 stride-2 convolutions and LeakyReLU(0.2).

    No normalisation on the first layer (Radford et al.); `norm` picks the others' (BatchNorm
    for DCGAN and WGAN-clip, LayerNorm/InstanceNorm for WGAN-GP).
    """

    def __init__(self, channels: int = 1, size: int = 32, width: int = 32, norm: str = "batch"):
        super().__init__()
        n = _n_up(size)
        widths = [width * 2**i for i in range(n)]  # e.g. [32, 64, 128]
        layers: list[nn.Module] = [nn.Conv2d(channels, widths[0], 4, 2, 1),  # -> size/2
                                   nn.LeakyReLU(0.2, True)]
        for a, b in zip(widths[:-1], widths[1:], strict=True):
            layers += [nn.Conv2d(a, b, 4, 2, 1, bias=norm == "none"), critic_norm(norm, b),
                       nn.LeakyReLU(0.2, True)]  # halves the side: 16 -> 8 -> 4
        layers += [nn.Conv2d(widths[-1], 1, 4, 1, 0)]  # (N, 4w, 4, 4) -> (N, 1, 1, 1)
        self.net = nn.Sequential(*layers)
        init_dcgan_weights(self)

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.net(x).flatten()


# ----------------------------------------------------------------------------------------------
# Conditional WGAN (Mirza & Osindero 2014): 06
# ----------------------------------------------------------------------------------------------


def init_label_embedding(embed: nn.Embedding) -> None:
    """Label embeddings start at N(0, 1), the scale of z and of the pixels. Taught in 06.

    An embedding's output is an *input* of the network, not a weight inside it: DCGAN's
    N(0, 0.02) would make the label 50 times quieter than z (or the image), and both players
    would learn to use it only after hundreds of steps (measured on digits5k with the cwgan-gp
    preset: the judge's label accuracy at step 400 was 0.19 with N(0, 0.02), 0.69 with N(0, 1)).
    """
    nn.init.normal_(embed.weight, 0.0, 1.0)


class ResUpBlock(nn.Module):
    """BN-ReLU-upsample-conv3-BN-ReLU-conv3 plus an upsampled 1x1 shortcut: (N, a, s, s) ->
    (N, b, 2s, 2s). Residual blocks let gradients reach early layers directly."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.main = nn.Sequential(
            nn.BatchNorm2d(c_in), nn.ReLU(True), nn.Upsample(scale_factor=2),
            nn.Conv2d(c_in, c_out, 3, 1, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(True),
            nn.Conv2d(c_out, c_out, 3, 1, 1))
        self.skip = nn.Sequential(nn.Upsample(scale_factor=2), nn.Conv2d(c_in, c_out, 1))

    def forward(self, x: Tensor) -> Tensor:
        return self.main(x) + self.skip(x)


class ConditionalGenerator(Generator):
    """(z, label) -> image: the label's embedding is joined to z, then a DCGAN (or ResNet) body.

    Taught in 06_conditional_wgan.
    """

    def __init__(self, z_dim: int = 100, n_classes: int = 10, channels: int = 1, size: int = 32,
                 width: int = 32, embed_dim: int = 16, resnet: bool = False):
        super().__init__()
        self.z_dim, self.n_classes, self.out_shape = z_dim, n_classes, (channels, size, size)
        self.embed = nn.Embedding(n_classes, embed_dim)
        if resnet:
            n = _n_up(size)
            widths = [width * 2 ** (n - 1 - i) for i in range(n)]
            self.stem = nn.Linear(z_dim + embed_dim, widths[0] * 4 * 4)  # -> (N, 4w, 4, 4)
            blocks = [ResUpBlock(a, b) for a, b in zip(widths, [*widths[1:], widths[-1]],
                                                       strict=True)]
            self.body = nn.Sequential(*blocks, nn.BatchNorm2d(widths[-1]), nn.ReLU(True),
                                      nn.Conv2d(widths[-1], channels, 3, 1, 1), nn.Tanh())
            self.widths0 = widths[0]
            init_dcgan_weights(self)
        else:
            self.stem = None
            self.body = DCGANGenerator(z_dim, channels, size, width, in_dim=z_dim + embed_dim)
        init_label_embedding(self.embed)  # the label as loud as z

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        if labels is None:
            raise ValueError("a conditional generator needs labels: G(z, labels)")
        h = torch.cat([z, self.embed(labels)], dim=1)  # (N, z_dim + embed_dim)
        if self.stem is None:
            return self.body(h)
        return self.body(self.stem(h).view(-1, self.widths0, 4, 4))


class ConditionalCritic(nn.Module):
    """(image, label) -> score: the label becomes an extra image channel (a learned size x size
    map per class, as in the conditional WGAN seed) before a DCGAN critic."""

    def __init__(self, channels: int = 1, size: int = 32, n_classes: int = 10, width: int = 32,
                 norm: str = "layer"):
        super().__init__()
        self.size = size
        self.embed = nn.Embedding(n_classes, size * size)
        self.body = DCGANCritic(channels + 1, size, width, norm)
        init_label_embedding(self.embed)  # the label map as loud as the image channel

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        if labels is None:
            raise ValueError("a conditional critic needs labels: critic(x, labels)")
        label_map = self.embed(labels).view(-1, 1, self.size, self.size)  # (N, 1, H, W)
        return self.body(torch.cat([x, label_map], dim=1))  # (N, C + 1, H, W) -> (N,)


def build_models(config, shape: tuple[int, ...], n_classes: int | None = None
                 ) -> tuple[Generator, nn.Module]:
    """The generator and critic a TrainConfig asks for, for data of per-sample `shape`."""
    width, z_dim = config.width, config.z_dim
    if config.model == "cwgan-gp":  # ganlib.run.check_data has made sure the data has labels
        c, h, _ = shape
        G = ConditionalGenerator(z_dim, n_classes, c, h, width, resnet=config.resnet)
        critic = ConditionalCritic(c, h, n_classes, width, config.critic_norm)
        return G, critic
    arch = config.arch
    if arch == "auto":
        arch = "mlp" if len(shape) == 1 or config.model == "gan" else "dcgan"
    if arch == "mlp":
        return MLPGenerator(z_dim, shape, width), MLPCritic(shape, width)
    if len(shape) != 3:
        raise ValueError("the DCGAN nets need images; use arch='mlp' for the 2-D toys")
    c, h, _ = shape
    return DCGANGenerator(z_dim, c, h, width), DCGANCritic(c, h, width, config.critic_norm)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
