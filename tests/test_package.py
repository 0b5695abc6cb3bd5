"""The package's shape: imports run one way, and the GAN code knows nothing of speed or I/O."""

import ast
from pathlib import Path

import ganlib

PACKAGE = Path(ganlib.__file__).parent


def imports() -> dict[str, set[str]]:
    """module -> the ganlib modules it imports (at any depth of the file)."""
    graph = {}
    for path in PACKAGE.glob("*.py"):
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ImportFrom):
                continue
            if node.level == 1 and node.module is None:  # from . import x, y
                found.update(alias.name for alias in node.names)
            elif node.level == 1:  # from .x import y
                found.add(node.module.split(".")[0])
            elif node.module == "ganlib":  # from ganlib import x
                found.update(alias.name for alias in node.names)
            elif node.module and node.module.startswith("ganlib."):
                found.add(node.module.split(".")[1])
        graph[path.stem] = found - {path.stem}
    return graph


def test_no_import_circle():
    graph = imports()
    state: dict[str, str] = {}

    def visit(module, path):
        state[module] = "open"
        for other in graph.get(module, ()):
            assert state.get(other) != "open", " -> ".join([*path, module, other])
            if other not in state:
                visit(other, [*path, module])
        state[module] = "done"

    for module in graph:
        if module not in state:
            visit(module, [])


def test_the_gan_code_knows_nothing_of_training_speed_or_files():
    graph = imports()
    for module in ("models", "losses", "data", "config"):
        assert not graph[module] & {"train", "run", "speed", "outputs", "widgets", "course"}, \
            (module, graph[module])
    assert graph["train"] <= {"losses", "outputs", "speed", "config", "run", "data",
                              "distributed"}
    assert not graph["distributed"]  # torchrun's plumbing knows nothing of GANs
    assert not graph["models"] & {"speed"} and "speed" not in graph["losses"]
    assert "bench" not in graph  # the benchmark lives in benchmarks/, outside the package
