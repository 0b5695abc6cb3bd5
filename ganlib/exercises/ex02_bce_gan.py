"""Exercises of 02_bce_gan: the two updates of the training step (graded against
`ganlib.train`), the discriminator's loss and both generator losses."""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..config import preset
from ..data import load
from ..run import Run, make_run
from ..train import train
from ._check import close, diagnose, exercise, passed, require, scalar_loss

# ----------------------------------------------------------------------------------------------
# The training step: D's update (2.1) and G's update (2.2), replayed against ganlib.train
# ----------------------------------------------------------------------------------------------


def _step_setup() -> tuple[Run, Run, object, Tensor, Tensor]:
    """A tiny seeded BCE GAN on ring8, a copy of it after one step of `ganlib.train`, the data,
    and the real batch and z that step drew (the notebook's order: real batch, then z)."""
    data = load("ring8")
    config = preset("gan", "ring8", width=16, batch_size=32, seed=0, device="cpu", steps=1)
    start = make_run(config, data)
    library = train(config, data, run=copy.deepcopy(start), progress=False)
    rng = copy.deepcopy(start.rng)
    real, _ = data.sample(config.batch_size, generator=rng)  # (32, 2)
    z = torch.randn(config.batch_size, start.G.z_dim, generator=rng)  # (32, 2)
    return start, library, data, real, z


def _weights(net: nn.Module) -> Tensor:
    return torch.cat([p.detach().flatten() for p in net.parameters()])


def _stale_gradients(net: nn.Module) -> None:
    """Gradients a previous step would leave behind: a step that does not zero them adds them."""
    for p in net.parameters():
        p.grad = torch.full_like(p, 0.5)


def _bce(logits: Tensor, label: float, reduction: str = "mean") -> Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, label),
                                              reduction=reduction)


def _as_number(name: str, loss) -> float:
    require(isinstance(loss, (Tensor, float)) and torch.as_tensor(loss).numel() == 1,
            f"{name}: return the loss (a 0-dim tensor), got {type(loss).__name__}")
    return float(loss.detach() if isinstance(loss, Tensor) else loss)


def _same_as_library(name: str, after: Tensor, no_zero: Tensor, library: Tensor, opt: str
                     ) -> None:
    """The weights after the student's update are not those of a step that kept the previous
    step's gradients (`no_zero`), and are those of ganlib.train's step (`library`)."""
    require(not close(after, no_zero),
            f"{name}: the gradients of the previous step were added to this one's: call "
            f"run.{opt}.zero_grad(set_to_none=True) before backward()")
    gap = (after - library).abs().max().item()
    require(close(after, library),
            f"{name}: the loss is right but the weights differ from ganlib.train's after one "
            f"step (largest gap {gap:.1e}): one backward() of that loss, then one "
            f"run.{opt}.step()")


def _d_update_by_hand(run: Run, real: Tensor, fake: Tensor, zero: bool = True) -> None:
    """D's update on a copy, for the known answer of a mistake (here: not zeroing)."""
    loss = _bce(run.critic(real), 1.0) + _bce(run.critic(fake), 0.0)
    if zero:
        run.opt_c.zero_grad(set_to_none=True)
    loss.backward()
    run.opt_c.step()


