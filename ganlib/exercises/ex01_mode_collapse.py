"""Exercises of 01_mode_collapse: counting the modes a generator captures, and the reverse KL of
its histogram over the modes."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from ..metrics import mode_coverage
from ._check import diagnose, exercise, passed, require


def _toy_points() -> tuple[Tensor, Tensor, float]:
    """Four modes on a square: 9 points near mode 0 (one 2σ away, one 4σ away), 3 on mode 1,
    one 2σ from mode 2, and one 10σ from mode 3 (too far to capture it)."""
    modes = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])
    sigma = 0.05
    points = torch.tensor([[1.0, 0.0]] * 7 + [[1.1, 0.0], [1.2, 0.0]]
                          + [[0.0, 1.0]] * 3 + [[-1.1, 0.0], [0.0, -1.5]])
    return points, modes, sigma


def _as_int(answer) -> int:
    return int(answer.item() if isinstance(answer, Tensor) else answer)


@exercise("1.1")
def check_modes_captured(fn: Callable[[Tensor, Tensor, float], int], worked: bool = False
                         ) -> None:
    """Exercise 1.1: `fn(points, modes, sigma)` returns how many modes are captured.

    A mode is captured when at least one *high-quality* point (within 3σ of its nearest mode)
    has it as its nearest mode (VEEGAN / PacGAN).
    """
    name = "modes_captured"
    points, modes, sigma = _toy_points()
    right = int(mode_coverage(points, modes, sigma)["modes_captured"])  # 3
    nearest_dist, nearest = torch.cdist(points, modes).min(dim=1)  # (N,), (N,)
    good = nearest_dist <= 3 * sigma
    wrong = {
        "a point counts only when it is within 3σ of its nearest mode (high quality); you "
        "counted every point's nearest mode": len(set(nearest.tolist())),
        "the high-quality radius is 3σ, not σ": len(set(nearest[nearest_dist <= sigma]
                                                         .tolist())),
        "count the modes hit (each once), not the high-quality points": int(good.sum()),
    }
    answer = _as_int(fn(points, modes, sigma))
    if answer != right:
        for mistake, value in wrong.items():
            if answer == value:
                raise AssertionError(f"{name}: {mistake} (got {answer}, expected {right})")
        raise AssertionError(f"{name}: expected {right} modes captured, got {answer}")
    far = _as_int(fn(points + torch.tensor([5.0, 5.0]), modes, sigma))  # far from every mode
    require(far == 0, f"{name}: points far from every mode capture nothing; got {far} for "
                      "points 5 units away")
    passed(name, worked)


@exercise("1.2")
def check_reverse_kl(fn: Callable[[Tensor], float], worked: bool = False) -> None:
    """Exercise 1.2: `fn(counts)` returns KL(q ‖ uniform) for the (K,) high-quality hits
    per mode: Σ q_k log(q_k K) over the modes with q_k > 0, with q = counts / counts.sum()."""
    name = "reverse_kl"
    counts = torch.tensor([6.0, 3.0, 1.0, 0.0])
    k = len(counts)
    q = counts / counts.sum()
    hit = q > 0
    right = torch.tensor(float((q[hit] * torch.log(q[hit] * k)).sum()), dtype=torch.float64)
    p = torch.full_like(q, 1.0 / k)
    wrong = {
        "that is log base 2; use the natural log (nats), as the library does":
            right / math.log(2),
        "normalise the counts to a histogram q = counts / counts.sum() first":
            torch.tensor(float((counts[hit] * torch.log(counts[hit] * k)).sum())),
        "that is the forward KL(uniform ‖ q); the reverse KL puts q first: Σ q log(q / u)":
            torch.tensor(float((p[hit] * torch.log(p[hit] / q[hit])).sum())),
        "the uniform histogram is 1/K per mode, so the term is q log(q K), not q log q":
            torch.tensor(float((q[hit] * torch.log(q[hit])).sum())),
    }
    answer = fn(counts.clone())
    answer = float(answer.item() if isinstance(answer, Tensor) else answer)
    require(answer == answer, f"{name}: got NaN: leave out the empty modes (0 log 0 = 0)")
    diagnose(name, torch.tensor(answer, dtype=torch.float64), right,
             {m: v.double() for m, v in wrong.items()})
    even = float(fn(torch.tensor([5.0, 5.0, 5.0, 5.0])))
    one = float(fn(torch.tensor([0.0, 9.0, 0.0, 0.0])))
    require(abs(even) <= 1e-6 and abs(one - math.log(4)) <= 1e-5,
            f"{name}: an even histogram must give 0 (got {even:.4f}) and all hits on one of 4 "
            f"modes log 4 = {math.log(4):.4f} (got {one:.4f})")
    passed(name, worked)
