"""A training run: everything it owns (`Run`), how a new one is built, and how one is read back.

A run is the two nets, their optimizers, the one random source, the fixed noise whose samples
we watch, the history and a few counters. `ganlib.outputs` writes it to a run folder;
`load_checkpoint` and `load_generator` here read it back.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor, nn

from . import distributed, speed
from .config import TrainConfig
from .models import Generator, build_models

FORMAT = 2  # the checkpoint layout; bump when it changes
HISTORY_KEYS = ("step", "time", "d_loss", "g_loss", "wasserstein", "d_real", "d_fake",
                "grad_norm", "w_absmax", "w_at_clip")


@dataclass
class Run:
    """Everything a training run owns: the state a checkpoint saves (`ganlib.outputs.
    save_checkpoint`, read back by `load_checkpoint`), then the fields of this process's
    session, which are set afresh each time a run is built or loaded and never saved."""

    # saved in the checkpoint (the config as a dict, the nets and optimizers as state_dicts)
    config: TrainConfig
    G: Generator
    critic: nn.Module
    opt_g: torch.optim.Optimizer
    opt_c: torch.optim.Optimizer
    rng: torch.Generator  # the one random source: batches, z, α (so a resume is exact)
    fixed_z: Tensor  # (n_fixed, z_dim): the noise whose samples we watch over training
    fixed_labels: Tensor | None
    history: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in HISTORY_KEYS})
    snapshots: list[tuple[int, Tensor]] = field(default_factory=list)  # (step, samples)
    step: int = 0  # generator steps done
    elapsed: float = 0.0  # training seconds so far, over all sessions of this run
    # this process's session only, never saved
    interrupted: bool = False
    stopped_by: int = 0  # the signal that stopped training (SIGINT, SIGTERM, SIGHUP); 0: none
    out: Path | None = None  # the run folder ganlib.outputs writes to, if any
    threads: int | None = None  # CPU threads of the last training session (ganlib.speed)
    rank: int = 0  # under torchrun: this process's number among `world` (ganlib.distributed)
    world: int = 1  # processes training this run together; each trains on 1/world of a batch

    @property
    def device(self) -> torch.device:
        return self.G.device

    def last(self, key: str) -> float:
        values = self.history[key]
        return values[-1] if values else math.nan

    # The run's random draws. Under torchrun every process draws the same `world` x n rows
    # and keeps its own n (ganlib.distributed); on one process that is simply n rows.

    def share(self, rows: Tensor) -> Tensor:
        """This process's rows of a batch drawn alike on every process."""
        n = len(rows) // self.world
        return rows[self.rank * n:(self.rank + 1) * n]

    def randn(self, n: int, *shape: int) -> Tensor:
        """n rows of standard normal noise z, on the run's device."""
        return self.share(torch.randn(n * self.world, *shape, generator=self.rng)
                          ).to(self.device)

    def rand(self, n: int) -> Tensor:
        """n numbers uniform in [0, 1), on the run's device."""
        return self.share(torch.rand(n * self.world, generator=self.rng)).to(self.device)

    def batch(self, data, n: int) -> tuple[Tensor, Tensor | None]:
        """n real samples (and their labels, for a conditional run), on the run's device."""
        real, labels = data.sample(n * self.world, generator=self.rng)
        labels = self.share(labels).to(self.device) if self.G.n_classes else None
        return self.share(real).to(self.device), labels


def pick_device(name: str = "auto") -> torch.device:
    """CUDA, then Apple's MPS, then the CPU, unless `name` says otherwise."""
    if name != "auto":
        if name.startswith("cuda") and not torch.cuda.is_available():
            raise ValueError("device='cuda' but no CUDA GPU is visible; use device='cpu'")
        if name == "mps" and not torch.backends.mps.is_available():
            raise ValueError("device='mps' but Apple's MPS is not available; use device='cpu'")
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def place_models(config: TrainConfig, G: Generator, critic: nn.Module, device: torch.device
                 ) -> tuple[Generator, nn.Module]:
    """Move both nets to `device`, with the speed tricks of `ganlib.speed` asked for: the CPU
    ones unless `fast=False` (and not with `amp`, as they are float32 layers), autocast with
    `amp`, torch.compile with `compile`."""
    G, critic = G.to(device), critic.to(device)
    if config.fast and not config.amp:
        G, critic = speed.apply(G, critic, device)
    if config.amp:
        G, critic = speed.use_autocast(G, device), speed.use_autocast(critic, device)
    if config.compile:
        speed.compile_nets(G, critic, penalised=config.gp_lambda > 0)
    return G, critic


