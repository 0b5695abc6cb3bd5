import importlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ganlib import load_checkpoint
from ganlib.__main__ import main

TRAIN = importlib.import_module("ganlib.train")  # the module (ganlib.train is the function)


def test_train_writes_a_run_folder_with_metrics(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["train", "--model", "wgan-gp", "--data", "ring8", "--steps", "3",
                 "--width", "8", "--batch-size", "16", "--out", str(out), "--device", "cpu"])
    assert code == 0
    for name in ("checkpoint.pt", "history.csv", "samples.png", "progress.gif", "metrics.json"):
        assert (out / name).exists(), name
    results = json.loads((out / "metrics.json").read_text())
    assert results["steps"] == 3 and results["n_modes"] == 8
    assert "modes" in capsys.readouterr().out
    # --resume continues the same run
    assert main(["train", "--model", "wgan-gp", "--data", "ring8", "--steps", "5", "--width",
                 "8", "--batch-size", "16", "--out", str(out), "--resume", "--no-metrics"]) == 0
    assert "trained 5 generator steps" in capsys.readouterr().out
    # the run says where it trained: the tests pin one thread (conftest.py)
    assert main(["train", "--model", "wgan-gp", "--data", "ring8", "--steps", "6", "--width",
                 "8", "--batch-size", "16", "--out", str(out), "--resume", "--no-metrics"]) == 0
    assert "(cpu, 1 thread(s))" in capsys.readouterr().out


