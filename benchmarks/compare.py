"""ganlib against what a student would pick instead: same digits, same judge, method told
apart from net size, at equal budget and at equal generator steps.

    python benchmarks/compare.py --budgets 60,180 --steps 50,200 --jobs 2 --out build/compare

Every row trains from scratch on the 5,000 bundled digits (`ganlib.data.load("digits5k")`: 32x32
gray in [-1, 1]) with a fixed seed, once, and its generator is copied when it passes each mark:
each clock budget (`--budgets`) and each number of generator steps (`--steps`). A row trains
until it has passed every mark, so a budget row is the same generator a run stopped at that
budget would give. Every copy is scored by the offline digit judge (`ganlib.judge`) through
`ganlib.metrics.image_metrics`: Fréchet distance of judge features (lower is better), classes
covered and mean confidence, on 1,000 generated and 1,000 real digits; 64 of its samples go to
`grids/<row>_<mark>.png`. "images/s" is real images the discriminator (critic) trained on per
second of the clock.

The clock. On the CPU it is the process's CPU time (`time.process_time()`) with torch on one
thread, counted over the training steps only (building models, copying and scoring are outside
it): another job on the machine slows the wall clock but not this one, so it cannot decide the
result. Other jobs can still cost a little through shared caches; each row records the 1-minute
load average at its mark. `--jobs N` trains N rows at once in separate processes (each on its own
CPU clock). On a GPU (`--device cuda`) the clock is wall time, with the device synchronised
before each reading, as CPU time does not see the GPU's work.

The rows (method, then its net size; the example's default batch, 64, is also ganlib's preset's):

- pytorch-dcgan: the PyTorch DCGAN example's algorithm and hyper-parameters (pytorch/examples
  `dcgan/main.py`, after Radford et al. 2016), written out below: Adam(2e-4, betas 0.5, 0.999),
  batch 64 (`main.py`'s default; 128 is the paper's and the PyTorch tutorial's), nz 100,
  ngf = ndf = 64, BCE with a sigmoid discriminator, weights from N(0, 0.02) (BatchNorm scales from
  N(1, 0.02)), shuffled epochs, real and fake batches through D separately, and G trained against
  the just-updated D on the same fakes. Its nets are drawn for 64x64 images; we use the usual
  32x32 variant with one block fewer on each side (G starts at 4 ngf channels instead of 8, D
  ends at 4 ndf), because the digits are 32x32. It is sampled as the example draws its pictures,
  with G in training mode (BatchNorm on batch statistics, in batches of 64).
- pytorch-dcgan@16: the same algorithm at ganlib's preset size, ngf = ndf = 16, batch 64.
- ganlib-dcgan: `ganlib.preset("dcgan", "digits5k")` (width 16, batch 64, lr 4e-4), trained by
  `ganlib.train` (its whole loop, history included) and sampled with `G.sample` (eval mode),
  through ganlib's public API only.
- ganlib-dcgan@64: the same preset at the example's size, width 64 (ganlib's nets at width w are
  [4w, 2w, w] channels, the example's 32x32 nets at ngf = w), batch 64, lr 4e-4 kept.
- ganlib-wgan-gp: `ganlib.preset("wgan-gp", "digits5k")` as it stands.
- lightweight-gan: `lightweight-gan==1.2.1` (Liu et al. 2021; `pip install -e ".[compare]"`) on
  the same digits written out as a folder of PNGs, at its smallest supported size (32) with the
  README's settings for small data (`--aug-prob 0.25 --aug-types [translation,cutout,color]`)
  and its command line's defaults otherwise (batch 10 x 4 accumulated, lr 2e-4, attention at
  32, fmap_max 512, discriminator output 1x1), `greyscale=True`, and its own data workers
  (`num_workers=None`: one per CPU core, its default), without its every-100-steps sample grids
  and checkpoints. Its budgets are its own (`--lwg-budgets`): a step costs far more than the
  others'. Its G (not the EMA copy, which is only a periodically reset snapshot before step
  20,000) is sampled in eval mode, clamped to [0, 1] as its own sampler does and mapped to
  [-1, 1]. Version 1.2.1 asserts CUDA at import: without a GPU its row says which line stopped
  it, and the other rows are compared without it.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import random
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.utils import save_image

import ganlib
from ganlib.data import ImageData, load
from ganlib.judge import Judge, load_judge
from ganlib.metrics import image_metrics

SCORE_SEED = 1234  # the same noise and the same real digits for every generator
GRID = 64  # samples in each row's picture

# Each row: the method, and its net width and batch (tiny: width 4, batch 16 for every row).
ROWS = {
    "pytorch-dcgan": ("example", 64, 64),
    "pytorch-dcgan@16": ("example", 16, 64),
    "ganlib-dcgan": ("dcgan", None, None),  # None: the preset's
    "ganlib-dcgan@64": ("dcgan", 64, 64),
    "ganlib-wgan-gp": ("wgan-gp", None, None),
    "lightweight-gan": ("lightweight-gan", None, None),
}
METHODS = tuple(ROWS)

# The README's line for small data sets, on top of its command line's defaults (cli.py).
LIGHTWEIGHT_GAN_SETTINGS = dict(
    image_size=32, greyscale=True, batch_size=10, gradient_accumulate_every=4, lr=2e-4,
    attn_res_layers=[32], disc_output_size=1, fmap_max=512, latent_dim=256,
    aug_prob=0.25, aug_types=["translation", "cutout", "color"])


class Sampler:
    """The little of a ganlib Generator that `image_metrics` uses, around any sampling function."""

    n_classes = None  # unconditional

    def __init__(self, draw: Callable[[int, torch.Generator | None], Tensor]):
        self.draw = draw

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        return self.draw(n, generator)


@dataclass
class Snapshot:
    """A copy of G taken when a row passed a mark, and how far it had trained."""

    kind: str  # "budget" (a clock budget) or "steps" (a number of generator steps)
    mark: float
    G: object  # anything with .sample(n, generator=...) -> (n, 1, 32, 32) in [-1, 1]
    steps: int  # generator updates
    images: int  # real images the discriminator/critic trained on
    seconds: float  # the clock
    load_1min: float


@dataclass
class Race:
    """The clock and the marks of one row: call `step_done` after every generator step."""

    budgets: list[float]
    step_marks: list[int]
    device: str
    spent: float = 0.0
    steps: int = 0
    images: int = 0
    snapshots: list[Snapshot] = field(default_factory=list)

    def now(self) -> float:
        if self.device.startswith("cuda"):
            torch.cuda.synchronize()
            return time.perf_counter()
        return time.process_time()

    def start(self) -> None:
        self.t0 = self.now()

    def step_done(self, images: int, copy_G: Callable[[], object]) -> bool:
        """Count a step of `images` real images; copy G at any mark it passed. True: all done."""
        self.spent += self.now() - self.t0
        self.steps, self.images = self.steps + 1, self.images + images
        taken = self.taken("budget")
        due = [("budget", b) for b in self.budgets if self.spent >= b and b not in taken]
        due += [("steps", s) for s in self.step_marks if self.steps == s]
        for kind, mark in due:
            self.snapshots.append(Snapshot(kind, mark, copy_G(), self.steps, self.images,
                                           self.spent, os.getloadavg()[0]))
        done = (len(self.taken("budget")) == len(self.budgets)
                and self.steps >= max(self.step_marks, default=0))
        self.t0 = self.now()  # copying is not training
        return done

    def taken(self, kind: str) -> list[float]:
        return [s.mark for s in self.snapshots if s.kind == kind]


# --- ganlib's presets ----------------------------------------------------------------------------


def train_ganlib(model: str, data: ImageData, race: Race, seed: int, width: int | None,
                 batch_size: int | None, device: str, workdir: Path) -> None:
    overrides = dict(seed=seed, device=device, steps=10**9)  # the race says when to stop
    if device == "cpu":
        overrides["threads"] = 1
    overrides.update({k: v for k, v in (("width", width), ("batch_size", batch_size)) if v})
    config = ganlib.preset(model, "digits5k", **overrides)
    run = ganlib.make_run(config, data)  # building the models is outside the clock
    per_step = config.n_critic * config.batch_size
    race.start()
    ganlib.train(config, data, progress=False, run=run,
                 callback=lambda run: race.step_done(per_step, lambda: copy.deepcopy(run.G)))


# --- the PyTorch DCGAN example, written out ------------------------------------------------------


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


def train_dcgan_example(data: ImageData, race: Race, seed: int, width: int, batch_size: int,
                        device: str, workdir: Path) -> None:
    nz = 100
    torch.manual_seed(seed)
    G, D = dcgan_example_nets(nz, ngf=width, ndf=width)
    G, D = G.to(device), D.to(device)
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    rng = torch.Generator().manual_seed(seed)
    images = data.images.to(device)

    def sampler() -> Sampler:
        G_now = copy.deepcopy(G)

        @torch.no_grad()
        def draw(n: int, generator: torch.Generator | None) -> Tensor:
            z = torch.randn(n, nz, generator=generator).to(device)
            G_now.train()  # the example never switches G to eval mode
            return torch.cat([G_now(chunk) for chunk in z.split(batch_size)]).float().cpu()

        return Sampler(draw)

    race.start()
    while True:
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
            if race.step_done(n, sampler):
                return


# --- lightweight-gan -----------------------------------------------------------------------------


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


def train_lightweight_gan(data: ImageData, race: Race, seed: int, tiny: bool, device: str,
                          workdir: Path) -> None:
    from lightweight_gan import Trainer  # 1.2.1 asserts at import that CUDA is available

    folder = write_image_folder(data.images, workdir / "digits5k_png")
    settings = dict(LIGHTWEIGHT_GAN_SETTINGS)
    if tiny:
        settings.update(fmap_max=16, latent_dim=16, batch_size=4, gradient_accumulate_every=1)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    # num_workers=None: its own default, one data worker per CPU core
    trainer = Trainer(name="compare", base_dir=str(workdir), num_workers=None, use_aim=False,
                      save_every=10**9, evaluate_every=10**9, **settings)
    trainer.set_data_src(str(folder))
    # bookkeeping outside the comparison: sample grids every 100 steps, checkpoints
    trainer.evaluate = lambda *args, **kwargs: None
    trainer.save = lambda *args, **kwargs: None
    trainer.init_GAN()
    per_step = settings["batch_size"] * settings["gradient_accumulate_every"]

    def sampler() -> Sampler:
        G = copy.deepcopy(trainer.GAN.G)
        where, latent_dim = next(G.parameters()).device, trainer.GAN.latent_dim

        @torch.no_grad()
        def draw(n: int, generator: torch.Generator | None) -> Tensor:
            G.eval()
            z = torch.randn(n, latent_dim, generator=generator).to(where)
            return torch.cat([G(chunk) for chunk in z.split(100)]).float().cpu().clamp(0, 1) * 2 - 1

        return Sampler(draw)

    race.start()
    while True:
        trainer.train()
        if race.step_done(per_step, sampler):
            return


def train_row(name: str, data: ImageData, race: Race, seed: int, tiny: bool, device: str,
              workdir: Path) -> None:
    method, width, batch_size = ROWS[name]
    if tiny:
        width, batch_size = 4, 16
    if method == "example":
        train_dcgan_example(data, race, seed, width, batch_size, device, workdir)
    elif method == "lightweight-gan":
        train_lightweight_gan(data, race, seed, tiny, device, workdir)
    else:
        train_ganlib(method, data, race, seed, width, batch_size, device, workdir)


# --- the comparison ------------------------------------------------------------------------------


def what_stopped(error: BaseException) -> str:
    """'file.py:line: Error: message' for the innermost frame an exception came from."""
    if isinstance(error, ModuleNotFoundError):
        return f"not installed ({error}); pip install -e '.[compare]'"
    frame = traceback.extract_tb(error.__traceback__)[-1]
    path = Path(frame.filename)
    where = f"{path.parent.name}/{path.name}:{frame.lineno}"
    return f"{where}: {type(error).__name__}: {error}".strip()


def run_one(name: str, data: ImageData, judge: Judge, budgets: list[float], step_marks: list[int],
            seed: int, n: int, tiny: bool, device: str, out: Path) -> list[dict]:
    """Train row `name` past all its marks; one scored result per mark."""
    race = Race(budgets, step_marks, device)
    torch.manual_seed(seed)
    try:
        train_row(name, data, race, seed, tiny, device, out / "runs" / name)
    except Exception as error:  # one row failing must not cost the others' minutes
        if not isinstance(error, ModuleNotFoundError):
            traceback.print_exc(file=sys.stderr)
        return [{"method": name, "kind": kind, "mark": mark, "stopped": what_stopped(error)}
                for kind, marks in (("budget", budgets), ("steps", step_marks)) for mark in marks]
    rows = []
    for snap in race.snapshots:
        scored = torch.Generator().manual_seed(SCORE_SEED)
        scores = image_metrics(snap.G, judge, data, n=n, generator=scored)
        grid = out / "grids" / f"{name}_{snap.kind}{snap.mark:g}.png"
        grid.parent.mkdir(parents=True, exist_ok=True)
        pictures = snap.G.sample(GRID, generator=torch.Generator().manual_seed(SCORE_SEED))
        save_image(pictures, grid, nrow=8, normalize=True, value_range=(-1, 1))
        rows.append(dict(method=name, kind=snap.kind, mark=snap.mark, steps=snap.steps,
                         clock_s=snap.seconds,
                         images_per_s=snap.images / snap.seconds, device=device,
                         frechet=scores["frechet"], classes_covered=scores["classes_covered"],
                         confidence=scores["confidence"], load_1min=snap.load_1min,
                         grid=str(grid.relative_to(out))))
    return rows


def markdown_table(rows: list[dict], clock: str) -> str:
    head = ("| row | {} | Fréchet distance ↓ | classes covered | confidence | steps "
            f"| {clock} s | images/s | load |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    parts, stopped = [], {}
    for kind, title in (("budget", f"At equal budget ({clock} seconds)"),
                        ("steps", "At equal generator steps")):
        chosen = [r for r in rows if r["kind"] == kind]
        if not chosen:
            continue
        lines = [f"{title}:", "", head.format("budget (s)" if kind == "budget" else "steps ≥")]
        for r in sorted(chosen, key=lambda r: r["mark"]):
            if "stopped" in r:
                stopped.setdefault(r["method"], r["stopped"])
                lines.append(f"| {r['method']} | {r['mark']:g} | did not run¹ | | | | | | |")
            else:
                lines.append(f"| {r['method']} | {r['mark']:g} | {r['frechet']:.1f} "
                             f"| {r['classes_covered']}/10 | {r['confidence']:.2f} | {r['steps']} "
                             f"| {r['clock_s']:.1f} | {r['images_per_s']:.0f} "
                             f"| {r['load_1min']:.1f} |")
        parts.append("\n".join(lines))
    notes = [f"¹ {method}: {reason}" for method, reason in stopped.items()]
    return "\n\n".join(parts + notes) + "\n"


def numbers(text: str, kind: type, what: str) -> list:
    try:
        values = [kind(v) for v in text.split(",") if v.strip()]
    except ValueError:
        values = [-1]
    if any(v <= 0 for v in values):
        raise ValueError(f"{what} must be positive numbers, comma-separated (got {text!r})")
    return values


def run_in_processes(names: list[str], args: argparse.Namespace, out: Path) -> list[dict]:
    """Each row in its own `python compare.py --methods ROW` process, `args.jobs` at a time."""
    shared = ["--budgets", args.budgets, "--steps", args.steps, "--lwg-budgets", args.lwg_budgets,
              "--n", str(args.n), "--seed", str(args.seed), "--device", args.device, "--jobs", "1"]
    shared += ["--tiny"] if args.tiny else []
    pending, running, rows = list(names), [], []
    while pending or running:
        while pending and len(running) < args.jobs:
            name = pending.pop(0)
            part = out / "parts" / name
            command = [sys.executable, str(Path(__file__).resolve()), *shared, "--methods", name,
                       "--out", str(part)]
            running.append((name, part, subprocess.Popen(command, stdout=subprocess.DEVNULL)))
        time.sleep(0.2)
        for item in [r for r in running if r[2].poll() is not None]:
            running.remove(item)
            name, part, process = item
            if process.returncode != 0:
                raise RuntimeError(f"row {name} exited with {process.returncode}; its output is "
                                   f"above, its folder {part}")
            for row in json.loads((part / "compare.json").read_text())["rows"]:
                if "grid" in row:
                    row["grid"] = str((part / row["grid"]).relative_to(out))
                rows.append(row)
    return rows


def main(argv: list[str] | None = None, judge: Judge | None = None) -> dict:
    """Run every row past every mark, print the tables and write them as markdown and JSON.

    `judge` replaces the digit judge (the tests pass an untrained one to save its minute); rows
    run in other processes (`--jobs` > 1) load the cached digit judge.
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--budgets", default="60,180",
                        help="clock budgets in seconds, comma-separated (CPU time on the CPU)")
    parser.add_argument("--steps", default="50,200",
                        help="generator steps at which every row is also scored")
    parser.add_argument("--lwg-budgets", default="60,300",
                        help="lightweight-gan's own clock budgets (its steps cost far more)")
    parser.add_argument("--out", default="build/compare", help="folder for the tables and grids")
    parser.add_argument("--methods", default=",".join(m for m in METHODS if m != "ganlib-wgan-gp"),
                        help=f"comma-separated rows, of {', '.join(METHODS)}")
    parser.add_argument("--n", type=int, default=1000, help="generated (and real) images scored")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--jobs", type=int, default=1,
                        help="rows trained at once, one process each")
    parser.add_argument("--tiny", action="store_true",
                        help="tiny widths and batches: checks the plumbing, not the methods")
    args = parser.parse_args(argv)
    budgets = numbers(args.budgets, float, "--budgets")
    lwg_budgets = numbers(args.lwg_budgets, float, "--lwg-budgets")
    step_marks = numbers(args.steps, int, "--steps")
    names = args.methods.split(",")
    unknown = sorted(set(names) - set(METHODS))
    if unknown or args.jobs < 1:
        raise ValueError(f"--methods must name some of {', '.join(METHODS)} (got {unknown}) "
                         f"and --jobs be >= 1 (got {args.jobs})")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())

    if args.jobs > 1 and len(names) > 1:
        rows = run_in_processes(names, args, out)
    else:
        threads_before = torch.get_num_threads()
        if args.device == "cpu":
            torch.set_num_threads(1)  # one thread: the CPU-time clock counts one core's work
        try:
            data = load("digits5k")
            judge = judge if judge is not None else load_judge("digits5k", verbose=False)
            rows = []
            for name in names:
                marks = lwg_budgets if name == "lightweight-gan" else budgets
                for row in run_one(name, data, judge, marks, step_marks, args.seed, args.n,
                                   args.tiny, args.device, out):
                    print(json.dumps(row), flush=True)
                    rows.append(row)
        finally:
            torch.set_num_threads(threads_before)
    rows.sort(key=lambda r: (names.index(r["method"]), r["kind"], r["mark"]))
    clock = "wall" if args.device.startswith("cuda") else "CPU"
    table = markdown_table(rows, clock)
    command = "python benchmarks/compare.py " + " ".join(sys.argv[1:] if argv is None else argv)
    result = {"command": command, "started": started, "clock": clock,
              "threads": 1 if args.device == "cpu" else torch.get_num_threads(),
              "load_avg_start": load_before, "load_avg_end": os.getloadavg(), "seed": args.seed,
              "n": args.n, "device": args.device, "torch": torch.__version__, "rows": rows}
    (out / "compare.json").write_text(json.dumps(result, indent=1))
    (out / "compare.md").write_text(f"`{command}`\n\n{table}")
    print(table)
    return result


if __name__ == "__main__":
    main()
