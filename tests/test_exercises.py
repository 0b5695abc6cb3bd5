"""Each checker accepts the library's answer and names each typical mistake; `check` says "not
attempted" for an untouched stub and tells the worked solution from the student's own code; a
notebook run in student mode completes with every exercise "not attempted"."""

import ast
import json
import math
import re
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ganlib import exercises, latent, losses
from ganlib.course import course_notebooks, lesson_parameters
from ganlib.metrics import mode_coverage
from ganlib.models import DCGANCritic

PACKAGE = Path(exercises.__file__).parent


# --- the mechanism -----------------------------------------------------------------------------


def test_passed_prints_one_line_and_says_when_it_is_the_worked_solution(capsys):
    exercises.passed("demo")
    exercises.passed("demo", worked=True)
    assert capsys.readouterr().out == "✓ demo: correct\nworked solution: ✓ demo\n"


def test_every_exercise_has_one_checker_and_one_numbering():
    numbers = sorted(exercises.CHECKERS)
    assert numbers == ["1.1", "1.2", "2.1", "2.2", "2.3", "2.4", "2.5", "3.1", "3.2", "4.1",
                       "4.2", "5.1", "5.2", "6.1", "6.2"]
    with pytest.raises(ValueError, match="no Exercise 9.9"):
        exercises.check("9.9", len)


@pytest.mark.parametrize("number", sorted(exercises.CHECKERS))
def test_an_untouched_stub_is_not_attempted_in_one_line(number, capsys):
    def my_answer(*args, **kwargs):
        raise NotImplementedError(f"Exercise {number}: write it")

    assert exercises.check(number, my_answer) is False  # no exception
    assert capsys.readouterr().out == (f"Exercise {number} not attempted yet: write "
                                       "`my_answer` above, then run this cell\n")


def test_check_says_worked_solution_or_correct_and_lets_a_wrong_answer_raise(capsys):
    assert exercises.check("2.3", losses.d_loss_bce, worked=True) is True
    assert exercises.check("2.3", losses.d_loss_bce) is True
    assert capsys.readouterr().out == ("worked solution: ✓ BCE discriminator loss\n"
                                       "✓ BCE discriminator loss: correct\n")
    with pytest.raises(AssertionError, match="sign is flipped"):
        exercises.check("2.3", lambda r, f: -losses.d_loss_bce(r, f), worked=True)


def _package_trees():
    return {path.name: ast.parse(path.read_text()) for path in sorted(PACKAGE.glob("*.py"))}


def test_one_module_per_notebook_without_bare_asserts_or_imports_in_functions():
    trees = _package_trees()
    assert {name for name in trees if name.startswith("ex")} == {
        f"ex{book.stem}.py" for book in course_notebooks()}
    for name, tree in trees.items():
        asserts = [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Assert)]
        assert not asserts, f"{name}: bare assert on lines {asserts} (python -O strips them)"
        for fn in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)):
            inner = [n.lineno for n in ast.walk(fn) if isinstance(n, (ast.Import, ast.ImportFrom))]
            assert not inner, f"{name}: {fn.name} imports inside the function (lines {inner})"


def test_batch_runs_pass_the_worked_solutions():
    for book in course_notebooks():
        assert lesson_parameters(book)["solutions"] is True
        assert lesson_parameters(book, smoke=True) == {"solutions": True, "smoke": True}


# --- a notebook run top to bottom --------------------------------------------------------------

def _run_notebook(book: Path, out: Path, solutions: bool) -> list[tuple[str, str]]:
    """Execute `book` in smoke mode; returns (source, printed text) of every code cell."""
    import papermill as pm

    pm.execute_notebook(str(book), str(out), parameters={"smoke": True, "solutions": solutions},
                        cwd=str(book.parent), kernel_name="python3", progress_bar=False)
    cells = json.loads(out.read_text())["cells"]
    return [("".join(c["source"]), "".join("".join(o.get("text", "")) for o in c["outputs"]))
            for c in cells if c["cell_type"] == "code"]


