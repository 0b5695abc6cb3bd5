"""torchrun: N processes with DistributedDataParallel train what one process trains.

The 2-process runs use the real launcher (`python -m torch.distributed.run`, which is
`torchrun`) on CPU with the gloo backend, as a student without GPUs would.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist
from configs import toy
from PIL import Image

import ganlib
from ganlib import distributed, load_checkpoint, load_generator
from ganlib.data import load

ROOT = Path(__file__).parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "GANLIB_THREADS": "1"}


def cli(*args, processes=1, **popen):
    """`python -m ganlib train ...` (under torchrun with `processes` > 1)."""
    launcher = [sys.executable] if processes == 1 else [
        sys.executable, "-m", "torch.distributed.run", "--standalone",
        f"--nproc_per_node={processes}"]
    command = [*launcher, "-m", "ganlib", "train", "--device", "cpu", *map(str, args)]
    if popen:
        return subprocess.Popen(command, env=ENV, text=True, **popen)
    return subprocess.run(command, env=ENV, text=True, capture_output=True, timeout=300)


@pytest.mark.parametrize("model", ["wgan-gp", "gan"])
def test_two_processes_train_the_weights_one_process_trains_with_their_global_batch(
        model, tmp_path):
    # wgan-gp: five critic steps with the penalty's double backward; gan: BCE, where G's step
    # reuses the critic's fakes. The toy MLPs have no BatchNorm, so the maths is the same.
    common = ["--model", model, "--data", "ring8", "--steps", 4, "--width", 16, "--seed", 3,
              "--no-metrics"]
    one = cli(*common, "--batch-size", 32, "--out", tmp_path / "one")
    two = cli(*common, "--batch-size", 16, "--out", tmp_path / "two", processes=2)
    assert one.returncode == 0, one.stderr
    assert two.returncode == 0, two.stderr
    assert "2 processes x batch 16 = 32 samples per step" in two.stdout
    a, b = (torch.load(tmp_path / name / "checkpoint.pt", weights_only=True)
            for name in ("one", "two"))
    for net in ("G", "critic"):
        for name, weight in a[net].items():
            torch.testing.assert_close(b[net][name], weight, rtol=1e-5, atol=1e-6)
    for key in ("d_loss", "g_loss", "d_real", "d_fake"):  # the global batch's numbers
        torch.testing.assert_close(torch.tensor(b["history"][key]),
                                   torch.tensor(a["history"][key]), rtol=1e-5, atol=1e-6)
    assert a["step"] == b["step"] == 4


@pytest.fixture
def faces(tmp_path):
    """256 generated 72x72 RGB 'faces' (a light ellipse on a coloured background)."""
    folder, rng = tmp_path / "faces", np.random.default_rng(0)
    folder.mkdir()
    yy, xx = np.mgrid[0:72, 0:72]
    for i in range(256):
        img = np.broadcast_to(rng.integers(0, 120, 3, dtype=np.uint8), (72, 72, 3)).copy()
        rx, ry = rng.integers(14, 24), rng.integers(20, 30)
        img[((xx - 36) / rx) ** 2 + ((yy - 36) / ry) ** 2 < 1] = rng.integers(130, 255, 3)
        Image.fromarray(img).save(folder / f"{i:03d}.png")
    return folder


@pytest.mark.parametrize("model", ["dcgan", "wgan-gp"])
def test_a_64x64_face_folder_trains_on_one_and_on_two_processes(model, faces, tmp_path):
    common = ["--model", model, "--data", faces, "--size", 64, "--steps", 2, "--width", 8,
              "--batch-size", 8]
    for processes in (1, 2):
        out = tmp_path / f"run{processes}"
        done = cli(*common, "--out", out, processes=processes)
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stderr
        for name in ("checkpoint.pt", "history.csv", "samples.png", "progress.gif"):
            assert (out / name).exists(), name
        assert json.loads((out / "metrics.json").read_text())["world_size"] == processes
        assert len((out / "history.csv").read_text().splitlines()) == 1 + 2  # rank 0 alone
        G = load_generator(out)
        assert G.sample(3).shape == (3, 3, 64, 64)
    assert not list(tmp_path.glob("run*/train.lock"))


def worker_pids(launcher: subprocess.Popen) -> dict[int, int]:
    """{rank: pid} of the processes torchrun started (read from their environment)."""
    found = {}
    for pid in Path(f"/proc/{launcher.pid}/task/{launcher.pid}/children").read_text().split():
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        ranks = [e for e in environ if e.startswith(b"RANK=")]
        if ranks:
            found[int(ranks[0][5:])] = int(pid)
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_sigterm_on_one_rank_stops_every_rank_and_keeps_the_run(tmp_path):
    out = tmp_path / "run"
    launcher = cli("--model", "gan", "--data", "ring8", "--width", 8, "--seconds", 120,
                   "--checkpoint-every", 0.3, "--out", out, processes=2,
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not (out / "checkpoint.pt").exists():  # all ranks train, in step with each other
        assert launcher.poll() is None and time.monotonic() < deadline, launcher.communicate()
        time.sleep(0.1)
    os.kill(worker_pids(launcher)[1], signal.SIGTERM)  # not rank 0, which writes the folder
    stdout, stderr = launcher.communicate(timeout=120)
    assert "Interrupted (SIGTERM) at step" in stdout, stderr
    step = load_checkpoint(out).step
    assert step > 0 and f"at step {step}:" in stdout
    assert not (out / "train.lock").exists()
    # every rank reads the checkpoint back, also with another number of processes
    resumed = cli("--model", "gan", "--data", "ring8", "--width", 8, "--steps", step + 3,
                  "--resume", "--out", out, "--no-metrics")
    assert resumed.returncode == 0, resumed.stderr
    assert load_checkpoint(out).step == step + 3


def test_rank_r_keeps_its_share_of_every_draw():
    run = ganlib.make_run(toy(batch_size=4), load("ring8"))
    state = run.rng.get_state()
    whole = torch.randn(8, 2, generator=run.rng)
    run.rank, run.world = 1, 2
    run.rng.set_state(state)
    torch.testing.assert_close(run.randn(4, 2), whole[4:])
    run.rng.set_state(state)
    assert run.batch(load("ring8"), 4)[0].shape == (4, 2)


def test_without_torchrun_no_process_group_is_made():
    run = ganlib.train(toy(steps=2), progress=False)
    assert not dist.is_initialized() and run.world == 1 and run.rank == 0
    assert distributed.world_size() == 1
