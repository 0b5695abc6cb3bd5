"""Run the whole course in batch: every notebook through papermill, then one HTML report.

`python -m ganlib course [--smoke] [--out DIR]` executes the six notebooks in order into DIR
(git-ignored `build/course` by default) and writes DIR/report.html with each notebook's lesson
claims (what it passed to `claim`: the claim in words, the numbers that test it, pass or fail),
its key numbers (`key_numbers`), its pictures (cells tagged `report`) and its run time.
"""

from __future__ import annotations

import html
import json
import time
from pathlib import Path

KEY_NUMBERS_MIME = "application/vnd.ganlib.key-numbers+json"
CLAIM_MIME = "application/vnd.ganlib.claim+json"


def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


def notebooks_dir() -> Path:
    """The course's notebooks, found next to the package (never from the working directory)."""
    folder = repo_root() / "notebooks"
    if not folder.is_dir():
        raise FileNotFoundError(f"no notebooks folder at {folder}; run the course from a "
                                "checkout of the repository (pip install -e .)")
    return folder


def course_notebooks(only: str | None = None, folder: Path | None = None) -> list[Path]:
    """The notebooks in course order, optionally only some ('01,03' or names)."""
    folder = Path(folder or notebooks_dir())
    books = sorted(folder.glob("[0-9][0-9]_*.ipynb"))
    if not books:
        raise FileNotFoundError(f"no notebooks named like 01_name.ipynb in {folder}; point "
                                "--notebooks at a folder of course notebooks")
    if only:
        wanted = [w.strip() for w in only.split(",") if w.strip()]
        picked = [b for b in books if any(b.stem == w or b.stem.startswith(w) for w in wanted)]
        if len(picked) < len(wanted):
            names = ", ".join(b.stem for b in books)
            raise ValueError(f"--only {only!r} does not match the notebooks ({names})")
        books = picked
    return books


def key_numbers(**numbers) -> None:
    """Show a notebook's key numbers, tagged so the course report can collect them."""
    _show(KEY_NUMBERS_MIME, _plain(numbers), f"key numbers: {_numbers_text(numbers)}")


def claim(statement: str, holds: bool, margin: float | None = None, **numbers) -> None:
    """State a lesson's claim in words with the measured numbers that test it.

    Shows `claim holds: <statement> (a = 1, b = 2)`, tagged so the course report can put it in
    the lesson's claims table; when `holds` is false it raises AssertionError naming the claim and
    the numbers, so the notebook (and `python -m ganlib course`) fails. `margin` says how far
    the measurement is beyond the claim's bar, in the claim's own units (positive when the
    claim holds, negative when it fails), so the report shows how close each seed came.
    Example: `claim("the penalty covers more modes than BCE", coverage_gp > coverage_bce,
    margin=coverage_gp - coverage_bce, coverage_gp=coverage_gp, coverage_bce=coverage_bce)`.
    """
    holds = bool(holds)
    shown = numbers if margin is None else {**numbers, "margin": margin}
    line = f"{statement} ({_numbers_text(shown)})" if shown else statement
    payload = {"statement": statement, "holds": holds, "numbers": _plain(numbers),
               "margin": None if margin is None else float(margin)}
    _show(CLAIM_MIME, payload, f"claim {'holds' if holds else 'FAILED'}: {line}")
    if not holds:
        raise AssertionError(f"claim failed: {line}")


def _plain(numbers: dict) -> dict:
    """The numbers as JSON values (numpy and torch scalars become floats)."""
    return json.loads(json.dumps(numbers, default=float))


def _numbers_text(numbers: dict) -> str:
    return ", ".join(f"{k} = {_fmt(v)}" for k, v in _plain(numbers).items())


def _show(mime: str, payload: dict, text: str) -> None:
    """Display payload under mime in a kernel (the report reads it); print text elsewhere."""
    from IPython import get_ipython
    from IPython.display import display

    if get_ipython() is None:
        print(text)
    else:
        display({mime: payload, "text/plain": text}, raw=True)