def _checks(cells):
    """The exercise numbers each check cell checks, with that cell's printed text."""
    return [(re.findall(r'exercises\.check\("(\d\.\d)"', source), text)
            for source, text in cells if "exercises.check(" in source]


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_02_in_student_mode_completes_with_every_exercise_not_attempted(tmp_path):
    book = next(b for b in course_notebooks() if b.stem == "02_bce_gan")
    cells = _run_notebook(book, tmp_path / book.name, solutions=False)
    checks = _checks(cells)
    numbers = [n for found, _ in checks for n in found]
    assert numbers == ["2.1", "2.2", "2.3", "2.4", "2.5"]
    for found, text in checks:
        for number in found:
            assert f"Exercise {number} not attempted yet" in text
        assert "correct" not in text and "worked solution" not in text
    assert not any("✓" in text for _, text in cells)
    assert any("ganlib.train itself trained these steps" in text for _, text in cells)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_02_with_the_worked_solutions_says_so_at_each_check(tmp_path):
    book = next(b for b in course_notebooks() if b.stem == "02_bce_gan")
    cells = _run_notebook(book, tmp_path / book.name, solutions=True)
    for found, text in _checks(cells):
        assert text.count("worked solution: ✓") == len(found), text
        assert "not attempted" not in text and ": correct" not in text
    assert any("your loop and ganlib.train agree on every loss" in text for _, text in cells)


# --- 01_mode_collapse --------------------------------------------------------------------------

def _modes_captured_library(points, modes, sigma):
    return mode_coverage(points, modes, sigma)["modes_captured"]


def _reverse_kl_library(counts):
    # the library's reverse KL from counts: points placed exactly on the modes they count
    modes = torch.tensor([[float(i), 0.0] for i in range(len(counts))])
    points = torch.repeat_interleave(modes, counts.long(), dim=0)
    return mode_coverage(points, modes, 0.1)["reverse_kl"]


def test_check_modes_captured_accepts_the_library_and_names_each_mistake(capsys):
    exercises.check_modes_captured(_modes_captured_library)
    assert "✓ modes_captured" in capsys.readouterr().out

    def nearest(points, modes, sigma, radius=None, count_points=False):
        d, k = torch.cdist(points, modes).min(dim=1)
        good = d <= radius * sigma if radius else torch.ones_like(d, dtype=torch.bool)
        return int(good.sum()) if count_points else len(set(k[good].tolist()))

    for wrong, message in (
            (lambda p, m, s: nearest(p, m, s), "within 3σ of its nearest mode"),
            (lambda p, m, s: nearest(p, m, s, radius=1), "3σ, not σ"),
            (lambda p, m, s: nearest(p, m, s, radius=3, count_points=True), "not the high"),
            (lambda p, m, s: 1, "expected 3 modes captured, got 1")):
        with pytest.raises(AssertionError, match=message):
            exercises.check_modes_captured(wrong)


def test_check_reverse_kl_accepts_the_library_and_names_each_mistake(capsys):
    exercises.check_reverse_kl(_reverse_kl_library)
    assert "✓ reverse_kl" in capsys.readouterr().out

    def kl(counts, base=math.e, normalise=True, forward=False, uniform=True, skip_empty=True):
        q = counts / counts.sum() if normalise else counts
        u = torch.full_like(q, 1 / len(q))
        hit = q > 0 if skip_empty else torch.ones_like(q, dtype=torch.bool)
        if forward:
            return float((u[hit] * torch.log(u[hit] / q[hit])).sum())
        ratio = q[hit] * len(q) if uniform else q[hit]
        return float((q[hit] * torch.log(ratio)).sum() / math.log(base))

    for wrong, message in ((lambda c: kl(c, base=2), "log base 2"),
                           (lambda c: kl(c, normalise=False), "normalise the counts"),
                           (lambda c: kl(c, forward=True), "forward KL"),
                           (lambda c: kl(c, uniform=False), "1/K per mode"),
                           (lambda c: kl(c, skip_empty=False), "NaN"),
                           (lambda c: 0.5, "expected")):
        with pytest.raises(AssertionError, match=message):
            exercises.check_reverse_kl(wrong)


# --- 02_bce_gan: the two updates of the training step ------------------------------------------

def _bce(logits, label, reduction="mean"):
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, label),
                                              reduction=reduction)


