"""The one training loop behind every lesson: n_critic critic steps, then one generator step.

Read it next to Gulrajani et al. 2017, Algorithm 1. The same loop trains the 2014 BCE GAN
(loss='bce', n_critic=1), DCGAN, WGAN with weight clipping (clip_value) and WGAN-GP
(gp_lambda), conditional or not; the config says which. `critic_step` and `generator_step` are
the algorithm; `train` repeats them until the budget is spent, and everything else (samples to
watch, the progress bar, the run folder, TensorBoard) hangs off it as hooks.
"""

from __future__ import annotations

import contextlib
import math
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import Tensor, nn

from . import distributed, losses, outputs, speed
from .config import TrainConfig, preset
from .run import Hook, Run, load_checkpoint, make_run


class TrainingDiverged(FloatingPointError):
    """A loss became NaN or infinite. `run` holds the models as they were just before.

    The advice names rates that lead out: a tenth of the current ones, or the preset's when
    those are lower still. When the session diverged before finishing a step of its own, the
    weights it started from diverge whatever the rates, so it says to start again.
    """

    def __init__(self, who: str, loss: float, run: Run, started_at: int | None = None):
        self.who, self.loss, self.step, self.run = who, loss, run.step + 1, run
        self.started_at = started_at
        super().__init__(self.describe())

    def describe(self) -> str:
        cfg, step = self.run.config, self.run.step
        lr_g, lr_d = lower_rates(cfg)
        rates = f"lr_g={lr_g:.3g}, lr_d={lr_d:.3g}"
        if self.started_at == step and step > 0:  # resumed, and diverged at once
            advice = (f"the weights of step {step} diverge whatever the learning rate: start "
                      f"again with lower rates ({rates})")
        else:
            advice = f"try lower learning rates ({rates}) from step {step}"
        return (f"the {self.who} loss became {self.loss} at step {step + 1}; training stopped "
                f"with the models as they were after step {step}; {advice}"
                + (" or a smaller clip value." if cfg.clip_value is not None else "."))

    def started(self, step: int) -> TrainingDiverged:
        """The same error, knowing that its session started at `step` (for its advice)."""
        self.started_at = step
        self.args = (self.describe(),)
        return self


def lower_rates(cfg: TrainConfig) -> tuple[float, float]:
    """A tenth of `cfg`'s learning rates, or the preset's when those are lower; G's and the
    critic's keep their ratio (as --lr keeps it)."""
    try:
        base = preset(cfg.model, cfg.data, size=cfg.size).lr_g
    except ValueError:  # a config no preset makes: a tenth will do
        base = math.inf
    lr_g = min(cfg.lr_g / 10, base)
    return lr_g, lr_g * cfg.lr_d / cfg.lr_g


# ----------------------------------------------------------------------------------------------
# The algorithm
# ----------------------------------------------------------------------------------------------


def critic_step(run: Run, real: Tensor, fake: Tensor, labels: Tensor | None
                ) -> dict[str, Tensor | None]:
    """One update of the critic (the discriminator, in a BCE GAN) on a real and a fake batch.

    Returns the step's numbers: the loss, both batches' scores and, with a penalty, the slopes.
    """
    cfg, critic = run.config, run.critic
    fake = fake.detach()  # this update must not reach G
    real_scores = critic(real, labels)
    fake_scores = critic(fake, labels)
    if cfg.loss == "bce":  # -log D(x) - log(1 - D(G(z)))
        loss = losses.d_loss_bce(real_scores, fake_scores)
    else:  # E[f(G(z))] - E[f(x)]
        loss = losses.critic_loss_wasserstein(real_scores, fake_scores)
    grad_norms = None
    if cfg.gp_lambda > 0:  # + λ E[(‖∇f(x̂)‖ - 1)²] at points x̂ between real and fake
        penalty, grad_norms = losses.gradient_penalty(critic, real, fake, cfg.gp_lambda, labels,
                                                      alpha=run.rand(len(real)))
        loss = loss + penalty
    check_finite(loss, run, "critic")
    run.opt_c.zero_grad(set_to_none=True)
    loss.backward()
    run.opt_c.step()
    if cfg.clip_value is not None:  # WGAN: clip every weight to [-c, c]
        losses.clip_weights(critic, cfg.clip_value)
    return {"d_loss": loss.detach(), "real_scores": real_scores.detach(),
            "fake_scores": fake_scores.detach(), "grad_norms": grad_norms}


