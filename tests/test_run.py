"""ganlib.run: building a run, reading one back (resume, load_generator), the device."""

import math

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


def test_a_crafted_checkpoint_cannot_run_code(tmp_path):
    # a pickle that creates a file when loaded the unsafe way: load_generator must refuse it
    import builtins

    marker = tmp_path / "created"

    class Payload:
        def __reduce__(self):
            return (builtins.open, (str(marker), "w"))

    torch.save({"format": 2, "G": Payload()}, tmp_path / "checkpoint.pt")
    torch.load(tmp_path / "checkpoint.pt", weights_only=False).get("G").close()
    assert marker.exists()  # the payload works where pickles are trusted
    marker.unlink()
    with pytest.raises(ValueError, match="checkpoint.pt is not a readable checkpoint "
                                         r"\(it is not a checkpoint this program wrote: "
                                         "it holds objects other than tensors"):
        load_generator(tmp_path)
    assert not marker.exists()


@pytest.mark.parametrize("content,why", [
    (b"", "the file is empty"),
    (b"not a checkpoint at all" * 10, "the file is truncated or corrupt"),
    ("truncate", "the file is truncated or corrupt"),
])
def test_an_unreadable_checkpoint_is_one_sentence(content, why, tmp_path):
    path = tmp_path / "checkpoint.pt"
    if content == "truncate":
        train(toy(steps=1), out=tmp_path, progress=False)
        content = path.read_bytes()[:2000]
    path.write_bytes(content)
    with pytest.raises(ValueError) as err:
        load_generator(tmp_path)
    assert str(err.value) == (f"{path} is not a readable checkpoint ({why}); delete it and "
                              "train again, or put a good copy there")


def test_load_generator_of_a_missing_folder_names_that_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match=f"--out {tmp_path / 'nope'}`"):
        load_generator(tmp_path / "nope")


def test_resume_applies_a_new_learning_rate_and_says_so(tmp_path, tiny_images, capsys):
    train(image("wgan-gp", steps=2), tiny_images, out=tmp_path, progress=False)
    seen = []
    run = train(image("wgan-gp", steps=3, lr_g=1e-5, lr_d=2e-5), tiny_images, out=tmp_path,
                resume=True, progress=False,
                callback=lambda r: seen.append((r.opt_g.param_groups[0]["lr"],
                                                r.opt_c.param_groups[0]["lr"])))
    assert seen == [(1e-5, 2e-5)] and run.step == 3
    assert ("Resuming with lr_g 1e-05 (was 0.0005), lr_d 2e-05 (was 0.0005), steps 3 (was 2)."
            in capsys.readouterr().out)


def test_a_split_run_with_lr_decay_matches_an_unbroken_one(tmp_path, tiny_images):
    full = train(image("wgan-gp", steps=4, lr_decay="linear"), tiny_images, progress=False)
    train(image("wgan-gp", steps=4, lr_decay="linear"), tiny_images, out=tmp_path,
          progress=False, callback=lambda r: r.step == 2)  # stopped half way
    resumed = train(image("wgan-gp", steps=4, lr_decay="linear"), tiny_images, out=tmp_path,
                    resume=True, progress=False)
    assert resumed.history["d_loss"] == full.history["d_loss"]


@pytest.mark.parametrize("change,message", [
    ({"data": "ring8"}, "it was trained with --data digits5k, not --data ring8; use the same "
                        "--data or a new --out"),
    ({"size": 64}, "it was trained with --size 32, not --size 64"),
    ({"channels": 3}, "it was trained with --channels unset, not --channels 3"),
])
def test_resume_with_other_data_names_the_flag_that_differs(change, message, tmp_path,
                                                            tiny_images):
    train(image("dcgan"), tiny_images, out=tmp_path, progress=False)
    config = image("dcgan").to_dict() | change
    if "data" in change:  # what the command line builds for another --data
        from ganlib import preset

        config = preset("dcgan", "ring8", steps=3, device="cpu").to_dict()
    from ganlib import TrainConfig

    with pytest.raises(ValueError, match=message):
        train(TrainConfig.from_dict(config), tiny_images, out=tmp_path, resume=True,
              progress=False)


