"""Speed and time-to-quality benchmark of ganlib: `python benchmarks/bench.py`.

Everything is measured in one run, side by side, so a noisy machine shifts both sides of a
comparison alike:

- peak: the GFLOP/s of a large float32 matrix multiply, the practical peak of this CPU;
- throughput: images (or points) per second of ganlib's training step against a naive
  reference loop written the way the seed notebooks train (naive.py), on the same model and
  batch size, and the GFLOP/s each achieves (counted with torch.utils.flop_counter) as a share
  of the peak;
- levers: ganlib's step with each of its speed choices turned off in turn (channels-last,
  the fast edge layers together and one by one, fused Adam, reusing the critic step's fakes)
  and with 1 or all threads: what each is worth, as a paired ratio to the full step;
- toys: seconds until WGAN-GP captures every mode of ring8 (8/8) and grid25 (25/25) with
  >= 80 % high-quality samples (the VEEGAN / PacGAN protocol on 2,500 samples);
- digits: the digit judge's Fréchet distance and class coverage of DCGAN on digits5k after
  60, 120 and 180 s, for ganlib's loop and for the naive loop at the same budget;
- digits-seed: the same for the naive loop with the seed notebooks' model size.

Timing: torch.utils.benchmark's Timer (blocked_autorange) times each loop in rounds, the loops
taking turns, and ratios are medians of per-round ratios (paired), so load from another process
shifts both sides of a ratio alike. The clock of the time-to-quality parts counts training
time only. Evaluations run inside the training callback
(or between naive steps) with the clock paused, so a slow metric never eats the budget.

From the repository root (ganlib importable):

    python benchmarks/bench.py                      # everything, ~20 min on a quiet 2-core CPU
    python benchmarks/bench.py --only throughput    # one or more parts, comma separated
    python benchmarks/bench.py --quick              # a tiny version that runs in seconds (tests)
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from _common import flops_per_step, matmul_gflops, paired_ratio
from naive import NaiveLoop
from torch.utils.benchmark import Compare, Timer

from ganlib import speed
from ganlib.config import TrainConfig, preset
from ganlib.data import load
from ganlib.run import make_optimizer, make_run
from ganlib.train import critic_step, generator_step, record, train, train_step

PARTS = ("peak", "throughput", "levers", "toys", "digits", "digits-seed")
MODELS = (("dcgan", "digits5k"), ("wgan-gp", "digits5k"), ("wgan-gp", "ring8"))  # timed ones
SEED_WIDTH = 256  # the seed notebooks' DCGAN-32: filters [1024, 512, 256] = width 256 here


# ----------------------------------------------------------------------------------------------
# Speed: the matmul peak and training throughput
# ----------------------------------------------------------------------------------------------


def ganlib_step(run, data) -> Callable[[], None]:
    """ganlib's training step as `ganlib.train.train` runs it, less the hooks: the update, then
    the history's record (its device-to-host copy)."""
    return lambda: record(run, train_step(run, data))


def ganlib_threads(config: TrainConfig, data) -> int:
    """The thread count ganlib.train would pick for this run now (see ganlib.speed)."""
    return speed.pick_threads(config.threads, toy=getattr(data, "is_toy", False))


def timed_rounds(steps: dict[str, Callable[[], None]], threads: dict[str, int], label: str,
                 seconds: float, rounds: int) -> tuple[list[dict[str, float]], list]:
    """Time every step in turn, `rounds` times (the order reversed every other round), each for
    about `seconds` with torch.utils.benchmark. Returns steps per second per round, and the
    Measurements (for `torch.utils.benchmark.Compare`)."""
    names, per_round, measurements = list(steps), [], []
    for r in range(rounds):
        rates = {}
        for name in names if r % 2 == 0 else names[::-1]:
            timer = Timer("step()", globals={"step": steps[name]}, label=label,
                          sub_label=name, description=f"round {r + 1}",
                          num_threads=threads[name])
            m = timer.blocked_autorange(min_run_time=seconds)
            rates[name] = 1 / m.median
            measurements.append(m)
        per_round.append(rates)
    return per_round, measurements