def generator_step(run: Run, fake: Tensor, labels: Tensor | None) -> Tensor:
    """One update of G: raise the critic's scores of `fake` (still attached to G's graph),
    backpropagating through the frozen critic. Returns the loss."""
    cfg, critic = run.config, run.critic
    with frozen(critic):  # the gradient flows through the critic into G only
        scores = critic(fake, labels)
    if cfg.loss == "wasserstein":  # -E[f(G(z))]
        loss = losses.g_loss_wasserstein(scores)
    elif cfg.g_loss == "minimax":  # log(1 - D(G(z))), the 2014 paper's game
        loss = losses.g_loss_minimax(scores)
    else:  # -log D(G(z)), the 2014 paper's practical advice
        loss = losses.g_loss_nonsaturating(scores)
    check_finite(loss, run, "generator")
    run.opt_g.zero_grad(set_to_none=True)
    loss.backward()
    run.opt_g.step()
    return loss.detach()


def train_step(run: Run, data) -> dict[str, Tensor | None]:
    """Algorithm 1's outer loop, once: n_critic critic steps, each on a fresh real batch and
    fresh fakes, then one generator step. Returns the step's numbers for `record`."""
    cfg, G = run.config, run.G
    reuse = cfg.n_critic == 1  # speed: G's step reuses the critic's fakes, as DCGAN's code does
    for _ in range(cfg.n_critic):
        real, labels = run.batch(data, cfg.batch_size)
        z = run.randn(len(real), G.z_dim)
        with torch.set_grad_enabled(reuse):  # record G's graph only if G's step reuses it
            fake = G(z, labels)
        numbers = critic_step(run, real, fake, labels)
    fake = fake if reuse else G(run.randn(len(real), G.z_dim), labels)  # the fakes G's step moves
    numbers["g_loss"] = generator_step(run, fake, labels)
    run.step += 1
    return numbers


@contextlib.contextmanager
def frozen(net: nn.Module):
    """Inside the block `net`'s weights take no gradient; gradients still flow through it."""
    net.requires_grad_(False)
    try:
        yield net
    finally:
        net.requires_grad_(True)


def check_finite(loss: Tensor, run: Run, who: str) -> None:
    """Stop before a NaN or infinite loss reaches the weights.

    Under torchrun the ranks check the mean of their losses (one all-reduce), so that all of
    them stop together, with the same message, when any one diverges.
    """
    loss = distributed.mean_over_ranks(loss.detach())
    if not torch.isfinite(loss):
        raise TrainingDiverged(who, loss.item(), run)


def record(run: Run, numbers: dict[str, Tensor | None]) -> None:
    """Append a step's numbers (from `train_step`) and the run's clock to `run.history`.

    The numbers cross from the device to the host in one copy (`check_finite` adds one per
    update, and a clipped critic's weight statistics two more).
    """
    cfg, nan = run.config, torch.tensor(math.nan, device=numbers["g_loss"].device)
    real, fake = numbers["real_scores"], numbers["fake_scores"]
    if cfg.loss == "bce":  # D's probabilities
        real, fake = torch.sigmoid(real), torch.sigmoid(fake)
    w = real.mean() - fake.mean() if cfg.loss == "wasserstein" else nan
    norms = numbers["grad_norms"]
    values = torch.stack([numbers["d_loss"], numbers["g_loss"], w, real.mean(), fake.mean(),
                          nan if norms is None else norms.detach().mean()])
    values = distributed.mean_over_ranks(values)  # under torchrun: the global batch's numbers
    d_loss, g, w, d_real, d_fake, gn = values.float().cpu().tolist()
    w_absmax, w_at_clip = weight_stats(run)
    for key, value in zip(run.history, (run.step, run.elapsed, d_loss, g, w, d_real, d_fake,
                                        gn, w_absmax, w_at_clip), strict=True):
        run.history[key].append(value)


def weight_stats(run: Run) -> tuple[float, float]:
    """Largest |w| in the critic and the share of weights within 1% of the clip value."""
    c = run.config.clip_value
    if c is None:
        return math.nan, math.nan
    w = torch.cat([p.detach().flatten() for p in run.critic.parameters()]).abs()
    return w.max().item(), (w >= 0.99 * c).float().mean().item()


# ----------------------------------------------------------------------------------------------
# The loop
# ----------------------------------------------------------------------------------------------


