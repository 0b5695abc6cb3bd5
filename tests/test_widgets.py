import torch

from ganlib import plotting
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
    fig = plotting.critic_panel_figure(run)
    assert len(fig.axes) >= 3 and "±c" in fig.axes[2].get_title()
    plotting.close(fig)
    run = quick_toy_wgan(clip_value=None, gp_lambda=10.0, n_critic=2, steps=4, width=8)
    norms = interpolate_grad_norms(run, n=32)
    assert norms.shape == (32,) and (norms >= 0).all()
    assert "interpolates" in plotting.critic_panel_figure(run).axes[2].get_title()


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
    fields = {name: [(step, plotting.generator_field(c, fake, loss, n=6))
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