@exercise("2.1")
def check_d_update(fn: Callable[[Run, Tensor, Tensor], Tensor], worked: bool = False) -> None:
    """Exercise 2.1: `fn(run, real, fake)` is D's update: the BCE loss with real -> 1 and the
    detached fakes -> 0, then one step of `run.opt_c`; it returns the loss.

    Graded against `ganlib.train`: D's weights after one step of a tiny seeded GAN must equal
    the library's, and so must the loss.
    """
    name = "D's update"
    start, library, _, real, z = _step_setup()
    run = copy.deepcopy(start)
    fake = run.G(z)  # (32, 2), attached to G's graph, as in train_step
    _stale_gradients(run.critic)
    loss = _as_number(name, fn(run, real, fake))
    D0 = start.critic
    with torch.no_grad():
        real_logits, fake_logits = D0(real), D0(fake)
        right = torch.tensor(library.history["d_loss"][0])
        wrong = {
            "the labels are swapped: real samples get label 1 and fakes label 0":
                _bce(real_logits, 0) + _bce(fake_logits, 1),
            "the sign is flipped: D *minimises* the cross-entropy":
                -(_bce(real_logits, 1) + _bce(fake_logits, 0)),
            "the fake term is missing: D must also learn to say 0 on G(z)":
                _bce(real_logits, 1),
            "the real term is missing: D must also learn to say 1 on real data":
                _bce(fake_logits, 0),
            "it averages the two terms; D's loss is their sum": (
                _bce(real_logits, 1) + _bce(fake_logits, 0)) / 2,
            "the sigmoid is applied twice: bce() takes raw logits, D's outputs as they are":
                _bce(torch.sigmoid(real_logits), 1) + _bce(torch.sigmoid(fake_logits), 0),
        }
    leaked = [p for p in run.G.parameters() if p.grad is not None]
    require(not leaked, f"{name}: G received a gradient from D's loss: detach the fakes, "
                        "D(fake.detach()), so that D's step stops at D (G's step then reuses "
                        "the same fakes)")
    diagnose(name, torch.tensor(loss, dtype=right.dtype), right, wrong)
    after = _weights(run.critic)
    require(not torch.equal(after, _weights(D0)),
            f"{name}: D's weights did not change: call run.opt_c.step() after backward()")
    require(torch.equal(_weights(run.G), _weights(start.G)),
            f"{name}: G's weights changed: D's step updates D alone (run.opt_c, not run.opt_g)")
    no_zero = copy.deepcopy(start)
    _stale_gradients(no_zero.critic)
    _d_update_by_hand(no_zero, real, fake.detach(), zero=False)
    _same_as_library(name, after, _weights(no_zero.critic), _weights(library.critic), "opt_c")
    passed(name, worked)


def _g_update_by_hand(run: Run, fake: Tensor, zero: bool = True) -> None:
    """G's update on a copy, for the known answer of a mistake (here: not zeroing)."""
    run.critic.requires_grad_(False)
    loss = _bce(run.critic(fake), 1.0)
    if zero:
        run.opt_g.zero_grad(set_to_none=True)
    loss.backward()
    run.opt_g.step()
    run.critic.requires_grad_(True)


