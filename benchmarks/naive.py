"""The naive reference loop: how the seed notebooks train (benchmarks/bench.py times it
against ganlib's step, on the same models, batch size, losses and optimizers)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ganlib.config import TrainConfig
from ganlib.models import build_models


class _PilImages(torch.utils.data.Dataset):
    """Images served one at a time as PIL images, through per-sample torchvision transforms."""

    def __init__(self, images: torch.Tensor):
        from torchvision import transforms

        # back to the uint8 pixels the seed notebooks read from disk: (N, H, W) or (N, H, W, 3)
        pixels = ((images + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)
        self.pixels = pixels[:, 0].numpy() if pixels.shape[1] == 1 else \
            pixels.permute(0, 2, 3, 1).numpy()
        c = images.shape[1]
        self.transform = transforms.Compose([
            transforms.ToTensor(), transforms.Normalize((0.5,) * c, (0.5,) * c)])

    def __len__(self) -> int:
        return len(self.pixels)

    def __getitem__(self, i: int):
        from PIL import Image

        return self.transform(Image.fromarray(self.pixels[i])), 0


def seed_gradient_penalty(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor
                          ) -> torch.Tensor:
    """E[(‖∇f(x̂)‖₂ - 1)²] as the DeepLearning.AI WGAN-GP notebook computes it (without λ).

    The same penalty as `losses.gradient_penalty`, with the seed's one extra: its mixing
    weights ε are created with `requires_grad=True`, so every critic backward also carries the
    penalty's gradient back through the mixed images to ε, a gradient nobody reads.
    """
    eps = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), requires_grad=True)
    mixed = real * eps + fake * (1 - eps)
    scores = critic(mixed)
    (grads,) = torch.autograd.grad(outputs=scores, inputs=mixed,
                                   grad_outputs=torch.ones_like(scores),
                                   create_graph=True, retain_graph=True)
    return ((grads.reshape(len(grads), -1).norm(2, dim=1) - 1) ** 2).mean()


class NaiveLoop:
    """One generator step (after n_critic critic steps) written the seed notebooks' way.

    Same models (built from the same config), batch size, losses and optimizers as ganlib, but
    the loop of the DeepLearning.AI course's DCGAN and WGAN-GP notebooks: a torchvision
    DataLoader with per-sample transforms (images) or numpy batches (toys), fakes for the
    critic made with autograd on (a generator graph built and never used) and
    `backward(retain_graph=True)`, fresh fakes made again for the generator step, `zero_grad()`
    as the seeds call it, the critic's weight gradients computed (and thrown away) during the
    generator step, and each loss read with `.item()` every step.

    `reuse_fakes=True` is the PyTorch DCGAN tutorial's variant instead: with n_critic = 1 the
    generator step reuses the critic step's fakes (one generator forward per step, not two).
    Note: since torch 2.0 a plain `zero_grad()` already sets gradients to None.
    """

    def __init__(self, config: TrainConfig, data, reuse_fakes: bool = False):
        self.config, self.data, self.reuse_fakes = config, data, reuse_fakes
        torch.manual_seed(config.seed)
        self.G, self.critic = build_models(config, tuple(data.shape))
        opt = (lambda p, lr: torch.optim.RMSprop(p, lr=lr)) if config.optimizer == "rmsprop" \
            else (lambda p, lr: torch.optim.Adam(p, lr=lr, betas=config.betas))
        self.opt_g, self.opt_d = opt(self.G.parameters(), config.lr_g), \
            opt(self.critic.parameters(), config.lr_d)
        self.step_count = 0
        self.losses: list[tuple[float, float]] = []
        if getattr(data, "is_toy", False):
            self.rng = np.random.default_rng(config.seed)
            self._batches = None
        else:
            loader = torch.utils.data.DataLoader(
                _PilImages(data.images), batch_size=config.batch_size, shuffle=True,
                drop_last=True, generator=torch.Generator().manual_seed(config.seed))
            self._loader, self._batches = loader, iter(loader)

    def real_batch(self) -> torch.Tensor:
        if self._batches is None:  # toys: a fresh numpy batch, then a tensor
            modes = self.data.modes.numpy()
            k = self.rng.integers(len(modes), size=self.config.batch_size)
            x = modes[k] + self.data.sigma * self.rng.standard_normal((len(k), 2))
            return torch.from_numpy(x).float()
        try:
            return next(self._batches)[0]
        except StopIteration:  # next epoch
            self._batches = iter(self._loader)
            return next(self._batches)[0]

    def step(self) -> None:
        cfg, G, D = self.config, self.G, self.critic
        fake = None
        for _ in range(cfg.n_critic):
            real = self.real_batch()
            D.zero_grad()
            z = torch.randn(real.shape[0], G.z_dim)
            fake = G(z)  # autograd on: a generator graph is built, used only if reused below
            d_real, d_fake = D(real), D(fake.detach())
            if cfg.loss == "bce":
                d_loss = (F.binary_cross_entropy_with_logits(d_real, torch.ones_like(d_real))
                          + F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake)))
            else:
                d_loss = d_fake.mean() - d_real.mean()
                if cfg.gp_lambda > 0:
                    d_loss = d_loss + cfg.gp_lambda * seed_gradient_penalty(D, real,
                                                                            fake.detach())
            d_value = d_loss.item()
            d_loss.backward(retain_graph=True)  # as the seeds write it
            self.opt_d.step()
            if cfg.clip_value is not None:
                for p in D.parameters():
                    p.data.clamp_(-cfg.clip_value, cfg.clip_value)
        if not (self.reuse_fakes and cfg.n_critic == 1):
            fake = G(torch.randn(cfg.batch_size, G.z_dim))  # the seeds' fresh fakes
        G.zero_grad()
        scores = D(fake)
        if cfg.loss == "bce":
            g_loss = F.binary_cross_entropy_with_logits(scores, torch.ones_like(scores))
        else:
            g_loss = -scores.mean()
        g_loss.backward()
        self.opt_g.step()
        self.losses.append((d_value, g_loss.item()))
        self.step_count += 1