def train(config: TrainConfig, data=None, *, out: str | Path | None = None, resume: bool = False,
          overwrite: bool = False, progress: bool = True,
          callback: Callable[[Run], bool | None] | None = None, run: Run | None = None) -> Run:
    """Train the GAN `config` describes and return the Run (models, history, snapshots).

    Args:
        config: what to train and for how long (`steps` generator steps, or `seconds`).
        data: the data set (from ganlib.data.load); loaded from `config.data` when None.
        out: a folder for checkpoint.pt, history.csv, samples.png and progress.gif.
        resume: continue from `out/checkpoint.pt` if it exists, up to `config.steps` (or
            `config.seconds`) in all.
        overwrite: replace the run in `out`; without it or `resume`, a folder that already
            holds a run is refused (and one that another run is writing, always).
        progress: show a tqdm progress bar (a widget in Jupyter, text in a terminal).
        callback: called after every step with the run; return True to stop early.
        run: continue this in-memory run instead of building a new one.
    Ctrl-C (Jupyter's stop button), SIGTERM and SIGHUP end training cleanly after the current
    step (`run.stopped_by` says which signal), and a NaN loss raises TrainingDiverged; in both
    cases what was trained stays in the returned/attached run and, with `out`, in the run
    folder.
    """
    if data is None:
        from .data import load

        data = load(config.data, size=config.size, channels=config.channels)
    out = Path(out) if out is not None else None
    distributed.join(config.device)  # under torchrun: join the other processes (a no-op if none)
    budget = Budget(config)
    hooks = [budget, *make_hooks(config, budget, out, resume or overwrite, progress, callback)]
    if run is None and resume and out is not None:
        run = resumed(out / "checkpoint.pt", config)
    run = run or make_run(config, data)
    if hasattr(data, "to"):  # ganlib's sets: on a GPU, the whole set there once
        data = data.to(run.device)
    run.config, run.out, run.interrupted = config, out, False
    with distributed.data_parallel(run), cpu_threads(run, data), stop_requests() as stop:
        try:
            for hook in hooks:
                hook.start(run)
            started_at, done = run.step, budget.spent()
            while not distributed.agree_to_stop(done, stop):  # under torchrun: all ranks at once
                numbers = train_step(run, data)
                budget.tick(run)  # the clock first, so that the history's time is this step's
                record(run, numbers)
                done = any([hook.step(run) for hook in hooks]) or budget.spent()
        except KeyboardInterrupt:  # raised mid-step where signals cannot be caught
            stop.signum = stop.signum or signal.SIGINT
        except TrainingDiverged as e:
            e.started(started_at)  # its advice depends on whether a step was done
            raise
        finally:
            stop.finishing = True  # from here, a further signal must not cut the save short
            run.interrupted, run.stopped_by = stop.requested, stop.signum
            for hook in hooks:
                hook.end(run)
    return run


def resumed(path: Path, config: TrainConfig) -> Run | None:
    """The run saved at `path`, continued with `config`; None when there is none yet.

    Under torchrun rank 0 alone reads the file and sends it to the others, so that every rank
    resumes the same step, optimizer state and random state, shared file system or not.
    """
    from .run import read_checkpoint

    state = distributed.from_rank0(lambda: read_checkpoint(path) if path.exists() else None)
    return None if state is None else load_checkpoint(path, config=config, state=state)


def make_hooks(config: TrainConfig, budget: Budget, out: Path | None, replace: bool,
               progress: bool, callback: Callable[[Run], bool | None] | None) -> list[Hook]:
    """What watches training, in the order it runs after every step (made before any work, so
    that a bad `out` or log_dir fails fast). Under torchrun only rank 0 shows and writes."""
    lead = distributed.rank() == 0
    hooks: list[Hook] = [Snapshots(), ProgressBar(config, progress and lead)]
    if config.lr_decay == "linear":
        hooks.append(LinearDecay(budget))
    if config.log_dir and lead:
        hooks.append(outputs.TensorBoard(config.log_dir))
    if out is not None and lead:
        hooks.append(outputs.RunFolder(out, config.checkpoint_every, replace))
    if callback is not None:
        hooks.append(Callback(callback))
    return [*hooks, Interrupted()] if lead else hooks


class Budget(Hook):
    """Steps or seconds: the run's training clock, how much of the budget is used, when to stop.

    Both count the run in all: a resumed run stops when it has `steps` steps, or `seconds` of
    training, counting earlier sessions (so a linear decay also spans the sessions).
    """

    def __init__(self, config: TrainConfig):
        self.config = config

    def start(self, run: Run) -> None:
        self.run, self.start_elapsed, self.t0 = run, run.elapsed, time.perf_counter()

    def tick(self, run: Run) -> None:
        """Set `run.elapsed` to the training time so far (called after every step)."""
        elapsed = self.start_elapsed + time.perf_counter() - self.t0
        run.elapsed = distributed.slowest(elapsed)  # under torchrun: one clock for all ranks

    def fraction(self) -> float:
        if self.config.seconds is not None:
            return self.run.elapsed / self.config.seconds
        return self.run.step / self.config.steps

    def spent(self) -> bool:
        return self.fraction() >= 1


