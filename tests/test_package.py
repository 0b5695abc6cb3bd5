"""The package's shape: imports run one way, and the GAN code knows nothing of speed or I/O."""

import ast
from pathlib import Path

import ganlib

PACKAGE = Path(ganlib.__file__).parent


def imports() -> dict[str, set[str]]:
    """module -> the ganlib modules it imports (at any depth of the file, type hints included).

    A subpackage (ganlib/exercises/) is one module: the union of its files' imports.
    """
    graph: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        inner = path.relative_to(PACKAGE).parts
        name = inner[0].removesuffix(".py")  # the top-level module, or the subpackage
        own = len(inner)  # `from .x` in ganlib/a.py (1) or ganlib/exercises/b.py (2) is ganlib's
        found = graph.setdefault(name, set())
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ImportFrom):
                continue
            if node.level and node.level != own:  # `from .x` inside a subpackage: its own file
                continue
            if node.level and node.module is None:  # from . import x, y
                found.update(alias.name for alias in node.names)
            elif node.level:  # from .x import y
                found.add(node.module.split(".")[0])
            elif node.module == "ganlib":  # from ganlib import x
                found.update(alias.name for alias in node.names)
            elif node.module and node.module.startswith("ganlib."):
                found.add(node.module.split(".")[1])
    return {name: found - {name} for name, found in graph.items()}


def longest_chain(graph: dict[str, set[str]]) -> list[str]:
    """The longest import chain a -> b -> ... among ganlib's modules (the graph has no circle)."""
    chains: dict[str, list[str]] = {}

    def chain(module: str) -> list[str]:
        if module not in chains:
            below = [chain(other) for other in graph.get(module, ()) if other in graph]
            chains[module] = [module, *max(below, key=len, default=[])]
        return chains[module]

    return max((chain(module) for module in sorted(graph)), key=len)


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


def test_the_package_is_at_most_six_floors():
    # a floor is a module on the longest import chain: each one a reader may have to open
    # to understand the one above it
    chain = longest_chain(imports())
    assert len(chain) <= 6, f"{len(chain)} floors: " + " -> ".join(chain)


def test_plotting_draws_what_it_is_given():
    # plotting loads no data, runs no network and measures nothing: at most models.eval_mode
    assert imports()["plotting"] <= {"models"}, imports()["plotting"]


def test_longest_chain_finds_the_deepest_path():
    graph = {"a": {"b", "c"}, "b": {"d"}, "c": set(), "d": {"e"}, "e": set()}
    assert longest_chain(graph) == ["a", "b", "d", "e"]
    assert longest_chain({"x": set()}) == ["x"]
