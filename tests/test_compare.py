"""benchmarks/compare.py runs every method at every budget in its tiny configuration.

An untrained judge stands in for the digit judge (its minute of training is not what is tested):
the scores are then meaningless, but every row must still have them, in range, and the
bookkeeping (steps, images per second) must add up.
"""

import importlib.util
import json
import math
import sys
from pathlib import Path

import pytest
import torch

from ganlib.judge import Judge

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "compare.py"
BATCH = {"ganlib-dcgan": 16, "ganlib-wgan-gp": 16 * 2}  # tiny batch x n_critic (presets)


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


def test_tiny_comparison_has_every_method_and_budget(compare, tiny_judge, tmp_path):
    methods = ["ganlib-dcgan", "ganlib-wgan-gp", "pytorch-dcgan"]
    argv = ["--budgets", "1,2", "--out", str(tmp_path), "--methods", ",".join(methods),
            "--tiny", "--n", "100"]
    result = compare.main(argv, judge=tiny_judge)

    rows = {(r["method"], r["budget_s"]): r for r in result["rows"]}
    assert set(rows) == {(m, b) for m in methods for b in (1.0, 2.0)}
    for (method, budget), r in rows.items():
        assert "stopped" not in r, r
        assert r["steps"] >= 1 and r["device"] == "cpu"
        assert budget <= r["train_s"] < budget + 5  # the clock stops right after the budget
        assert math.isfinite(r["frechet"]) and r["frechet"] >= 0
        assert 1 <= r["classes_covered"] <= 10 and 0.1 <= r["confidence"] <= 1
        if method in BATCH:  # every step trains on a known number of real images
            assert r["images_per_s"] * r["train_s"] == pytest.approx(r["steps"] * BATCH[method],
                                                                     rel=1e-2)
    assert rows["ganlib-dcgan", 2.0]["steps"] > rows["ganlib-dcgan", 1.0]["steps"]

    assert json.loads((tmp_path / "compare.json").read_text())["rows"] == result["rows"]
    table = (tmp_path / "compare.md").read_text()
    assert all(f"| {m} | {b} |" in table for m in methods for b in (1, 2))


def test_dcgan_example_nets_draw_32x32_digits(compare):
    G, D = compare.dcgan_example_nets(nz=100, ngf=4, ndf=4)
    fake = G(torch.randn(3, 100))
    assert fake.shape == (3, 1, 32, 32) and fake.abs().max() <= 1
    assert D(fake).shape == (3,) and ((D(fake) > 0) & (D(fake) < 1)).all()


def test_a_missing_extra_is_reported_not_raised(compare, tiny_judge, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "lightweight_gan", None)  # import raises ModuleNotFound
    argv = ["--budgets", "1", "--out", str(tmp_path), "--methods", "lightweight-gan", "--tiny"]
    (row,) = compare.main(argv, judge=tiny_judge)["rows"]
    assert row["stopped"].startswith("not installed") and ".[compare]" in row["stopped"]
    assert "lightweight-gan: not installed" in (tmp_path / "compare.md").read_text()


def test_lightweight_gan_runs_or_says_which_line_stops_it(compare, tiny_judge, tmp_path):
    if importlib.util.find_spec("lightweight_gan") is None:
        pytest.skip("lightweight-gan is not installed: pip install -e '.[compare]'")
    argv = ["--budgets", "2", "--out", str(tmp_path), "--methods", "lightweight-gan", "--tiny",
            "--n", "100"]
    (row,) = compare.main(argv, judge=tiny_judge)["rows"]
    if torch.cuda.is_available():
        assert "stopped" not in row, row
        assert row["steps"] >= 1 and math.isfinite(row["frechet"])
    else:  # 1.2.1 asserts at import that CUDA is there
        assert row["stopped"].startswith("lightweight_gan/lightweight_gan.py:"), row
        assert "AssertionError" in row["stopped"] and "CUDA" in row["stopped"]
