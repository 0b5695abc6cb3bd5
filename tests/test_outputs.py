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


def test_a_write_failure_during_training_says_what_failed_and_keeps_the_last_checkpoint(
        tmp_path, tiny_images, monkeypatch):
    import errno

    from ganlib.outputs import WriteFailed
    from ganlib.run import read_checkpoint

    real_save, calls = torch.save, []

    def full_disk_after_two(obj, f):
        calls.append(f)
        if len(calls) > 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_save(obj, f)

    monkeypatch.setattr(torch, "save", full_disk_after_two)
    with pytest.raises(WriteFailed) as err:
        train(image(steps=6, checkpoint_every=1e-9), tiny_images, out=tmp_path, progress=False)
    assert str(err.value) == (f"writing the run folder {tmp_path} failed at step 3 (No space "
                              f"left on device); {tmp_path / 'checkpoint.pt'} still holds step 2")
    assert len(calls) == 3  # training stopped; the end did not write over the good files
    assert read_checkpoint(tmp_path)["step"] == 2


def test_an_existing_run_is_kept_unless_resume_or_overwrite(tmp_path, tiny_images):
    from ganlib.run import read_checkpoint

    train(image(steps=3), tiny_images, out=tmp_path, progress=False)
    with pytest.raises(ValueError, match=f"^{tmp_path} already holds a run; continue it with "
                                         "--resume, replace it with --overwrite, or choose"):
        train(image(steps=1), tiny_images, out=tmp_path, progress=False)
    assert read_checkpoint(tmp_path)["step"] == 3
    train(image(steps=1), tiny_images, out=tmp_path, overwrite=True, progress=False)
    assert read_checkpoint(tmp_path)["step"] == 1


def test_a_second_run_on_a_folder_in_use_is_refused_and_a_stale_lock_is_taken_over(
        tmp_path, tiny_images):
    import os
    import subprocess

    lock = tmp_path / "train.lock"
    lock.write_text(str(os.getppid()))  # a live process other than this one holds the folder
    with pytest.raises(ValueError, match=f"^{tmp_path} is in use by another training run "
                                         rf"\(process {os.getppid()}\); wait for it to end"):
        train(image(), tiny_images, out=tmp_path, progress=False)
    assert not (tmp_path / "checkpoint.pt").exists() and lock.read_text() == str(os.getppid())
    gone = subprocess.Popen(["true"])
    gone.wait()
    lock.write_text(str(gone.pid))  # left by a killed run: its process no longer exists
    train(image(), tiny_images, out=tmp_path, progress=False)
    assert (tmp_path / "checkpoint.pt").exists() and not lock.exists()


def test_the_lock_is_held_while_training(tmp_path, tiny_images):
    import os

    seen = []
    train(image(), tiny_images, out=tmp_path, progress=False,
          callback=lambda r: seen.append((tmp_path / "train.lock").read_text()))
    assert seen == [str(os.getpid())] * 3


@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o002, 0o664)])
def test_run_files_get_the_umasks_permissions(umask, mode, tmp_path, tiny_images):
    import os

    old = os.umask(umask)
    try:
        train(image(), tiny_images, out=tmp_path, progress=False)
    finally:
        os.umask(old)
    for name in ("checkpoint.pt", "history.csv", "samples.png", "progress.gif"):
        assert (tmp_path / name).stat().st_mode & 0o777 == mode, name  # not mkstemp's 0600


# ----------------------------------------------------------------------------------------------
# The lock and the temporaries a kill leaves (issue 26, item 6)
# ----------------------------------------------------------------------------------------------


def test_a_lock_that_is_a_folder_is_one_sentence(tmp_path, tiny_images):
    (tmp_path / "train.lock").mkdir()
    with pytest.raises(ValueError, match=f"^{tmp_path / 'train.lock'} is a folder, where the run "
                                         "keeps its lock file; move it away and train again$"):
        train(image(), tiny_images, out=tmp_path, progress=False)


def test_a_lock_held_by_a_live_process_says_how_to_remove_it(tmp_path, tiny_images):
    lock = tmp_path / "train.lock"
    lock.write_text("1")  # init: alive, and no training run
    with pytest.raises(ValueError, match=r"in use by another training run \(process 1\); wait "
                                         r"for it to end or choose another --out \(if no "
                                         f"training run is using it, delete {lock}\\)$"):
        train(image(), tiny_images, out=tmp_path, progress=False)


def test_temporaries_left_by_a_kill_mid_save_are_removed_by_the_next_run(tmp_path, tiny_images):
    train(image(), tiny_images, out=tmp_path, progress=False)
    left = [tmp_path / ".checkpoint.pt.k9x2.tmp", tmp_path / ".history.csv.abc.tmp"]
    for path in left:
        path.write_bytes(b"")  # what kill -9 during a save leaves
    (tmp_path / ".notes.txt.tmp").write_text("not ours")
    train(image(steps=4), tiny_images, out=tmp_path, resume=True, progress=False)
    assert not any(path.exists() for path in left)
    assert (tmp_path / ".notes.txt.tmp").exists()
