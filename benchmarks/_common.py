"""What bench.py and compare_commits.py both measure: the floating-point operations of a step,
the matmul peak they are a share of, and the paired ratio of two loops timed in turns."""

from __future__ import annotations

import statistics
from collections.abc import Callable

import torch
from torch.utils.benchmark import Timer


def matmul_gflops(n: int = 4096, threads: int = 1, min_run_time: float = 1.0) -> float:
    """GFLOP/s of an n x n float32 matrix multiply (median of its runs): the practical peak."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    timer = Timer("a @ b", globals={"a": a, "b": b}, num_threads=threads)
    return 2 * n**3 / timer.blocked_autorange(min_run_time=min_run_time).median / 1e9


class _GlobalOnly:
    """Stands in for FlopCounterMode's module tracker: every count goes to the total."""

    parents = frozenset({"Global"})

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def flops_per_step(step: Callable[[], object]) -> float:
    """Floating-point operations of one call of `step` (matmuls and convolutions, as counted by
    torch.utils.flop_counter, forward, backward and the penalty's double backward)."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    # Its per-module bookkeeping (backward hooks) fails inside torch.autograd.grad, which the
    # gradient penalty calls; we only need the total, so count everything under "Global".
    counter.mod_tracker = _GlobalOnly()
    with counter:
        step()
    return float(counter.get_total_flops())


def paired_ratio(rounds: list[dict[str, float]], a: str, b: str) -> dict[str, float]:
    """`a` over `b` within each round: the median, smallest and largest of those ratios.

    Both were timed in the same round, one after the other, so load from another process that
    comes and goes shifts both alike; the ratio of each side's best or median would not pair.
    """
    ratios = sorted(r[a] / r[b] for r in rounds)
    return {"median": statistics.median(ratios), "min": ratios[0], "max": ratios[-1]}
