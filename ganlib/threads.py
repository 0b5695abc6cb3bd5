"""How many CPU threads training uses: the idle cores for images, one for the 2-D toys.

Measured on this project's 2-core CPU (torch 2.14.1; steps per second of ganlib's training step,
as `python -m ganlib bench --only levers` times them):

- on an otherwise idle machine a second thread makes the course's image models 1.5-1.6x
  faster (DCGAN on digits 16.6 -> 24.6 steps/s, WGAN-GP 2.5 -> 3.7, conditional WGAN-GP
  2.3 -> 3.7) but the 2-D toys' small MLPs only 1.0-1.1x;
- beside another busy process (a second kernel, a test run, a browser rendering) two threads
  made training 10-100x *slower* (DCGAN 16 s per step instead of 0.15 s): at every operation
  the threads wait for each other, and one of them keeps losing its core to the other process;
- light, intermittent load (a process busy 10 % or 30 % of the time, like a browser redrawing
  a progress bar) does not flip it: DCGAN 20.8 and 23.1 steps/s on two threads against 17.4
  and 17.8 on one; a process busy all the time does (7.5 against 18.3).

So `auto` looks before it leaps: for images it samples, for a tenth of a second, how busy the
CPUs are and takes only the cores nobody else is using (at least one); the toys always get one
thread, which also keeps their runs bit-for-bit repeatable from one machine state to the next.
A process that becomes busy only after training started still slows a two-thread run (about
2.4x above); set the environment variable GANLIB_THREADS (or `TrainConfig.threads`) to 1 if
you train while the machine does other heavy work.
"""

from __future__ import annotations

import os

ENV_VAR = "GANLIB_THREADS"


def idle_cores(interval: float = 0.1) -> float:
    """Cores' worth of CPU left unused over the next `interval` seconds, which we spend
    asleep, so whatever is busy meanwhile is another process."""
    import psutil

    busy = psutil.cpu_percent(interval=interval) / 100.0
    return (os.cpu_count() or 1) * (1.0 - busy)


def physical_cores() -> int:
    import psutil

    return psutil.cpu_count(logical=False) or os.cpu_count() or 1


def pick_threads(requested: int = 0, toy: bool = False) -> int:
    """The thread count for a training run: `requested` if > 0, else GANLIB_THREADS if set,
    else 1 for the 2-D toys and the idle physical cores (at least 1) for images."""
    if requested:
        return requested
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        if not env.isdigit() or int(env) < 1:
            raise ValueError(f"{ENV_VAR} must be a whole number >= 1, got {env!r}; unset it "
                             "to let ganlib choose")
        return int(env)
    if toy:
        return 1
    # +0.3: a core that is 70 % free still counts (background noise of a desktop session)
    return max(1, min(physical_cores(), int(idle_cores() + 0.3)))
