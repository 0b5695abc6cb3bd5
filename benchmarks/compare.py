"""ganlib against what a student would pick instead: same digits, same clock, same judge.

    python benchmarks/compare.py --budgets 60,180,600 --out build/compare

For every wall-clock budget, each method trains from scratch on the 5,000 bundled digits
(`ganlib.data.load("digits5k")`: 32x32 gray in [-1, 1]) on one CPU thread with a fixed seed, and
its generator is scored by the offline digit judge (`ganlib.judge`) through
`ganlib.metrics.image_metrics`: Fréchet distance of judge features (lower is better), classes
covered, mean confidence, on 1,000 generated and 1,000 real digits. The clock counts training
only: building the models and scoring happen outside it. "images/s" is real images the
discriminator (critic) trained on per second of training.

The methods:

- ganlib-dcgan, ganlib-wgan-gp: `ganlib.preset(model, "digits5k")`, trained by `ganlib.train`
  with `seconds=` and sampled with `G.sample` (eval mode), through ganlib's public API only.
- pytorch-dcgan: the PyTorch DCGAN example's algorithm and hyper-parameters (pytorch/examples
  `dcgan/main.py`, after Radford et al. 2016), written out below: Adam(2e-4, betas 0.5, 0.999),
  batch 128, nz 100, ngf = ndf = 64, BCE with a sigmoid discriminator, weights from N(0, 0.02)
  (BatchNorm scales from N(1, 0.02)), shuffled epochs, real and fake batches through D
  separately, and G trained against the just-updated D. Its nets are drawn for 64x64 images; we
  use the usual 32x32 variant with one block fewer on each side (G starts at 4 ngf channels
  instead of 8, D ends at 4 ndf), because the digits are 32x32: training at 64x64 and resizing
  back would cost about four times the compute per step for no extra detail. It is sampled as
  the example draws its pictures, with G in training mode (BatchNorm on batch statistics, in
  batches of 128).
- lightweight-gan: `lightweight-gan==1.2.1` (Liu et al. 2021; `pip install -e ".[compare]"`)
  on the same digits written out as a folder of PNGs, at its smallest supported size (32; its
  nets need a power of two and its discriminator two downsampling blocks, so 16 fails) with the
  README's settings for small data (`--aug-prob 0.25 --aug-types [translation,cutout,color]`)
  and its command line's defaults otherwise (batch 10 x 4 accumulated, lr 2e-4, attention at
  32, fmap_max 512, discriminator output 1x1), `greyscale=True`, no data-loading workers (one
  thread for every method) and without its every-100-steps sample grids and checkpoints. Its G
  (not the EMA copy, which is only a periodically reset snapshot before step 20,000) is sampled in
  eval mode, clamped to [0, 1] as its own sampler does, mapped to [-1, 1] and resized to 32x32
  if it was trained larger. Version 1.2.1 requires CUDA: when it cannot run, its rows say which
  line stopped it, and the other methods are compared without it.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

import ganlib
from ganlib.data import ImageData, load
from ganlib.judge import Judge, load_judge
from ganlib.metrics import image_metrics

METHODS = ("ganlib-dcgan", "ganlib-wgan-gp", "pytorch-dcgan", "lightweight-gan")
SCORE_SEED = 1234  # the same noise and the same real digits for every generator

# The README's line for small data sets, on top of its command line's defaults (cli.py).
LIGHTWEIGHT_GAN_SETTINGS = dict(
    image_size=32, greyscale=True, batch_size=10, gradient_accumulate_every=4, lr=2e-4,
    attn_res_layers=[32], disc_output_size=1, fmap_max=512, latent_dim=256,
    aug_prob=0.25, aug_types=["translation", "cutout", "color"])


@dataclass
class Trained:
    """A generator after its budget, and how much it trained."""

    G: object  # anything with .sample(n, generator=...) -> (n, 1, 32, 32) in [-1, 1]
    steps: int  # generator updates
    images: int  # real images the discriminator/critic trained on
    seconds: float  # training time on the clock
    device: str


class Sampler:
    """The little of a ganlib Generator that `image_metrics` uses, around any sampling function."""

    n_classes = None  # unconditional

    def __init__(self, draw: Callable[[int, torch.Generator | None], Tensor]):
        self.draw = draw

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        return self.draw(n, generator)


# --- (a), (b): ganlib's presets ------------------------------------------------------------------


def train_ganlib(model: str, data: ImageData, seconds: float, seed: int, tiny: bool,
                 device: str, workdir: Path) -> Trained:
    overrides = dict(seconds=seconds, seed=seed, threads=1, device=device)
    if tiny:
        overrides.update(width=4, batch_size=16)
    config = ganlib.preset(model, "digits5k", **overrides)
    run = ganlib.train(config, data, progress=False)
    images = run.step * config.n_critic * config.batch_size
    return Trained(run.G, run.step, images, run.elapsed, str(run.device))


# --- (c): the PyTorch DCGAN example, written out -------------------------------------------------


def dcgan_example_nets(nz: int = 100, ngf: int = 64, ndf: int = 64) -> tuple[nn.Module, nn.Module]:
    """The example's generator and discriminator, one block shorter for 32x32 gray images."""
    G = nn.Sequential(
        nn.Unflatten(1, (nz, 1, 1)),  # (N, nz) -> (N, nz, 1, 1)
        nn.ConvTranspose2d(nz, ngf * 4, 4, 1, 0, bias=False),  # -> (N, 4 ngf, 4, 4)
        nn.BatchNorm2d(ngf * 4), nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),  # -> (N, 2 ngf, 8, 8)
        nn.BatchNorm2d(ngf * 2), nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),  # -> (N, ngf, 16, 16)
        nn.BatchNorm2d(ngf), nn.ReLU(True),
        nn.ConvTranspose2d(ngf, 1, 4, 2, 1, bias=False),  # -> (N, 1, 32, 32)
        nn.Tanh())
    D = nn.Sequential(
        nn.Conv2d(1, ndf, 4, 2, 1, bias=False),  # (N, 1, 32, 32) -> (N, ndf, 16, 16)
        nn.LeakyReLU(0.2, True),  # no BatchNorm on D's input layer, as in the paper
        nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),  # -> (N, 2 ndf, 8, 8)
        nn.BatchNorm2d(ndf * 2), nn.LeakyReLU(0.2, True),
        nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False),  # -> (N, 4 ndf, 4, 4)
        nn.BatchNorm2d(ndf * 4), nn.LeakyReLU(0.2, True),
        nn.Conv2d(ndf * 4, 1, 4, 1, 0, bias=False),  # -> (N, 1, 1, 1)
        nn.Sigmoid(), nn.Flatten(0))  # -> (N,) probabilities of "real"
    for module in [*G.modules(), *D.modules()]:
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(module.weight, 0.0, 0.02)
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.normal_(module.weight, 1.0, 0.02)
            nn.init.zeros_(module.bias)
    return G, D