def _collect(executed: Path) -> tuple[dict, list[dict], list[tuple[str, str]]]:
    """Key numbers, claims and report pictures (mime, base64) from an executed notebook."""
    nb = json.loads(executed.read_text())
    numbers: dict = {}
    claims: list[dict] = []
    pictures: list[tuple[str, str]] = []
    for cell in nb.get("cells", []):
        tagged = "report" in cell.get("metadata", {}).get("tags", [])
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if KEY_NUMBERS_MIME in data:
                numbers.update(data[KEY_NUMBERS_MIME])
            if CLAIM_MIME in data:
                claims.append(data[CLAIM_MIME])
            if tagged:
                for mime in ("image/gif", "image/png"):
                    if mime in data:
                        value = data[mime]
                        pictures.append((mime, "".join(value) if isinstance(value, list)
                                         else value))
                        break
    return numbers, claims, pictures


# Words for the short names notebooks give their numbers, so a teacher can read the report.
WORDS = {
    "bce": "BCE GAN", "wgan": "WGAN-GP", "gp": "gradient penalty", "mm": "minimax",
    "ns": "non-saturating", "hq": "high-quality share", "gn": "gradient norm",
    "w1": "W1 distance", "frechet": "Fréchet distance", "grad": "gradient", "d": "D",
    "acc": "accuracy", "kl": "KL", "num": "number of", "at": "at", "clip": "clip",
}


def label(key: str) -> str:
    """A readable label for a number's key: `grid25_bce_mean_modes` -> `grid25 BCE GAN mean
    modes`."""
    words = [WORDS.get(word.lower(), word) for word in key.split("_") if word]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def _numbers_cell(numbers: dict) -> str:
    return ", ".join(f"{label(k)} = {_fmt(v)}" for k, v in numbers.items())


def claims_table(results: list[dict]) -> str:
    """The claims of every lesson as a plain-text table (for the console)."""
    lines = []
    for r in results:
        status = "ok" if r["ok"] else "FAILED"
        lines.append(f"{r['name']} ({status}, {r['seconds']:.0f} s)")
        for c in r["claims"]:
            mark = "pass" if c["holds"] else "FAIL"
            margin = "" if c.get("margin") is None else f" (margin {_fmt(c['margin'])})"
            lines.append(f"  {mark:4}  {c['statement']}{margin}")
            if c["numbers"]:
                lines.append(f"        {_numbers_cell(c['numbers'])}")
        if not r["claims"]:
            lines.append("        (no claims" + ("" if r["ok"] else " reached") + ")")
    return "\n".join(lines)


def _claims_html(claims: list[dict]) -> str:
    if not claims:
        return "<p>No lesson claims.</p>"
    rows = "".join(
        f"<tr class='{'pass' if c['holds'] else 'fail'}'><td>{html.escape(c['statement'])}</td>"
        f"<td>{html.escape(_numbers_cell(c['numbers']))}</td>"
        f"<td>{'' if c.get('margin') is None else html.escape(_fmt(c['margin']))}</td>"
        f"<td>{'pass' if c['holds'] else 'FAIL'}</td></tr>" for c in claims)
    return ("<table class='claims'><tr><th>claim</th><th>measured</th><th>margin</th>"
            "<th>result</th></tr>"
            f"{rows}</table>")


