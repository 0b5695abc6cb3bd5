"""Every lesson at its full budget, with its claims checked: the course's own proof.

Each test executes one course notebook with papermill at the budget its parameters cell sets (no
smoke), with the worked solutions of its exercises (`solutions=True`, which `run_course` passes
to every batch run) and the seed from GANLIB_LESSON_SEED (default 0) where the notebook declares
`seed`, and fails with the claim that did not hold. Slow (minutes each): marked `lessons`, so
`pytest -m "not lessons"` is the quick local run. Executed copies land in build/lessons/.

The notebooks choose their threads as `python -m ganlib course` does (one for the 2-D toys, the
idle cores for images), not the one thread conftest.py pins for the unit tests: the claims must
hold either way.
"""

import os

import pytest

from ganlib.course import course_notebooks, repo_root, run_course

SEED = int(os.environ.get("GANLIB_LESSON_SEED", "0"))
OUT = repo_root() / "build" / "lessons"


@pytest.mark.lessons
@pytest.mark.timeout(900)
@pytest.mark.parametrize("book", course_notebooks(), ids=lambda book: book.stem)
def test_lesson_claims_hold_at_full_budget(book, monkeypatch):
    monkeypatch.delenv("GANLIB_THREADS", raising=False)  # the kernels inherit the environment
    [result] = run_course(only=book.stem, out=OUT, seed=SEED, log=lambda *a, **k: None)
    if not result["ok"]:
        held = "".join(f"\n  {'pass' if c['holds'] else 'FAIL'}  {c['statement']}"
                       for c in result["claims"])
        pytest.fail(f"{book.stem} (seed {SEED}, {result['seconds']:.0f} s): {result['error']}"
                    f"\nclaims so far:{held or ' none'}\nexecuted notebook: "
                    f"{OUT / book.name}", pytrace=False)
    assert result["claims"], f"{book.stem} states no lesson claim (ganlib.course.claim)"
