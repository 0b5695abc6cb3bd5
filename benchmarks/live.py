"""Responsiveness of the live-training widget (ganlib.live): `python benchmarks/live.py`.

The budgets (issue 21), on the 2-core CPU:

- ring8 (WGAN-GP): at least 10 redrawn frames per second while playing, training going on
  between frames;
- the first frame after a slider move within 0.5 s;
- digits5k (DCGAN): the fixed-noise grid and the curves refresh at least once a second.

Two measurements of each. In-process: the widget plays in this Python process, and frames are
counted where they are drawn (what the kernel sends). In the browser (`--browser`): the same
notebook the browser test drives (tests/test_browser.py), in JupyterLab in Chromium, with the
redraws counted by the page (what the student sees). Every figure is printed with the load
average, as a busy machine slows both. Exits 1 when a figure misses its budget.

    python benchmarks/live.py              # in-process only, ~30 s
    python benchmarks/live.py --browser    # and in JupyterLab (needs /usr/bin/chromium)
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

BUDGETS = {"ring8_fps": (">=", 10.0), "ring8_slider_latency_s": ("<=", 0.5),
           "digits_refresh_per_s": (">=", 1.0)}


def in_process(seconds: float = 5.0) -> dict:
    """Play each widget for `seconds` here; frames drawn per second, steps per second, and the
    time from a knob's change to the next frame (median of five)."""
    import statistics

    from ganlib.config import preset
    from ganlib.live import LiveTraining

    out = {}
    toy = LiveTraining(preset("wgan-gp", "ring8"), name="bench toy")
    t0 = time.perf_counter()
    toy.step(50)  # the steps alone, drawn once: what training costs without the pictures
    bare = 50 / (time.perf_counter() - t0)
    frames, steps = toy.frames, toy.run.step
    toy.play()
    time.sleep(seconds)
    out["ring8_fps"] = (toy.frames - frames) / seconds
    out["ring8_steps_per_s"] = (toy.run.step - steps) / seconds
    out["ring8_steps_per_s_without_drawing"] = bare
    latencies = []
    for n in (2, 1, 2, 1, 2):
        time.sleep(0.3)
        before, t0 = toy.frames, time.perf_counter()
        toy.sliders["n_critic"].value = n  # what a slider's release does in the kernel
        while toy.frames == before:
            time.sleep(0.001)
        latencies.append(time.perf_counter() - t0)
    toy.pause()
    out["ring8_slider_latency_s"] = statistics.median(latencies)

    digits = LiveTraining(preset("dcgan", "digits5k"), name="bench digits")
    frames, steps = digits.frames, digits.run.step
    digits.play()
    time.sleep(seconds)
    out["digits_refresh_per_s"] = (digits.frames - frames) / seconds
    out["digits_steps_per_s"] = (digits.run.step - steps) / seconds
    digits.pause()
    out["load_average"] = os.getloadavg()
    return out


def in_browser(seconds: float = 5.0) -> dict:
    """The browser test's scenario (tests/browser_support.check_live), its rates returned."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from browser_support import check_live, chromium, jupyter_lab, write_live_notebook

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "lab"
        root.mkdir()
        write_live_notebook(root / "live.ipynb")
        with jupyter_lab(root, Path(tmp) / "state") as lab, chromium() as browser:
            return check_live(browser, lab, "live.ipynb", Path(tmp), seconds=seconds)


def report(where: str, numbers: dict) -> bool:
    load = numbers["load_average"]
    print(f"\n{where} (load average {load[0]:.2f}, {load[1]:.2f}, {load[2]:.2f}; "
          f"{os.cpu_count()} cores)")
    ok = True
    for key, value in numbers.items():
        if key == "load_average":
            continue
        budget = BUDGETS.get(key)
        verdict = ""
        if budget is not None:
            sign, limit = budget
            met = value >= limit if sign == ">=" else value <= limit
            ok &= met
            verdict = f"   budget {sign} {limit:g}: {'ok' if met else 'MISSED'}"
        print(f"  {key:36s} {value:8.2f}{verdict}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--browser", action="store_true", help="also measure in JupyterLab")
    parser.add_argument("--seconds", type=float, default=5.0, help="play time per measurement")
    args = parser.parse_args()
    ok = report("in-process", in_process(args.seconds))
    if args.browser:
        ok &= report("JupyterLab in Chromium", in_browser(args.seconds))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
