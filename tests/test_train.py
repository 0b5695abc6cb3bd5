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
    fake = run.G(torch.randn(8, run.G.z_dim))  # attached to G's graph
    g_before = [p.detach().clone() for p in run.G.parameters()]
    numbers = critic_step(run, real, fake, None)
    assert set(numbers) == {"d_loss", "real_scores", "fake_scores", "grad_norms"}
    assert all(p.grad is None for p in run.G.parameters())  # the fakes were detached
    assert all(torch.equal(a, b) for a, b in zip(g_before, run.G.parameters(), strict=True))
    c_before = [p.detach().clone() for p in run.critic.parameters()]
    run.opt_c.zero_grad(set_to_none=True)
    generator_step(run, fake, None)
    assert all(p.grad is None for p in run.critic.parameters())  # frozen: no gradient
    assert all(torch.equal(a, b) for a, b in zip(c_before, run.critic.parameters(), strict=True))
    assert all(p.requires_grad for p in run.critic.parameters())  # and unfrozen again
    assert not all(torch.equal(a, b) for a, b in zip(g_before, run.G.parameters(), strict=True))


def test_frozen_unfreezes_even_when_the_block_fails():
    from ganlib.train import frozen

    net = torch.nn.Linear(2, 1)
    with pytest.raises(RuntimeError), frozen(net):
        assert not any(p.requires_grad for p in net.parameters())
        raise RuntimeError
    assert all(p.requires_grad for p in net.parameters())


def reference_step(run, data):
    """The step as the course showed it before the step took tensors (ganlib 1f655a7): the
    critic step draws z and makes the fakes, the generator step makes its own unless it reuses
    them. Written out here so that the library's step can be held to the same weights."""
    from ganlib import losses

    cfg, G, critic = run.config, run.G, run.critic
    reuse = cfg.n_critic == 1
    for _ in range(cfg.n_critic):
        real, labels = run.batch(data, cfg.batch_size)
        z = run.randn(len(real), G.z_dim)
        with torch.set_grad_enabled(reuse):
            fake = G(z, labels)
        real_scores, fake_scores = critic(real, labels), critic(fake.detach(), labels)
        if cfg.loss == "bce":
            loss = losses.d_loss_bce(real_scores, fake_scores)
        else:
            loss = losses.critic_loss_wasserstein(real_scores, fake_scores)
        if cfg.gp_lambda > 0:
            loss = loss + losses.gradient_penalty(critic, real, fake.detach(), cfg.gp_lambda,
                                                  labels, alpha=run.rand(len(real)))[0]
        run.opt_c.zero_grad(set_to_none=True)
        loss.backward()
        run.opt_c.step()
        if cfg.clip_value is not None:
            losses.clip_weights(critic, cfg.clip_value)
    if not reuse:
        fake = G(run.randn(cfg.batch_size, G.z_dim), labels)
    critic.requires_grad_(False)
    scores = critic(fake, labels)
    critic.requires_grad_(True)
    if cfg.loss == "wasserstein":
        loss = losses.g_loss_wasserstein(scores)
    elif cfg.g_loss == "minimax":
        loss = losses.g_loss_minimax(scores)
    else:
        loss = losses.g_loss_nonsaturating(scores)
    run.opt_g.zero_grad(set_to_none=True)
    loss.backward()
    run.opt_g.step()


@pytest.mark.parametrize("config", [
    toy("gan", steps=3), toy("gan", g_loss="minimax"), toy("wgan"), toy("wgan-gp", n_critic=3),
    image("dcgan"), image("wgan"), image("wgan-gp"), image("cwgan-gp")],
    ids=["gan", "gan-minimax", "wgan-toy", "wgan-gp-toy", "dcgan", "wgan", "wgan-gp",
         "cwgan-gp"])
def test_the_step_trains_the_same_weights_as_the_step_written_out(config, tiny_images):
    import copy

    from ganlib import make_run
    from ganlib.data import load
    from ganlib.train import train_step

    data = load("ring8") if config.data == "ring8" else tiny_images
    run = make_run(config, data)
    ref = copy.deepcopy(run)
    for _ in range(3):
        train_step(run, data)
        reference_step(ref, data)
    for ours, theirs in ((run.G, ref.G), (run.critic, ref.critic)):
        for (name, a), b in zip(ours.state_dict().items(), theirs.state_dict().values(),
                                strict=True):
            assert torch.equal(a, b), name
    assert torch.equal(run.rng.get_state(), ref.rng.get_state())  # the same draws, in order


def test_the_history_time_is_the_clock_after_each_step(tiny_images):
    seen = []
    run = train(image(steps=4), tiny_images, progress=False,
                callback=lambda r: seen.append((r.elapsed, r.history["time"][-1])))
    assert [t for t, _ in seen] == [h for _, h in seen] == run.history["time"]
    assert run.history["time"] == sorted(run.history["time"]) and seen[0][0] > 0


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


@pytest.mark.parametrize("every,expected", [(1e-9, [1, 2, 3, 4]), (0, [None] * 4),
                                            (3600, [None] * 4)])
def test_a_periodic_checkpoint_every_so_many_seconds(every, expected, tmp_path, tiny_images):
    from ganlib.run import read_checkpoint

    seen = []
    train(image(steps=4, checkpoint_every=every), tiny_images, out=tmp_path, progress=False,
          callback=lambda r: seen.append(read_checkpoint(tmp_path)["step"]
                                         if (tmp_path / "checkpoint.pt").exists() else None))
    assert seen == expected
    assert read_checkpoint(tmp_path)["step"] == 4


def test_a_seconds_budget_counts_the_run_in_all_like_steps(tmp_path, tiny_images):
    # --steps and --seconds mean the same on --resume: the run's total, earlier sessions included
    first = train(image(steps=10_000, seconds=0.3), tiny_images, out=tmp_path, progress=False)
    again = train(image(steps=10_000, seconds=0.3), tiny_images, out=tmp_path, resume=True,
                  progress=False)
    assert again.step == first.step  # the budget was already spent
    more = train(image(steps=10_000, seconds=0.6), tiny_images, out=tmp_path, resume=True,
                 progress=False)
    assert more.step > first.step and 0.6 <= more.elapsed < 0.6 + first.elapsed


def test_a_diverged_run_never_saves_non_finite_weights(tmp_path, tiny_images, capsys):
    from ganlib.run import read_checkpoint

    def poison_the_critic(run):
        if run.step == 2:  # as an enormous learning rate would
            next(run.critic.parameters()).data[0] = math.nan

    with pytest.raises(TrainingDiverged, match="the critic loss became nan at step 3"):
        train(image("wgan-gp", steps=5, checkpoint_every=1e-9), tiny_images, out=tmp_path,
              progress=False, callback=poison_the_critic)
    state = read_checkpoint(tmp_path)
    assert state["step"] == 2
    assert all(v.isfinite().all() for v in state["critic"].values() if v.is_floating_point())
    assert (f"Not saved: the weights at step 2 are not finite; {tmp_path / 'checkpoint.pt'} "
            "still holds step 2.") in capsys.readouterr().out
