"""The numbers a finished run reports: what `python -m ganlib train` writes to metrics.json.

Picks the right measure for the data: mode coverage for the 2-D toys, the digit judge's class
coverage and Fréchet distance (and label accuracy for conditional models) for digits. Other
image sets (Fashion-MNIST, photo folders) have no judge here, so only the run's facts are kept.
"""

from __future__ import annotations

import math

import torch

from . import metrics

DIGIT_SETS = ("digits5k", "mnist")


def evaluate_run(run, data, n: int = 2500, seed: int = 0) -> dict:
    """A flat dict of plain numbers about `run` on `data` (JSON-ready)."""
    g = torch.Generator().manual_seed(seed)
    out: dict = {"model": run.config.model, "data": run.config.data, "steps": run.step,
                 "seconds": round(run.elapsed, 2),
                 "world_size": run.world}  # processes that trained it together (torchrun)
    if getattr(data, "is_toy", False):
        m = metrics.toy_metrics(run.G, data, n=n, generator=g)
        out.update({k: m[k] for k in ("modes_captured", "n_modes", "high_quality",
                                      "reverse_kl")})
    elif run.config.data in DIGIT_SETS and tuple(data.shape)[0] == 1:
        from .judge import load_judge

        judge = load_judge("digits5k", verbose=False)
        m = metrics.image_metrics(run.G, judge, data.images, n=min(1000, len(data)),
                                  generator=g)
        out.update({k: v for k, v in m.items() if not isinstance(v, list)})
        out["judge_accuracy"] = judge.accuracy
    for key, value in out.items():
        if isinstance(value, float) and not math.isfinite(value):
            out[key] = None
    return out


def format_metrics(results: dict) -> str:
    """One line a person reads: 'modes 8/8, high quality 91.2%, ...'."""
    parts = []
    if "modes_captured" in results:
        parts.append(f"modes {results['modes_captured']}/{results['n_modes']}")
        parts.append(f"high quality {results['high_quality']:.1%}")
        parts.append(f"reverse KL {results['reverse_kl']:.3f}")
    if "classes_covered" in results:
        parts.append(f"classes covered {results['classes_covered']}/10")
        parts.append(f"Fréchet distance {results['frechet']:.2f}")
        parts.append(f"judge confidence {results['confidence']:.2f}")
    if "label_accuracy" in results:
        parts.append(f"label accuracy {results['label_accuracy']:.1%}")
    return "metrics: " + (", ".join(parts) if parts else "no judge for this data set")
