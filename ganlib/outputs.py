"""The run folder: checkpoint.pt, history.csv, samples.png, progress.gif, metrics.json and
TensorBoard logs, each written so that a kill never leaves half a file.

`checkpoint.pt` holds everything needed to resume (ganlib.run reads it back); the others are
for people: the loss curves as a table, the last samples, an animation of training, the
metrics of `ganlib.evaluate`.
"""

from __future__ import annotations

import csv
import json
import os
import time
from pathlib import Path

import torch

from .distributed import unwrap
from .files import atomic_write
from .run import FORMAT, Hook, Run


def save_checkpoint(run: Run, path: str | Path) -> Path:
    """Write the whole run to `path` atomically (temporary file, then rename).

    An optimizer whose state is not finite (an overflow that left the loss finite, or the
    moments of a step that diverged) is saved without its state, so that a resume restarts
    it instead of dividing by infinity again; one line says so.
    """
    state = {
        "format": FORMAT,
        "config": run.config.to_dict(),
        "data": {"shape": list(run.G.out_shape), "n_classes": run.G.n_classes},
        "G": unwrap(run.G).state_dict(),  # the nets themselves, also under torchrun's DDP
        "critic": unwrap(run.critic).state_dict(),
        "opt_g": finite_optimizer_state(run.opt_g, "generator", run.step),
        "opt_c": finite_optimizer_state(run.opt_c, "critic", run.step),
        "rng": run.rng.get_state(),
        "fixed_z": run.fixed_z,
        "fixed_labels": run.fixed_labels,
        "history": run.history,
        "snapshots": run.snapshots,
        "step": run.step,
        "elapsed": run.elapsed,
    }
    return atomic_write(path, lambda tmp: torch.save(state, tmp))


def finite_optimizer_state(opt: torch.optim.Optimizer, who: str, step: int) -> dict:
    """`opt.state_dict()`, emptied of its state (moments) when any of it is not finite; the
    learning rates (param_groups) are kept either way."""
    saved = opt.state_dict()
    tensors = [v for moments in saved["state"].values() for v in moments.values()
               if torch.is_tensor(v) and v.is_floating_point()]
    if tensors and not bool(torch.stack([v.isfinite().all() for v in tensors]).all()):
        print(f"The {who}'s optimizer state at step {step} is not finite (an overflow: a lower "
              "--lr or --gp-lambda avoids it); saved without it, so --resume restarts that "
              "optimizer.")
        saved = {**saved, "state": {}}
    return saved


def write_history_csv(history: dict[str, list[float]], path: Path) -> None:
    def write(tmp):
        with open(tmp, "w", newline="") as f:
            w = csv.writer(f)
            keys = list(history)
            w.writerow(keys)
            w.writerows(zip(*(history[k] for k in keys), strict=True))

    atomic_write(path, write)


def write_metrics(results: dict, out: str | Path) -> Path:
    """metrics.json: the numbers `ganlib.evaluate.evaluate_run` measured."""
    return atomic_write(Path(out) / "metrics.json",
                        lambda tmp: Path(tmp).write_text(json.dumps(results, indent=2)))


def save_outputs(run: Run) -> None:
    """checkpoint.pt, history.csv, samples.png and progress.gif in `run.out`."""
    from . import plotting

    out = Path(run.out)
    save_checkpoint(run, out / "checkpoint.pt")
    write_history_csv(run.history, out / "history.csv")
    step, last = run.snapshots[-1]
    fig = plotting.samples_figure(last.float(), title=f"{run.config.model}, step {step}")
    atomic_write(out / "samples.png", lambda tmp: fig.savefig(tmp, format="png", dpi=100))
    plotting.close(fig)
    gif = plotting.snapshots_gif(run.snapshots)
    atomic_write(out / "progress.gif", lambda tmp: Path(tmp).write_bytes(gif))


class WriteFailed(OSError):
    """Writing the run folder failed; the files already there are intact."""


def finite_weights(run: Run) -> bool:
    """False when a weight of either net is NaN or infinite (never worth saving)."""
    params = [*run.G.parameters(), *run.critic.parameters()]
    return bool(torch.stack([p.detach().isfinite().all() for p in params]).all())


def check_out_folder(out: str | Path, replace: bool = True, probe: bool = True) -> Path:
    """Create the run folder `out` and prove it writable, before any work is done. Unless
    `replace`, a folder that already holds a run is refused. Without `probe` nothing is
    written (torchrun's other ranks: rank 0 alone creates and writes the folder)."""
    if str(out).strip() == "":
        raise ValueError("the run folder (--out) is empty; name one, e.g. --out runs/first")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"cannot use {out} as the run folder (--out): it is a file; "
                         "choose another folder")
    if not replace and (out / "checkpoint.pt").exists():
        raise ValueError(f"{out} already holds a run; continue it with --resume, replace it "
                         "with --overwrite, or choose another --out")
    if not probe:
        return out
    try:
        out.mkdir(parents=True, exist_ok=True)
        atomic_write(out / ".write-test", lambda tmp: Path(tmp).write_bytes(b"ok")).unlink()
    except OSError as e:
        raise ValueError(f"cannot write to the run folder {out} (--out): {e.strerror or e}; "
                         "choose a folder you can write to") from e
    return out


