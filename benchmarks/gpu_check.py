"""The GPU check: train DCGAN and WGAN-GP at 64x64 on this machine's GPUs and print images/s.

    python benchmarks/gpu_check.py                 # ~6 minutes on one GPU, more with more GPUs
    python benchmarks/gpu_check.py --seconds 10    # shorter runs

It runs `python -m ganlib train` as a user would: on one GPU plain, with --amp, with --compile
and with both, then under torchrun on every GPU there is (when there are 2 or more). The data
is a folder of generated 72x72 RGB "faces" (an ellipse on a background, as in
tests/test_distributed.py), so nothing is downloaded. A run that fails prints its last error
line and the check goes on; the exit status is 1 if any failed.

images/s counts the real images the critic sees per second of training (generator steps x
n_critic x batch size x processes / training seconds, as the command prints them), so the
first steps' compilation counts against --compile.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = {"plain": [], "amp": ["--amp"], "compile": ["--compile"],
            "amp+compile": ["--amp", "--compile"]}


def make_faces(folder: Path, n: int = 2048) -> Path:
    """n generated 72x72 RGB images in `folder` (cropped and resized to 64x64 when loaded)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:72, 0:72]
    for i in range(n):
        img = np.broadcast_to(rng.integers(0, 120, 3, dtype=np.uint8), (72, 72, 3)).copy()
        rx, ry = rng.integers(14, 24), rng.integers(20, 30)
        img[((xx - 36) / rx) ** 2 + ((yy - 36) / ry) ** 2 < 1] = rng.integers(130, 255, 3)
        Image.fromarray(img).save(folder / f"{i:04d}.png")
    return folder


def train(model: str, faces: Path, out: Path, seconds: float, flags: list[str],
          processes: int = 1) -> str:
    """One `ganlib train` run; its images/s, or 'failed: <last error line>'."""
    launcher = [sys.executable] if processes == 1 else [
        sys.executable, "-m", "torch.distributed.run", "--standalone",
        f"--nproc_per_node={processes}"]
    command = [*launcher, "-m", "ganlib", "train", "--model", model, "--data", str(faces),
               "--size", "64", "--seconds", str(seconds), "--device", "cuda", "--out", str(out),
               "--overwrite", "--no-metrics", "--checkpoint-every", "0", *flags]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    try:
        done = subprocess.run(command, env=env, text=True, capture_output=True,
                              timeout=seconds * 4 + 300)
    except subprocess.TimeoutExpired:
        return "failed: timed out"
    found = re.search(r"trained (\d+) generator steps in ([\d.]+) s", done.stdout)
    if done.returncode != 0 or not found:
        lines = (done.stderr or done.stdout).strip().splitlines() or ["no output"]
        return f"failed: {lines[-1][:200]}"
    steps, elapsed = int(found.group(1)), float(found.group(2))
    config = torch.load(out / "checkpoint.pt", map_location="cpu", weights_only=True)["config"]
    images = steps * config["n_critic"] * config["batch_size"] * processes
    return f"{images / elapsed:,.0f} images/s ({steps} steps in {elapsed:.1f} s)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=20, help="training seconds per run")
    args = parser.parse_args()
    gpus = torch.cuda.device_count()
    if gpus == 0:
        print("no CUDA GPU visible: this check needs one")
        return 1
    print(f"{gpus} x {torch.cuda.get_device_name(0)}, torch {torch.__version__}")
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        faces = make_faces(Path(tmp) / "faces")
        runs = [(model, name, flags, 1) for model in ("dcgan", "wgan-gp")
                for name, flags in VARIANTS.items()]
        if gpus > 1:
            runs += [(model, f"torchrun x {gpus}", [], gpus) for model in ("dcgan", "wgan-gp")]
        for model, name, flags, processes in runs:
            result = train(model, faces, Path(tmp) / "run", args.seconds, flags, processes)
            failed |= result.startswith("failed")
            print(f"{model:8s} {name:16s} {result}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
