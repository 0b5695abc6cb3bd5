"""The run folder: checkpoint.pt, history.csv, samples.png, progress.gif, metrics.json and
TensorBoard logs, each written so that a kill never leaves half a file.

`checkpoint.pt` holds everything needed to resume (ganlib.run reads it back); the others are
for people: the loss curves as a table, the last samples, an animation of training, the
metrics of `ganlib.evaluate`.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import torch

from .files import atomic_write
from .run import FORMAT, Hook, Run


def save_checkpoint(run: Run, path: str | Path) -> Path:
    """Write the whole run to `path` atomically (temporary file, then rename)."""
    state = {
        "format": FORMAT,
        "config": run.config.to_dict(),
        "data": {"shape": list(run.G.out_shape), "n_classes": run.G.n_classes},
        "G": run.G.state_dict(),
        "critic": run.critic.state_dict(),
        "opt_g": run.opt_g.state_dict(),
        "opt_c": run.opt_c.state_dict(),
        "rng": run.rng.get_state(),
        "fixed_z": run.fixed_z,
        "fixed_labels": run.fixed_labels,
        "history": run.history,
        "snapshots": run.snapshots,
        "step": run.step,
        "elapsed": run.elapsed,
    }
    return atomic_write(path, lambda tmp: torch.save(state, tmp))


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


class RunFolder(Hook):
    """Writes the run folder: a checkpoint every `every` steps (0: none until the end), and
    everything at the end, also after Ctrl-C or a divergence."""

    def __init__(self, out: str | Path, every: int = 0):
        self.out, self.every = Path(out), every

    def step(self, run: Run) -> None:
        if self.every and run.step % self.every == 0:
            save_checkpoint(run, self.out / "checkpoint.pt")

    def end(self, run: Run) -> None:
        save_outputs(run)


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
