"""Run the whole course in batch: every notebook through papermill, then one HTML report.

`python -m ganlib course [--smoke] [--out DIR]` executes the six notebooks in order into DIR
(git-ignored `build/course` by default) and writes DIR/report.html with each notebook's key
numbers (what it passed to `key_numbers`), its pictures (cells tagged `report`) and its run time.
"""

from __future__ import annotations

import html
import json
import time
from pathlib import Path

KEY_NUMBERS_MIME = "application/vnd.ganlib.key-numbers+json"


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
    books = sorted(p for p in Path(folder or notebooks_dir()).glob("[0-9][0-9]_*.ipynb"))
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
    from IPython.display import display

    text = ", ".join(f"{k} = {v:.4g}" if isinstance(v, float) else f"{k} = {v}"
                     for k, v in numbers.items())
    display({KEY_NUMBERS_MIME: json.loads(json.dumps(numbers, default=float)),
             "text/plain": f"key numbers: {text}"}, raw=True)


def _collect(executed: Path) -> tuple[dict, list[tuple[str, str]]]:
    """Key numbers and report pictures (mime, base64) from an executed notebook."""
    nb = json.loads(executed.read_text())
    numbers: dict = {}
    pictures: list[tuple[str, str]] = []
    for cell in nb.get("cells", []):
        tagged = "report" in cell.get("metadata", {}).get("tags", [])
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if KEY_NUMBERS_MIME in data:
                numbers.update(data[KEY_NUMBERS_MIME])
            if tagged:
                for mime in ("image/gif", "image/png"):
                    if mime in data:
                        value = data[mime]
                        pictures.append((mime, "".join(value) if isinstance(value, list)
                                         else value))
                        break
    return numbers, pictures


def write_report(results: list[dict], out: Path) -> Path:
    rows = []
    for r in results:
        status = "ok" if r["ok"] else f"FAILED: {html.escape(r.get('error', ''))}"
        nums = "".join(f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(_fmt(v))}</td></tr>"
                       for k, v in r["numbers"].items())
        pics = "".join(f'<img src="data:{m};base64,{b}" style="max-width:48%;margin:4px">'
                       for m, b in r["pictures"])
        rows.append(f"<section><h2>{html.escape(r['name'])}</h2><p>{status} in "
                    f"{r['seconds']:.0f} s &middot; <a href=\"{r['name']}.ipynb\">executed "
                    f"notebook</a></p><table>{nums}</table><div>{pics}</div></section>")
    total = sum(r["seconds"] for r in results)
    page = ("<!doctype html><html><head><meta charset='utf-8'><title>GAN course report</title>"
            "<style>body{font-family:sans-serif;max-width:1100px;margin:auto}td{padding:2px 12px}"
            "section{border-top:1px solid #ccc;margin-top:1em}</style></head><body>"
            f"<h1>GAN course report</h1><p>{len(results)} notebooks, {total:.0f} s in all.</p>"
            + "".join(rows) + "</body></html>")
    path = out / "report.html"
    path.write_text(page)
    return path


def _fmt(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def run_course(smoke: bool = False, out: str | Path | None = None, only: str | None = None,
               log=print, folder: Path | None = None) -> list[dict]:
    """Execute the notebooks in order with papermill; returns one result dict per notebook."""
    import papermill as pm

    books = course_notebooks(only, folder)
    out = Path(out) if out else repo_root() / "build" / ("course-smoke" if smoke else "course")
    out.mkdir(parents=True, exist_ok=True)
    params = {"smoke": True} if smoke else {}
    results = []
    for i, book in enumerate(books, 1):
        target = out / book.name
        log(f"[{i}/{len(books)}] {book.stem} ...", end=" ", flush=True)
        start = time.perf_counter()
        result = {"name": book.stem, "ok": True}
        try:
            pm.execute_notebook(str(book), str(target), parameters=params, cwd=str(book.parent),
                                kernel_name="python3", progress_bar=False)
        except Exception as e:  # a failing cell: keep going, report it
            result.update(ok=False, error=str(e).strip().splitlines()[-1][:300])
        result["seconds"] = time.perf_counter() - start
        numbers, pictures = _collect(target) if target.exists() else ({}, [])
        result.update(numbers=numbers, pictures=pictures)
        results.append(result)
        log(("ok" if result["ok"] else "FAILED") + f" in {result['seconds']:.0f} s"
            + (f"  ({_brief(numbers)})" if numbers else ""))
    report = write_report(results, out)
    log(f"report: {report}")
    return results


def _brief(numbers: dict) -> str:
    return ", ".join(f"{k} {_fmt(v)}" for k, v in list(numbers.items())[:4])
