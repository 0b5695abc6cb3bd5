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
