"""benchmarks/compare_commits.py: the paired ratios, the variants' plain layers, and the step
it times on a checkout of either layout (the step that records, and the step that returns its
numbers for the loop to record)."""

import importlib
from types import SimpleNamespace

from benchmark_scripts import load_script

from ganlib import preset
from ganlib.data import load
from ganlib.run import make_run

compare_commits = load_script("compare_commits")


def test_compare_summarises_paired_ratios_and_utilisation():
    # seconds per step; new/old speed ratios per round 2, 1.25 and 0.5: median 1.25
    rounds = [{"old": 2.0, "new": 1.0}, {"old": 5.0, "new": 4.0}, {"old": 1.0, "new": 2.0}]
    row = compare_commits.summarise("dcgan", 1, 20, rounds, {"old": 3.0, "new": 3.0}, 10.0)
    new = row["sides"]["new"]
    assert (new["ratio_median"], new["ratio_min"], new["ratio_max"]) == (1.25, 0.5, 2.0)
    assert row["sides"]["old"]["ratio_median"] == 1.0 and row["seconds_per_step"] == rounds
    assert new["steps_per_s"] == 0.5  # the median step takes 2 s
    assert new["gflops"] == 1.5 and new["share_of_peak"] == 0.15


def fast_classes(net) -> set[str]:
    return {type(m).__name__ for m in net.modules() if type(m).__module__ == "ganlib.speed"}


def test_compare_variant_makes_the_named_fast_layers_plain():
    data = load("digits5k", limit=64)
    run = make_run(preset("dcgan", "digits5k", width=4, batch_size=8, device="cpu"), data)
    assert fast_classes(run.critic) == {"Conv2dFromImage"}
    assert compare_commits.make_plain(run.critic, {"Conv2dFromImage"}) == {"Conv2dFromImage"}
    assert fast_classes(run.critic) == set()
    assert compare_commits.make_plain(run.G, {"all"}) == {"ConvTranspose2dFrom1x1",
                                                          "ConvTranspose2dToImage"}
    assert fast_classes(run.G) == set()


def test_the_timed_step_records_the_history_in_either_layout():
    data = load("digits5k", limit=64)
    run = make_run(preset("dcgan", "digits5k", width=4, batch_size=8, device="cpu"), data)
    step = compare_commits.loop_step(importlib.import_module("ganlib.train"))
    step(run, data)
    step(run, data)
    assert run.step == 2 and run.history["step"] == [1, 2]  # updated and recorded, as train()
    # an old checkout's step recorded the history itself and returned nothing: nothing more
    calls = []
    for old in (SimpleNamespace(train_step=lambda run, data: calls.append("train_step"),
                                record=lambda run, numbers: calls.append("record")),
                SimpleNamespace(train_one_step=lambda run, data: calls.append("train_one_step"),
                                record=lambda run, numbers: calls.append("record"))):
        compare_commits.loop_step(old)(run, data)
    assert calls == ["train_step", "train_one_step"]