def _d_update(run, real, fake, mistake=None):
    """02's worked D update, with one typical mistake switched on."""
    D = run.critic
    shown = fake if mistake == "no_detach" else fake.detach()
    labels = (0.0, 1.0) if mistake == "swapped" else (1.0, 0.0)
    loss = _bce(D(real), labels[0]) + _bce(D(shown), labels[1])
    if mistake != "no_zero":
        run.opt_c.zero_grad(set_to_none=True)
    loss.backward()
    if mistake == "wrong_optimizer":
        run.opt_g.step()
    elif mistake != "no_step":
        run.opt_c.step()
    return loss


def _g_update(run, fake, mistake=None):
    """02's worked G update, with one typical mistake switched on."""
    D = run.critic
    if mistake != "not_frozen":
        D.requires_grad_(False)
    logits = D(fake.detach() if mistake == "detach" else fake)
    loss = {"minimax": -_bce(logits, 0.0), "label_0": _bce(logits, 0.0)}.get(mistake,
                                                                              _bce(logits, 1.0))
    if mistake != "no_zero":
        run.opt_g.zero_grad(set_to_none=True)
    loss.backward()
    run.opt_g.step()
    if mistake != "left_frozen":
        D.requires_grad_(True)
    return loss


def test_check_updates_accept_the_worked_solution(capsys):
    exercises.check_d_update(_d_update)
    exercises.check_g_update(_g_update, worked=True)
    assert capsys.readouterr().out == "✓ D's update: correct\nworked solution: ✓ G's update\n"


@pytest.mark.parametrize("mistake, message", [
    ("no_detach", "detach the fakes"),
    ("swapped", "labels are swapped"),
    ("no_step", "did not change: call run.opt_c.step"),
    ("wrong_optimizer", "did not change"),
    ("no_zero", "zero_grad"),
])
def test_check_d_update_names_the_mistake(mistake, message):
    with pytest.raises(AssertionError, match=message):
        exercises.check_d_update(lambda run, real, fake: _d_update(run, real, fake, mistake))


@pytest.mark.parametrize("mistake, message", [
    ("not_frozen", "freeze D"),
    ("left_frozen", "still frozen"),
    ("minimax", "minimax loss"),
    ("label_0", "labelled 0"),
    ("detach", "do not detach the fakes"),
    ("no_zero", "zero_grad"),
])
def test_check_g_update_names_the_mistake(mistake, message):
    with pytest.raises(AssertionError, match=message):
        exercises.check_g_update(lambda run, fake: _g_update(run, fake, mistake))


# --- 02_bce_gan: the losses --------------------------------------------------------------------

def test_check_d_loss_bce_accepts_the_library(capsys):
    exercises.check_d_loss_bce(losses.d_loss_bce)
    assert "✓ BCE discriminator loss" in capsys.readouterr().out


def _probabilities(logits, label):
    return F.binary_cross_entropy(torch.sigmoid(logits), torch.full_like(logits, label))


@pytest.mark.parametrize("wrong, message", [
    (lambda r, f: _probabilities(r, 1) + _probabilities(f, 0), "cross-entropy of probabilities"),
    (lambda r, f: _bce(r, 0) + _bce(f, 1), "labels are swapped"),
    (lambda r, f: _bce(torch.sigmoid(r), 1) + _bce(torch.sigmoid(f), 0),
     "sigmoid is applied twice"),
    (lambda r, f: _bce(r, 1, "sum") + _bce(f, 0, "sum"), "sums over the batch"),
    (lambda r, f: _bce(r, 1), "fake term is missing"),
    (lambda r, f: -(_bce(r, 1) + _bce(f, 0)), "sign is flipped"),
    (lambda r, f: -(torch.log(torch.sigmoid(r)).mean()
                    + torch.log(1 - torch.sigmoid(f)).mean()), "not log\\(sigmoid"),
    (lambda r, f: torch.tensor(losses.d_loss_bce(r, f).item()), "has no gradient"),
    (lambda r, f: _bce(r, 1) + _bce(f, 0) + 0.1, "expected"),
])
def test_check_d_loss_bce_names_the_mistake(wrong, message):
    with pytest.raises(AssertionError, match=message):
        exercises.check_d_loss_bce(wrong)


