"""ganlib.outputs: the run folder's files, written atomically."""

import pytest
import torch
from configs import image

from ganlib import load_generator, train
from ganlib.outputs import save_checkpoint


def test_run_folder_outputs_and_load_generator(tmp_path, tiny_images):
    out = tmp_path / "run"
    train(image("dcgan"), tiny_images, out=out, progress=False)
    for name in ("checkpoint.pt", "history.csv", "samples.png", "progress.gif"):
        assert (out / name).stat().st_size > 0, name
    assert (out / "progress.gif").read_bytes()[:6] == b"GIF89a"
    assert (out / "history.csv").read_text().splitlines()[0].startswith("step,time,d_loss")
    G = load_generator(out)
    x = G.sample(5)
    assert x.shape == (5, 1, 32, 32) and x.abs().max() <= 1 and not G.training
    assert not list(out.glob("*.tmp"))


def test_checkpoint_write_is_atomic(tmp_path, tiny_images, monkeypatch):
    run = train(image(), tiny_images, out=tmp_path, progress=False)
    before = (tmp_path / "checkpoint.pt").read_bytes()

    def crash(obj, f):
        open(f, "wb").write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(OSError):
        save_checkpoint(run, tmp_path / "checkpoint.pt")
    assert (tmp_path / "checkpoint.pt").read_bytes() == before
    assert not list(tmp_path.glob(".*tmp"))


def test_tensorboard_missing_is_a_clear_error(monkeypatch, tiny_images, tmp_path):
    import builtins

    real_import = builtins.__import__

    def no_tb(name, *args, **kw):
        if name == "torch.utils.tensorboard":
            raise ImportError("no tensorboard")
        return real_import(name, *args, **kw)

    monkeypatch.setattr(builtins, "__import__", no_tb)
    with pytest.raises(ValueError, match="pip install tensorboard"):
        train(image(log_dir=str(tmp_path / "tb")), tiny_images, progress=False)