@contextlib.contextmanager
def cpu_threads(run: Run, data):
    """Train on the threads `ganlib.speed` picks (with fast=True), then restore the count."""
    before = torch.get_num_threads()
    if run.device.type == "cpu" and run.config.fast:
        run.threads = speed.pick_threads(run.config.threads, toy=getattr(data, "is_toy", False))
        torch.set_num_threads(run.threads)
    elif run.device.type == "cpu" and run.config.threads:
        run.threads = run.config.threads
        torch.set_num_threads(run.threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


# Ctrl-C (Jupyter's stop button), `kill` and `timeout` (SIGTERM), a closed terminal (SIGHUP)
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP")
                     if hasattr(signal, name))  # Windows has no SIGHUP


class StopRequest:
    signum: int = 0  # the signal that asked training to stop; 0 while none has
    finishing: bool = False  # training is over and the run is being saved

    @property
    def requested(self) -> bool:
        return self.signum != 0


@contextlib.contextmanager
def stop_requests():
    """Turn Ctrl-C, SIGTERM and SIGHUP into 'finish this step, then stop'.

    Stopping between steps keeps models, optimizers and history consistent, so the checkpoint
    written afterwards resumes exactly. A second signal stops at once, unless training is over
    and the run is being saved (`stop.finishing`): the save finishes first, as a cluster's
    cancel often arrives twice. Where signals cannot be caught (not the main thread), a
    KeyboardInterrupt is caught around the loop instead.
    """
    stop = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handler(signum, frame):
        if stop.finishing:
            print("Saving the run before stopping; this finishes in a moment.")
            return
        if stop.requested:
            raise KeyboardInterrupt
        stop.signum = signum

    previous = {s: signal.signal(s, handler) for s in STOP_SIGNALS}
    try:
        yield stop
    finally:
        for s, old in previous.items():
            signal.signal(s, old)


# ----------------------------------------------------------------------------------------------
# Hooks (ganlib.outputs has the run folder's and TensorBoard's)
# ----------------------------------------------------------------------------------------------


class Snapshots(Hook):
    """Samples of the fixed noise every `sample_every` steps, for the progress GIF."""

    def start(self, run: Run) -> None:
        self.take(run)

    def step(self, run: Run) -> None:
        if run.step % run.config.sample_every == 0:
            self.take(run)

    def end(self, run: Run) -> None:
        self.take(run)

    @staticmethod
    def take(run: Run) -> None:
        if run.snapshots and run.snapshots[-1][0] == run.step:
            return
        samples = run.G.sample(z=run.fixed_z, labels=run.fixed_labels)
        run.snapshots.append((run.step, samples.half() if samples.dim() == 4 else samples))


class ProgressBar(Hook):
    """A tqdm bar (a widget in Jupyter, text in a terminal) with the latest losses."""

    def __init__(self, config: TrainConfig, show: bool):
        self.config, self.show = config, show

    def start(self, run: Run) -> None:
        from tqdm.auto import tqdm

        total = None if self.config.seconds is not None else self.config.steps
        self.bar = tqdm(total=total, initial=run.step if total else 0, disable=not self.show,
                        desc=f"{self.config.model} on {self.config.data}", leave=True)

    def step(self, run: Run) -> None:
        self.bar.update(1)
        if run.step % 10 == 0:
            post = {"D": f"{run.last('d_loss'):.3f}", "G": f"{run.last('g_loss'):.3f}"}
            if run.config.loss == "wasserstein":
                post["W"] = f"{run.last('wasserstein'):.3f}"
            self.bar.set_postfix(post, refresh=False)

    def end(self, run: Run) -> None:
        self.bar.close()


class Interrupted(Hook):
    """Says what Ctrl-C (or SIGTERM, SIGHUP) kept."""

    def end(self, run: Run) -> None:
        if run.interrupted:
            name = signal.Signals(run.stopped_by).name
            print(f"Interrupted ({name}) at step {run.step}: the models and history so far "
                  "are kept"
                  + (f" and saved to {run.out / 'checkpoint.pt'}." if run.out else "."))


class LinearDecay(Hook):
    """Both learning rates fall linearly to 0 as the budget runs out.

    Adam with a constant rate keeps jittering around the optimum; shrinking the steps at the
    end lets the samples settle onto the modes (Gulrajani et al.'s code decays too).
    """

    def __init__(self, budget: Budget):
        self.budget = budget

    def step(self, run: Run) -> None:
        scale = max(0.0, 1.0 - self.budget.fraction())
        for opt, lr in ((run.opt_g, run.config.lr_g), (run.opt_c, run.config.lr_d)):
            for group in opt.param_groups:
                group["lr"] = lr * scale


class Callback(Hook):
    """A plain function called after every step; it returns True to stop training."""

    def __init__(self, fn: Callable[[Run], bool | None]):
        self.fn = fn

    def step(self, run: Run) -> bool | None:
        return self.fn(run)