# ----------------------------------------------------------------------------------------------
# Checkpoints that are not ours, or not whole (issue 26, item 6)
# ----------------------------------------------------------------------------------------------


def test_a_checkpoint_holding_only_its_format_is_one_sentence(tmp_path):
    from ganlib import load_checkpoint

    torch.save({"format": 2}, tmp_path / "checkpoint.pt")
    with pytest.raises(ValueError, match=r"checkpoint.pt is not a ganlib checkpoint of format 2 "
                                         r"\(it has no config, data, G, critic"):
        load_checkpoint(tmp_path)


def test_a_bare_pickle_is_refused_as_not_ours_without_torchs_warning(tmp_path, recwarn):
    import pickle

    (tmp_path / "checkpoint.pt").write_bytes(pickle.dumps({"format": 2, "G": print}))
    with pytest.raises(ValueError, match=r"is not a readable checkpoint \(it is not a "
                                         r"checkpoint this program wrote: a bare pickle"):
        load_generator(tmp_path)
    assert not recwarn.list  # torch's multi-line warning would come before our sentence


def test_torchs_unsupported_global_is_matched_whatever_its_case(tmp_path, monkeypatch):
    import pickle

    train(toy(steps=1), out=tmp_path, progress=False)

    def refuse(*args, **kwargs):  # torch 2.14's wording
        raise pickle.UnpicklingError("Weights only load failed. ... WeightsUnpickler error: "
                                     "unsupported GLOBAL builtins.eval")

    monkeypatch.setattr(torch, "load", refuse)
    with pytest.raises(ValueError, match="it is not a checkpoint this program wrote: it holds "
                                         "objects other than tensors and plain values"):
        load_generator(tmp_path)


def test_float_labels_are_refused_not_truncated(tmp_path, tiny_images):
    train(image("cwgan-gp"), tiny_images, out=tmp_path, progress=False)
    G = load_generator(tmp_path)
    with pytest.raises(ValueError, match="labels must be whole class numbers in 0..9, got "
                                         "torch.float32 values"):
        G.sample(2, labels=[0.5, 1.5])
    assert G.sample(2, labels=[0, 1]).shape == (2, 1, 32, 32)


def test_a_non_finite_optimizer_state_is_saved_empty_and_restarts(tmp_path, capsys):
    # λ = 1e30: the loss stays finite (1e30 fits a float32), Adam's second moment does not
    train(toy(gp_lambda=1e30, steps=2), out=tmp_path, progress=False)
    assert ("The critic's optimizer state at step 2 is not finite (an overflow: a lower --lr "
            "or --gp-lambda avoids it); saved without it, so --resume restarts that optimizer."
            in capsys.readouterr().out)
    state = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert state["opt_c"]["state"] == {} and state["opt_g"]["state"]  # G's was finite
    assert state["opt_c"]["param_groups"][0]["lr"] == 0  # the rates kept (decayed to 0)
    run = train(toy(gp_lambda=0.1, steps=4), out=tmp_path, resume=True, progress=False)
    said = capsys.readouterr().out
    assert "The critic's optimizer restarts: the checkpoint holds no finite state for it." in said
    assert run.step == 4 and all(math.isfinite(v) for v in run.history["d_loss"])


def test_adam_is_fused_on_cpu_and_cuda_only():
    from ganlib.run import make_optimizer

    params = [torch.nn.Parameter(torch.zeros(3))]
    fused = {kind: make_optimizer(toy(), params, 1e-3, torch.device(kind)).defaults["fused"]
             for kind in ("cpu", "cuda", "mps")}
    assert fused == {"cpu": True, "cuda": True, "mps": None}