def test_check_g_losses_accept_the_library(capsys):
    exercises.check_g_loss_nonsaturating(losses.g_loss_nonsaturating)
    exercises.check_g_loss_minimax(losses.g_loss_minimax)
    out = capsys.readouterr().out
    assert "✓ non-saturating generator loss" in out and "✓ minimax generator loss" in out


@pytest.mark.parametrize("wrong, message", [
    (lambda f: _probabilities(f, 1), "cross-entropy of probabilities"),
    (lambda f: F.logsigmoid(f).mean(), "sign is flipped"),
    (losses.g_loss_minimax, "this is the minimax loss"),
    (lambda f: F.softplus(f).mean(), "minimax loss with its sign flipped"),
    (lambda f: F.softplus(-f).sum(), "sums over the batch"),
    (lambda f: F.softplus(-torch.sigmoid(f)).mean(), "sigmoid is applied twice"),
    (lambda f: F.softplus(-f), "0-dim tensor"),
])
def test_check_g_loss_nonsaturating_names_the_mistake(wrong, message):
    with pytest.raises(AssertionError, match=message):
        exercises.check_g_loss_nonsaturating(wrong)


@pytest.mark.parametrize("wrong, message", [
    (lambda f: F.softplus(f).mean(), "sign is flipped"),
    (losses.g_loss_nonsaturating, "this is the nonsaturating loss"),
    (lambda f: torch.log1p(-torch.sigmoid(f)).mean(), "not log\\(sigmoid"),
    (lambda f: -_probabilities(f, 0), "cross-entropy of probabilities"),
])
def test_check_g_loss_minimax_names_the_mistake(wrong, message):
    with pytest.raises(AssertionError, match=message):
        exercises.check_g_loss_minimax(wrong)


# --- 03_dcgan ----------------------------------------------------------------------------------


def test_check_slerp_accepts_the_library(capsys):
    exercises.check_slerp(latent.slerp)
    assert "✓ slerp" in capsys.readouterr().out


def _slerp_with(angle, weights_over_sin=True):
    def fn(a, b, t):
        omega = angle(a, b)
        out = torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b
        return out / torch.sin(omega) if weights_over_sin else out
    return fn


def _row_angle(a, b):
    return torch.arccos((a * b).sum(1, keepdim=True)
                        / (a.norm(dim=1, keepdim=True) * b.norm(dim=1, keepdim=True)))


@pytest.mark.parametrize("wrong, message", [
    (latent.lerp, "straight line"),
    (lambda a, b, t: latent.slerp(a, b, 1 - t), "t is reversed"),
    (_slerp_with(lambda a, b: torch.arccos((a * b).sum(1, keepdim=True))), "normalised to"),
    (_slerp_with(lambda a, b: torch.arccos((a * b).sum() / (a.norm() * b.norm()))),
     "one per row"),
    (_slerp_with(_row_angle, weights_over_sin=False), "not divided by sin"),
    (lambda a, b, t: latent.slerp(a, b, t) + t * (1 - t), "expected"),
])
def test_check_slerp_names_the_mistake(wrong, message):
    with pytest.raises(AssertionError, match=message):
        exercises.check_slerp(wrong)


def test_check_conv_transpose_size_accepts_the_formula(capsys):
    exercises.check_conv_transpose_size(lambda n, k, s, p: (n - 1) * s - 2 * p + k)
    assert "✓ transposed-convolution output size" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, message", [
    (lambda n, k, s, p: (n + 2 * p - k) // s + 1, "forward\\) convolution"),
    (lambda n, k, s, p: (n - 1) * s - p + k, "subtract 2p"),
    (lambda n, k, s, p: n * s - 2 * p + k, "not n·s"),
    (lambda n, k, s, p: (n - 1) * s + 2 * p + k, "not added"),
    (lambda n, k, s, p: 2 * n, "PyTorch gives"),
])
def test_check_conv_transpose_size_names_the_mistake(wrong, message):
    with pytest.raises(AssertionError, match=message):
        exercises.check_conv_transpose_size(wrong)


# --- 04_wgan_clipping --------------------------------------------------------------------------

