"""Checkpoints and run folders: one file holds a whole run, written so a kill never breaks it.

A run folder holds `checkpoint.pt` (models, optimizers, random state, config, history,
snapshots), `history.csv`, `samples.png` and `progress.gif`. `load_generator(folder)` is all a
student needs to sample from a model trained on the command line.
"""

from __future__ import annotations

import csv
import os
import tempfile
from pathlib import Path

import torch

from .config import TrainConfig, check_config
from .models import Generator, build_models

FORMAT = 1  # bump when the checkpoint layout changes


def _atomic_write(path: Path, write) -> None:
    """Write to a temporary file in the same folder, then rename it over `path`.

    A rename within one file system is atomic: a reader (or a crash) sees the old file or the
    new one, never half of one.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _data_facts(run) -> dict:
    return {"shape": list(run.G.out_shape), "n_classes": run.G.n_classes}


def save_checkpoint(run, path: str | Path) -> Path:
    """Write the whole run to `path` atomically (temporary file, then rename)."""
    path = Path(path)
    state = {
        "format": FORMAT,
        "config": run.config.to_dict(),
        "data": _data_facts(run),
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
    _atomic_write(path, lambda tmp: torch.save(state, tmp))
    return path


def _read(path: Path) -> dict:
    if path.is_dir():
        path = path / "checkpoint.pt"
    if not path.exists():
        raise FileNotFoundError(f"no checkpoint at {path}; train first, e.g. "
                                f"`python -m ganlib train --out {path.parent}`")
    state = torch.load(path, map_location="cpu", weights_only=False)
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ValueError(f"{path} is not a ganlib checkpoint of format {FORMAT}; retrain it")
    return state


def load_checkpoint(path: str | Path, config: TrainConfig | None = None):
    """Rebuild a Run from a checkpoint, on the device `config` (or the saved config) asks for.

    `config` may change the budget (steps/seconds) and bookkeeping, not the models.
    """
    from .train import Run, make_optimizer, pick_device, place_models

    state = _read(Path(path))
    saved = TrainConfig.from_dict(state["config"])
    if config is None:
        config = saved
    check_config(config)
    for name in ("model", "arch", "width", "z_dim", "critic_norm", "size", "resnet", "data"):
        if getattr(config, name) != getattr(saved, name):
            raise ValueError(f"cannot resume: the checkpoint was trained with {name}="
                             f"{getattr(saved, name)!r} but now {name}={getattr(config, name)!r};"
                             " use the same setting or a new --out folder")
    device = pick_device(config.device)
    G, critic = build_models(saved, tuple(state["data"]["shape"]), state["data"]["n_classes"])
    G.load_state_dict(state["G"])
    critic.load_state_dict(state["critic"])
    G, critic = place_models(G, critic, device)  # the same layout as a fresh run
    opt_g = make_optimizer(config, G.parameters(), config.lr_g, device)
    opt_c = make_optimizer(config, critic.parameters(), config.lr_d, device)
    opt_g.load_state_dict(state["opt_g"])
    opt_c.load_state_dict(state["opt_c"])
    rng = torch.Generator()
    rng.set_state(state["rng"])
    return Run(config, G, critic, opt_g, opt_c, rng, state["fixed_z"], state["fixed_labels"],
               state["history"], list(state["snapshots"]), state["step"], state["elapsed"])


def load_generator(folder: str | Path) -> Generator:
    """The trained generator of a run folder (or checkpoint file), on CPU, in eval mode.

    `G.sample(n, labels=None)` then gives (n, C, H, W) images in [-1, 1] or (n, 2) points.
    """
    state = _read(Path(folder))
    config = TrainConfig.from_dict(state["config"])
    G, _ = build_models(config, tuple(state["data"]["shape"]), state["data"]["n_classes"])
    G.load_state_dict(state["G"])
    return G.eval()


def write_history_csv(history: dict[str, list[float]], path: Path) -> None:
    def write(tmp):
        with open(tmp, "w", newline="") as f:
            w = csv.writer(f)
            keys = list(history)
            w.writerow(keys)
            w.writerows(zip(*(history[k] for k in keys), strict=True))

    _atomic_write(path, write)


def save_outputs(run) -> None:
    """checkpoint.pt, history.csv, samples.png and progress.gif in `run.out`."""
    from . import plotting

    out = Path(run.out)
    save_checkpoint(run, out / "checkpoint.pt")
    write_history_csv(run.history, out / "history.csv")
    step, last = run.snapshots[-1]
    fig = plotting.samples_figure(last.float(), title=f"{run.config.model}, step {step}")
    _atomic_write(out / "samples.png", lambda tmp: fig.savefig(tmp, format="png", dpi=100))
    plotting.close(fig)
    gif = plotting.snapshots_gif(run.snapshots)
    _atomic_write(out / "progress.gif", lambda tmp: Path(tmp).write_bytes(gif))


def tensorboard_writer(log_dir: str | None):
    """A SummaryWriter for `log_dir`; a clear error when tensorboard is not installed."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as e:
        raise ValueError("log_dir needs TensorBoard, which is not installed: "
                         "`pip install tensorboard`, or leave log_dir unset") from e
    return None if log_dir is None else SummaryWriter(log_dir)


def log_tensorboard(writer, run) -> None:
    h = run.history
    for key in ("d_loss", "g_loss", "wasserstein", "grad_norm"):
        value = h[key][-1]
        if value == value:  # skip NaN (not recorded for this kind of GAN)
            writer.add_scalar(f"loss/{key}", value, run.step)
    if run.snapshots and run.snapshots[-1][0] == run.step and run.snapshots[-1][1].dim() == 4:
        import torchvision

        grid = torchvision.utils.make_grid(run.snapshots[-1][1].float(), normalize=True,
                                           value_range=(-1, 1))
        writer.add_image("samples", grid, run.step)
