"""Tests for ganlib.judge: input checks, a tiny real training run, the cache, the real judge."""

from __future__ import annotations

import time

import pytest
import torch

from ganlib import judge as judge_module
from ganlib.data import load
from ganlib.judge import Judge, judge_path, load_judge, prepare_images, train_judge
from ganlib.metrics import class_stats, frechet_distance

TINY = {"epochs": 2, "limit": 600, "verbose": False}  # trains in a few seconds


@pytest.fixture
def tmp_data(tmp_path, monkeypatch):
    monkeypatch.setenv("GANLIB_DATA", str(tmp_path))
    return tmp_path


# --- input checks --------------------------------------------------------------------------------


def test_prepare_images_converts_rgb_and_size():
    x = torch.rand(4, 3, 64, 64) * 2 - 1
    out = prepare_images(x)
    assert out.shape == (4, 1, 32, 32) and out.dtype == torch.float32
    flat = torch.full((2, 3, 32, 32), 0.5)
    assert torch.equal(prepare_images(flat), torch.full((2, 1, 32, 32), 0.5))
    assert prepare_images(torch.zeros(2, 32, 32)).shape == (2, 1, 32, 32)


@pytest.mark.parametrize(
    "bad, match",
    [
        (torch.zeros(2, 2, 32, 32), "shape"),
        (torch.zeros(2, 1, 32, 28), "shape"),
        (torch.zeros(2, 1, 32, 32, dtype=torch.uint8), "dtype"),
        (torch.full((2, 1, 32, 32), 255.0), "127.5"),
    ],
)
def test_prepare_images_rejects_bad_input(bad, match):
    with pytest.raises(ValueError, match=match):
        prepare_images(bad)


def test_shapes_and_predict_restores_train_mode():
    model = Judge()
    x = torch.rand(7, 1, 32, 32) * 2 - 1
    assert model.features(x).shape == (7, 128) and model(x).shape == (7, 10)
    model.train()
    probs, feats = model.predict(x, batch_size=3)
    assert model.training
    assert probs.shape == (7, 10) and feats.shape == (7, 128)
    torch.testing.assert_close(probs.sum(dim=1), torch.ones(7))
    torch.testing.assert_close(model.predict_proba(x, batch_size=500), probs)
    torch.testing.assert_close(model.embed(x), feats)


def test_train_judge_leaves_global_rng_alone():
    digits = load("digits5k", limit=100)
    state = torch.get_rng_state()
    a = train_judge(digits.images, digits.labels, epochs=1, verbose=False)
    assert torch.equal(state, torch.get_rng_state())
    b = train_judge(digits.images, digits.labels, epochs=1, verbose=False)
    x = digits.images[:20]
    torch.testing.assert_close(a.predict_proba(x), b.predict_proba(x))  # seeded: reproducible


# --- the cache ---------------------------------------------------------------------------------


def test_tiny_training_then_cache(tmp_data, capsys):
    first = load_judge(**{**TINY, "verbose": True})
    printed = capsys.readouterr().out
    assert "held-out accuracy" in printed and "on 60 digits" in printed
    assert first.accuracy > 0.3  # chance is 0.1
    assert judge_path().exists() and judge_path().parent == tmp_data
    assert first.dataset == "digits5k"

    start = time.perf_counter()
    second = load_judge(**TINY)
    assert time.perf_counter() - start < 1.0
    assert second.accuracy == first.accuracy
    x = load("digits5k", limit=50).images
    torch.testing.assert_close(first.predict_proba(x), second.predict_proba(x), rtol=0, atol=0)


def test_other_settings_or_corrupt_cache_retrain(tmp_data, monkeypatch):
    load_judge(**TINY)
    calls = []
    real_train = judge_module.train_judge

    def counting_train(*args, **kwargs):
        calls.append(kwargs)
        return real_train(*args, **kwargs)

    monkeypatch.setattr(judge_module, "train_judge", counting_train)
    load_judge(**TINY)
    assert calls == []  # cache hit
    load_judge(**{**TINY, "epochs": 1})
    assert len(calls) == 1  # other settings: retrained
    judge_path().write_bytes(b"not a checkpoint")
    assert load_judge(**TINY).accuracy > 0.3
    assert len(calls) == 2  # corrupt cache: retrained
    load_judge(**TINY, retrain=True)
    assert len(calls) == 3


def test_load_judge_needs_labelled_images(tmp_data):
    with pytest.raises(ValueError, match="labelled"):
        load_judge("ring8", **TINY)


# --- the real judge (trains once, < 1 min, then cached in data_dir()) -----------------------------


@pytest.mark.slow
def test_real_judge_is_accurate_and_features_separate_real_from_noise():
    judge = load_judge(verbose=False)
    assert judge.accuracy >= 0.95
    digits = load("digits5k")
    perm = torch.randperm(len(digits.images), generator=torch.Generator().manual_seed(0))
    half_a, half_b = digits.images[perm[:2500]], digits.images[perm[2500:]]
    assert class_stats(judge.predict_proba(digits.images))["classes_covered"] >= 9
    noise = torch.rand(2500, 1, 32, 32, generator=torch.Generator().manual_seed(1)) * 2 - 1
    feats_a = judge.embed(half_a)
    same = frechet_distance(feats_a, judge.embed(half_b))
    to_noise = frechet_distance(feats_a, judge.embed(noise))
    assert same < 0.05 * to_noise
