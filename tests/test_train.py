import math
import os
import signal

import pytest
import torch
from configs import image, toy

from ganlib import TrainingDiverged, load_checkpoint, train
from ganlib.data import load
from ganlib.run import HISTORY_KEYS


@pytest.mark.parametrize("model", ["gan", "wgan", "wgan-gp"])
def test_toy_runs_record_history(model):
    run = train(toy(model, n_critic=2), progress=False)
    assert run.step == 6
    assert set(run.history) == set(HISTORY_KEYS)
    assert all(len(v) == 6 for v in run.history.values())
    assert run.history["step"] == [1, 2, 3, 4, 5, 6]
    assert all(math.isfinite(v) for v in run.history["d_loss"] + run.history["g_loss"])
    assert [s for s, _ in run.snapshots] == [0, 3, 6]
    assert run.snapshots[-1][1].shape == (64, 2)
    gn = run.history["grad_norm"]
    assert all(math.isfinite(v) for v in gn) == (model == "wgan-gp")
    w = run.history["wasserstein"]
    assert all(math.isfinite(v) for v in w) == (model != "gan")


def test_clipping_keeps_weights_in_range_and_records_them():
    run = train(toy("wgan", clip_value=0.02), progress=False)
    assert max(p.abs().max().item() for p in run.critic.parameters()) <= 0.02 + 1e-7
    assert run.history["w_absmax"][-1] == pytest.approx(0.02)
    assert 0 < run.history["w_at_clip"][-1] <= 1


def test_n_critic_fresh_batches_and_rng_use():
    # each critic step draws its own real batch from the run's generator: with n_critic=3,
    # one generator step consumes three batches
    cfg = toy(steps=1, n_critic=3)
    data = load("ring8")
    calls = []
    orig = data.sample
    data.sample = lambda n, generator=None: calls.append(n) or orig(n, generator)
    train(cfg, data, progress=False)
    assert calls == [32, 32, 32]


@pytest.mark.parametrize("model", ["gan", "dcgan", "wgan", "wgan-gp", "cwgan-gp"])
def test_image_models_train(model, tiny_images):
    run = train(image(model), tiny_images, progress=False)
    assert run.step == 3
    assert run.snapshots[-1][1].shape == (8, 1, 32, 32)


def test_same_seed_same_history_different_seed_differs(tiny_images):
    a = train(image(seed=1), tiny_images, progress=False)
    b = train(image(seed=1), tiny_images, progress=False)
    c = train(image(seed=2), tiny_images, progress=False)
    assert a.history["d_loss"] == b.history["d_loss"]
    assert a.history["d_loss"] != c.history["d_loss"]


def test_keyboard_interrupt_keeps_the_run_and_checkpoint(tmp_path, tiny_images):
    def stop_at_2(run):
        if run.step == 2:
            os.kill(os.getpid(), signal.SIGINT)  # what Jupyter's stop button sends

    out = tmp_path / "run"
    run = train(image("wgan-gp", steps=6), tiny_images, out=out, progress=False,
                callback=stop_at_2)
    assert run.interrupted and run.step == 2
    assert load_checkpoint(out / "checkpoint.pt").step == 2
    # the interrupted run resumes to exactly the uninterrupted history
    resumed = train(image("wgan-gp", steps=6), tiny_images, out=out, resume=True,
                    progress=False)
    full = train(image("wgan-gp", steps=6), tiny_images, progress=False)
    assert resumed.history["d_loss"] == full.history["d_loss"]


def test_keyboard_interrupt_raised_inside_a_step(tiny_images):
    def boom(run):
        raise KeyboardInterrupt

    run = train(image(steps=5), tiny_images, progress=False, callback=boom)
    assert run.interrupted and run.step == 1
    assert run.G.sample(2).shape == (2, 1, 32, 32)


