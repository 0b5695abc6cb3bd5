import math

import torch

from ganlib import gradients, plotting
from ganlib.gradients import interpolate_grad_norms
from ganlib.models import ConditionalGenerator, DCGANGenerator
from ganlib.widgets import CriticPanel, LatentWalk, quick_toy_wgan, walk_images, walk_png


def test_walk_images_ends_are_the_seeds_samples():
    G = DCGANGenerator(z_dim=8, width=4)
    a0 = walk_images(G, 1, 2, 0.0, n=4)
    a1 = walk_images(G, 1, 2, 1.0, n=4)
    torch.testing.assert_close(a0, walk_images(G, 1, 9, 0.0, n=4))
    torch.testing.assert_close(a1, walk_images(G, 7, 2, 1.0, n=4))
    assert walk_png(G, 1, 2, 0.5)[:4] == b"\x89PNG"


def test_latent_walk_widget_redraws_on_slider():
    G = DCGANGenerator(z_dim=8, width=4)
    w = LatentWalk(G, n=4)
    before = w.image.value
    w.t.value = 0.5
    assert w.image.value != before
    w.mode.value = "linear"
    assert w.image.value[:4] == b"\x89PNG"
    assert w.label is None


def test_latent_walk_shows_exactly_walk_png():
    # what 03_dcgan promises a student: the widget's picture is the pure function's, for the
    # seeds, t and path the controls show
    G = DCGANGenerator(z_dim=8, width=4)
    w = LatentWalk(G, seed_a=3, seed_b=4, n=4)
    assert w.image.value == walk_png(G, 3, 4, 0.0, "spherical", 4)
    w.t.value = 0.5
    assert w.image.value == walk_png(G, 3, 4, 0.5, "spherical", 4)
    w.mode.value = "linear"
    assert w.image.value == walk_png(G, 3, 4, 0.5, "linear", 4)
    assert w.image.value != walk_png(G, 3, 4, 0.5, "spherical", 4)
    w.seed_b.value = 5
    assert w.image.value == walk_png(G, 3, 5, 0.5, "linear", 4)


def test_conditional_walk_keeps_z_and_changes_class():
    G = ConditionalGenerator(z_dim=8, n_classes=10, width=4)
    w = LatentWalk(G, n=4, classes=list("abcdefghij"))
    before = w.image.value
    w.label.value = 3
    assert w.image.value != before
    x3 = walk_images(G, 0, 1, 0.0, n=4, label=3)
    x3_again = walk_images(G, 0, 1, 0.0, n=4, label=3)
    torch.testing.assert_close(x3, x3_again)


def test_quick_toy_wgan_clip_and_gp_figures():
    run = quick_toy_wgan(clip_value=0.01, n_critic=2, steps=4, width=8)
    assert run.config.optimizer == "rmsprop" and run.step == 4
    fig = CriticPanel.figure(run)
    assert len(fig.axes) >= 3 and "±c" in fig.axes[2].get_title()
    assert fig._suptitle.get_text() == "clip c=0.01, n_critic=2, 4 steps on ring8"
    plotting.close(fig)
    run = quick_toy_wgan(clip_value=None, gp_lambda=10.0, n_critic=2, steps=4, width=8)
    real, fake = torch.randn(32, 2), run.G.sample(32)
    norms = interpolate_grad_norms(run.critic, real, fake)
    assert norms.shape == (32,) and (norms >= 0).all()
    assert "interpolates" in CriticPanel.figure(run, title="t").axes[2].get_title()


def test_critic_panel_retrains_on_slider():
    panel = CriticPanel("clip", steps=3)
    first = panel.image.value
    assert first[:4] == b"\x89PNG" and panel.run.config.clip_value == 0.01
    panel.value.value = 0.005  # what 04's student tries: the observer retrains at once
    assert panel.run.config.clip_value == 0.005 and panel.image.value != first
    assert panel.run.config.optimizer == "rmsprop" and panel.run.config.n_critic == 5
    assert not panel.value.continuous_update and not panel.n_critic.continuous_update
    panel.n_critic.value = 2
    assert panel.run.config.n_critic == 2
    gp = CriticPanel("gp", steps=3)
    assert gp.run.config.gp_lambda == 10.0 and gp.run.config.clip_value is None
    assert not gp.value.continuous_update and not gp.n_critic.continuous_update


def test_gp_panel_retrains_with_the_new_lambda():
    # moved from 05_wgan_gp: a slider move retrains with the new λ and redraws
    panel = CriticPanel("gp", steps=3, n_critic=5)
    before = panel.image.value
    panel.value.value = 1.0
    assert panel.run.config.gp_lambda == 1.0 and panel.run.config.clip_value is None
    assert panel.image.value != before and panel.image.value[:4] == b"\x89PNG"


