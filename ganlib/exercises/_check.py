"""What every checker shares: the one-line verdicts, the diagnosis of a wrong answer, and the
register that `check` looks exercises up in."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

CHECKERS: dict[str, Callable] = {}  # "2.1" -> the checker of Exercise 2.1


def exercise(number: str) -> Callable[[Callable], Callable]:
    """Register the decorated checker as the one for Exercise `number` (e.g. "5.1")."""
    def register(checker: Callable) -> Callable:
        if number in CHECKERS:
            raise ValueError(f"Exercise {number} has two checkers: {CHECKERS[number].__name__} "
                             f"and {checker.__name__}")
        CHECKERS[number] = checker
        return checker
    return register


def check(number: str, answer, worked: bool = False) -> bool:
    """Check the student's `answer` to Exercise `number`; True when it is right.

    `worked=True` says the answer is the notebook's worked solution (pass the notebook's
    `solutions` parameter): the verdict then says so instead of congratulating. An answer that
    raises NotImplementedError (the untouched stub) prints one line and returns False, so a
    notebook run top to bottom goes on. A wrong answer raises AssertionError naming the mistake.
    """
    if number not in CHECKERS:
        raise ValueError(f"no Exercise {number}; the exercises are {', '.join(sorted(CHECKERS))}")
    try:
        CHECKERS[number](answer, worked=worked)
    except NotImplementedError:
        what = getattr(answer, "__name__", "your answer")
        print(f"Exercise {number} not attempted yet: write `{what}` above, then run this cell")
        return False
    return True


def passed(name: str, worked: bool = False) -> None:
    """The one line a check prints when the answer is right: a tick for the student's own code,
    a plain statement for the worked solution."""
    print(f"worked solution: ✓ {name}" if worked else f"✓ {name}: correct")


def require(condition: bool, message: str) -> None:
    """Raise AssertionError(message) unless `condition` holds (a bare assert vanishes under -O)."""
    if not condition:
        raise AssertionError(message)


def close(a, b, rtol: float = 1e-4, atol: float = 1e-5) -> bool:
    """Same shape and the same values up to float rounding."""
    a, b = torch.as_tensor(a).detach().double(), torch.as_tensor(b).detach().double()
    return a.shape == b.shape and torch.allclose(a, b, rtol=rtol, atol=atol)


def diagnose(name: str, answer, right: Tensor, wrong: dict[str, Tensor]) -> None:
    """Pass when `answer` matches `right`, else say which typical mistake it matches.

    `wrong` maps a sentence describing a mistake to the value that mistake gives on the same
    inputs; an answer matching none of them gets a message with both values to compare.
    """
    answer = torch.as_tensor(answer, dtype=right.dtype)
    if answer.shape != right.shape:
        raise AssertionError(f"{name}: expected a result of shape {tuple(right.shape)}, "
                             f"got {tuple(answer.shape)}")
    if close(answer, right):
        return
    for mistake, value in wrong.items():
        if close(answer, value):
            raise AssertionError(f"{name}: {mistake}")
    raise AssertionError(f"{name}: expected {right.flatten()[:4].tolist()}, "
                         f"got {answer.flatten()[:4].tolist()}")


def scalar_loss(name: str, loss) -> Tensor:
    """A loss must be one differentiable number: the training step calls backward() on it."""
    require(isinstance(loss, Tensor) and loss.dim() == 0,
            f"{name}: return one number as a 0-dim tensor (a mean over the batch), got "
            f"{type(loss).__name__} {tuple(getattr(loss, 'shape', ()))}")
    require(bool(torch.isfinite(loss)),
            f"{name}: the loss is {loss.item()}: compute it from logits (F.logsigmoid, "
            "F.softplus, binary_cross_entropy_with_logits), not log(sigmoid(l)), which is "
            "log(0) = -inf once sigmoid rounds to 0 or 1")
    require(loss.requires_grad,
            f"{name}: the loss has no gradient (did you call .item(), .detach() or "
            "torch.no_grad()?): backward() needs the graph")
    return loss
