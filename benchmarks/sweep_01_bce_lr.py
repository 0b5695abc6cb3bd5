"""The BCE GAN's learning rate for 01_mode_collapse's race, chosen by a small sweep.

    python benchmarks/sweep_01_bce_lr.py --out benchmarks/results

01 races a BCE GAN against a toy WGAN-GP on ring8 with the same nets, latent size (z_dim 256),
batch, seeds and generator steps. The WGAN-GP side keeps its own tuned preset
(`ganlib.preset("wgan-gp", "ring8")`); this script gives the BCE side its own: the `gan` preset
(Adam betas (0.5, 0.999), equal rates for G and D, constant) at each learning rate below, and,
for reference, the WGAN-GP preset's optimiser settings (the race's old shared settings). Each
setting trains for seeds 0, 1 and 2 at the race's budget, and is scored as 01 scores its racers:
modes captured on 2,500 points from fixed noise every 100 steps, averaged over the last half of
training, then over the seeds. The best BCE setting is the one with the most modes; 01 reads the
table this writes (`sweep_01_bce_lr.csv`). Toys train on one thread. The runs keep the preset's
fixed-noise batch (n_fixed), which is drawn from the run's random stream before any batch, so a
seed here is not the same run as that seed in 01 (which draws 512 fixed points).
"""

from __future__ import annotations

import argparse
import csv
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import torch

import ganlib
from ganlib import metrics
from ganlib.data import load

SETTINGS = {  # name -> overrides of the `gan` preset (all keep z_dim 256, as in 01's race)
    "lr 5e-4": {"lr_g": 5e-4, "lr_d": 5e-4},
    "lr 1e-3 (preset)": {"lr_g": 1e-3, "lr_d": 1e-3},
    "lr 2e-3": {"lr_g": 2e-3, "lr_d": 2e-3},
    "WGAN-GP's (2e-3/6e-3, linear, betas 0.5/0.9)": {
        "lr_g": 2e-3, "lr_d": 6e-3, "lr_decay": "linear", "betas": (0.5, 0.9)},
}


def mean_modes(config: ganlib.TrainConfig, data, every: int = 100, n: int = 2500) -> float:
    """Train `config` and return its modes captured, averaged over the last half of training."""
    rec = metrics.CoverageRecorder(data, every=every, n=n, seed=config.seed, keep_points=False)
    ganlib.train(config, data, callback=rec, progress=False)
    return rec.mean_modes()


def one_run(name: str, seed: int, steps: int, z_dim: int) -> dict:
    """Train the BCE GAN at setting `name` for one seed; its row of the table."""
    torch.set_num_threads(1)
    config = ganlib.preset("gan", "ring8", z_dim=z_dim, steps=steps, seed=seed, device="cpu",
                           **SETTINGS[name])
    start = time.perf_counter()
    modes = mean_modes(config, load("ring8"))
    row = {"setting": name, "seed": seed, "data": config.data, "z_dim": config.z_dim,
           "lr_g": config.lr_g, "lr_d": config.lr_d, "betas": "/".join(map(str, config.betas)),
           "lr_decay": config.lr_decay, "steps": steps, "mean_modes": round(modes, 3),
           "seconds": round(time.perf_counter() - start, 1)}
    print(row, flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3000, help="generator steps (01's race)")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--z-dim", type=int, default=256, help="latent size (01's race)")
    parser.add_argument("--jobs", type=int, default=1, help="runs at once, one thread each")
    parser.add_argument("--out", default="benchmarks/results")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    jobs = [(name, seed, args.steps, args.z_dim) for name in SETTINGS for seed in seeds]
    with ProcessPoolExecutor(args.jobs) as pool:
        rows = list(pool.map(one_run, *zip(*jobs, strict=True)))
    path = Path(args.out) / "sweep_01_bce_lr.csv"
    write(rows, path)
    print(f"wrote {path}")


def write(rows: list[dict], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    main()
