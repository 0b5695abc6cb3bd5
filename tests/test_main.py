import json

import pytest

from ganlib.__main__ import main


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
    (["train", "--n-critic", "0", "--data", "ring8", "--model", "wgan"], "n_critic"),
    (["train", "--clip", "-1", "--data", "ring8", "--model", "wgan"], "clip_value"),
    (["train", "--data", "digits5k", "--batch-size", "6000", "--steps", "1"], "larger than"),
    (["train", "--data", "/no/such/folder"], "no/such/folder"),
])
def test_bad_input_is_one_clear_sentence(argv, message, tmp_path, capsys):
    assert main([*argv, "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "x" / "checkpoint.pt").exists()


def test_unknown_model_is_rejected_by_argparse(capsys):
    with pytest.raises(SystemExit) as e:
        main(["train", "--model", "vae"])
    assert e.value.code == 2 and "invalid choice" in capsys.readouterr().err


def test_bench_points_to_the_script_and_others_reject_unknown_options(capsys):
    # the benchmark left the package; its old options still get the pointer, not an error
    assert main(["bench", "--quick", "--only", "peak"]) == 2
    assert "python benchmarks/bench.py" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["judge", "--no-such-option"])
    assert "unrecognized arguments: --no-such-option" in capsys.readouterr().err
