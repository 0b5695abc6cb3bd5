import pytest
import torch

from ganlib import plotting
from ganlib.critic_panel import empirical_w1, sweep_figure


def test_empirical_w1_known_answers():
    a = torch.tensor([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]])
    assert empirical_w1(a, a) == pytest.approx(0.0)
    assert empirical_w1(a, a + torch.tensor([0.0, 3.0])) == pytest.approx(3.0)  # a shift
    # the matching, not the order, counts: a permutation of the same points is distance 0
    assert empirical_w1(a, a[[2, 0, 1]]) == pytest.approx(0.0)
    # 1-D: W1 matches sorted points; {0, 1} -> {1, 2} moves each point by 1
    assert empirical_w1(torch.tensor([[0.0], [1.0]]), torch.tensor([[2.0], [1.0]])) == \
        pytest.approx(1.0)
    with pytest.raises(ValueError, match="same shape"):
        empirical_w1(a, a[:2])


def test_sweep_figure_draws_samples_and_one_panel_per_metric():
    values = [0.001, 0.01, 0.1]
    results = [{"modes_captured": k, "w1": 1.0 / (k + 1)} for k in (0, 6, 4)]
    samples = [torch.randn(50, 2) for _ in values]
    modes = torch.tensor([[1.0, 0.0], [-1.0, 0.0]])
    fig = sweep_figure(values, results, ("modes_captured", "w1"), samples, modes)
    titles = [ax.get_title() for ax in fig.axes]
    assert "c=0.01" in titles and "modes_captured" in titles and "w1" in titles
    assert len(fig.axes) == 3 + 2
    assert plotting.fig_to_png(fig)[:4] == b"\x89PNG"
    assert len(sweep_figure(values, results, ("w1",)).axes) == 1  # metrics only
    assert sweep_figure(values, results, ("w1",), log_keys=("w1",)).axes[0].get_yscale() == "log"
    with pytest.raises(ValueError, match="lack the keys"):
        sweep_figure(values, results, ("reverse_kl",))
    with pytest.raises(ValueError, match="one result"):
        sweep_figure(values[:2], results, ("w1",))
