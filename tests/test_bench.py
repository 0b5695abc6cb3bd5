"""benchmarks/bench.py: the tiny configuration runs end to end (it is not a timed test), the
paired ratios and the levers mean what they say, and the naive reference trains what ganlib
trains."""

import json
import subprocess
import sys

import pytest
import torch
from benchmark_scripts import BENCHMARKS, load_script

from ganlib import losses, preset, speed
from ganlib.data import load
from ganlib.judge import Judge
from ganlib.models import DCGANCritic
from ganlib.run import make_run

bench = load_script("bench")
naive_loop = load_script("naive")
common = load_script("_common")


@pytest.fixture
def tiny_judge():
    torch.manual_seed(0)
    judge = Judge().eval()  # untrained: the numbers are meaningless, the plumbing is not
    judge.accuracy = float("nan")
    return judge


def test_quick_bench_runs_every_part_and_writes_json(tmp_path, tiny_judge, capsys):
    out = tmp_path / "bench.json"
    result = bench.run_bench(out, quick=True, judge=tiny_judge)
    assert json.loads(out.read_text())["parts"] == list(bench.PARTS)
    assert set(result["peak"]) >= {"1"} and all(v > 0 for v in result["peak"].values())
    rows = result["throughput"]
    assert [(r["model"], r["data"]) for r in rows] == list(bench.MODELS)
    for r in rows:
        for loop in ("ganlib", "naive", "naive_reuse"):  # quick: n_critic = 1, so reuse too
            assert r[loop]["images_per_s"] > 0 and r[loop]["gflop_per_step"] > 0
        for ratio in (r["speedup"], r["speedup_vs_reuse"]):
            assert 0 < ratio["min"] <= ratio["median"] <= ratio["max"]
    dcgan, wgan_digits, wgan_ring = (r["relative"] for r in result["levers"])
    assert {"no fast_layers", "no critic first", "no fake_reuse"} <= set(dcgan)
    assert "no critic first" in wgan_digits
    assert "no fast_layers" not in wgan_ring  # the toys' MLPs have none
    table = capsys.readouterr().out
    assert "speedup" in table and "Fréchet" in table and "DCGAN tutorial" in table
    assert "no critic first" in table  # the per-layer levers reach the table


def test_paired_ratio_is_the_median_of_the_rounds_ratios():
    # rounds' ratios 2, 3 and 7: the median is 3, the mean 4, the ratio of medians 7 / 1
    rounds = [{"a": 2.0, "b": 1.0}, {"a": 9.0, "b": 3.0}, {"a": 7.0, "b": 1.0}]
    assert common.paired_ratio(rounds, "a", "b") == {"median": 3.0, "min": 2.0, "max": 7.0}


def fast_classes(run) -> set[str]:
    return {type(m).__name__ for m in [*run.G.modules(), *run.critic.modules()]
            if type(m) in speed._FAST_CLASSES}


ALL_FAST = {"ConvTranspose2dFrom1x1", "ConvTranspose2dToImage", "Conv2dFromImage"}


@pytest.mark.parametrize("lever, fast_left", [
    ("", ALL_FAST),
    ("fast_layers", set()),
    ("G first", ALL_FAST - {"ConvTranspose2dFrom1x1"}),
    ("G last", ALL_FAST - {"ConvTranspose2dToImage"}),
    ("critic first", ALL_FAST - {"Conv2dFromImage"}),
])
def test_a_fast_layer_lever_turns_off_that_layer_alone(lever, fast_left):
    data = load("digits5k", limit=64)
    run = make_run(preset("dcgan", "digits5k", width=4, batch_size=8, device="cpu"), data)
    bench.step_without(run, data, lever)()
    assert fast_classes(run) == fast_left


def test_the_other_levers_turn_off_what_they_name():
    data = load("digits5k", limit=64)
    cfg = preset("dcgan", "digits5k", width=4, batch_size=8, device="cpu")
    run = make_run(cfg, data)
    bench.step_without(run, data, "channels_last")
    assert all(p.is_contiguous() for p in run.critic.parameters())
    run = make_run(cfg, data)
    assert run.opt_g.defaults["fused"]  # what the lever turns off
    bench.step_without(run, data, "fused_adam")
    assert not run.opt_g.defaults["fused"] and not run.opt_c.defaults["fused"]
    forwards = {}
    for lever in ("", "fake_reuse"):
        run = make_run(cfg, data)
        step = bench.step_without(run, data, lever)
        calls = []
        run.G.register_forward_hook(lambda *_, calls=calls: calls.append(1))
        step()
        forwards[lever] = len(calls)
    assert forwards == {"": 1, "fake_reuse": 2}
    with pytest.raises(ValueError, match="unknown speed lever 'critic'"):
        bench.step_without(run, data, "critic")


