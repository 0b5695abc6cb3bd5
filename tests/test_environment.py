"""pyproject.toml is the single source of dependencies; environment.yml must mirror it."""

import re
from pathlib import Path

import tomllib

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


def test_environment_installs_the_package_with_dev_extra():
    text = (ROOT / "environment.yml").read_text()
    assert '-e ".[dev]"' in text and "python=3.11" in text


def test_torch_pins_resolve_to_the_served_releases():
    deps = pyproject_deps()
    assert "<=2.14.1" in deps["torch"] and "<=0.29.1" in deps["torchvision"]