def throughput(config: TrainConfig, data, seconds: float = 10.0, rounds: int = 3
               ) -> tuple[dict, list]:
    """ganlib's training step (`ganlib_step`) against the naive loop, same model
    and batch, in paired rounds. Images per second count the real images the critic reads:
    batch_size x n_critic per generator step. With n_critic = 1 the PyTorch DCGAN tutorial's
    variant of the naive loop (fakes reused) is timed as well."""
    run = make_run(config, data)
    naive_n = torch.get_num_threads()
    steps = {"ganlib": ganlib_step(run, data), "naive": NaiveLoop(config, data).step}
    threads = {"ganlib": ganlib_threads(config, data), "naive": naive_n}
    if config.n_critic == 1:
        steps["naive_reuse"] = NaiveLoop(config, data, reuse_fakes=True).step
        threads["naive_reuse"] = naive_n
    flops = {name: flops_per_step(step) for name, step in steps.items()}
    per_round, measurements = timed_rounds(steps, threads, f"{config.model} on {config.data}",
                                           seconds, rounds)
    per_step = config.batch_size * config.n_critic
    out = {"model": config.model, "data": config.data, "width": config.width,
           "batch_size": config.batch_size, "n_critic": config.n_critic, "rounds": rounds}
    for name in steps:
        rate = statistics.median(r[name] for r in per_round)
        out[name] = {"threads": threads[name], "steps_per_s": rate,
                     "images_per_s": rate * per_step, "gflop_per_step": flops[name] / 1e9,
                     "gflops": flops[name] * rate / 1e9}
    out["speedup"] = paired_ratio(per_round, "ganlib", "naive")
    if "naive_reuse" in steps:
        out["speedup_vs_reuse"] = paired_ratio(per_round, "ganlib", "naive_reuse")
    return out, measurements


# The DCGAN's fast edge layers, each a lever of its own (ganlib.speed's classes)
FAST_LAYERS = {"G first": speed.ConvTranspose2dFrom1x1, "G last": speed.ConvTranspose2dToImage,
               "critic first": speed.Conv2dFromImage}


def step_without(run, data, lever: str) -> Callable[[], None]:
    """ganlib's step with one speed lever turned off (the run is changed in place); '' for
    the full step. A lever is a speed choice or one of FAST_LAYERS' keys."""
    cfg = run.config
    if lever == "channels_last":
        run.G.to(memory_format=torch.contiguous_format)
        run.critic.to(memory_format=torch.contiguous_format)
    elif lever == "fast_layers":
        speed.plain_layers(run.G)
        speed.plain_layers(run.critic)
    elif lever in FAST_LAYERS:
        for m in [*run.G.modules(), *run.critic.modules()]:
            if type(m) is FAST_LAYERS[lever]:
                m.__class__ = type(m).__mro__[1]  # the torch.nn layer it subclasses
    elif lever == "fused_adam":
        plain = cfg.replace(fast=False)
        run.opt_g = make_optimizer(plain, run.G.parameters(), cfg.lr_g, run.device)
        run.opt_c = make_optimizer(plain, run.critic.parameters(), cfg.lr_d, run.device)
    elif lever == "fake_reuse":
        def step():  # train_step for n_critic = 1 without the reuse: fresh fakes for G's step
            real, labels = run.batch(data, cfg.batch_size)
            with torch.no_grad():  # as train_step makes the critic's fakes when not reusing
                fake = run.G(run.randn(len(real), run.G.z_dim), labels)
            numbers = critic_step(run, real, fake, labels)
            fake = run.G(run.randn(len(real), run.G.z_dim), labels)
            numbers["g_loss"] = generator_step(run, fake, labels)
            run.step += 1
            record(run, numbers)
        return step
    elif lever:
        raise ValueError(f"unknown speed lever {lever!r}; choose channels_last, fast_layers, "
                         f"fused_adam, fake_reuse or one of {', '.join(FAST_LAYERS)}")
    return ganlib_step(run, data)


def levers(config: TrainConfig, data, seconds: float = 5.0, rounds: int = 3
           ) -> tuple[dict, list]:
    """ganlib's step with each speed lever turned off in turn, and with 1 or all threads:
    the median paired ratio of its steps per second to the full step's (< 1: the lever pays)."""
    names = [""]
    if len(data.shape) == 3:
        names += ["channels_last", "fast_layers", *FAST_LAYERS]
    if config.optimizer == "adam":
        names += ["fused_adam"]
    if config.n_critic == 1:
        names += ["fake_reuse"]
    steps, threads = {}, {}
    for name in names:
        label = f"no {name}" if name else "full step"
        steps[label] = step_without(make_run(config, data), data, name)
        threads[label] = ganlib_threads(config, data)
    for n in sorted({1, os.cpu_count() or 1}):
        steps[f"{n} thread(s)"] = step_without(make_run(config, data), data, "")
        threads[f"{n} thread(s)"] = n
    per_round, measurements = timed_rounds(steps, threads, f"{config.model} on {config.data}",
                                           seconds, rounds)
    return {"model": config.model, "data": config.data, "width": config.width,
            "batch_size": config.batch_size, "rounds": rounds, "threads": threads,
            "steps_per_s": {k: statistics.median(r[k] for r in per_round) for k in steps},
            "relative": {k: paired_ratio(per_round, k, "full step")
                         for k in steps if k != "full step"}}, measurements


