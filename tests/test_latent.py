import pytest
import torch

from ganlib.latent import (
    class_sweep,
    interpolate,
    latent_path,
    lerp,
    noise_from_seed,
    slerp,
    walk_strip,
)
from ganlib.models import ConditionalGenerator, DCGANGenerator


def test_noise_from_seed_is_reproducible():
    torch.testing.assert_close(noise_from_seed(3, 10, 4), noise_from_seed(3, 10, 4))
    assert not torch.allclose(noise_from_seed(3, 10), noise_from_seed(4, 10))


def test_ends_and_midpoints():
    a, b = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0]])
    for f in (lerp, slerp):
        torch.testing.assert_close(f(a, b, 0.0), a)
        torch.testing.assert_close(f(a, b, 1.0), b)
    torch.testing.assert_close(lerp(a, b, 0.5), torch.tensor([[0.5, 0.5]]))
    # on the unit circle the spherical midpoint is at 45 degrees, with norm 1
    torch.testing.assert_close(slerp(a, b, 0.5), torch.tensor([[2**-0.5, 2**-0.5]]))


def test_slerp_keeps_the_norm_where_lerp_shrinks_it():
    z0, z1 = noise_from_seed(0, 100), noise_from_seed(1, 100)
    mid_l, mid_s = lerp(z0, z1, 0.5).norm(), slerp(z0, z1, 0.5).norm()
    assert mid_l < 0.8 * z0.norm()
    assert abs(mid_s - (z0.norm() + z1.norm()) / 2) < 0.1 * z0.norm()


def test_parallel_vectors_fall_back_to_lerp():
    a = torch.tensor([[1.0, 2.0]])
    torch.testing.assert_close(slerp(a, 2 * a, 0.5), lerp(a, 2 * a, 0.5))


def test_latent_path_and_errors():
    p = latent_path(noise_from_seed(0, 5), noise_from_seed(1, 5), n=6, mode="linear")
    assert p.shape == (6, 5)
    with pytest.raises(ValueError, match="linear or spherical"):
        interpolate(p[:1], p[1:2], 0.5, "cubic")
    with pytest.raises(ValueError, match="n >= 2"):
        latent_path(p[:1], p[1:2], n=1)


def test_class_sweep_keeps_z_per_column_and_changes_the_class_per_row():
    G = ConditionalGenerator(z_dim=8, n_classes=10, width=4)
    z = noise_from_seed(0, 8, 3)
    grid = class_sweep(G, z)
    assert grid.shape == (10, 3, 1, 32, 32)
    # row k, column j is exactly G(z_j, k)
    torch.testing.assert_close(grid[4, 2], G.sample(z=z[2:3], labels=[4])[0])
    assert not torch.allclose(grid[0, 0], grid[1, 0])  # the label changes the image
    assert class_sweep(G, z, classes=[7, 1]).shape == (2, 3, 1, 32, 32)
    with pytest.raises(ValueError, match="conditional"):
        class_sweep(DCGANGenerator(z_dim=8, width=4), z)


def test_walk_strip_rows_are_the_widgets_walks():
    from ganlib.widgets import walk_images

    G = DCGANGenerator(z_dim=8, width=4)
    strip = walk_strip(G, 3, 5, steps=5, n=2, mode="linear")  # (n, steps, C, H, W)
    assert strip.shape == (2, 5, 1, 32, 32)
    # column j is the widget's picture at t = j / 4; its first rows are the strip's rows
    torch.testing.assert_close(strip[:, 2], walk_images(G, 3, 5, 0.5, "linear", n=16)[:2])
    torch.testing.assert_close(strip[:, 0], G.sample(z=noise_from_seed(3, 8, 2)))
    torch.testing.assert_close(strip[:, -1], G.sample(z=noise_from_seed(5, 8, 2)))
    assert not torch.allclose(walk_strip(G, 3, 5, 5, 2, "spherical")[:, 2], strip[:, 2])
    with pytest.raises(ValueError, match="steps >= 2"):
        walk_strip(G, 3, 5, steps=1)
