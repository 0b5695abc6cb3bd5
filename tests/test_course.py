import json

import nbformat
import pytest

from ganlib import course


def _book(path, body, tags=()):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    params = nbformat.v4.new_code_cell("smoke: bool = False  # tiny run")
    params.metadata["tags"] = ["parameters"]
    cell = nbformat.v4.new_code_cell(body)
    cell.metadata["tags"] = list(tags)
    nb.cells = [params, cell]
    nbformat.write(nb, path)


def test_run_course_collects_key_numbers_pictures_and_failures(tmp_path):
    books = tmp_path / "books"
    books.mkdir()
    _book(books / "01_good.ipynb",
          "from ganlib.course import key_numbers\n"
          "from ganlib.plotting import samples_figure\n"
          "import torch\n%matplotlib inline\n"
          "key_numbers(modes=8, smoke=smoke)\n"
          "display(samples_figure(torch.zeros(4, 2)))", tags=["report"])
    _book(books / "02_bad.ipynb", "raise RuntimeError('lesson broke')")
    lines = []
    results = course.run_course(smoke=True, out=tmp_path / "out", folder=books,
                                log=lambda *a, **k: lines.append(" ".join(map(str, a))))
    good, bad = results
    assert good["ok"] and good["numbers"] == {"modes": 8, "smoke": True}
    assert good["pictures"] and good["pictures"][0][0] == "image/png"
    assert not bad["ok"] and "lesson broke" in bad["error"]
    page = (tmp_path / "out" / "report.html").read_text()
    assert "01_good" in page and "FAILED" in page and "data:image/png;base64," in page
    assert any("[1/2] 01_good" in line for line in lines)
    executed = json.loads((tmp_path / "out" / "01_good.ipynb").read_text())
    assert executed["metadata"]["papermill"]["parameters"] == {"smoke": True}


def test_only_selects_notebooks_and_rejects_unknown(tmp_path):
    for name in ("01_a", "02_b", "03_c"):
        _book(tmp_path / f"{name}.ipynb", "1")
    assert [b.stem for b in course.course_notebooks("01,03", tmp_path)] == ["01_a", "03_c"]
    with pytest.raises(ValueError, match="does not match"):
        course.course_notebooks("07", tmp_path)
