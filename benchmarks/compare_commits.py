"""Is one checkout of ganlib as fast as another? Paired, alternating training-step timings.

    python benchmarks/compare_commits.py OLD_DIR NEW_DIR [--rounds 10] [--threads 1]
        [--variant no-critic-first=Conv2dFromImage --variant no-fast-layers=all]

OLD_DIR and NEW_DIR are source folders holding a `ganlib/` package (two git worktrees, say).
Each side runs in its own Python process with PYTHONPATH set to its folder, and keeps its models
between rounds. Every round times the same number of training steps of each model (the digits
presets of DCGAN and WGAN-GP) on every side, one side at a time, on the same data, seed and
thread count, in an order that rotates from round to round. A burst of load from another
process then falls on all sides alike, and the median of the per-round ratios is the figure to
read, with its spread (the smallest and the largest ratio).

A `--variant LABEL=CLASSES` is one more side: NEW_DIR with the named fast layers (class names
from ganlib.speed joined by '+', or 'all') turned back into their plain torch.nn layers.

Each side also counts its step's floating-point operations (torch.utils.flop_counter) and times
a 4096 x 4096 float32 matrix multiply before and after the rounds: achieved GFLOP/s as a share
of the higher of the two readings.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from _common import flops_per_step, matmul_gflops

MODELS = ("dcgan", "wgan-gp")
STEPS = {"dcgan": 20, "wgan-gp": 4}  # a few seconds each on one thread of a quiet CPU


# ----------------------------------------------------------------------------------------------
# One side: a process that imports one ganlib and times its step when asked
# ----------------------------------------------------------------------------------------------


def make_plain(net, names: set[str]) -> set[str]:
    """Turn the fast layers called `names` ('all': every one) back into their torch.nn layer;
    returns the names of those it changed."""
    changed = set()
    for m in net.modules():
        fast = type(m).__module__ in ("ganlib.speed", "ganlib.fast_layers")
        if fast and ("all" in names or type(m).__name__ in names):
            changed.add(type(m).__name__)
            m.__class__ = type(m).__mro__[1]
    return changed


class Side:
    """The training runs of one checkout, built on first use and kept between rounds."""

    def __init__(self, plain: set[str]):
        self.plain, self.runs = plain, {}

    def time(self, model: str, threads: int, steps: int) -> dict:
        import torch
        from torch.utils.benchmark import Timer

        torch.set_num_threads(threads)
        if (model, threads) not in self.runs:
            self.runs[model, threads] = self.build(model, threads)
        step, run, data, gflop = self.runs[model, threads]
        timer = Timer("step(run, data)", globals={"step": step, "run": run, "data": data},
                      num_threads=threads)
        return {"seconds_per_step": timer.timeit(steps).median, "gflop_per_step": gflop}

    def build(self, model: str, threads: int):
        from ganlib.config import preset
        from ganlib.data import load

        train = importlib.import_module("ganlib.train")  # the module: ganlib.train is a function
        data = load("digits5k")
        run = train.make_run(preset(model, "digits5k", device="cpu", threads=threads), data)
        changed = make_plain(run.G, self.plain) | make_plain(run.critic, self.plain)
        if self.plain - {"all"} - changed:
            raise ValueError(f"no fast layer called {', '.join(self.plain - changed)} in "
                             f"{model}; use class names from ganlib.speed, or 'all'")
        step = loop_step(train)
        step(run, data)  # the optimizers' state (Timer.timeit warms up as well)
        return step, run, data, flops_per_step(lambda: step(run, data)) / 1e9


def loop_step(train):
    """One step as this checkout's training loop runs it, the history's record included.

    The step's name and what it does changed: train_one_step, then train_step, recorded the
    history themselves; since the step takes tensors, train_step returns the numbers and the
    loop hands them to record.
    """
    step = getattr(train, "train_step", None) or train.train_one_step

    def step_and_record(run, data):
        numbers = step(run, data)
        if numbers is not None:
            train.record(run, numbers)

    return step_and_record


def serve(plain: set[str]) -> None:
    """Answer one JSON line per request on stdin: time a model's steps, or the matmul peak."""
    import ganlib

    side = Side(plain)
    print(json.dumps({"ganlib": str(Path(ganlib.__file__).parent)}), flush=True)
    for line in sys.stdin:
        ask = json.loads(line)
        if ask["what"] == "peak":
            answer = {"peak_gflops": matmul_gflops(threads=ask["threads"], min_run_time=0.1)}
        else:
            answer = side.time(ask["model"], ask["threads"], ask["steps"])
        print(json.dumps(answer), flush=True)


