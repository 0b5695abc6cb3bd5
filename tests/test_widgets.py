import torch

from ganlib import critic_panel, plotting
from ganlib.models import ConditionalGenerator, DCGANGenerator
from ganlib.widgets import CriticPanel, LatentWalk, walk_images, walk_png


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
    run = critic_panel.quick_toy_wgan(clip_value=0.01, n_critic=2, steps=4, width=8)
    assert run.config.optimizer == "rmsprop" and run.step == 4
    fig = critic_panel.critic_panel_figure(run)
    assert len(fig.axes) >= 3 and "±c" in fig.axes[2].get_title()
    plotting.close(fig)
    run = critic_panel.quick_toy_wgan(clip_value=None, gp_lambda=10.0, n_critic=2, steps=4,
                                      width=8)
    norms = critic_panel.interpolate_grad_norms(run, n=32)
    assert norms.shape == (32,) and (norms >= 0).all()
    assert "interpolates" in critic_panel.critic_panel_figure(run).axes[2].get_title()


def test_critic_panel_retrains_on_slider():
    panel = CriticPanel("clip", steps=3)
    first = panel.image.value
    assert first[:4] == b"\x89PNG" and panel.run.config.clip_value == 0.01
    panel.value.value = 0.1
    assert panel.run.config.clip_value == 0.1 and panel.image.value != first
    panel.n_critic.value = 2
    assert panel.run.config.n_critic == 2
    gp = CriticPanel("gp", steps=3)
    assert gp.run.config.gp_lambda == 10.0 and gp.run.config.clip_value is None
    assert not gp.value.continuous_update and not gp.n_critic.continuous_update
