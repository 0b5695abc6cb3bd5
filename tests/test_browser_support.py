"""How the browser tests find Chromium: without one they are skipped with one line saying how to
enable them, except where CI is set (CI=true), where they fail, so CI never skips them."""

import os
import subprocess
import sys
from pathlib import Path

from browser_support import in_ci, missing_chromium

BROWSER_TESTS = Path(__file__).parent / "test_browser.py"

MISSING = "/nonexistent/chromium"


def test_missing_browser_is_named_with_the_fix(monkeypatch, tmp_path):
    monkeypatch.setenv("GANLIB_CHROMIUM", MISSING)
    assert missing_chromium() == (
        f"no Chromium at {MISSING}: to run the browser tests, `apt-get install chromium` or set "
        "GANLIB_CHROMIUM=/path/to/chromium (they never download a browser)")
    fake = tmp_path / "chromium"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.setenv("GANLIB_CHROMIUM", str(fake))
    assert missing_chromium() is None
    for value, expected in (("true", True), ("1", True), ("false", False), ("", False)):
        monkeypatch.setenv("CI", value)
        assert in_ci() is expected


def _pytest_browser_tests(ci: str | None) -> subprocess.CompletedProcess:
    env = {**os.environ, "GANLIB_CHROMIUM": MISSING}
    env.pop("CI", None)
    if ci is not None:
        env["CI"] = ci
    # --noconftest: the outer run's conftest already prepared the smoke notebooks
    return subprocess.run([sys.executable, "-m", "pytest", str(BROWSER_TESTS), "-q",
                           "-rs", "--noconftest", "-p", "no:cacheprovider"],
                          cwd=Path(__file__).parent.parent, env=env, capture_output=True,
                          text=True, timeout=120)


def test_without_a_browser_the_tests_skip_with_how_to_enable_them():
    run = _pytest_browser_tests(ci=None)
    # 5 is pytest's "no tests collected": the module skipped itself (a failure would be 1)
    assert run.returncode == 5, run.stdout + run.stderr
    skipped = [line for line in run.stdout.splitlines() if line.startswith("SKIPPED")]
    assert len(skipped) == 1 and "SKIPPED [1]" in skipped[0], run.stdout
    assert "`apt-get install chromium` or set GANLIB_CHROMIUM=" in skipped[0]


def test_without_a_browser_under_ci_the_tests_fail():
    run = _pytest_browser_tests(ci="true")
    assert run.returncode == 1, run.stdout + run.stderr
    browser_tests = sum(line.startswith("def test_") for line in
                        (Path(__file__).parent / "test_browser.py").read_text().splitlines())
    assert f"{browser_tests} failed" in run.stdout  # every browser test fails, none skips
    assert f"no Chromium at {MISSING}: to run the browser tests" in run.stdout
    assert "skipped" not in run.stdout.lower()