# ----------------------------------------------------------------------------------------------
# Time to quality
# ----------------------------------------------------------------------------------------------


class TrainingClock:
    """Training seconds with evaluations taken out: the clock runs only between `pause()` and
    the next `resume()`, i.e. while the loop trains, never while a metric is computed."""

    def __init__(self):
        self.seconds = 0.0
        self._since: float | None = time.perf_counter()

    def pause(self) -> float:
        if self._since is not None:
            self.seconds += time.perf_counter() - self._since
            self._since = None
        return self.seconds

    def resume(self) -> None:
        self._since = time.perf_counter()


def toy_time_to_quality(config: TrainConfig, data, limit_s: float, eval_every: int = 25,
                        n: int = 2500) -> dict:
    """Training seconds (and generator steps) until every mode is captured with >= 80 %
    high-quality samples, checked every `eval_every` steps; None if not within `limit_s`."""
    from ganlib.metrics import toy_metrics

    clock, state = TrainingClock(), {"hit": None, "metrics": None}
    eval_rng = torch.Generator()

    def callback(run) -> bool:
        seconds = clock.pause()
        stop = seconds >= limit_s
        if run.step % eval_every == 0 or stop:
            m = toy_metrics(run.G, data, n, generator=eval_rng.manual_seed(1234))
            state["metrics"] = m
            if m["modes_captured"] == m["n_modes"] and m["high_quality"] >= 0.8:
                state["hit"] = (seconds, run.step)
                stop = True
        clock.resume()
        return stop

    # a decaying learning rate is tuned to its budget: keep it; else train until the limit
    steps = config.steps if config.lr_decay == "linear" else 10**9
    run = train(config.replace(steps=steps, seconds=None), data, progress=False,
                callback=callback)
    m = state["metrics"] or {}
    return {"model": config.model, "data": config.data, "seed": config.seed,
            "seconds": state["hit"][0] if state["hit"] else None,
            "steps": state["hit"][1] if state["hit"] else None,
            "limit_s": limit_s, "trained_s": clock.seconds, "trained_steps": run.step,
            "steps_per_s": run.step / clock.seconds if clock.seconds else math.nan,
            "modes_captured": m.get("modes_captured"), "n_modes": m.get("n_modes"),
            "high_quality": m.get("high_quality")}


def _digit_row(G, judge, data, seconds: float, steps: int, n: int) -> dict:
    from ganlib.metrics import image_metrics

    m = image_metrics(G, judge, data, n=n, generator=torch.Generator().manual_seed(1234))
    return {"seconds": round(seconds, 1), "steps": steps, "frechet": m["frechet"],
            "classes_covered": m["classes_covered"], "confidence": m["confidence"]}


def digits_quality(config: TrainConfig, data, judge, marks=(60, 120, 180), loop: str = "ganlib",
                   n: int = 1000) -> dict:
    """The judge's Fréchet distance and class coverage after each of `marks` training seconds,
    for ganlib.train (loop='ganlib') or the seed-style NaiveLoop (loop='naive')."""
    marks = sorted(marks)
    clock, rows = TrainingClock(), []

    def evaluate(G, steps: int) -> bool:
        """Called after every step with the clock paused; True once the last mark is done."""
        while len(rows) < len(marks) and clock.seconds >= marks[len(rows)]:
            rows.append(_digit_row(G, judge, data, clock.seconds, steps, n))
        return len(rows) == len(marks)

    if loop == "ganlib":
        def callback(run) -> bool:
            clock.pause()
            stop = evaluate(run.G, run.step)
            clock.resume()
            return stop

        train(config.replace(steps=10**9, seconds=None), data, progress=False, callback=callback)
    else:
        naive = NaiveLoop(config, data)
        while True:
            naive.step()
            clock.pause()
            if evaluate(naive.G, naive.step_count):
                break
            clock.resume()
    return {"loop": loop, "model": config.model, "width": config.width,
            "batch_size": config.batch_size, "threads": torch.get_num_threads(), "rows": rows}


# ----------------------------------------------------------------------------------------------
# The whole benchmark
# ----------------------------------------------------------------------------------------------