def train_dcgan_example(data: ImageData, seconds: float, seed: int, tiny: bool, device: str,
                        workdir: Path) -> Trained:
    nz, width, batch_size = 100, (4 if tiny else 64), (16 if tiny else 128)
    torch.manual_seed(seed)
    G, D = dcgan_example_nets(nz, ngf=width, ndf=width)
    G, D = G.to(device), D.to(device)
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    rng = torch.Generator().manual_seed(seed)
    images = data.images.to(device)
    steps = seen = 0
    start = time.perf_counter()
    elapsed = 0.0
    while elapsed < seconds:
        # one epoch: a fresh shuffle, the last batch smaller (the example keeps it)
        for idx in torch.randperm(len(images), generator=rng).split(batch_size):
            real = images[idx.to(device)]
            n = len(real)
            ones, zeros = torch.ones(n, device=device), torch.zeros(n, device=device)
            # (1) D: maximise log D(x) + log(1 - D(G(z))), real and fake as separate batches
            opt_d.zero_grad()
            fake = G(torch.randn(n, nz, generator=rng).to(device))
            loss_d = (F.binary_cross_entropy(D(real), ones)
                      + F.binary_cross_entropy(D(fake.detach()), zeros))
            loss_d.backward()
            opt_d.step()
            # (2) G: maximise log D(G(z)), the same fakes through the updated D
            opt_g.zero_grad()
            F.binary_cross_entropy(D(fake), ones).backward()
            opt_g.step()
            steps, seen = steps + 1, seen + n
            elapsed = time.perf_counter() - start
            if elapsed >= seconds:
                break

    @torch.no_grad()
    def draw(n: int, generator: torch.Generator | None) -> Tensor:
        z = torch.randn(n, nz, generator=generator).to(device)
        G.train()  # the example never switches G to eval mode
        return torch.cat([G(chunk) for chunk in z.split(batch_size)]).float().cpu()

    return Trained(Sampler(draw), steps, seen, elapsed, device)