def test_conditional_walk_draws_the_same_z_as_another_class():
    # moved from 06_conditional_wgan: class 7 at t = 0 is seed A's noise drawn as a seven
    from ganlib.latent import class_sweep, noise_from_seed

    G = ConditionalGenerator(z_dim=8, n_classes=10, width=4)
    w = LatentWalk(G, seed_a=0, seed_b=1, n=4, classes=list("abcdefghij"))
    before = w.image.value
    w.label.value = 7
    assert w.image.value != before
    torch.testing.assert_close(walk_images(G, 0, 1, 0.0, n=4, label=7),
                               class_sweep(G, noise_from_seed(0, G.z_dim, 4))[7])


def test_training_moments_slider_redraws_the_chosen_moment():
    import pytest

    from ganlib.widgets import TrainingMoments

    critics = [torch.nn.Sequential(torch.nn.Linear(2, 1), torch.nn.Flatten(0)) for _ in range(2)]
    fake = torch.randn(10, 2, generator=torch.Generator().manual_seed(0))
    fields = {name: [(step, gradients.generator_field(c, fake, loss, n=6))
                     for step, c in zip((0, 50), critics, strict=True)]
              for name, loss in (("BCE GAN", "bce"), ("WGAN-GP", "wasserstein"))}
    panel = TrainingMoments(fields)
    first = bytes(panel.image.value)
    assert first[:4] == b"\x89PNG" and panel.moment.value == 0
    assert panel.render() == first  # same moment, same picture
    panel.moment.value = 50  # the observer redraws at once
    assert bytes(panel.image.value) != first and panel.render() != first
    with pytest.raises(ValueError, match="same number"):
        TrainingMoments({"BCE GAN": fields["BCE GAN"], "WGAN-GP": fields["WGAN-GP"][:1]})


# ----------------------------------------------------------------------------------------------
# LiveTraining (ganlib/live.py)
# ----------------------------------------------------------------------------------------------

def _live_threads():
    import threading

    return [t for t in threading.enumerate() if t.name.startswith("LiveTraining")]


def _tiny_live(model="gan", name="test", **overrides):
    from ganlib.config import preset
    from ganlib.live import LiveTraining

    config = preset(model, "ring8", width=8, batch_size=32, **overrides)
    return LiveTraining(config, name=name, n_points=16)


def _params(net):
    return [p.detach().clone() for p in net.parameters()]


def _same(a, b):
    return all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


def test_toy_picture_draws_value_points_arrows_and_modes():
    import numpy as np

    from ganlib.live import _colormap, toy_picture

    xs = np.linspace(-1, 1, 5)
    value = np.ones((5, 5))  # D(x) = 1 everywhere: the colour scale's top, green
    field = {"xs": xs, "value": value, "label": "D(x)", "fake": np.array([[0.0, 0.0]]),
             "pull": np.array([[1.0, 0.0]]), "pull_norm": 1.0}
    img = np.asarray(toy_picture(field, modes=torch.tensor([[0.5, 0.5]]), side=100))
    assert tuple(img[2, 2]) == tuple(_colormap()[255])  # a corner shows only the surface
    black = (img == 0).all(axis=-1)
    assert black[48:53, 48:53].any() and black.sum() < 20  # the fake at the origin: the centre
    blue = (img[..., 2] > 150) & (img[..., 0] < 100)
    assert blue[48:53, 55:60].any() and not blue[48:53, 40:46].any()  # the arrow points right
    red = (img[..., 0] > 150) & (img[..., 1] < 50)
    assert red[25, 75] and not red[75, 25]  # the mode (0.5, 0.5) is up and to the right
    field["value"] = np.zeros((5, 5))
    assert tuple(np.asarray(toy_picture(field, side=100))[2, 2]) == tuple(_colormap()[0])
    field["value"] = np.full((5, 5), 0.5)  # D(x) = 1/2: the middle of the fixed scale
    assert tuple(np.asarray(toy_picture(field, side=100))[2, 2]) == tuple(_colormap()[127])
    field["label"], field["value"] = "f(x)", np.arange(25.0).reshape(5, 5) * 7
    img = np.asarray(toy_picture(field, side=100))  # a critic's own range: bottom-left lowest
    assert tuple(img[98, 1]) == tuple(_colormap()[0]) and tuple(img[1, 98]) == tuple(
        _colormap()[255])


def test_curves_picture_skips_nans_and_draws_each_series():
    import numpy as np

    from ganlib.live import CURVE_COLOURS, curves_picture

    img = np.asarray(curves_picture([{"a": [0.0, 1.0, float("nan"), 2.0], "b": [5.0] * 4},
                                     {"c": [float("nan")] * 3}], width=120, height=120))
    for colour in CURVE_COLOURS[:2]:
        assert (img == colour).all(axis=-1).sum() > 20  # a legend and a line of each colour
    bottom = img[64:]  # the all-NaN panel: its legend and frame, no line
    assert (bottom == CURVE_COLOURS[0]).all(axis=-1).sum() < 60


