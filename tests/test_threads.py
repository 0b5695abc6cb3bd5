"""ganlib.threads: the thread count training picks (the idle cores for images, 1 for toys)."""

import pytest

from ganlib import threads


def test_a_requested_count_wins(monkeypatch):
    monkeypatch.setenv(threads.ENV_VAR, "3")
    assert threads.pick_threads(2) == 2


def test_the_environment_variable_overrides_auto(monkeypatch):
    monkeypatch.setenv(threads.ENV_VAR, "2")
    assert threads.pick_threads(0, toy=True) == 2


@pytest.mark.parametrize("value", ["0", "two", "-1"])
def test_a_bad_environment_variable_is_a_clear_error(monkeypatch, value):
    monkeypatch.setenv(threads.ENV_VAR, value)
    with pytest.raises(ValueError, match="GANLIB_THREADS must be a whole number"):
        threads.pick_threads(0)


@pytest.mark.parametrize("idle,physical,expected", [
    (1.98, 2, 2),  # a quiet 2-core machine: both cores
    (1.75, 2, 2),  # desktop noise still counts as free
    (1.0, 2, 1),  # another process holds one core: one thread, never two
    (0.1, 2, 1),  # everything busy: still one thread
    (7.9, 4, 4),  # hyper-threads (8 logical CPUs) do not count as cores
])
def test_auto_takes_the_idle_physical_cores_for_images(monkeypatch, idle, physical, expected):
    monkeypatch.delenv(threads.ENV_VAR, raising=False)
    monkeypatch.setattr(threads, "idle_cores", lambda interval=0.1: idle)
    monkeypatch.setattr(threads, "physical_cores", lambda: physical)
    assert threads.pick_threads(0) == expected
    assert threads.pick_threads(0, toy=True) == 1  # the toys: always one


def test_idle_cores_is_a_share_of_the_machine():
    assert 0.0 <= threads.idle_cores(interval=0.05) <= __import__("os").cpu_count()