def _settings(quick: bool) -> dict:
    """Sizes of every part: the real benchmark, or a tiny one that runs in seconds."""
    if quick:
        return dict(matmul_n=256, seconds=0.02, rounds=2,
                    tiny=dict(width=8, batch_size=16, n_critic=1), toy_limits={"ring8": 1.0},
                    marks=(0.5, 1.0), n_eval=50, seed_width=8)
    return dict(matmul_n=4096, seconds=5.0, rounds=6, tiny={},
                toy_limits={"ring8": 120.0, "grid25": 180.0}, marks=(60, 120, 180),
                n_eval=1000, seed_width=SEED_WIDTH)


def run_bench(out_json: str | Path | None = None, quick: bool = False,
              only: str | list[str] | None = None, seeds: tuple[int, ...] = (0,),
              judge=None, verbose: bool = True) -> dict:
    """Run the benchmark parts in `only` (default: all of PARTS), print a table, return a dict.

    Args:
        out_json: write the results here as JSON (None: do not write).
        quick: tiny models and budgets, seconds in all (what the tests run).
        only: parts to run, a list or a comma-separated string, from PARTS.
        seeds: seeds for the time-to-quality parts (each seed is a separate run).
        judge: the digit judge (default `ganlib.judge.load_judge()`); the tests pass a tiny one.
        verbose: print progress lines and the final table.
    """
    parts = _parse_parts(only)
    s = _settings(quick)
    say = print if verbose else (lambda *a, **k: None)
    result: dict = {"machine": _machine(), "quick": quick, "parts": list(parts)}
    measurements: list = []  # torch.utils.benchmark's, for its Compare table
    start = time.perf_counter()

    if "peak" in parts or "throughput" in parts:
        say("peak: timing a float32 matrix multiply ...")
        result["peak"] = {str(t): matmul_gflops(s["matmul_n"], threads=t,
                                                min_run_time=s["seconds"])
                          for t in sorted({1, torch.get_num_threads()})}

    if "throughput" in parts:
        rows = []
        for model, name in MODELS:
            data = load(name)
            cfg = preset(model, name, device="cpu", **s["tiny"])
            say(f"throughput: {model} on {name}, ganlib vs naive ...")
            row, timed = throughput(cfg, data, s["seconds"], s["rounds"])
            measurements += timed
            for loop in ("ganlib", "naive", "naive_reuse"):
                if loop not in row:
                    continue
                peak = result["peak"].get(str(row[loop]["threads"]))
                row[loop]["share_of_peak"] = row[loop]["gflops"] / peak if peak else None
            rows.append(row)
        result["throughput"] = rows

    if "levers" in parts:
        rows = []
        for model, name in MODELS:
            cfg = preset(model, name, device="cpu", **s["tiny"])
            say(f"levers: {model} on {name}, each speed lever off in turn ...")
            row, timed = levers(cfg, load(name), s["seconds"] / 2, s["rounds"])
            rows.append(row)
            measurements += timed
        result["levers"] = rows

    if "toys" in parts:
        rows = []
        for name, limit in s["toy_limits"].items():
            data = load(name)
            for seed in seeds:
                cfg = preset("wgan-gp", name, device="cpu", seed=seed, **s["tiny"])
                say(f"toys: wgan-gp on {name}, seed {seed}, up to {limit:g} s ...")
                rows.append(toy_time_to_quality(cfg, data, limit))
        result["toys"] = rows

    if "digits" in parts or "digits-seed" in parts:
        from ganlib.judge import load_judge

        judge = judge if judge is not None else load_judge(verbose=verbose)
        data = load("digits5k")
        cfg = preset("dcgan", "digits5k", device="cpu", **s["tiny"])
        runs = []
        if "digits" in parts:
            for loop in ("ganlib", "naive"):
                say(f"digits: dcgan on digits5k, {loop} loop, {max(s['marks']):g} s ...")
                runs.append(digits_quality(cfg, data, judge, s["marks"], loop, s["n_eval"]))
        if "digits-seed" in parts:
            say(f"digits: the seed notebooks' DCGAN (width {s['seed_width']}), naive loop ...")
            seed_cfg = cfg.replace(width=s["seed_width"])
            runs.append(digits_quality(seed_cfg, data, judge, s["marks"], "naive", s["n_eval"]))
            runs[-1]["loop"] = "naive-seed"
        result["digits"] = runs

    result["seconds"] = time.perf_counter() - start
    if out_json is not None:
        Path(out_json).parent.mkdir(parents=True, exist_ok=True)
        Path(out_json).write_text(json.dumps(result, indent=2))
    if verbose:
        if measurements:
            Compare(measurements).print()
        print(format_table(result))
    return result