@exercise("2.2")
def check_g_update(fn: Callable[[Run, Tensor], Tensor], worked: bool = False) -> None:
    """Exercise 2.2: `fn(run, fake)` is G's update: the non-saturating loss -log D(G(z)) (the
    fakes labelled 1) through a frozen D, then one step of `run.opt_g`; it returns the loss.

    Graded against `ganlib.train`: from D as the library's step left it, G's weights after the
    update must equal the library's, D must be untouched, and the loss must match.
    """
    name = "G's update"
    start, library, _, _, z = _step_setup()

    def after_d_step() -> Run:  # the run as ganlib's D step left it
        run = copy.deepcopy(start)
        run.critic.load_state_dict(library.critic.state_dict())
        run.opt_c.load_state_dict(library.opt_c.state_dict())
        return run

    run = after_d_step()
    _stale_gradients(run.G)
    D_before = _weights(run.critic)
    try:
        loss = _as_number(name, fn(run, run.G(z)))
    except RuntimeError as error:
        if isinstance(error, NotImplementedError) or "does not require grad" not in str(error):
            raise
        raise AssertionError(f"{name}: G's loss has no gradient to follow: do not detach the "
                             "fakes in G's step, its gradient flows back through them") from None
    with torch.no_grad():
        logits = library.critic(start.G(z))  # D's logits of the fakes, after D's step
        right = torch.tensor(library.history["g_loss"][0])
        wrong = {
            "the fakes are labelled 0, as in D's step: G wants D to say 1 (\"real\") on its "
            "fakes, bce(D(fake), 1.0)": _bce(logits, 0),
            "this is the minimax loss log(1 - D(G(z))); the step uses the non-saturating "
            "-log D(G(z)), bce(D(fake), 1.0)": -_bce(logits, 0),
            "the sign is flipped: G minimises -log D(G(z))": -_bce(logits, 1),
            "it sums over the batch; take the mean": _bce(logits, 1, "sum"),
            "the sigmoid is applied twice: bce() takes raw logits": _bce(torch.sigmoid(logits), 1),
        }
    diagnose(name, torch.tensor(loss, dtype=right.dtype), right, wrong)
    require(all(p.requires_grad for p in run.critic.parameters()),
            f"{name}: D is still frozen after G's step: turn it back on "
            "(D.requires_grad_(True)) or D's next step learns nothing")
    require(all(p.grad is None for p in run.critic.parameters()),
            f"{name}: D's weights received gradients in G's step: freeze D "
            "(D.requires_grad_(False)) before D(fake), so the gradient flows through D into G "
            "only")
    require(torch.equal(_weights(run.critic), D_before),
            f"{name}: D's weights moved in G's step: step only run.opt_g")
    after = _weights(run.G)
    require(not torch.equal(after, _weights(start.G)),
            f"{name}: G's weights did not change: do not detach the fakes in G's step, and "
            "call run.opt_g.step() after backward()")
    no_zero = after_d_step()
    _stale_gradients(no_zero.G)
    _g_update_by_hand(no_zero, no_zero.G(z), zero=False)
    _same_as_library(name, after, _weights(no_zero.G), _weights(library.G), "opt_g")
    passed(name, worked)


# ----------------------------------------------------------------------------------------------
# The losses (2.3 to 2.5)
# ----------------------------------------------------------------------------------------------

BIG = 120.0  # a logit whose sigmoid rounds to exactly 0 or 1 in float32


def _known_logits(n: int, seed: int) -> Tensor:
    """(n,) logits from clear rejections to clear acceptances (±BIG): saturation shows."""
    g = torch.Generator().manual_seed(seed)
    return torch.cat([torch.tensor([-BIG, BIG]), 3 * torch.randn(n - 2, generator=g)])


def _probabilities_bce(logits: Tensor, label: float) -> Tensor:
    """The commonest wrong BCE: sigmoid first, then the cross-entropy of probabilities."""
    return F.binary_cross_entropy(torch.sigmoid(logits), torch.full_like(logits, label))


PROBABILITIES = (
    "it takes sigmoid(logits) and then the cross-entropy of probabilities "
    "(binary_cross_entropy(sigmoid(l), y) or log(sigmoid(l))): at a logit of ±120 sigmoid "
    "rounds to exactly 0 or 1, the log is clamped at -100 and the gradient vanishes. Compute "
    "from the logits: F.binary_cross_entropy_with_logits, F.logsigmoid or F.softplus")


def _loss_and_gradient(name: str, loss, logits: Tensor) -> None:
    """The loss is a finite scalar with a finite, non-zero gradient at every logit."""
    scalar_loss(name, loss)
    (grad,) = torch.autograd.grad(loss, logits)
    require(bool(torch.isfinite(grad).all()),
            f"{name}: its gradient is not finite at a logit of ±{BIG:g}: {PROBABILITIES}")


