import numpy as np
import pytest
import torch

from ganlib import plotting


def test_class_rows_figure_labels_one_row_per_class():
    images = torch.rand(10, 4, 1, 32, 32) * 2 - 1  # (K, n, C, H, W)
    fig = plotting.class_rows_figure(images, title="z fixed", col_names=list("abcd"))
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == [str(i) for i in range(10)]
    assert [t.get_text() for t in ax.get_xticklabels()] == list("abcd")
    assert ax.images[0].get_array().shape[:2] == (2 + 10 * 34, 2 + 4 * 34)
    assert plotting.fig_to_png(fig)[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match=r"\(K, n, C, H, W\)"):
        plotting.class_rows_figure(images[0])


def test_snapshots_gif_and_strip_take_a_row_length():
    import io

    from PIL import Image

    snaps = [(0, torch.zeros(30, 1, 32, 32)), (10, torch.ones(30, 1, 32, 32))]
    square = Image.open(io.BytesIO(plotting.snapshots_gif(snaps)))
    wide = Image.open(io.BytesIO(plotting.snapshots_gif(snaps, nrow=10)))
    # make_grid pads by 2 and frames are drawn at twice the size: 6 x 5 vs 10 x 3 images
    assert square.size == (2 * (2 + 6 * 34), 2 * (2 + 5 * 34))
    assert wide.size == (2 * (2 + 10 * 34), 2 * (2 + 3 * 34))
    assert wide.n_frames == 2
    fig = plotting.snapshots_strip(snaps, nrow=10)
    assert fig.axes[0].images[0].get_array().shape[:2] == (2 + 3 * 34, 2 + 10 * 34)


def _linear_critic(w: tuple[float, float], b: float = 0.0) -> torch.nn.Module:
    critic = torch.nn.Linear(2, 1)
    with torch.no_grad():
        critic.weight.copy_(torch.tensor([w]))
        critic.bias.fill_(b)
    return torch.nn.Sequential(critic, torch.nn.Flatten(0))  # (N, 2) -> (N,)


def test_generator_field_pulls_fakes_uphill_on_the_critic():
    critic = _linear_critic((2.0, -1.0))  # f(x) = 2 x0 - x1
    fake = torch.tensor([[0.0, 0.0], [1.0, 1.0], [-5.0, 3.0]])
    wgan = plotting.generator_field(critic, fake, loss="wasserstein", lim=1.0, n=5)
    # G's loss -f: the pull is +∇f = (2, -1) at every point, whatever its score
    np.testing.assert_allclose(wgan["pull"], [[2.0, -1.0]] * 3, rtol=1e-6)
    assert wgan["pull_norm"] == pytest.approx(5 ** 0.5)
    assert wgan["value"].shape == (5, 5) and wgan["value"][0, -1] == pytest.approx(2.0 + 1.0)
    bce = plotting.generator_field(critic, fake, loss="bce", lim=1.0, n=5)
    # -log sigmoid(l): the pull is (1 - D) ∇l, so a point D already calls real is barely pulled
    d = torch.sigmoid(torch.tensor([0.0, 1.0, -13.0])).numpy()
    np.testing.assert_allclose(bce["pull"], (1 - d)[:, None] * np.array([[2.0, -1.0]]),
                               rtol=1e-5)
    assert 0 < bce["value"].min() and bce["value"].max() < 1 and bce["label"] == "D(x)"
    with pytest.raises(ValueError, match="'bce' or 'wasserstein'"):
        plotting.generator_field(critic, fake, loss="minimax")


def test_generator_field_figure_draws_a_panel_per_model_and_moment():
    critic = _linear_critic((1.0, 0.0))
    fake = torch.randn(20, 2, generator=torch.Generator().manual_seed(0))
    fields = {name: [(step, plotting.generator_field(critic, fake, loss, n=8))
                     for step in (0, 10, 20)]
              for name, loss in (("BCE GAN", "bce"), ("WGAN-GP", "wasserstein"))}
    fig = plotting.generator_field_figure(fields, modes=torch.zeros(1, 2), arrows=5)
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert len(panels) == 6 and panels[4].get_title().startswith("WGAN-GP, step 10")
    assert len(panels[0].collections[-2].get_offsets()) == 5  # the arrows' quiver
    assert plotting.fig_to_png(fig)[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="at least one recorded moment"):
        plotting.generator_field_figure({"BCE GAN": []})