def test_step_d_and_step_g_move_only_their_net():
    live = _tiny_live()
    G0, D0, step0 = _params(live.run.G), _params(live.run.critic), live.run.step
    live.step_critic()
    assert _same(G0, _params(live.run.G)) and not _same(D0, _params(live.run.critic))
    assert live.run.step == step0 and live.updates == {"D": 1, "G": 0}
    D1 = _params(live.run.critic)
    live.step_generator()
    assert _same(D1, _params(live.run.critic)) and not _same(G0, _params(live.run.G))
    assert live.run.step == step0 + 1 and live.updates == {"D": 1, "G": 1}
    assert len(live.curves["d_loss"]) == 2 and math.isnan(live.curves["g_loss"][0])
    assert math.isnan(live.curves["d_loss"][1]) and math.isfinite(live.curves["g_loss"][1])
    before = bytes(live.image.value)
    live.step(3)
    assert live.run.step == step0 + 4 and bytes(live.image.value) != before
    assert "step 4" in live.status.value


def test_play_then_pause_leaves_no_thread():
    import time

    live = _tiny_live()
    live.play()
    assert live.playing and len(_live_threads()) == 1
    deadline = time.monotonic() + 30
    while live.run.step < 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    live.pause()
    assert _live_threads() == [] and not live.playing and live.error is None
    step = live.run.step
    assert step >= 5 and live.frames >= 2 and "paused" in live.status.value
    time.sleep(0.05)
    assert live.run.step == step  # nothing trains after the pause


def test_slider_moved_mid_run_acts_at_the_next_step_without_a_restart():
    import time

    live = _tiny_live("wgan-gp")
    live.play()
    try:
        while live.run.step < 3:
            time.sleep(0.005)
        live.sliders["n_critic"].value = 3  # what the browser's drag does
        live.sliders["gp_lambda"].value = 1.0
        live.sliders["lr_d"].value = 1e-4
        at = live.run.step
        assert live.run.config.n_critic == 3 and live.run.config.gp_lambda == 1.0
        assert all(g["lr"] == 1e-4 for g in live.run.opt_c.param_groups)
        d_before = live.updates["D"]
        while live.run.step < at + 2:
            time.sleep(0.005)
    finally:
        live.pause()
    assert live.run.step >= at + 2 >= 5  # the same run went on: the step count was kept
    assert live.updates["D"] - d_before >= 3  # n_critic = 3 took effect
    assert live.run.config.lr_g == 2e-3 and "λ=1" in live.status.value
    assert "n_critic=3" in live.status.value and "lr_d=1.0e-04" in live.status.value


def test_reset_rebuilds_the_run_from_its_seed():
    live = _tiny_live()
    fresh = _params(live.run.G)
    live.step(3)
    live.sliders["n_critic"].value = 2
    live.reset()
    assert live.run.step == 0 and _same(fresh, _params(live.run.G))
    assert live.run.config.n_critic == 2 and live.curves["d_loss"] == []
    assert live.updates == {"D": 0, "G": 0}


def test_a_new_widget_stops_the_old_one_and_stop_all_stops_every_one():
    from ganlib.live import stop_all

    old = _tiny_live(name="cell")
    old.play()
    other = _tiny_live(name="other")
    other.play()
    new = _tiny_live(name="cell")  # re-running the cell
    assert not old.playing and other.playing and len(_live_threads()) == 1
    new.play()
    stop_all()  # what the interpreter runs at exit
    assert _live_threads() == [] and not new.playing and not other.playing
    new.play()
    new.close()  # closing the widget stops its training too
    assert _live_threads() == []


def test_live_widget_on_digits_shows_the_fixed_noise_grid():
    import io

    import numpy as np
    from PIL import Image

    from ganlib.config import preset
    from ganlib.live import SIDE, LiveTraining, encode, grid_picture

    live = LiveTraining(preset("dcgan", "digits5k", width=4, n_fixed=16), name="digits")
    assert set(live.sliders) == {"n_critic", "lr_g", "lr_d"}

    def grid():  # the picture's left half: the samples of the fixed noise
        return np.asarray(Image.open(io.BytesIO(live.image.value)))[:, :SIDE]

    def expected():  # the fixed noise's samples (in eval mode: BatchNorm's running stats),
        # encoded alone: JPEG's 8x8 blocks never straddle the 256-pixel edge between pictures
        picture = grid_picture(live.run.G.sample(z=live.z))
        return np.asarray(Image.open(io.BytesIO(encode(picture))))

    first, G0 = grid(), _params(live.run.G)
    assert np.array_equal(first, expected())
    live.step_critic()
    assert _same(G0, _params(live.run.G))  # G's weights did not move (its BatchNorm stats do)
    live.step(1)
    assert not np.array_equal(grid(), first) and np.array_equal(grid(), expected())
    assert not _same(G0, _params(live.run.G))
    bundle = live._repr_mimebundle_()
    assert "image/jpeg" in bundle and "application/vnd.jupyter.widget-view+json" in bundle