@exercise("2.3")
def check_d_loss_bce(fn: Callable[[Tensor, Tensor], Tensor], worked: bool = False) -> None:
    """Exercise 2.3: the discriminator's loss -[mean log D(x) + mean log(1 - D(G(z)))].

    `fn(real_logits, fake_logits)` gets raw scores (N,) and (M,) and returns a scalar.
    The answer is `ganlib.losses.d_loss_bce`.
    """
    name = "BCE discriminator loss"
    real = _known_logits(6, 0).requires_grad_(True)
    fake = _known_logits(10, 1).requires_grad_(True)
    loss = fn(real, fake)
    _loss_and_gradient(name, loss, real)
    with torch.no_grad():
        right = _bce(real, 1) + _bce(fake, 0)
        wrong = {
            PROBABILITIES: _probabilities_bce(real, 1) + _probabilities_bce(fake, 0),
            "the labels are swapped: real samples get label 1 and fakes label 0":
                _bce(real, 0) + _bce(fake, 1),
            "the sigmoid is applied twice: *_with_logits losses take raw logits, so do not "
            "pass sigmoid(l) to them": _bce(torch.sigmoid(real), 1) + _bce(torch.sigmoid(fake), 0),
            "it sums over the batch; take the mean, so the loss (and the step size) does not "
            "grow with the batch size": _bce(real, 1, "sum") + _bce(fake, 0, "sum"),
            "the fake term is missing: D must also learn to say 0 on G(z)": _bce(real, 1),
            "the real term is missing: D must also learn to say 1 on real data": _bce(fake, 0),
            "the sign is flipped: D *minimises* the cross-entropy (it maximises V)":
                -(_bce(real, 1) + _bce(fake, 0)),
            "it averages the two terms; the loss is their sum, -[E log D(x) + "
            "E log(1 - D(G(z)))]": (_bce(real, 1) + _bce(fake, 0)) / 2,
        }
    diagnose(name, loss.detach(), right, wrong)
    passed(name, worked)


def _check_g_loss(name: str, fn: Callable[[Tensor], Tensor], kind: str, worked: bool) -> None:
    logits = _known_logits(12, 2).requires_grad_(True)
    loss = fn(logits)
    _loss_and_gradient(name, loss, logits)
    with torch.no_grad():
        values = {"nonsaturating": F.softplus(-logits).mean(),  # -log D(G(z))
                  "minimax": -F.softplus(logits).mean()}  # log(1 - D(G(z)))
        probabilities = {"nonsaturating": _probabilities_bce(logits, 1),
                         "minimax": -_probabilities_bce(logits, 0)}
        other = "minimax" if kind == "nonsaturating" else "nonsaturating"
        formula = {"nonsaturating": "-log D(G(z))", "minimax": "log(1 - D(G(z)))"}
        right = values[kind]
        wrong = {
            PROBABILITIES: probabilities[kind],
            f"the sign is flipped: G minimises {formula[kind]}": -right,
            f"this is the {other} loss {formula[other]}; the exercise asks for the {kind} "
            f"loss {formula[kind]}": values[other],
            f"this is the {other} loss with its sign flipped; the exercise asks for "
            f"{formula[kind]}": -values[other],
            "it sums over the batch; take the mean": right * logits.numel(),
            "the sigmoid is applied twice: D(G(z)) = sigmoid(logit), once":
                {"nonsaturating": F.softplus(-torch.sigmoid(logits)).mean(),
                 "minimax": -F.softplus(torch.sigmoid(logits)).mean()}[kind],
        }
    diagnose(name, loss.detach(), right, wrong)
    passed(name, worked)


@exercise("2.4")
def check_g_loss_nonsaturating(fn: Callable[[Tensor], Tensor], worked: bool = False) -> None:
    """Exercise 2.4: G's non-saturating loss, mean -log D(G(z)), from fake logits (N,).

    The answer is `ganlib.losses.g_loss_nonsaturating`.
    """
    _check_g_loss("non-saturating generator loss", fn, "nonsaturating", worked)


@exercise("2.5")
def check_g_loss_minimax(fn: Callable[[Tensor], Tensor], worked: bool = False) -> None:
    """Exercise 2.5: G's minimax loss, mean log(1 - D(G(z))), from fake logits (N,).

    The answer is `ganlib.losses.g_loss_minimax`.
    """
    _check_g_loss("minimax generator loss", fn, "minimax", worked)
