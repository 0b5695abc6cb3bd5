"""The benchmark runs end to end in its tiny configuration (it is not a timed test)."""

import json

import pytest
import torch

from ganlib import bench, losses, preset
from ganlib.data import load
from ganlib.judge import Judge
from ganlib.models import DCGANCritic


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
    assert [(r["model"], r["data"]) for r in rows] == [
        ("dcgan", "digits5k"), ("wgan-gp", "digits5k"), ("wgan-gp", "ring8")]
    for r in rows:
        for loop in ("ganlib", "naive"):
            assert r[loop]["images_per_s"] > 0 and r[loop]["gflop_per_step"] > 0
        assert r["speedup"] == pytest.approx(
            r["ganlib"]["steps_per_s"] / r["naive"]["steps_per_s"])
        # the quick bench uses n_critic = 1, so the DCGAN tutorial's variant is timed too
        assert r["speedup_vs_reuse"] == pytest.approx(
            r["ganlib"]["steps_per_s"] / r["naive_reuse"]["steps_per_s"])
    lever_rows = result["levers"]
    assert "no fake_reuse" in lever_rows[0]["relative"]  # dcgan: n_critic = 1
    assert "no fast_layers" in lever_rows[0]["relative"]  # images only
    assert "no fast_layers" not in lever_rows[1]["relative"]
    assert all(r["relative"]["all levers"] == 1 for r in lever_rows)
    (toy,) = result["toys"]
    assert toy["data"] == "ring8" and toy["trained_steps"] >= 1
    assert [d["loop"] for d in result["digits"]] == ["ganlib", "naive", "naive-seed"]
    for d in result["digits"]:
        assert [round(r["seconds"] * 2) for r in d["rows"]] >= [1, 2]  # evaluated at 0.5, 1 s
        assert all(0 <= r["classes_covered"] <= 10 and r["frechet"] >= 0 for r in d["rows"])
    table = capsys.readouterr().out
    assert "speedup" in table and "Fréchet" in table and "DCGAN tutorial" in table


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


def test_naive_loop_trains_the_same_models():
    # the reference differs from ganlib in how it loops, never in what it trains
    data = load("digits5k", limit=64)
    cfg = preset("dcgan", "digits5k", width=4, batch_size=8, device="cpu")
    naive = bench.NaiveLoop(cfg, data)
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
    naive = bench.NaiveLoop(cfg, data, reuse_fakes=reuse)
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
    seed = bench.seed_gradient_penalty(critic, real, fake)
    g_seed = torch.autograd.grad(seed, list(critic.parameters()), allow_unused=True)
    torch.manual_seed(1)
    ours = losses.gradient_penalty(critic, real, fake, gp_lambda=1.0)[0]
    g_ours = torch.autograd.grad(ours, list(critic.parameters()), allow_unused=True)
    torch.testing.assert_close(seed, ours)
    for a, b in zip(g_seed, g_ours, strict=True):
        assert (a is None) == (b is None)
        if a is not None:
            torch.testing.assert_close(a, b)


def test_training_clock_leaves_out_paused_time():
    clock = bench.TrainingClock()
    clock.pause()
    paused_at = clock.seconds
    import time

    time.sleep(0.05)
    assert clock.pause() == paused_at  # nothing counted while paused
    clock.resume()
    assert clock.pause() >= paused_at