@pytest.mark.parametrize("argv,message", [
    (["train", "--data", "mnst", "--steps", "1"], "unknown data set 'mnst'"),
    (["train", "--n-critic", "0", "--data", "ring8", "--model", "wgan"],
     "error: --n-critic must be a whole number >= 1, got 0"),
    (["train", "--clip", "-1", "--data", "ring8", "--model", "wgan"],
     "error: --clip must be a finite number > 0"),
    # accepted nonsense, once: NaN turned the penalty off, inf clipped nothing, width 0 became 32
    (["train", "--gp-lambda", "nan", "--data", "ring8", "--model", "wgan-gp"],
     "error: --gp-lambda must be a finite number >= 0 (0 turns the gradient penalty off), "
     "got nan"),
    (["train", "--clip", "inf", "--data", "ring8", "--model", "wgan"],
     "error: --clip must be a finite number > 0 (weights are clipped to [-c, c]) or None to "
     "turn clipping off, got inf"),
    (["train", "--width", "0", "--data", "ring8", "--model", "gan"],
     "error: --width must be a whole number >= 1, got 0"),
    (["train", "--lr", "inf", "--data", "ring8", "--model", "gan"],
     "error: --lr must be a finite number > 0, got inf"),
    (["train", "--data", "digits5k", "--batch-size", "6000", "--steps", "1"], "larger than"),
    (["train", "--data", "/no/such/folder"], "no/such/folder"),
    (["train", "--size", "48"], "error: --size must be 32 or 64 (the image sides the DCGAN nets "
     "are built for), got 48"),
    (["train", "--model", "cwgan-gp", "--data", "ring8"],
     "error: cwgan-gp needs labels, and 'ring8' has none; use a labelled set such as digits5k"),
])
def test_bad_input_is_one_clear_sentence(argv, message, tmp_path, capsys):
    assert main([*argv, "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x" / "checkpoint.pt").exists()


def test_unknown_model_is_rejected_by_argparse(capsys):
    with pytest.raises(SystemExit) as e:
        main(["train", "--model", "vae"])
    assert e.value.code == 2 and "invalid choice" in capsys.readouterr().err


def test_there_is_no_bench_command_and_unknown_options_are_refused(capsys):
    # the benchmark is benchmarks/bench.py, outside the package
    with pytest.raises(SystemExit) as e:
        main(["bench"])
    assert e.value.code == 2 and "invalid choice: 'bench'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["judge", "--no-such-option"])
    assert "unrecognized arguments: --no-such-option" in capsys.readouterr().err


@pytest.mark.parametrize("model", ["wgan-gp", "cwgan-gp"])
def test_clip_on_a_penalised_model_asks_for_gp_lambda_instead_of_dropping_it(model, tmp_path,
                                                                            capsys):
    # it once set λ to 0 without a word: a WGAN with clipping under the name wgan-gp
    assert main(["train", "--model", model, "--data", "digits5k", "--clip", "0.01",
                 "--out", str(tmp_path / "x")]) == 2
    assert capsys.readouterr().err == (
        f"error: --clip with --model {model} needs --gp-lambda too: 0 to clip instead of the "
        "gradient penalty, or L > 0 for both; for the WGAN of Arjovsky et al. use --model wgan "
        "--clip C\n")
    assert not (tmp_path / "x").exists()


class Stop(Exception):
    """Raised by a stand-in for ganlib.train.train once it has seen the config."""


@pytest.mark.parametrize("gp_lambda", ["0", "10"])
def test_clip_with_gp_lambda_trains_what_it_says(gp_lambda, tmp_path, monkeypatch):
    seen = []

    def record(config, *args, **kwargs):
        seen.append(config)
        raise Stop

    monkeypatch.setattr(TRAIN, "train", record)
    with pytest.raises(Stop):
        main(["train", "--model", "wgan-gp", "--data", "ring8", "--clip", "0.01",
              "--gp-lambda", gp_lambda, "--out", str(tmp_path / "x")])
    assert (seen[0].clip_value, seen[0].gp_lambda) == (0.01, float(gp_lambda))


@pytest.mark.parametrize("bug", [RuntimeError("a bug"), KeyError("a bug"), TypeError("a bug")])
def test_a_bug_shows_its_traceback_instead_of_an_error_line(bug, tmp_path, monkeypatch, capsys):
    def broken(*args, **kwargs):
        raise bug

    monkeypatch.setattr(TRAIN, "train", broken)
    with pytest.raises(type(bug)):
        main(["train", "--data", "ring8", "--model", "gan", "--out", str(tmp_path / "x")])
    assert "error:" not in capsys.readouterr().err


def start_training(out, *extra):
    """`python -m ganlib train` on ring8 in a subprocess, for a minute unless stopped."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1]), "GANLIB_THREADS": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "ganlib", "train", "--model", "gan", "--data", "ring8",
         "--width", "8", "--seconds", "60", "--device", "cpu", "--out", str(out), *extra],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(path, alive=lambda: True, timeout=180):
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert alive() and time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def test_sigterm_finishes_the_step_saves_everything_and_exits_143(tmp_path):
    # timeout, kill, schedulers and Jupyter's restart send SIGTERM: the run must not be lost
    out = tmp_path / "run"
    proc = start_training(out, "--checkpoint-every", "0.2")
    wait_for(out / "checkpoint.pt", lambda: proc.poll() is None)  # training is under way
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 143, stderr
    assert "Interrupted (SIGTERM) at step" in stdout and "Traceback" not in stderr
    for name in ("checkpoint.pt", "history.csv", "samples.png", "progress.gif"):
        assert (out / name).exists(), name
    step = int(stdout.split("Interrupted (SIGTERM) at step ")[1].split(":")[0])
    assert load_checkpoint(out / "checkpoint.pt").step == step > 0
    # a hard kill loses at most the time since the last periodic checkpoint
    proc = start_training(out, "--checkpoint-every", "0.2", "--resume")
    time.sleep(0.5)
    wait_for(out / "history.csv", lambda: proc.poll() is None)
    while load_checkpoint(out / "checkpoint.pt").step == step:  # a newer periodic checkpoint
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.1)
    proc.kill()
    proc.communicate()
    assert load_checkpoint(out / "checkpoint.pt").step > step


@pytest.mark.parametrize("signum,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143),
                                         (signal.SIGHUP, 129)])
def test_a_signal_stops_the_cli_after_saving_with_128_plus_its_number(
        signum, code, tmp_path, capsys):
    out = tmp_path / "run"

    def send_when_training():
        wait_for(out / "checkpoint.pt")
        os.kill(os.getpid(), signum)

    threading.Thread(target=send_when_training, daemon=True).start()
    assert main(["train", "--model", "gan", "--data", "ring8", "--width", "8", "--seconds",
                 "60", "--device", "cpu", "--out", str(out), "--checkpoint-every", "0.1"]) == code
    stdout = capsys.readouterr().out
    step = int(stdout.split(f"Interrupted ({signal.Signals(signum).name}) at step ")[1]
               .split(":")[0])
    assert load_checkpoint(out / "checkpoint.pt").step == step > 0
    assert (out / "samples.png").exists() and not (out / "metrics.json").exists()


@pytest.mark.parametrize("where,message", [
    ("/sys/kernel/ganrun", "cannot write to the run folder /sys/kernel/ganrun (--out): "),
    ("a_file", "it is a file; choose another folder"),
    ("", "the run folder (--out) is empty; name one, e.g. --out runs/first"),
])
def test_an_unusable_out_is_refused_before_any_work(where, message, tmp_path, monkeypatch,
                                                    capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a_file").write_text("keep me")
    monkeypatch.setattr("ganlib.data.load", lambda *a, **k: pytest.fail("data was loaded"))
    assert main(["train", "--data", "ring8", "--model", "gan", "--steps", "2",
                 "--out", where]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert (tmp_path / "a_file").read_text() == "keep me"
    assert not (tmp_path / "history.csv").exists()


def test_divergence_is_one_line_with_the_exceptions_advice_and_what_was_kept(
        tmp_path, monkeypatch, capsys):
    out, raised, train = tmp_path / "run", [], TRAIN.train

    def train_and_keep_the_error(*args, **kwargs):
        try:
            return train(*args, **kwargs)
        except TRAIN.TrainingDiverged as e:
            raised.append(e)
            raise

    monkeypatch.setattr(TRAIN, "train", train_and_keep_the_error)
    assert main(["train", "--model", "wgan-gp", "--data", "ring8", "--lr", "1e20", "--steps",
                 "20", "--width", "8", "--device", "cpu", "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip()
    assert str(raised[0]).startswith("the generator loss became nan at step 1;")
    # the advice is the exception's own, in one wording; the CLI adds what the folder holds
    assert err.splitlines()[-1] == (
        f"error: training diverged: {raised[0]} {out}/checkpoint.pt holds step 0: --resume "
        "continues from it, --overwrite starts again.")
    assert "Traceback" not in err


# ----------------------------------------------------------------------------------------------
# Recovery on one machine (issue 26, item 6)
# ----------------------------------------------------------------------------------------------

TOY = ["--model", "wgan-gp", "--data", "ring8", "--width", "8", "--device", "cpu",
       "--no-metrics"]


def test_the_divergence_advice_leads_out_of_the_divergence(tmp_path, capsys):
    # lr 1e6: after one step the critic's weights are ~1e6 and the generator's Adam moments
    # inf. Following the advice, word for word, must end in a run that trains.
    import re

    out, argv = tmp_path / "run", [*TOY, "--steps", "30", "--lr", "1e6"]
    tried = []
    for _ in range(3):
        code = main(["train", *argv, "--out", str(out)])
        err = capsys.readouterr().err.strip().splitlines()[-1]  # after the progress bar
        if code == 0:
            break
        assert code == 1 and err.startswith("error: training diverged: "), err
        lr = re.search(r"lr_g=([0-9.e+-]+), lr_d=", err).group(1)
        again = "start again" in err  # else: resume from the step it names
        tried.append((lr, again))
        argv = [*TOY, "--steps", "30", "--lr", lr, "--overwrite" if again else "--resume"]
    assert code == 0 and load_checkpoint(out).step == 30, tried
    # the preset's rates from step 1, which diverge at once: the advice then says start again
    assert tried == [("0.002", False), ("0.0002", True)]


def test_a_plain_resume_keeps_every_setting_and_continues_exactly(tmp_path, capsys):
    # grid25: constant rates (a linear decay would restart when the budget grows)
    flags = [*TOY, "--data", "grid25", "--gp-lambda", "5", "--batch-size", "32", "--n-critic",
             "3"]
    assert main(["train", *flags, "--steps", "4", "--out", str(tmp_path / "whole")]) == 0
    part = str(tmp_path / "part")
    assert main(["train", *flags, "--steps", "2", "--out", part]) == 0
    capsys.readouterr()
    assert main(["train", "--resume", "--steps", "4", "--out", part]) == 0
    assert "Resuming with steps 4 (was 2)." in capsys.readouterr().out  # the one change
    whole, resumed = load_checkpoint(tmp_path / "whole"), load_checkpoint(part)
    assert (resumed.config.gp_lambda, resumed.config.batch_size, resumed.config.n_critic) == (
        5, 32, 3)
    assert resumed.config.to_dict() == whole.config.to_dict()
    assert resumed.history["d_loss"] == whole.history["d_loss"]


def test_rates_given_on_resume_stand_until_changed_and_lr_keeps_the_ratio(tmp_path, capsys):
    out = str(tmp_path / "run")
    assert main(["train", *TOY, "--steps", "2", "--lr", "1e-3", "--out", out]) == 0
    config = load_checkpoint(out).config
    assert (config.lr_g, config.lr_d) == (1e-3, pytest.approx(3e-3))  # the preset's 1:3
    capsys.readouterr()
    assert main(["train", "--resume", "--steps", "3", "--lr", "0.0123", "--n-critic", "2",
                 "--out", out]) == 0
    lr_d = load_checkpoint(out).config.lr_d
    assert lr_d == pytest.approx(0.0369)
    assert (f"Resuming with n_critic 2 (was 1), lr_g 0.0123 (was 0.001), lr_d {lr_d} (was "
            f"{config.lr_d}), steps 3 (was 2).") in capsys.readouterr().out
    assert main(["train", "--resume", "--steps", "4", "--out", out]) == 0
    said = capsys.readouterr().out
    assert "Resuming with steps 4 (was 3)." in said and "lr_g" not in said
    config = load_checkpoint(out).config
    assert (config.lr_g, config.lr_d, config.n_critic) == (0.0123, lr_d, 2)


def test_a_second_signal_during_the_final_save_does_not_cut_it_short(tmp_path, monkeypatch,
                                                                   capsys):
    # a cluster's cancel often arrives twice; a second Ctrl-C used to lose the whole run
    import torch

    out, real_save = tmp_path / "run", torch.save

    def slow_save(obj, f):
        os.kill(os.getpid(), signal.SIGINT)  # the second signal, in the middle of the save
        time.sleep(0.05)  # Python runs the handler here
        real_save(obj, f)

    def first_signal(run):
        if run.step == 2:
            monkeypatch.setattr(torch, "save", slow_save)
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(TRAIN, "make_hooks", lambda *a: [*MAKE_HOOKS(*a[:-1], first_signal)])
    assert main(["train", *TOY, "--steps", "50", "--out", str(out)]) == 130
    assert load_checkpoint(out).step == 2  # complete, and readable
    assert "Saving the run before stopping" in capsys.readouterr().out


MAKE_HOOKS = TRAIN.make_hooks


def test_an_overflow_without_a_nan_loss_is_said_in_one_line(tmp_path, capsys):
    out = str(tmp_path / "run")
    assert main(["train", *TOY, "--steps", "3", "--gp-lambda", "1e30", "--out", out]) == 0
    said = [line for line in capsys.readouterr().out.splitlines() if "not finite" in line]
    assert said == ["The critic's optimizer state at step 3 is not finite (an overflow: a "
                    "lower --lr or --gp-lambda avoids it); saved without it, so --resume "
                    "restarts that optimizer."]
    assert load_checkpoint(out).opt_c.state_dict()["state"] == {}


@pytest.mark.parametrize("argv,message", [
    (["train", "--amp", "--device", "cpu", "--steps", "1"], "error: --amp is for GPUs: on a "
     "CPU bfloat16 autocast is slower and changes the results; drop --amp"),
    (["train", "--model", "wgan", "--gp-lambda", "10", "--clip", "0.01", "--steps", "1"],
     "error: --critic-norm batch cannot go with the gradient penalty (--gp-lambda 10): the "
     "penalty is per sample and BatchNorm mixes the samples of a batch; use --critic-norm "
     "layer or instance"),
])
def test_settings_that_cannot_work_are_refused_in_one_line(argv, message, tmp_path, capsys):
    assert main([*argv, "--out", str(tmp_path / "x")]) == 2
    assert capsys.readouterr().err.strip() == message


def test_an_argparse_error_is_one_line_without_the_usage_text(capsys):
    with pytest.raises(SystemExit) as e:
        main(["train", "--model", "foo"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and err.count("\n") == 1 and "usage:" not in err
    assert err.startswith("error: argument --model: invalid choice: 'foo'")


@pytest.mark.parametrize("argv,message", [
    (["course", "--seed", "-3"], "error: --seed must be a whole number >= 0, got -3"),
    (["course", "--out", "/sys/kernel/ganrun"],
     "error: cannot write to --out /sys/kernel/ganrun: "),
])
def test_course_refuses_a_bad_seed_or_out_before_any_notebook_runs(argv, message, monkeypatch,
                                                                    capsys):
    import papermill

    monkeypatch.setattr(papermill, "execute_notebook",
                        lambda *a, **k: pytest.fail("a notebook ran"))
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1 and "Traceback" not in err
