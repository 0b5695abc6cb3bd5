"""ganlib.plotting: what each figure draws (titles, lines, panels), checked on tiny inputs.

The inputs are made by hand: plotting draws what it is given, and computes nothing.
"""

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from ganlib import plotting
from ganlib.data import load
from ganlib.metrics import CoverageRecorder


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


def test_coverage_figure_and_strip():
    data = load("ring8")
    rec = CoverageRecorder(data, every=10, n=200)

    def on_four_modes(n, generator=None):  # a G whose points sit exactly on 4 of the 8 modes
        return data.modes[torch.randint(4, (n,), generator=generator)].clone()

    G = SimpleNamespace(sample=on_four_modes)
    snapshots = []
    for step in range(0, 31, 10):
        if step:
            rec(SimpleNamespace(step=step, G=G))
        snapshots.append((step, G.sample(64, generator=torch.Generator().manual_seed(step))))
    fig = plotting.coverage_figure({"toy": rec}, n_modes=8, title="t")
    left, right = fig.axes
    assert list(left.lines[0].get_ydata()) == [4, 4, 4]
    assert list(right.lines[0].get_ydata()) == [100.0, 100.0, 100.0]
    strip = plotting.coverage_strip(snapshots, rec, data.modes, k=3)
    titles = [ax.get_title() for ax in strip.axes]
    assert titles[0] == "step 0\n"  # nothing recorded at step 0
    assert titles[-1] == "step 30\n4/8 modes"
    assert len(strip.axes) == 3
    with pytest.raises(ValueError, match="no snapshots"):
        plotting.coverage_strip([], rec, data.modes)


def test_sweep_figure_draws_samples_and_one_panel_per_metric():
    values = [0.001, 0.01, 0.1]
    results = [{"modes_captured": k, "w1": 1.0 / (k + 1)} for k in (0, 6, 4)]
    samples = [torch.randn(50, 2) for _ in values]
    modes = torch.tensor([[1.0, 0.0], [-1.0, 0.0]])
    fig = plotting.sweep_figure(values, results, ("modes_captured", "w1"), samples, modes)
    titles = [ax.get_title() for ax in fig.axes]
    assert "c=0.01" in titles and "modes_captured" in titles and "w1" in titles
    assert len(fig.axes) == 3 + 2
    assert plotting.fig_to_png(fig)[:4] == b"\x89PNG"
    assert len(plotting.sweep_figure(values, results, ("w1",)).axes) == 1  # metrics only
    log_fig = plotting.sweep_figure(values, results, ("w1",), log_keys=("w1",))
    assert log_fig.axes[0].get_yscale() == "log"
    with pytest.raises(ValueError, match="lack the keys"):
        plotting.sweep_figure(values, results, ("reverse_kl",))
    with pytest.raises(ValueError, match="one result"):
        plotting.sweep_figure(values[:2], results, ("w1",))


def test_critic_landscape_draws_the_values_it_is_given():
    xs = torch.linspace(-2.0, 2.0, 11)
    values = xs.repeat(11, 1)  # f(x) = x_0: rises from left to right
    fig = plotting.critic_landscape(xs, values, real=torch.zeros(3, 2), title="f")
    ax = fig.axes[0]
    assert ax.get_xlim() == (-2.0, 2.0) and ax.get_title() == "f"
    levels = ax.collections[0].levels  # the filled contour's levels span f's range
    assert levels[0] <= -2.0 and levels[-1] >= 2.0


def test_critic_panel_figure_draws_weights_or_norms():
    xs = torch.linspace(-1.0, 1.0, 5)
    base = {"xs": xs, "value": torch.zeros(5, 5), "real": torch.zeros(4, 2),
            "fake": torch.ones(4, 2)}
    history = {"step": [1, 2], "wasserstein": [0.5, 0.25], "w_at_clip": [0.5, 0.375]}
    clip = plotting.critic_panel_figure({**base, "clip_value": 0.01,
                                         "weights": torch.tensor([-0.01, 0.0, 0.01])},
                                        history, title="clip")
    assert clip.axes[2].get_title() == "critic weights (38% at ±c)"
    assert [line.get_xdata()[0] for line in clip.axes[2].lines] == [-0.01, 0.01]  # ±c
    assert clip._suptitle.get_text() == "clip"
    gp = plotting.critic_panel_figure({**base, "clip_value": None,
                                       "norms": torch.tensor([0.5, 1.5, 1.0])}, history)
    assert gp.axes[2].get_title() == "gradient norms at interpolates (mean 1.00)"
    assert gp._suptitle is None


def test_evenly_spaced_picks_first_and_last():
    assert plotting._evenly_spaced(10, 4).tolist() == [0, 3, 6, 9]
    assert plotting._evenly_spaced(3, 6).tolist() == [0, 1, 2]  # never more than there are
    assert plotting._evenly_spaced(1, 5).tolist() == [0]


def test_generator_field_figure_draws_a_panel_per_model_and_moment():
    xs = np.linspace(-1.0, 1.0, 8)
    fake = np.random.default_rng(0).normal(size=(20, 2))
    field = {"xs": xs, "value": np.tile(xs, (8, 1)), "fake": fake, "pull": np.ones((20, 2)),
             "pull_norm": 2 ** 0.5, "label": "f(x)"}  # what gradients.generator_field returns
    fields = {name: [(step, field) for step in (0, 10, 20)] for name in ("BCE GAN", "WGAN-GP")}
    fig = plotting.generator_field_figure(fields, modes=torch.zeros(1, 2), arrows=5)
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert len(panels) == 6 and panels[4].get_title().startswith("WGAN-GP, step 10")
    assert len(panels[0].collections[-2].get_offsets()) == 5  # the arrows' quiver
    assert plotting.fig_to_png(fig)[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="at least one recorded moment"):
        plotting.generator_field_figure({"BCE GAN": []})