def _critic_step(critic, opt, real, fake, c, mistake=None):
    """04's worked critic step, with one typical mistake switched on."""
    def clip():
        with torch.no_grad():
            for p in critic.parameters():
                p.clamp_(-c, c)

    if mistake == "clip_first":
        clip()
    shown = fake if mistake == "no_detach" else fake.detach()
    loss = critic(shown).mean() - critic(real).mean()
    if mistake == "sign":
        loss = -loss
    if mistake != "no_zero":
        opt.zero_grad(set_to_none=True)
    loss.backward()
    if mistake == "clip_gradients":
        for p in critic.parameters():
            p.grad.clamp_(-c, c)
    opt.step()
    if mistake not in ("clip_first", "no_clip", "clip_gradients"):
        clip()
    return loss.item()


def test_check_critic_step_accepts_the_worked_solution(capsys):
    exercises.check_critic_step(_critic_step)
    assert capsys.readouterr().out == "✓ critic step: correct\n"


@pytest.mark.parametrize("mistake, message", [
    ("clip_first", "before the optimizer step"),
    ("no_clip", "no weight was clipped"),
    ("clip_gradients", "gradients were clipped"),
    ("no_detach", "fake.detach"),
    ("sign", "sign is flipped"),
    ("no_zero", "zero_grad"),
])
def test_check_critic_step_names_the_mistake(mistake, message):
    with pytest.raises(AssertionError, match=message):
        exercises.check_critic_step(
            lambda critic, opt, real, fake, c: _critic_step(critic, opt, real, fake, c, mistake))


def _slope_bound(critic, c, mistake=None):
    """04's worked slope bound, with one typical mistake switched on."""
    layers = [m for m in critic.modules() if isinstance(m, nn.Linear)]
    per_layer = {
        "inf_norm": lambda m: c * m.in_features,
        "no_sizes": lambda m: c,
        "no_sqrt": lambda m: c * m.in_features * m.out_features,
        "bias": lambda m: c * math.sqrt((m.in_features + 1) * m.out_features),
        "spectral": lambda m: float(torch.linalg.matrix_norm(m.weight.detach(), 2)),
    }.get(mistake, lambda m: c * math.sqrt(m.in_features * m.out_features))
    if mistake == "sum":
        return sum(per_layer(m) for m in layers)
    return math.prod(per_layer(m) for m in layers)


def test_check_slope_bound_accepts_the_answer_and_it_bounds_a_clipped_critic(capsys):
    exercises.check_slope_bound(_slope_bound)
    assert capsys.readouterr().out == "✓ slope bound K(c): correct\n"
    critic = nn.Sequential(nn.Linear(2, 32), nn.LeakyReLU(0.2), nn.Linear(32, 1))
    losses.clip_weights(critic, 0.05)
    x = torch.randn(256, 2).requires_grad_(True)
    (slope,) = torch.autograd.grad(critic(x).sum(), x)
    assert slope.norm(dim=1).max() <= _slope_bound(critic, 0.05)


@pytest.mark.parametrize("mistake, message", [
    ("inf_norm", "∞-norm"),
    ("no_sizes", "not by c"),
    ("no_sqrt", "square root"),
    ("bias", "biases"),
    ("spectral", "own spectral norms"),
    ("sum", "multiply"),
])
def test_check_slope_bound_names_the_mistake(mistake, message):
    with pytest.raises(AssertionError, match=message):
        exercises.check_slope_bound(lambda critic, c: _slope_bound(critic, c, mistake))


# --- 05_wgan_gp --------------------------------------------------------------------------------

def _r1(critic, real, gamma=10.0, mistake=None):
    """05's worked R1 penalty, with one typical mistake switched on."""
    x = real.detach().requires_grad_(True)
    scores = critic(x)
    (g,) = torch.autograd.grad(scores.mean() if mistake == "mean" else scores.sum(), x,
                               create_graph=mistake != "no_create_graph")
    norms = g.flatten(1).norm(2, dim=1)
    squared = {"minus_one": (norms - 1) ** 2, "not_squared": norms}.get(mistake, norms**2)
    if mistake == "batch":
        return gamma / 2 * g.norm()
    factor = gamma if mistake == "no_half" else gamma / 2
    return factor * (squared.sum() if mistake == "sum" else squared.mean())


def test_check_r1_penalty_accepts_the_worked_solution(capsys):
    exercises.check_r1_penalty(_r1)
    assert capsys.readouterr().out == "✓ R1 penalty: correct\n"