def write_report(results: list[dict], out: Path) -> Path:
    rows = []
    for r in results:
        status = "ok" if r["ok"] else f"FAILED: {html.escape(r.get('error', ''))}"
        nums = "".join(f"<tr><td title='{html.escape(str(k))}'>{html.escape(label(str(k)))}</td>"
                       f"<td>{html.escape(_fmt(v))}</td></tr>" for k, v in r["numbers"].items())
        pics = "".join(f'<img src="data:{m};base64,{b}" style="max-width:48%;margin:4px">'
                       for m, b in r["pictures"])
        rows.append(f"<section><h2>{html.escape(r['name'])}</h2><p>{status} in "
                    f"{r['seconds']:.0f} s &middot; <a href=\"{r['name']}.ipynb\">executed "
                    f"notebook</a></p><h3>Lesson claims</h3>{_claims_html(r['claims'])}"
                    f"<h3>Key numbers</h3><table>{nums}</table><div>{pics}</div></section>")
    total = sum(r["seconds"] for r in results)
    claims = [c for r in results for c in r["claims"]]
    failed = sum(not c["holds"] for c in claims)
    page = ("<!doctype html><html><head><meta charset='utf-8'><title>GAN course report</title>"
            "<style>body{font-family:sans-serif;max-width:1100px;margin:auto}td{padding:2px 12px}"
            "section{border-top:1px solid #ccc;margin-top:1em}table.claims{border-collapse:"
            "collapse}table.claims td,th{border:1px solid #ccc;text-align:left}"
            "tr.fail{background:#fdd}tr.pass td:last-child{color:#070}</style></head><body>"
            f"<h1>GAN course report</h1><p>{len(results)} notebooks, {total:.0f} s in all; "
            f"{len(claims) - failed} of {len(claims)} lesson claims hold.</p>"
            + "".join(rows) + "</body></html>")
    path = out / "report.html"
    path.write_text(page)
    return path


def seeds_table(by_seed: dict[int, list[dict]]) -> str:
    """Every claim against every seed, as a Markdown table: pass or FAIL and the margin.

    `by_seed` maps a seed to `run_course`'s results for that seed. A claim a seed's run never
    reached (its notebook failed earlier) shows as "not reached"; each notebook's time per seed
    is given under its claims.
    """
    seeds = sorted(by_seed)
    names = list(dict.fromkeys(r["name"] for results in by_seed.values() for r in results))
    head = "| lesson | claim | " + " | ".join(f"seed {s}" for s in seeds) + " |"
    lines = [head, "|" + "---|" * (len(seeds) + 2)]
    for name in names:
        runs = {s: next((r for r in by_seed[s] if r["name"] == name), None) for s in seeds}
        statements = list(dict.fromkeys(c["statement"] for r in runs.values() if r
                                        for c in r["claims"]))
        for statement in statements:
            cells = []
            for s in seeds:
                c = next((c for c in (runs[s] or {}).get("claims", [])
                          if c["statement"] == statement), None)
                if c is None:
                    cells.append("not reached")
                else:
                    margin = c.get("margin")
                    cells.append(("pass" if c["holds"] else "**FAIL**")
                                 + ("" if margin is None else f", margin {_fmt(margin)}"))
            cell = statement.replace("|", "\\|")  # a claim's |w| must not split the row
            lines.append(f"| {name} | {cell} | " + " | ".join(cells) + " |")
        times = [f"{runs[s]['seconds']:.0f} s" + ("" if runs[s]["ok"] else " (FAILED)")
                 if runs[s] else "not run" for s in seeds]
        lines.append(f"| {name} | *run time* | " + " | ".join(times) + " |")
    return "\n".join(lines) + "\n"


def run_seeds(seeds: list[int], out: str | Path | None = None, log=print, **kwargs
              ) -> dict[int, list[dict]]:
    """`run_course` once per seed into out/seed-N, then out/claims_by_seed.md (`seeds_table`)."""
    out = Path(out) if out else repo_root() / "build" / "course-seeds"
    by_seed = {}
    for seed in seeds:
        log(f"--- seed {seed}")
        by_seed[seed] = run_course(out=out / f"seed-{seed}", seed=seed, log=log, **kwargs)
    table = out / "claims_by_seed.md"
    table.write_text(f"# Lesson claims for seeds {', '.join(map(str, seeds))}\n\n"
                     + seeds_table(by_seed))
    log(f"claims x seeds: {table}")
    return by_seed


