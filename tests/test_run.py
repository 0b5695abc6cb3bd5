"""ganlib.run: building a run, reading one back (resume, load_generator), the device."""

import pytest
import torch
from configs import image, toy

from ganlib import load_generator, pick_device, train


def test_resume_gives_the_uninterrupted_history(tmp_path, tiny_images):
    full = train(image("wgan-gp", steps=6), tiny_images, progress=False)
    part = tmp_path / "run"
    train(image("wgan-gp", steps=3), tiny_images, out=part, progress=False)
    resumed = train(image("wgan-gp", steps=6), tiny_images, out=part, resume=True,
                    progress=False)
    assert resumed.step == 6
    for key in ("d_loss", "g_loss", "wasserstein", "grad_norm"):
        assert resumed.history[key] == full.history[key], key
    for p, q in zip(resumed.G.parameters(), full.G.parameters(), strict=True):
        torch.testing.assert_close(p, q)


def test_conditional_load_generator_with_labels(tmp_path, tiny_images):
    train(image("cwgan-gp"), tiny_images, out=tmp_path, progress=False)
    G = load_generator(tmp_path / "checkpoint.pt")
    assert G.sample(4, labels=[3, 3, 3, 3]).shape == (4, 1, 32, 32)


def test_toy_generator_samples_points(tmp_path):
    train(toy(), out=tmp_path, progress=False)
    assert load_generator(tmp_path).sample(10).shape == (10, 2)


def test_resume_with_another_model_is_refused(tmp_path, tiny_images):
    train(image("dcgan"), tiny_images, out=tmp_path, progress=False)
    with pytest.raises(ValueError, match="cannot resume"):
        train(image("dcgan", width=8), tiny_images, out=tmp_path, resume=True, progress=False)


def test_pick_device():
    assert pick_device("cpu").type == "cpu"
    expected = ("cuda" if torch.cuda.is_available()
                else "mps" if torch.backends.mps.is_available() else "cpu")
    assert pick_device("auto").type == expected
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA"):
            pick_device("cuda")