def lock_folder(out: Path) -> Path:
    """Claim `out` for this process with a lock file holding its pid, so that a second run
    on the same folder is refused instead of writing over the first one's files."""
    lock = out / "train.lock"
    while True:
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            if lock.is_dir():
                raise ValueError(f"{lock} is a folder, where the run keeps its lock file; "
                                 "move it away and train again") from None
            pid = lock_owner(lock)
            if pid is not None:
                raise ValueError(f"{out} is in use by another training run (process {pid}); "
                                 "wait for it to end or choose another --out (if no training "
                                 f"run is using it, delete {lock})") from None
            lock.unlink(missing_ok=True)  # left by a run that was killed: take it over
            continue
        with os.fdopen(fd, "w") as f:
            f.write(str(os.getpid()))
        remove_stale_temporaries(out)
        return lock


# what RunFolder writes (ganlib.files.atomic_write names its temporaries .NAME.*.tmp)
RUN_FILES = ("checkpoint.pt", "history.csv", "samples.png", "progress.gif")


def remove_stale_temporaries(out: Path) -> None:
    """Delete the temporary files a killed run left half-written in `out` (called with the
    folder's lock held, so that no other run is writing them)."""
    for name in RUN_FILES:
        for tmp in out.glob(f".{name}.*.tmp"):
            tmp.unlink(missing_ok=True)


def lock_owner(lock: Path) -> int | None:
    """The live process, other than this one, that holds `lock`; None if the lock is stale."""
    try:
        text = lock.read_text().strip()
    except FileNotFoundError:
        return None
    if not text.isdigit():  # being written this instant, or garbage left by a crash
        return 0 if time.time() - lock.stat().st_mtime < 10 else None
    pid = int(text)
    if pid == os.getpid():  # this process's own earlier run, stopped before it let go
        return None
    try:
        os.kill(pid, 0)  # signal 0 only asks whether the process exists
    except ProcessLookupError:
        return None
    except PermissionError:  # it exists, under another user
        return pid
    return pid


class RunFolder(Hook):
    """Writes the run folder: a checkpoint every `every` seconds of training (0: none until the
    end), so a hard kill loses at most that much, and everything at the end, also after Ctrl-C
    or a divergence. A failed write stops training and keeps the last good checkpoint."""

    def __init__(self, out: str | Path, every: float = 0, replace: bool = True):
        self.out, self.every = check_out_folder(out, replace), every
        self.lock = lock_folder(self.out)
        self.saved_step: int | None = None
        self.failed = False

    def start(self, run: Run) -> None:
        self.saved_at = run.elapsed

    def step(self, run: Run) -> None:
        if self.every and run.elapsed - self.saved_at >= self.every and finite_weights(run):
            self.write(run, lambda: save_checkpoint(run, self.out / "checkpoint.pt"))
            self.saved_at = run.elapsed

    def end(self, run: Run) -> None:
        try:
            if not finite_weights(run):  # diverged: keep the last finite checkpoint
                print(f"Not saved: the weights at step {run.step} are not finite; "
                      f"{self.kept()}.")
            elif not self.failed:  # after a failure, do not try again over the last good files
                self.write(run, lambda: save_outputs(run))
        finally:
            self.lock.unlink(missing_ok=True)

    def kept(self) -> str:
        return (f"{self.out / 'checkpoint.pt'} still holds step {self.saved_step}"
                if self.saved_step is not None else "nothing of this session was saved")

    def write(self, run: Run, write) -> None:
        try:
            write()
        except (OSError, RuntimeError) as e:  # torch.save reports a full disk as RuntimeError
            self.failed = True
            why = e.strerror if isinstance(e, OSError) and e.strerror else "is the disk full?"
            raise WriteFailed(f"writing the run folder {self.out} failed at step {run.step} "
                              f"({why}); {self.kept()}") from e
        self.saved_step = run.step


def tensorboard_writer(log_dir: str | None):
    """A SummaryWriter for `log_dir`; a clear error when tensorboard is not installed."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as e:
        raise ValueError("log_dir needs TensorBoard, which is not installed: "
                         "`pip install tensorboard`, or leave log_dir unset") from e
    return None if log_dir is None else SummaryWriter(log_dir)


class TensorBoard(Hook):
    """Losses (and sample grids, when there are new ones) to TensorBoard after every step."""

    def __init__(self, log_dir: str):
        self.writer = tensorboard_writer(log_dir)

    def step(self, run: Run) -> None:
        for key in ("d_loss", "g_loss", "wasserstein", "grad_norm"):
            value = run.history[key][-1]
            if value == value:  # skip NaN (not recorded for this kind of GAN)
                self.writer.add_scalar(f"loss/{key}", value, run.step)
        step, samples = run.snapshots[-1] if run.snapshots else (None, None)
        if step == run.step and samples.dim() == 4:
            import torchvision

            grid = torchvision.utils.make_grid(samples.float(), normalize=True,
                                               value_range=(-1, 1))
            self.writer.add_image("samples", grid, run.step)

    def end(self, run: Run) -> None:
        self.writer.close()