# --- (d): lightweight-gan ----------------------------------------------------------------------


def write_image_folder(images: Tensor, folder: Path) -> Path:
    """(N, 1, H, W) images in [-1, 1] -> folder/00000.png ... as 8-bit gray PNGs (kept if there)."""
    from PIL import Image

    if folder.is_dir() and len(list(folder.glob("*.png"))) == len(images):
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    pixels = ((images[:, 0] + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).numpy()
    for i, digit in enumerate(pixels):
        Image.fromarray(digit, mode="L").save(folder / f"{i:05d}.png")
    return folder


def train_lightweight_gan(data: ImageData, seconds: float, seed: int, tiny: bool, device: str,
                          workdir: Path) -> Trained:
    from lightweight_gan import Trainer  # 1.2.1 asserts at import that CUDA is available

    folder = write_image_folder(data.images, workdir / "digits5k_png")
    settings = dict(LIGHTWEIGHT_GAN_SETTINGS)
    if tiny:
        settings.update(fmap_max=16, latent_dim=16, batch_size=4, gradient_accumulate_every=1)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    trainer = Trainer(name="compare", base_dir=str(workdir), num_workers=0, use_aim=False,
                      save_every=10**9, evaluate_every=10**9, **settings)
    trainer.set_data_src(str(folder))
    # bookkeeping outside the comparison: sample grids every 100 steps, checkpoints
    trainer.evaluate = lambda *args, **kwargs: None
    trainer.save = lambda *args, **kwargs: None
    trainer.init_GAN()
    start = time.perf_counter()
    elapsed = 0.0
    while elapsed < seconds:
        trainer.train()
        elapsed = time.perf_counter() - start
    G, latent_dim, size = trainer.GAN.G, trainer.GAN.latent_dim, trainer.GAN.image_size
    where = next(G.parameters()).device

    @torch.no_grad()
    def draw(n: int, generator: torch.Generator | None) -> Tensor:
        G.eval()
        z = torch.randn(n, latent_dim, generator=generator).to(where)
        out = torch.cat([G(chunk) for chunk in z.split(100)]).float().cpu().clamp(0, 1) * 2 - 1
        if size != 32:
            out = F.interpolate(out, size=(32, 32), mode="bilinear", antialias=True)
        return out

    per_step = settings["batch_size"] * settings["gradient_accumulate_every"]
    return Trained(Sampler(draw), trainer.steps, trainer.steps * per_step, elapsed, str(where))


TRAINERS = {
    "ganlib-dcgan": lambda *args: train_ganlib("dcgan", *args),
    "ganlib-wgan-gp": lambda *args: train_ganlib("wgan-gp", *args),
    "pytorch-dcgan": train_dcgan_example,
    "lightweight-gan": train_lightweight_gan,
}


# --- the comparison ------------------------------------------------------------------------------


def what_stopped(error: BaseException) -> str:
    """'file.py:line: Error: message' for the innermost frame an exception came from."""
    if isinstance(error, ModuleNotFoundError):
        return f"not installed ({error}); pip install -e '.[compare]'"
    frame = traceback.extract_tb(error.__traceback__)[-1]
    path = Path(frame.filename)
    where = f"{path.parent.name}/{path.name}:{frame.lineno}"
    return f"{where}: {type(error).__name__}: {error}".strip()


def run_one(method: str, data: ImageData, judge: Judge, seconds: float, seed: int, n: int,
            tiny: bool, device: str, workdir: Path) -> dict:
    row: dict = {"method": method, "budget_s": seconds}
    torch.manual_seed(seed)
    try:
        trained = TRAINERS[method](data, seconds, seed, tiny, device, workdir / method)
    except Exception as error:  # one method failing must not cost the others' minutes
        row["stopped"] = what_stopped(error)
        if not isinstance(error, ModuleNotFoundError):
            traceback.print_exc(file=sys.stderr)
        return row
    scores = image_metrics(trained.G, judge, data, n=n,
                           generator=torch.Generator().manual_seed(SCORE_SEED))
    row.update(steps=trained.steps, train_s=round(trained.seconds, 2),
               images_per_s=trained.images / trained.seconds, device=trained.device,
               frechet=scores["frechet"], classes_covered=scores["classes_covered"],
               confidence=scores["confidence"],
               load_1min=os.getloadavg()[0])  # other processes on the CPU slow every method
    return row


def markdown_table(rows: list[dict]) -> str:
    lines = ["| method | budget (s) | Fréchet distance ↓ | classes covered | confidence "
             "| images/s | steps |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    stopped: dict[str, str] = {}
    for r in rows:
        if "stopped" in r:
            stopped.setdefault(r["method"], r["stopped"])
            lines.append(f"| {r['method']} | {r['budget_s']:g} | did not run¹ | | | | |")
        else:
            lines.append(f"| {r['method']} | {r['budget_s']:g} | {r['frechet']:.1f} "
                         f"| {r['classes_covered']}/10 | {r['confidence']:.2f} "
                         f"| {r['images_per_s']:.0f} | {r['steps']} |")
    for method, reason in stopped.items():
        lines.append(f"\n¹ {method}: {reason}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None, judge: Judge | None = None) -> dict:
    """Run every method at every budget, print the table and write it as markdown and JSON.

    `judge` replaces the digit judge (the tests pass an untrained one to save its minute).
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--budgets", default="60,180,600",
                        help="wall-clock training budgets in seconds, comma-separated")
    parser.add_argument("--out", default="build/compare", help="folder for the table and runs")
    parser.add_argument("--methods", default=",".join(METHODS),
                        help=f"comma-separated subset of {', '.join(METHODS)}")
    parser.add_argument("--n", type=int, default=1000, help="generated (and real) images scored")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu", help="cpu (the comparison) or cuda")
    parser.add_argument("--tiny", action="store_true",
                        help="tiny widths and batches: checks the plumbing, not the methods")
    args = parser.parse_args(argv)
    budgets = [float(b) for b in args.budgets.split(",")]
    methods = args.methods.split(",")
    unknown = sorted(set(methods) - set(METHODS))
    if unknown or not all(b > 0 for b in budgets):
        raise ValueError(f"--methods must name some of {', '.join(METHODS)} (got {unknown}) "
                         f"and --budgets be positive seconds (got {args.budgets!r})")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    threads_before = torch.get_num_threads()
    torch.set_num_threads(1)  # one thread for every method: fair, and the machine is shared
    try:
        data = load("digits5k")
        judge = judge if judge is not None else load_judge("digits5k")
        rows = []
        for seconds in budgets:
            for method in methods:
                row = run_one(method, data, judge, seconds, args.seed, args.n, args.tiny,
                              args.device, out / "runs")
                print(json.dumps(row), flush=True)
                rows.append(row)
    finally:
        torch.set_num_threads(threads_before)
    rows.sort(key=lambda r: (methods.index(r["method"]), r["budget_s"]))
    table = markdown_table(rows)
    command = "python benchmarks/compare.py " + " ".join(
        sys.argv[1:] if argv is None else argv)
    result = {"command": command, "threads": 1, "seed": args.seed, "n": args.n,
              "device": args.device, "torch": torch.__version__, "rows": rows}
    (out / "compare.json").write_text(json.dumps(result, indent=1))
    (out / "compare.md").write_text(f"`{command}`\n\n{table}")
    print(table)
    return result


if __name__ == "__main__":
    main()