def make_optimizer(config: TrainConfig, params, lr: float, device: torch.device
                   ) -> torch.optim.Optimizer:
    if config.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr)
    fast = speed.optimizer_options(device) if config.fast else {}
    return torch.optim.Adam(params, lr=lr, betas=config.betas, **fast)


def check_data(config: TrainConfig, data) -> None:
    """Refuse data the config cannot train on, before any work starts."""
    if not getattr(data, "is_toy", False) and config.batch_size > len(data):
        raise ValueError(f"batch_size {config.batch_size} is larger than the data set "
                         f"({len(data)} samples); use batch_size <= {len(data)}")
    if config.model == "cwgan-gp" and getattr(data, "labels", None) is None:
        raise ValueError(f"cwgan-gp needs labels, and {config.data!r} has none; "
                         "use a labelled set such as digits5k")


def make_run(config: TrainConfig, data) -> Run:
    """Build models, optimizers and the random source for `config` on `data` (seeded)."""
    check_data(config, data)
    device = pick_device(config.device)
    torch.manual_seed(config.seed)  # the models' initial weights
    n_classes = data.n_classes if config.model == "cwgan-gp" else None
    G, critic = place_models(config, *build_models(config, tuple(data.shape), n_classes), device)
    rng = torch.Generator().manual_seed(config.seed)
    fixed_z = torch.randn(config.n_fixed, G.z_dim, generator=rng)
    fixed_labels = G.default_labels(config.n_fixed) if G.n_classes else None
    return Run(config, G, critic, make_optimizer(config, G.parameters(), config.lr_g, device),
               make_optimizer(config, critic.parameters(), config.lr_d, device), rng, fixed_z,
               fixed_labels)


# ----------------------------------------------------------------------------------------------
# Reading a run back (ganlib.outputs writes it)
# ----------------------------------------------------------------------------------------------


def read_checkpoint(path: str | Path) -> dict:
    """The saved state of a run folder (or checkpoint file), as plain tensors and values.

    Loaded with `weights_only=True`: a checkpoint from elsewhere can hold tensors and plain
    values only, never code that runs on loading.
    """
    path = Path(path)
    if path.is_dir() or path.suffix != ".pt":  # a run folder, whether it exists or not
        folder, path = path, path / "checkpoint.pt"
    else:
        folder = path.parent
    if not path.exists():
        raise FileNotFoundError(f"no checkpoint at {path}; train first, e.g. "
                                f"`python -m ganlib train --out {folder}`")
    try:
        with warnings.catch_warnings():  # torch's own warnings would come before our sentence
            warnings.simplefilter("ignore")
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # empty, truncated, garbage or unsafe: torch raises many kinds
        raise ValueError(f"{path} is not a readable checkpoint ({unreadable(path, e)}); "
                         "delete it and train again, or put a good copy there") from e
    missing = [] if isinstance(state, dict) else list(CHECKPOINT_KEYS)
    missing = missing or [key for key in CHECKPOINT_KEYS if key not in state]
    if missing or state.get("format") != FORMAT:
        why = f" (it has no {', '.join(missing)})" if missing and isinstance(state, dict) else ""
        raise ValueError(f"{path} is not a ganlib checkpoint of format {FORMAT}{why}; delete "
                         "it and train again")
    return state


# what every checkpoint holds (ganlib.outputs.save_checkpoint writes them)
CHECKPOINT_KEYS = ("format", "config", "data", "G", "critic", "opt_g", "opt_c", "rng",
                   "fixed_z", "fixed_labels", "history", "snapshots", "step", "elapsed")


def unreadable(path: Path, error: Exception) -> str:
    """Why torch.load failed, in words."""
    if path.stat().st_size == 0:
        return "the file is empty"
    mine = "it is not a checkpoint this program wrote"
    if "unsupported global" in str(error).lower():  # torch 2.14 writes "unsupported GLOBAL"
        return f"{mine}: it holds objects other than tensors and plain values, refused unread"
    with open(path, "rb") as f:
        if f.read(1) == b"\x80":  # a bare pickle (protocol 2+), where torch.save writes a zip
            return f"{mine}: a bare pickle, refused unread"
    return "the file is truncated or corrupt"