class Worker:
    """A `serve` process over one source folder, asked in turn by the comparison."""

    def __init__(self, folder: Path, plain: set[str], threads: int):
        env = dict(os.environ, PYTHONPATH=str(folder), GANLIB_THREADS=str(threads),
                   OMP_NUM_THREADS=str(threads))
        self.folder = folder
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--serve", "+".join(sorted(plain)) or "-"], env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        where = Path(self.read()["ganlib"]).resolve()
        if where != (folder / "ganlib").resolve():
            self.close()
            raise RuntimeError(f"{folder} imported ganlib from {where}; pass a checkout's root")

    def read(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the timing process for {self.folder} stopped (see above)")
        return json.loads(line)

    def ask(self, **request) -> dict:
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        return self.read()

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait()


# ----------------------------------------------------------------------------------------------
# The comparison
# ----------------------------------------------------------------------------------------------


def compare(sides: dict[str, tuple[Path, set[str]]], rounds: int, threads: int,
            models=MODELS, steps: dict[str, int] | None = None, say=print) -> list[dict]:
    """Time every side's step, one side at a time in rotating order, `rounds` times per model.

    `sides` maps a label to (source folder, fast layers to make plain); the first side is the
    reference of the ratios. Returns one row per model.
    """
    steps = steps or STEPS
    workers = {label: Worker(folder, plain, threads) for label, (folder, plain) in sides.items()}
    labels = list(workers)
    times = {model: [] for model in models}
    gflop = {model: {} for model in models}
    try:
        # the peak before and after the rounds (each reading takes seconds on a busy machine)
        peaks = [workers[labels[0]].ask(what="peak", threads=threads)["peak_gflops"]]
        for r in range(rounds):
            order = labels[r % len(labels):] + labels[:r % len(labels)]
            if r % 2:
                order.reverse()
            for model in models:
                got = {}
                for label in order:
                    answer = workers[label].ask(what="step", model=model, threads=threads,
                                                steps=steps[model])
                    got[label] = answer["seconds_per_step"]
                    gflop[model][label] = answer["gflop_per_step"]
                times[model].append(got)
                ref = labels[0]
                say(f"round {r + 1:>2} {model:>8}, {threads} thread(s): " + ", ".join(
                    f"{label} {got[label] * 1e3:.0f} ms ({got[ref] / got[label]:.3f})"
                    for label in labels))
        peaks.append(workers[labels[0]].ask(what="peak", threads=threads)["peak_gflops"])
        say(f"float32 matmul peak: {peaks[0]:.1f} GFLOP/s before, {peaks[1]:.1f} after")
    finally:
        for worker in workers.values():
            worker.close()
    peak = max(peaks)
    return [summarise(model, threads, steps[model], times[model], gflop[model], peak)
            for model in models]


def summarise(model: str, threads: int, steps: int, rounds: list[dict[str, float]],
              gflop: dict[str, float], peak: float) -> dict:
    """Per side: steps/s, utilisation, and the paired speed ratio to the first side (its
    median over the rounds, and the smallest and largest)."""
    labels = list(rounds[0])
    row = {"model": model, "threads": threads, "steps": steps, "rounds": len(rounds),
           "seconds_per_step": rounds, "sides": {}}  # every round's, for other pairings
    for label in labels:
        ratios = sorted(r[labels[0]] / r[label] for r in rounds)
        per_step = statistics.median(r[label] for r in rounds)
        row["sides"][label] = {
            "ratio_median": statistics.median(ratios), "ratio_min": ratios[0],
            "ratio_max": ratios[-1], "ratios": ratios, "steps_per_s": 1 / per_step,
            "gflop_per_step": gflop[label], "gflops": gflop[label] / per_step,
            "peak_gflops": peak, "share_of_peak": gflop[label] / per_step / peak}
    return row


def format_rows(rows: list[dict]) -> str:
    lines = ["model     thr rounds side               ratio median [min, max]  steps/s"
             "  GFLOP/step  GFLOP/s (% of peak)"]
    for r in rows:
        for label, s in r["sides"].items():
            lines.append(f"{r['model']:<9} {r['threads']:>3} {r['rounds']:>6} {label:<18} "
                         f"{s['ratio_median']:.3f} [{s['ratio_min']:.3f}, {s['ratio_max']:.3f}]"
                         f"   {s['steps_per_s']:>7.2f}  {s['gflop_per_step']:>10.2f}"
                         f"  {s['gflops']:>6.1f} ({100 * s['share_of_peak']:.0f}% of "
                         f"{s['peak_gflops']:.0f})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--serve"]:  # one side, in its own process
        serve(set(argv[1].split("+")) - {"-"})
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("old", type=Path, help="source folder holding the old ganlib/")
    parser.add_argument("new", type=Path, help="source folder holding the new ganlib/")
    parser.add_argument("--rounds", type=int, default=10, help="rounds per model")
    parser.add_argument("--threads", type=int, default=1, help="torch threads on every side")
    parser.add_argument("--models", default=",".join(MODELS), help="dcgan, wgan-gp or both")
    parser.add_argument("--variant", action="append", default=[], metavar="LABEL=CLASSES",
                        help="NEW with these fast layers plain, e.g. no-fast=all")
    parser.add_argument("--out", type=Path, help="also write the rows as JSON here")
    args = parser.parse_args(argv)
    for folder in (args.old, args.new):
        if not (folder / "ganlib" / "__init__.py").exists():
            parser.error(f"{folder} has no ganlib/ package; pass a checkout's root")
    sides = {"old": (args.old.resolve(), set()), "new": (args.new.resolve(), set())}
    for variant in args.variant:
        label, _, classes = variant.partition("=")
        if not classes:
            parser.error(f"--variant {variant!r} needs LABEL=CLASSES, e.g. no-fast=all")
        sides[label] = (args.new.resolve(), set(classes.split("+")))
    rows = compare(sides, args.rounds, args.threads, args.models.split(","))
    print(format_rows(rows))
    if args.out:
        args.out.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
