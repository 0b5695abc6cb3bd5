"""ganlib.evaluate: the numbers a finished run reports (metrics.json), and the line it prints."""

import math

import pytest
import torch
from configs import image, toy

from ganlib import evaluate, metrics, preset
from ganlib.data import ImageData, load
from ganlib.judge import Judge
from ganlib.run import make_run

FACTS = {"model", "data", "steps", "seconds", "world_size"}


def test_a_toy_run_reports_its_mode_coverage_as_toy_metrics_computes_it():
    data = load("ring8")
    run = make_run(toy(), data)
    run.step, run.elapsed = 7, 1.234
    out = evaluate.evaluate_run(run, data, n=500, seed=3)
    m = metrics.toy_metrics(run.G, data, n=500, generator=torch.Generator().manual_seed(3))
    assert out == {"model": "wgan-gp", "data": "ring8", "steps": 7, "seconds": 1.23,
                   "world_size": 1, "modes_captured": m["modes_captured"], "n_modes": 8,
                   "high_quality": m["high_quality"], "reverse_kl": m["reverse_kl"]}


def test_a_number_that_is_not_finite_becomes_none_for_json(monkeypatch):
    data = load("ring8")
    run = make_run(toy(), data)
    monkeypatch.setattr(metrics, "toy_metrics", lambda *a, **k: {
        "modes_captured": 0, "n_modes": 8, "high_quality": math.nan, "reverse_kl": math.inf})
    out = evaluate.evaluate_run(run, data)
    assert out["high_quality"] is None and out["reverse_kl"] is None
    assert out["modes_captured"] == 0


def test_digits_are_judged_and_other_image_sets_keep_only_the_runs_facts(monkeypatch):
    torch.manual_seed(0)
    judge = Judge().eval()  # untrained: the numbers mean nothing, which ones are kept does
    judge.accuracy = 0.5
    monkeypatch.setattr("ganlib.judge.load_judge", lambda *a, **k: judge)
    digits = load("digits5k", limit=64)
    run = make_run(image("dcgan"), digits)
    out = evaluate.evaluate_run(run, digits, seed=1)
    m = metrics.image_metrics(run.G, judge, digits.images, n=64,
                              generator=torch.Generator().manual_seed(1))
    assert set(out) == FACTS | {k for k, v in m.items() if not isinstance(v, list)} \
        | {"judge_accuracy"}
    assert out["frechet"] == pytest.approx(m["frechet"]) and out["judge_accuracy"] == 0.5
    # no judge for photos, nor for digits made RGB (the judge reads one channel)
    photos = ImageData("faces", digits.images[:, :1].expand(-1, 3, -1, -1).clone())
    rgb = make_run(preset("dcgan", "faces", width=4, batch_size=8, channels=3, device="cpu"),
                   photos)
    assert set(evaluate.evaluate_run(rgb, photos)) == FACTS


@pytest.mark.parametrize("results, line", [
    ({"modes_captured": 7, "n_modes": 8, "high_quality": 0.9123, "reverse_kl": 0.01234},
     "metrics: modes 7/8, high quality 91.2%, reverse KL 0.012"),
    ({"classes_covered": 9, "frechet": 12.345, "confidence": 0.876, "label_accuracy": 0.5},
     "metrics: classes covered 9/10, Fréchet distance 12.35, judge confidence 0.88, "
     "label accuracy 50.0%"),
    ({"model": "dcgan", "steps": 3}, "metrics: no judge for this data set"),
])
def test_format_metrics_is_one_line_a_person_reads(results, line):
    assert evaluate.format_metrics(results) == line
