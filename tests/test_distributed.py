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


# ----------------------------------------------------------------------------------------------
# Resume without a shared file system, and one rank diverging (issue 26, items 1 and 2)
# ----------------------------------------------------------------------------------------------

# Each rank trains through the API with its own run folder, as ranks on nodes without a
# shared file system see their own disk: rank 0's folder holds the checkpoint, rank 1's not.
RANKS_SCRIPT = '''
import json, os, sys
from pathlib import Path

import torch
from configs import toy

import ganlib
from ganlib.data import load

base, mode = Path(sys.argv[1]), sys.argv[2]
rank = int(os.environ["RANK"])
ring = load("ring8")


class Poisoned:  # ring8, with rank 1's share of every batch NaN once `on` is set
    is_toy, shape, on = True, ring.shape, False

    def sample(self, n, generator=None):
        real, labels = ring.sample(n, generator=generator)
        if self.on:
            real[n // 2:] = float("nan")
        return real, labels


data = Poisoned() if mode == "nan" else ring
poison = (lambda run: setattr(data, "on", run.step == 2)) if mode == "nan" else None
result = {}
try:
    run = ganlib.train(toy(steps=6, batch_size=16, seed=3, lr_decay="none"), data,
                       out=base / f"rank{rank}",
                       resume=mode == "resume", progress=False, callback=poison)
    result = {"step": run.step, "d_loss": run.history["d_loss"],
              "G": [p.detach().tolist() for p in run.G.parameters()]}
except ganlib.TrainingDiverged as e:
    result = {"error": str(e)}
(base / f"result{rank}.json").write_text(json.dumps(result))
'''


def run_ranks(tmp_path, mode):
    script = tmp_path / "ranks.py"
    script.write_text(RANKS_SCRIPT)
    env = {**ENV, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'tests'}"}
    launcher = subprocess.Popen([sys.executable, "-m", "torch.distributed.run", "--standalone",
                                 "--nproc_per_node=2", str(script), str(tmp_path), mode],
                                env=env, text=True, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
    try:
        _, stderr = launcher.communicate(timeout=200)
    except subprocess.TimeoutExpired:  # a rank hangs: end its workers (own sessions), then it
        for pid in worker_pids(launcher).values() if sys.platform.startswith("linux") else ():
            os.kill(pid, signal.SIGKILL)
        launcher.kill()
        pytest.fail(f"the ranks hung: {launcher.communicate()[1][-2000:]}")
    assert launcher.returncode == 0, stderr
    return [json.loads((tmp_path / f"result{r}.json").read_text()) for r in (0, 1)]


def test_a_rank_without_the_checkpoint_resumes_rank_0s_run(tmp_path):
    # steps 1-3 on one process (batch 32 = 2 x 16), then 4-6 on two, the file on rank 0 only
    # (constant rates: a linear decay would restart when the budget grows from 3 to 6)
    ganlib.train(toy(steps=3, batch_size=32, seed=3, lr_decay="none"), out=tmp_path / "rank0",
                 progress=False)
    whole = ganlib.train(toy(steps=6, batch_size=32, seed=3, lr_decay="none"), progress=False)
    rank0, rank1 = run_ranks(tmp_path, "resume")
    assert not (tmp_path / "rank1" / "checkpoint.pt").exists()
    assert rank0["step"] == rank1["step"] == 6
    assert rank1["G"] == rank0["G"] and rank1["d_loss"] == rank0["d_loss"]
    torch.testing.assert_close(torch.tensor(rank0["d_loss"]), torch.tensor(whole.history["d_loss"]),
                               rtol=1e-5, atol=1e-6)


def test_a_nan_on_one_rank_stops_every_rank_with_the_same_message(tmp_path):
    rank0, rank1 = run_ranks(tmp_path, "nan")
    assert rank0["error"] == rank1["error"]
    assert rank0["error"].startswith("the critic loss became nan at step 3; training stopped "
                                     "with the models as they were after step 2;")
    assert load_checkpoint(tmp_path / "rank0").step == 2  # rank 0 saved before anyone ended


def test_each_rank_takes_the_gpu_of_its_local_rank():
    assert [distributed.rank_gpu("cuda", r) for r in range(3)] == [0, 1, 2]
    with pytest.raises(ValueError, match="--device cuda:1 under torchrun would put every "
                                         "process on one GPU; use --device cuda"):
        distributed.rank_gpu("cuda:1", 0)