def _fmt(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _error_line(e: Exception) -> str:
    """One line saying why a notebook failed: the failing cell's exception."""
    if getattr(e, "ename", None):  # papermill's PapermillExecutionError
        return f"{e.ename}: {e.evalue}"[:300]
    lines = str(e).strip().splitlines()
    return (lines[-1] if lines else type(e).__name__)[:300]


def kernel_settings() -> dict:
    """papermill options that encrypt the kernel's sockets (CurveZMQ keys from jupyter_client)
    where pyzmq supports it; unencrypted kernels each print a warning about plain-text TCP."""
    import zmq
    from traitlets.config import Config

    if not zmq.has("curve"):
        return {}
    return {"config": Config({"KernelManager": {"transport_encryption": "auto"}})}


def lesson_parameters(book: Path, smoke: bool = False, seed: int | None = None) -> dict:
    """The papermill parameters for one notebook: the worked solutions of its exercises
    (solutions=True where the notebook declares it: a batch run has no student), smoke=True for
    a smoke run, and the seed when one is given and the notebook declares `seed`."""
    import papermill as pm

    declared = pm.inspect_notebook(str(book))
    params: dict = {"solutions": True} if "solutions" in declared else {}
    if smoke:
        params["smoke"] = True
    if seed is not None and "seed" in declared:
        params["seed"] = seed
    return params


def run_course(smoke: bool = False, out: str | Path | None = None, only: str | None = None,
               log=print, folder: Path | None = None, seed: int | None = None) -> list[dict]:
    """Execute the notebooks in order with papermill; returns one result dict per notebook.

    A result holds name, ok (the notebook ran and all its claims hold), error, seconds, claims,
    numbers and pictures. `seed` (when given) goes to every notebook that declares one.
    """
    import papermill as pm

    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise ValueError(f"--seed must be a whole number >= 0, got {seed!r}")  # before any work
    books = course_notebooks(only, folder)
    out = Path(out) if out else repo_root() / "build" / ("course-smoke" if smoke else "course")
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file; name a folder for the executed "
                         "notebooks and report.html")
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / ".write-test").write_bytes(b"ok")
        (out / ".write-test").unlink()
    except OSError as e:
        raise ValueError(f"cannot write to --out {out}: {e.strerror or e}; choose a folder "
                         "you can write to") from e
    results = []
    for i, book in enumerate(books, 1):
        target = out / book.name
        target.unlink(missing_ok=True)  # never report an older run's claims as this one's
        log(f"[{i}/{len(books)}] {book.stem} ...", end=" ", flush=True)
        start = time.perf_counter()
        result = {"name": book.stem, "ok": True}
        try:
            params = lesson_parameters(book, smoke, seed)
            pm.execute_notebook(str(book), str(target), parameters=params, cwd=str(book.parent),
                                kernel_name="python3", progress_bar=False, **kernel_settings())
        except Exception as e:  # a failing cell: keep going, report it
            result.update(ok=False, error=_error_line(e))
        result["seconds"] = time.perf_counter() - start
        numbers, claims, pictures = _collect(target) if target.exists() else ({}, [], [])
        failed = [c for c in claims if not c["holds"]]
        if failed:  # the notebook raised on it, unless it caught the AssertionError
            result["ok"] = False
            result.setdefault("error", f"claim failed: {failed[0]['statement']}")
        result.update(numbers=numbers, claims=claims, pictures=pictures)
        results.append(result)
        held = sum(c["holds"] for c in claims)
        log(("ok" if result["ok"] else "FAILED") + f" in {result['seconds']:.0f} s"
            + (f", {held}/{len(claims)} claims hold" if claims else "")
            + (f": {result['error']}" if not result["ok"] and "error" in result else ""))
    log("\nLesson claims:\n" + claims_table(results))
    report = write_report(results, out)
    log(f"report: {report}")
    return results