def test_nan_loss_stops_with_the_step_and_keeps_the_models(tmp_path, tiny_images):
    cfg = image("wgan-gp", steps=5)
    bad = tiny_images
    good_run = {}

    def poison(run):
        if run.step == 2:
            good_run["G"] = {k: v.clone() for k, v in run.G.named_parameters()}
            bad.images[:] = float("nan")

    with pytest.raises(TrainingDiverged, match="step 3.*lower learning rate") as err:
        train(cfg, bad, out=tmp_path, progress=False, callback=poison)
    run = err.value.run
    assert run.step == 2
    for k, v in run.G.named_parameters():  # weights as after step 2 (no NaN step applied)
        torch.testing.assert_close(v, good_run["G"][k])
    assert load_checkpoint(tmp_path / "checkpoint.pt").step == 2


def test_seconds_budget(tiny_images):
    run = train(image(steps=10_000, seconds=0.5), tiny_images, progress=False)
    assert 1 <= run.step < 10_000 and run.elapsed >= 0.5


def test_callback_can_stop_early(tiny_images):
    run = train(image(steps=10), tiny_images, progress=False, callback=lambda r: r.step == 4)
    assert run.step == 4 and not run.interrupted


def test_batch_larger_than_the_data_set(tiny_images):
    with pytest.raises(ValueError, match="larger than the data set"):
        train(image(batch_size=65), tiny_images, progress=False)


def test_linear_lr_decay_reaches_zero_at_the_end(tiny_images):
    seen = []
    run = train(image(steps=4, lr_decay="linear"), tiny_images, progress=False,
                callback=lambda r: seen.append(r.opt_g.param_groups[0]["lr"]))
    lr = run.config.lr_g
    assert seen == pytest.approx([lr * 0.75, lr * 0.5, lr * 0.25, 0.0])
    assert run.opt_c.param_groups[0]["lr"] == 0.0


def test_the_critic_step_leaves_G_alone_and_the_generator_step_leaves_the_critic_alone(
        tiny_images):
    from ganlib import make_run
    from ganlib.train import critic_step, generator_step

    run = make_run(image("wgan-gp"), tiny_images)
    real, _ = tiny_images.sample(8, generator=run.rng)
    g_before = [p.detach().clone() for p in run.G.parameters()]
    _, fake = critic_step(run, real, None, keep_graph=True)
    assert all(p.grad is None for p in run.G.parameters())  # the fakes were detached
    assert all(torch.equal(a, b) for a, b in zip(g_before, run.G.parameters(), strict=True))
    c_before = [p.detach().clone() for p in run.critic.parameters()]
    run.opt_c.zero_grad(set_to_none=True)
    generator_step(run, None, fake)
    assert all(p.grad is None for p in run.critic.parameters())  # frozen: no gradient
    assert all(torch.equal(a, b) for a, b in zip(c_before, run.critic.parameters(), strict=True))
    assert all(p.requires_grad for p in run.critic.parameters())  # and unfrozen again
    assert not all(torch.equal(a, b) for a, b in zip(g_before, run.G.parameters(), strict=True))


def test_the_step_fits_on_one_screen():
    # the course shows these functions to students: keep them short (code lines only)
    import ast
    import importlib
    import inspect

    train_module = importlib.import_module("ganlib.train")

    def code_lines(fn):
        source = inspect.getsource(fn)
        doc = ast.get_docstring(ast.parse(source).body[0]) or ""
        lines = [ln.strip() for ln in source.splitlines()]
        return sum(1 for ln in lines if ln and not ln.startswith("#")) - len(doc.splitlines())

    steps = code_lines(train_module.critic_step) + code_lines(train_module.generator_step)
    assert steps <= 45, steps
    assert code_lines(train_module.train) <= 40


def test_a_periodic_checkpoint_is_written_during_training(tmp_path, tiny_images):
    from ganlib.run import read_checkpoint

    seen = []
    train(image(steps=4, checkpoint_every=2), tiny_images, out=tmp_path, progress=False,
          callback=lambda r: seen.append(read_checkpoint(tmp_path)["step"]
                                         if (tmp_path / "checkpoint.pt").exists() else None))
    assert seen == [None, 2, 2, 4]