def _parse_parts(only) -> tuple[str, ...]:
    if only is None:
        return PARTS
    names = [p.strip() for p in (only.split(",") if isinstance(only, str) else only)]
    bad = [p for p in names if p not in PARTS]
    if bad or not names:
        raise ValueError(f"unknown benchmark part(s) {', '.join(bad) or '(none)'}; "
                         f"choose from {', '.join(PARTS)}, comma separated")
    return tuple(p for p in PARTS if p in names)


def _machine() -> dict:
    return {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
            "torch": torch.__version__, "threads": torch.get_num_threads(),
            "omp_num_threads": os.environ.get("OMP_NUM_THREADS")}


def format_table(result: dict) -> str:
    """The short human-readable summary printed at the end."""
    lines = []
    if "peak" in result:
        peaks = ", ".join(f"{v:.0f} GFLOP/s ({k} thr)" for k, v in result["peak"].items())
        lines.append(f"matmul peak: {peaks}")
    if "throughput" in result:
        lines.append("throughput (same model, same batch)   ganlib img/s  naive img/s  speedup"
                     "  ganlib GFLOP/s (% peak)")
        for r in result["throughput"]:
            g, n = r["ganlib"], r["naive"]
            share = f"{100 * g['share_of_peak']:.0f}%" if g.get("share_of_peak") else "?"
            lines.append(f"  {r['model']:>8} {r['data']:<9} w={r['width']:<3} "
                         f"b={r['batch_size']:<4}  {g['images_per_s']:>10.0f}"
                         f"  {n['images_per_s']:>11.0f}  {_ratio(r['speedup'])}"
                         f"  {g['gflops']:>8.1f} ({share})")
            if "naive_reuse" in r:
                lines.append(f"  {'':>8} naive reusing the critic step's fakes (the DCGAN "
                             f"tutorial): {r['naive_reuse']['images_per_s']:.0f} img/s, "
                             f"ganlib {_ratio(r['speedup_vs_reuse'])}")
    if "levers" in result:
        lines.append("speed levers (steps/s relative to ganlib's full step, paired; < 1 means it"
                     " helps)")
        for r in result["levers"]:
            lines.append(f"  {r['model']} on {r['data']}, {r['rounds']} round(s):")
            lines += [f"    {k:<18} {_ratio(v)}" for k, v in r["relative"].items()]
    if "toys" in result:
        lines.append("time to all modes with >= 80% high quality (training seconds / steps)")
        for r in result["toys"]:
            hit = f"{r['seconds']:.0f} s / {r['steps']} steps" if r["seconds"] is not None \
                else f"not within {r['limit_s']:g} s ({r['modes_captured']}/{r['n_modes']}, " \
                     f"{100 * (r['high_quality'] or 0):.0f}% hq)"
            lines.append(f"  {r['model']} {r['data']:<7} seed {r['seed']}: {hit}"
                         f"  [{r['steps_per_s']:.1f} steps/s]")
    if "digits" in result:
        lines.append("digits5k DCGAN: Fréchet distance (judge) / classes covered after")
        for r in result["digits"]:
            cells = "  ".join(f"{row['seconds']:>5.0f}s: {row['frechet']:7.1f} / "
                              f"{row['classes_covered']:>2}" for row in r["rows"])
            lines.append(f"  {r['loop']:<10} w={r['width']:<3} {cells}")
    return "\n".join(lines)


def _ratio(r: dict[str, float]) -> str:
    return f"{r['median']:.2f}x [{r['min']:.2f}, {r['max']:.2f}]"


def main(argv: list[str] | None = None) -> int:
    """`python benchmarks/bench.py [--quick] [--only parts] [--out file.json] [--seeds 0,1]`."""
    parser = argparse.ArgumentParser(prog="python benchmarks/bench.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="build/bench.json", help="JSON file for the results")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: seconds, not minutes")
    parser.add_argument("--only", default=None, help=f"comma-separated parts of {','.join(PARTS)}")
    parser.add_argument("--seeds", default="0", help="seeds for the toy runs, e.g. 0,1,2")
    args = parser.parse_args(argv)
    try:
        seeds = tuple(int(x) for x in args.seeds.split(","))
    except ValueError:
        raise ValueError(f"--seeds must be comma-separated whole numbers, got {args.seeds!r}"
                         ) from None
    run_bench(args.out, quick=args.quick, only=args.only, seeds=seeds)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (ValueError, FileNotFoundError) as e:  # one sentence, no traceback, as the CLI does
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
