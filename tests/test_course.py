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


def test_claim_outside_a_kernel_prints_and_raises_when_false(capsys):
    course.claim("eight beats two", 8 > 2, coverage_gp=8, coverage_bce=2)
    assert capsys.readouterr().out == ("claim holds: eight beats two "
                                       "(coverage_gp = 8, coverage_bce = 2)\n")
    with pytest.raises(AssertionError) as failed:
        course.claim("two beats eight", 2 > 8, coverage_gp=2, coverage_bce=8)
    assert str(failed.value) == "claim failed: two beats eight (coverage_gp = 2, coverage_bce = 8)"


def test_a_claim_shows_its_margin(capsys):
    course.claim("eight beats two", True, margin=6, coverage_gp=8, coverage_bce=2)
    assert capsys.readouterr().out == ("claim holds: eight beats two "
                                       "(coverage_gp = 8, coverage_bce = 2, margin = 6)\n")


def test_seeds_table_gives_every_claim_every_seed_with_its_margin():
    def result(name, claims, ok=True, seconds=60.0):
        return {"name": name, "ok": ok, "seconds": seconds, "claims": [
            {"statement": s, "holds": h, "numbers": {}, "margin": m} for s, h, m in claims]}

    table = course.seeds_table({
        0: [result("01_a", [("x beats y", True, 2.5), ("|w| at c", True, None)])],
        1: [result("01_a", [("x beats y", False, -0.25)], ok=False, seconds=30.0)],
    })
    assert table.splitlines() == [
        "| lesson | claim | seed 0 | seed 1 |",
        "|---|---|---|---|",
        "| 01_a | x beats y | pass, margin 2.5 | **FAIL**, margin -0.25 |",
        "| 01_a | \\|w\\| at c | pass | not reached |",
        "| 01_a | *run time* | 60 s | 30 s (FAILED) |"]


def test_course_seeds_runs_each_seed_and_writes_the_table(tmp_path, capsys):
    from ganlib.__main__ import main

    books = tmp_path / "books"
    books.mkdir()
    _book(books / "01_lesson.ipynb", "from ganlib.course import claim\n"
          "claim('seed below 2', seed < 2, margin=2 - seed, seed=seed)")
    nb = nbformat.read(books / "01_lesson.ipynb", as_version=4)
    nb.cells[0].source += "\nseed: int = 0  # the lesson's seed"
    nbformat.write(nb, books / "01_lesson.ipynb")
    assert main(["course", "--notebooks", str(books), "--out", str(tmp_path / "o"),
                 "--seeds", "0,2"]) == 1
    table = (tmp_path / "o" / "claims_by_seed.md").read_text()
    assert "| 01_lesson | seed below 2 | pass, margin 2 | **FAIL**, margin 0 |" in table
    assert (tmp_path / "o" / "seed-2" / "report.html").exists()
    assert main(["course", "--seeds", "0,x"]) != 0
    assert "--seeds '0,x' is not a list of seeds" in capsys.readouterr().err


def test_labels_make_keys_readable():
    assert course.label("grid25_bce_mean_modes") == "Grid25 BCE GAN mean modes"
    assert course.label("hq_penalty") == "High-quality share penalty"


def test_run_course_tables_claims_and_fails_on_a_failed_claim(tmp_path):
    books = tmp_path / "books"
    books.mkdir()
    _book(books / "01_holds.ipynb",
          "from ganlib.course import claim\n"
          "claim('the penalty covers more modes', True, coverage_gp=8, coverage_bce=2)")
    _book(books / "02_fails.ipynb",
          "from ganlib.course import claim\n"
          "claim('first claim holds', True, hq=0.9)\n"
          "claim('the DCGAN beats the MLP', False, frechet_dcgan=50.0, frechet_mlp=40.0)\n"
          "claim('never reached', True)")
    lines = []
    holds, fails = course.run_course(out=tmp_path / "out", folder=books,
                                     log=lambda *a, **k: lines.append(" ".join(map(str, a))))
    assert holds["ok"] and holds["claims"] == [
        {"statement": "the penalty covers more modes", "holds": True,
         "numbers": {"coverage_gp": 8, "coverage_bce": 2}, "margin": None}]
    assert not fails["ok"]
    assert [(c["statement"], c["holds"]) for c in fails["claims"]] == [
        ("first claim holds", True), ("the DCGAN beats the MLP", False)]
    assert fails["error"] == ("AssertionError: claim failed: the DCGAN beats the MLP "
                              "(frechet_dcgan = 50, frechet_mlp = 40)")
    # the console line of the failed notebook says why
    assert any(line.startswith("FAILED in") and "claim failed: the DCGAN" in line
               for line in lines)
    table = next(line for line in lines if "Lesson claims:" in line)
    assert "pass  the penalty covers more modes" in table
    assert "FAIL  the DCGAN beats the MLP" in table
    assert "Fréchet distance dcgan = 50, Fréchet distance mlp = 40" in table
    page = (tmp_path / "out" / "report.html").read_text()
    assert "2 of 3 lesson claims hold" in page
    assert ("<tr class='fail'><td>the DCGAN beats the MLP</td><td>Fréchet distance dcgan = 50, "
            "Fréchet distance mlp = 40</td><td></td><td>FAIL</td></tr>") in page


def test_course_command_exit_status(tmp_path, capfd):
    from ganlib.__main__ import main

    good, bad = tmp_path / "good", tmp_path / "bad"
    for folder, holds in ((good, True), (bad, False)):
        folder.mkdir()
        _book(folder / "01_lesson.ipynb",
              f"from ganlib.course import claim\nclaim('modes', {holds}, modes=8)")
    assert main(["course", "--notebooks", str(good), "--out", str(tmp_path / "o1")]) == 0
    # the kernel's sockets are encrypted, so ipykernel has no plain-TCP warning to print
    assert "without encryption" not in capfd.readouterr().err
    assert main(["course", "--notebooks", str(bad), "--out", str(tmp_path / "o2")]) == 1
    assert "FAILED in" in capfd.readouterr().out
    # an --out that is a file, or a folder without notebooks: one line, status 2, nothing run
    (tmp_path / "file").write_text("x")
    assert main(["course", "--notebooks", str(good), "--out", str(tmp_path / "file")]) == 2
    assert capfd.readouterr().err.strip().splitlines() == [
        f"error: --out {tmp_path / 'file'} is a file; name a folder for the executed notebooks "
        "and report.html"]
    assert main(["course", "--notebooks", str(tmp_path / "o1" / "none")]) == 2
    assert "no notebooks named like 01_name.ipynb" in capfd.readouterr().err


def test_lesson_parameters_pass_the_seed_only_where_declared(tmp_path):
    _book(tmp_path / "01_no_seed.ipynb", "1")
    _book(tmp_path / "02_seed.ipynb", "1")
    with_seed = nbformat.read(tmp_path / "02_seed.ipynb", as_version=4)
    with_seed.cells[0].source += "\nseed: int = 0  # random seed"
    nbformat.write(with_seed, tmp_path / "02_seed.ipynb")
    assert course.lesson_parameters(tmp_path / "01_no_seed.ipynb", seed=2) == {}
    assert course.lesson_parameters(tmp_path / "02_seed.ipynb", seed=2) == {"seed": 2}
    assert course.lesson_parameters(tmp_path / "02_seed.ipynb", smoke=True) == {"smoke": True}
