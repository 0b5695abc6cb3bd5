"""benchmarks/compare.py runs every row past every mark in its tiny configuration.

An untrained judge stands in for the digit judge (its minute of training is not what is tested):
the scores are then meaningless, but every row must still have them, in range, a sample grid,
and bookkeeping (steps, clock, images per second) that adds up.
"""

import importlib.util
import json
import math
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image

from ganlib.judge import Judge

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "compare.py"
# real images per generator step in the tiny configuration: batch 16 x critic steps per G step
PER_STEP = {"pytorch-dcgan": 16, "pytorch-dcgan@16": 16, "ganlib-dcgan": 16,
            "ganlib-dcgan@64": 16, "ganlib-wgan-gp": 16 * 2}


def real_images(method: str, steps: int) -> int:
    """Real images a tiny row trains on in `steps` generator steps: the example's epochs of
    5,000 digits end with a batch of 5,000 mod 16 = 8."""
    if not method.startswith("pytorch-dcgan"):
        return steps * PER_STEP[method]
    epochs, rest = divmod(steps, math.ceil(5000 / 16))
    return epochs * 5000 + rest * 16


@pytest.fixture(scope="module")
def compare():
    spec = importlib.util.spec_from_file_location("compare", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["compare"] = module  # dataclasses look their module up while it is executed
    spec.loader.exec_module(module)
    yield module
    del sys.modules["compare"]


@pytest.fixture
def tiny_judge():
    torch.manual_seed(0)
    return Judge().eval()


def test_tiny_comparison_has_every_row_at_every_mark(compare, tiny_judge, tmp_path):
    rows_run = list(PER_STEP)
    argv = ["--budgets", "1,2", "--steps", "3,10", "--out", str(tmp_path), "--methods",
            ",".join(rows_run), "--tiny", "--n", "100"]
    result = compare.main(argv, judge=tiny_judge)

    rows = {(r["method"], r["kind"], r["mark"]): r for r in result["rows"]}
    marks = [("budget", 1.0), ("budget", 2.0), ("steps", 3), ("steps", 10)]
    assert set(rows) == {(m, *mark) for m in rows_run for mark in marks}
    for (method, kind, mark), r in rows.items():
        assert "stopped" not in r, r
        assert r["device"] == "cpu" and r["load_1min"] >= 0
        if kind == "budget":  # the CPU clock stops at the first step past the budget
            assert mark <= r["clock_s"] < mark + 1 and r["steps"] >= 1
        else:
            assert r["steps"] == mark and 0 < r["clock_s"] < 2 + 1
        assert math.isfinite(r["frechet"]) and r["frechet"] >= 0
        assert 1 <= r["classes_covered"] <= 10 and 0.1 <= r["confidence"] <= 1
        images = r["images_per_s"] * r["clock_s"]
        assert images == pytest.approx(real_images(method, r["steps"]), rel=1e-6)
        with Image.open(tmp_path / r["grid"]) as grid:  # 8 x 8 digits of 32 px, 2 px apart
            assert grid.size == (8 * 34 + 2, 8 * 34 + 2)
    steps_at = {b: rows["ganlib-dcgan", "budget", b]["steps"] for b in (1.0, 2.0)}
    assert steps_at[2.0] > steps_at[1.0]

    assert json.loads((tmp_path / "compare.json").read_text())["rows"] == result["rows"]
    table = (tmp_path / "compare.md").read_text()
    assert "At equal budget (CPU seconds)" in table and "At equal generator steps" in table
    assert all(f"| {m} | {b} |" in table for m in rows_run for b in (1, 2, 3, 10))


class FakeClock:
    """Half a second on per reading (a test moves `t` on by hand for work off the clock)."""

    def __init__(self):
        self.t = 0.0

    def __call__(self) -> float:
        self.t += 0.5
        return self.t


def test_race_copies_g_at_each_mark_and_does_not_count_copying(compare):
    clock = FakeClock()
    race = compare.Race(budgets=[1.0, 2.0], step_marks=[3], device="cpu")
    race.now = clock
    G = torch.nn.Linear(1, 1)

    def copy_G():
        clock.t += 100.0  # a slow copy: outside the clock
        return compare.copy.deepcopy(G)

    race.start()
    done = []
    while not done or not done[-1]:
        with torch.no_grad():
            G.weight.fill_(race.steps + 1.0)  # "training"
        done.append(race.step_done(5, copy_G))
    # every step costs 0.5 s on the clock: budget 1 at step 2, steps 3, budget 2 at step 4
    assert [(s.kind, s.mark, s.steps, s.seconds, s.images) for s in race.snapshots] == [
        ("budget", 1.0, 2, 1.0, 10), ("steps", 3, 3, 1.5, 15), ("budget", 2.0, 4, 2.0, 20)]
    assert [s.G.weight.item() for s in race.snapshots] == [2.0, 3.0, 4.0]  # copies, not G
    assert done == [False, False, False, True]


def test_rows_run_in_processes_give_the_same_rows(compare, tmp_path):
    argv = ["--budgets", "0.5", "--steps", "2", "--out", str(tmp_path), "--n", "100", "--tiny",
            "--methods", "pytorch-dcgan@16,ganlib-dcgan", "--jobs", "2"]
    rows = compare.main(argv)["rows"]  # each process loads the cached digit judge
    assert [(r["method"], r["kind"], r["mark"]) for r in rows] == [
        ("pytorch-dcgan@16", "budget", 0.5), ("pytorch-dcgan@16", "steps", 2),
        ("ganlib-dcgan", "budget", 0.5), ("ganlib-dcgan", "steps", 2)]
    assert all((tmp_path / r["grid"]).is_file() for r in rows)
    assert rows[1]["steps"] == rows[3]["steps"] == 2


def test_dcgan_example_nets_draw_32x32_digits(compare):
    G, D = compare.dcgan_example_nets(nz=100, ngf=4, ndf=4)
    fake = G(torch.randn(3, 100))
    assert fake.shape == (3, 1, 32, 32) and fake.abs().max() <= 1
    assert D(fake).shape == (3,) and ((D(fake) > 0) & (D(fake) < 1)).all()


def test_a_missing_extra_is_reported_not_raised(compare, tiny_judge, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "lightweight_gan", None)  # import raises ModuleNotFound
    argv = ["--lwg-budgets", "1", "--steps", "2", "--out", str(tmp_path), "--methods",
            "lightweight-gan", "--tiny"]
    rows = compare.main(argv, judge=tiny_judge)["rows"]
    assert [(r["kind"], r["mark"]) for r in rows] == [("budget", 1.0), ("steps", 2)]
    assert all(r["stopped"].startswith("not installed") and ".[compare]" in r["stopped"]
               for r in rows)
    assert "lightweight-gan: not installed" in (tmp_path / "compare.md").read_text()


def test_lightweight_gan_runs_or_says_which_line_stops_it(compare, tiny_judge, tmp_path):
    if importlib.util.find_spec("lightweight_gan") is None:
        pytest.skip("lightweight-gan is not installed: pip install -e '.[compare]'")
    argv = ["--lwg-budgets", "2", "--steps", "2", "--out", str(tmp_path), "--methods",
            "lightweight-gan", "--tiny", "--n", "100"]
    rows = compare.main(argv, judge=tiny_judge)["rows"]
    if torch.cuda.is_available():
        assert all("stopped" not in r for r in rows), rows
        assert all(r["steps"] >= 1 and math.isfinite(r["frechet"]) for r in rows)
    else:  # 1.2.1 asserts at import that CUDA is there
        row = rows[0]
        assert row["stopped"].startswith("lightweight_gan/lightweight_gan.py:"), row
        assert "AssertionError" in row["stopped"] and "CUDA" in row["stopped"]