def test_the_fake_reuse_lever_changes_only_the_fakes_of_gs_step():
    # the same real batch and the critic's fakes from the same z: the critic's update is the
    # full step's; G's step moves fresh fakes, so G's update is not
    data = load("digits5k", limit=64)
    cfg = preset("dcgan", "digits5k", width=4, batch_size=8, device="cpu", fast=False)
    runs = {}
    for lever in ("", "fake_reuse"):
        runs[lever] = make_run(cfg, data)
        bench.step_without(runs[lever], data, lever)()
        assert runs[lever].step == 1 and runs[lever].history["step"] == [1]
    full, lever = runs[""], runs["fake_reuse"]
    for a, b in zip(full.critic.parameters(), lever.critic.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert any(not torch.equal(a, b)
               for a, b in zip(full.G.parameters(), lever.G.parameters(), strict=True))


def test_only_selects_parts_and_rejects_unknown_ones():
    result = bench.run_bench(quick=True, only="peak", verbose=False)
    assert result["parts"] == ["peak"] and "throughput" not in result
    with pytest.raises(ValueError, match="unknown benchmark part"):
        bench.run_bench(quick=True, only="peak,speed", verbose=False)


def test_main_parses_arguments(tmp_path, capsys):
    out = tmp_path / "b.json"
    assert bench.main(["--quick", "--only", "peak", "--out", str(out)]) == 0
    assert "matmul peak" in capsys.readouterr().out
    assert json.loads(out.read_text())["quick"] is True


def test_the_script_says_what_is_wrong_in_one_line():
    done = subprocess.run([sys.executable, str(BENCHMARKS / "bench.py"), "--quick",
                           "--only", "speed"], capture_output=True, text=True, check=False)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].startswith("error: unknown benchmark part")
    assert "Traceback" not in done.stderr


def test_naive_loop_trains_the_same_models():
    # the reference differs from ganlib in how it loops, never in what it trains
    data = load("digits5k", limit=64)
    cfg = preset("dcgan", "digits5k", width=4, batch_size=8, device="cpu")
    naive = naive_loop.NaiveLoop(cfg, data)
    before = [p.detach().clone() for p in naive.G.parameters()]
    naive.step()
    assert naive.step_count == 1 and len(naive.losses) == 1
    assert any(not torch.equal(a, b) for a, b in zip(before, naive.G.parameters(), strict=True))
    real = naive.real_batch()
    assert real.shape == (8, 1, 32, 32)
    assert real.min() >= -1 and real.max() <= 1
    # the per-sample transforms give back exactly ganlib's pixels
    assert any(torch.allclose(real[0], img, atol=1e-6) for img in data.images)


@pytest.mark.parametrize("reuse, n_critic, forwards", [
    (False, 1, 2),  # the seeds: fakes for the critic, fresh fakes for the generator
    (True, 1, 1),  # the DCGAN tutorial: the critic step's fakes are reused
    (True, 3, 4),  # nothing to reuse across several critic steps
])
def test_naive_loop_makes_fakes_the_way_the_seeds_do(reuse, n_critic, forwards):
    data = load("digits5k", limit=64)
    cfg = preset("wgan-gp", "digits5k", width=4, batch_size=8, n_critic=n_critic, device="cpu")
    naive = naive_loop.NaiveLoop(cfg, data, reuse_fakes=reuse)
    grad_modes = []
    naive.G.register_forward_hook(lambda *_: grad_modes.append(torch.is_grad_enabled()))
    naive.step()
    assert len(grad_modes) == forwards
    assert all(grad_modes)  # every generator forward builds a graph, used or not


def test_seed_gradient_penalty_is_ganlibs_penalty():
    # the seed's way differs in cost (ε keeps a gradient), never in the number or its gradients
    torch.manual_seed(0)
    critic = DCGANCritic(width=4, norm="layer")
    real, fake = torch.randn(6, 1, 32, 32), torch.randn(6, 1, 32, 32)
    torch.manual_seed(1)
    seed = naive_loop.seed_gradient_penalty(critic, real, fake)
    g_seed = torch.autograd.grad(seed, list(critic.parameters()), allow_unused=True)
    torch.manual_seed(1)
    ours = losses.gradient_penalty(critic, real, fake, gp_lambda=1.0)[0]
    g_ours = torch.autograd.grad(ours, list(critic.parameters()), allow_unused=True)
    torch.testing.assert_close(seed, ours)
    for a, b in zip(g_seed, g_ours, strict=True):
        assert (a is None) == (b is None)
        if a is not None:
            torch.testing.assert_close(a, b)


def test_training_clock_counts_only_the_time_between_resume_and_pause(monkeypatch):
    now = [10.0]
    monkeypatch.setattr(bench.time, "perf_counter", lambda: now[0])
    clock = bench.TrainingClock()  # starts running at 10
    now[0] = 11.0
    assert clock.pause() == 1.0
    now[0] = 15.0  # 4 s of evaluation, paused
    assert clock.pause() == 1.0
    clock.resume()
    now[0] = 17.0
    assert clock.pause() == 3.0
