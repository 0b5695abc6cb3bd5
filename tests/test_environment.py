"""pyproject.toml is the single source of dependencies; environment.yml must mirror it."""

import re
from importlib import metadata
from pathlib import Path

import tomllib
from packaging.specifiers import SpecifierSet
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
CONDA_NAMES = {"torch": "pytorch-cpu"}  # PyPI name -> conda-forge name where they differ


def _name_and_spec(requirement: str) -> tuple[str, str]:
    m = re.match(r"\s*([A-Za-z0-9_.\-]+)\s*(.*)", requirement)
    return m.group(1).lower(), m.group(2).replace(" ", "")


def pyproject_deps() -> dict[str, str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return dict(_name_and_spec(r) for r in data["project"]["dependencies"])


def conda_deps() -> dict[str, str]:
    deps = {}
    text = (ROOT / "environment.yml").read_text()
    for line in text.split("dependencies:", 1)[1].splitlines():
        m = re.match(r"\s+-\s+([A-Za-z0-9_.\-]+)([<>=!,.0-9*]*)\s*(#.*)?$", line)
        if m and m.group(1) not in ("python", "pip"):
            deps[m.group(1).lower()] = m.group(2)
    return deps


def test_environment_yml_mirrors_pyproject():
    pip, conda = pyproject_deps(), conda_deps()
    expected = {CONDA_NAMES.get(k, k): v for k, v in pip.items()}
    missing = sorted(set(expected) - set(conda))
    extra = sorted(set(conda) - set(expected))
    assert not missing, f"in pyproject.toml but not environment.yml: {missing}"
    assert not extra, f"in environment.yml but not pyproject.toml: {extra}"
    for name, spec in expected.items():
        assert conda[name] == spec, \
            f"{name}: pyproject says {spec!r}, environment.yml {conda[name]!r}"


def test_environment_yml_installs_the_package_on_a_supported_python():
    text = (ROOT / "environment.yml").read_text()
    assert '-e ".[dev]"' in text
    python = re.search(r"-\s+python=([0-9.]+)", text).group(1)
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert Version(python) in SpecifierSet(requires), (python, requires)


def test_the_installed_packages_satisfy_pyproject():
    # catches a venv that drifted from pyproject (e.g. a torch outside the served releases)
    for name, spec in pyproject_deps().items():
        installed = Version(metadata.version(name))
        assert installed in SpecifierSet(spec, prereleases=True), (name, str(installed), spec)