@pytest.mark.parametrize("mistake, message", [
    ("minus_one", "WGAN-GP's target"),
    ("not_squared", "not squared"),
    ("sum", "sums the squared norms"),
    ("batch", "one norm over the whole batch"),
    ("no_half", "γ/2, not γ"),
    ("mean", "scores.sum\\(\\), not scores.mean"),
    ("no_create_graph", "create_graph=True"),
])
def test_check_r1_penalty_names_the_mistake(mistake, message):
    with pytest.raises(AssertionError, match=message):
        exercises.check_r1_penalty(lambda critic, real, gamma: _r1(critic, real, gamma, mistake))


@pytest.mark.parametrize("norm", ["layer", "instance", "none"])
def test_check_penalised_critic_accepts_per_sample_norms(norm, capsys):
    exercises.check_penalised_critic(lambda: DCGANCritic(channels=1, size=32, width=4, norm=norm))
    exercises.check_penalised_critic(DCGANCritic(channels=1, size=32, width=4, norm=norm))
    assert capsys.readouterr().out.count("penalised critic: correct") == 2


def test_check_penalised_critic_names_batchnorm():
    with pytest.raises(AssertionError, match="BatchNorm"):
        exercises.check_penalised_critic(lambda: DCGANCritic(channels=1, size=32, width=4,
                                                             norm="batch"))


# --- 06_conditional_wgan -----------------------------------------------------------------------


def _label_channels(x, labels, n_classes, mistake=None):
    n, _, h, w = x.shape
    size = int(labels.max()) + 1 if mistake == "size" else n_classes
    maps = F.one_hot(labels, size).to(x.dtype)[:, :, None, None]  # (N, K, 1, 1)
    if mistake == "not_broadcast":
        maps = F.pad(maps, (0, w - 1, 0, h - 1))  # the one-hot value in one corner pixel only
    else:
        maps = maps.expand(n, size, h, w)
    if mistake == "order":
        return torch.cat([maps, x], dim=1)
    if mistake in ("dim0", "dim2"):
        return torch.cat([x, maps[:, :1]], dim=int(mistake[-1]))
    return torch.cat([x, maps], dim=1)


def test_check_label_channels_accepts_the_answer(capsys):
    exercises.check_label_channels(_label_channels)
    assert "label channels: correct" in capsys.readouterr().out


@pytest.mark.parametrize("mistake, message", [
    ("size", "wrong size.*num_classes"),
    ("not_broadcast", "not broadcast to H×W"),
    ("dim0", "batch dim"),
    ("dim2", "spatial dim"),
    ("order", "images come first"),
])
def test_check_label_channels_names_the_mistake(mistake, message):
    with pytest.raises(AssertionError, match=message):
        exercises.check_label_channels(
            lambda x, labels, k: _label_channels(x, labels, k, mistake))


def _per_class(probs, labels, n_classes, mistake=None):
    pred = probs.argmax(dim=1)
    hit = (pred == labels).double()
    if mistake == "prob":
        hit = probs[torch.arange(len(labels)), labels].double()
    by = pred if mistake == "precision" else labels
    count = torch.bincount(by, minlength=n_classes).clamp_min(1).double()
    if mistake == "batch":
        count = torch.full((n_classes,), float(len(labels)), dtype=torch.float64)
    return torch.bincount(by, weights=hit, minlength=n_classes) / count


def test_check_per_class_accuracy_accepts_the_answer(capsys):
    exercises.check_per_class_accuracy(_per_class)
    assert "per-class accuracy: correct" in capsys.readouterr().out


@pytest.mark.parametrize("mistake, message", [
    ("batch", "batch size"),
    ("precision", "predicted"),
    ("prob", "probability"),
])
def test_check_per_class_accuracy_names_the_mistake(mistake, message):
    with pytest.raises(AssertionError, match=message):
        exercises.check_per_class_accuracy(lambda p, y, k: _per_class(p, y, k, mistake))


def test_check_per_class_accuracy_wants_one_number_per_class():
    with pytest.raises(AssertionError, match="one accuracy per class"):
        exercises.check_per_class_accuracy(lambda p, y, k: _per_class(p, y, k).mean())