def load_checkpoint(path: str | Path, config: TrainConfig | None = None,
                    state: dict | None = None) -> Run:
    """Rebuild a Run from a checkpoint, on the device `config` (or the saved config) asks for.

    `config` may change the budget (steps/seconds), the game (n_critic, clip, λ), the learning
    rates and Adam's betas (applied to the restored optimizers), not the models; every setting
    that differs from the saved one is printed. `state` is the checkpoint already read
    (torchrun's other ranks get it from rank 0).
    """
    state = read_checkpoint(path) if state is None else state
    saved = TrainConfig.from_dict(state["config"])
    config = saved if config is None else config
    check_same_models(saved, config, path)
    device = pick_device(config.device)
    G, critic = build_models(saved, tuple(state["data"]["shape"]), state["data"]["n_classes"])
    G.load_state_dict(state["G"])
    critic.load_state_dict(state["critic"])
    G, critic = place_models(config, G, critic, device)  # the same form as a fresh run
    opt_g = make_optimizer(config, G.parameters(), config.lr_g, device)
    opt_c = make_optimizer(config, critic.parameters(), config.lr_d, device)
    opt_g.load_state_dict(state["opt_g"])
    opt_c.load_state_dict(state["opt_c"])
    apply_optimizer_settings(saved, config, opt_g, opt_c)
    say = print if distributed.rank() == 0 else (lambda *a: None)  # torchrun: rank 0 speaks
    say_changes(saved, config, say)
    restarted = [name for name, key in (("generator", "opt_g"), ("critic", "opt_c"))
                 if state["step"] > 0 and not state[key]["state"]]
    if restarted:  # ganlib.outputs saved it without a state that was not finite
        say(f"The {' and the '.join(restarted)}'s optimizer restarts: the checkpoint holds "
            "no finite state for it.")
    rng = torch.Generator()
    rng.set_state(state["rng"])
    return Run(config, G, critic, opt_g, opt_c, rng, state["fixed_z"], state["fixed_labels"],
               state["history"], list(state["snapshots"]), state["step"], state["elapsed"])


def say_changes(saved: TrainConfig, config: TrainConfig, say=print) -> None:
    """Print every setting a resume changes, so that what the run says is what it does."""
    before, now = saved.to_dict(), config.to_dict()
    changed = [f"{name} {now[name]} (was {before[name]})" for name in now
               if now[name] != before[name] and name != "extra"]
    if changed:
        say(f"Resuming with {', '.join(changed)}.")


def saved_config(folder: str | Path) -> TrainConfig:
    """The config the run in `folder` was trained with (the run's config until changed)."""
    return TrainConfig.from_dict(read_checkpoint(folder)["config"])


# what a resumed run must share with the checkpoint, with the command-line flag that sets it
SAME_MODELS = (("data", "--data"), ("size", "--size"), ("channels", "--channels"),
               ("model", "--model"), ("width", "--width"), ("optimizer", None), ("arch", None),
               ("z_dim", None), ("critic_norm", None), ("resnet", None))


def check_same_models(saved: TrainConfig, config: TrainConfig, path: str | Path) -> None:
    """Refuse to resume with other models (or data), naming the first setting that differs."""
    for name, flag in SAME_MODELS:
        before, now = getattr(saved, name), getattr(config, name)
        if before != now and flag:
            what = f"{flag} {'unset' if before is None else before}, not {flag} {now}"
        elif before != now:
            what = f"{name}={before!r}, not {now!r}"
        if before != now:
            raise ValueError(f"cannot resume {path}: it was trained with {what}; use the same "
                             f"{flag or 'setting'} or a new --out")


def apply_optimizer_settings(saved: TrainConfig, config: TrainConfig, opt_g, opt_c) -> None:
    """Resume with the learning rates and betas `config` asks for, not the saved ones.

    A learning-rate decay in progress keeps its progress: the new rate is scaled as the saved
    one was (`say_changes` prints what changed).
    """
    for opt, name in ((opt_g, "lr_g"), (opt_c, "lr_d")):
        for group in opt.param_groups:
            group["lr"] *= getattr(config, name) / getattr(saved, name)
            if "betas" in group:
                group["betas"] = config.betas


def load_generator(folder: str | Path) -> Generator:
    """The trained generator of a run folder (or checkpoint file), on CPU, in eval mode.

    `G.sample(n, labels=None)` then gives (n, C, H, W) images in [-1, 1] or (n, 2) points.
    """
    state = read_checkpoint(folder)
    config = TrainConfig.from_dict(state["config"])
    G, _ = build_models(config, tuple(state["data"]["shape"]), state["data"]["n_classes"])
    G.load_state_dict(state["G"])
    return G.eval()


class Hook:
    """Something that watches training: `ganlib.train` calls `start` before the first step,
    `step` after every step (return True to stop training) and `end` after the last one, also
    when training was interrupted or failed."""

    def start(self, run: Run) -> None:
        pass

    def step(self, run: Run) -> bool | None:
        return None

    def end(self, run: Run) -> None:
        pass
