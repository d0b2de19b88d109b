"""The shape of scripts/mapbench_cli (docs/architecture-python.md): no import circles, each
room imports only the rooms below it, stats/ never loads matplotlib, no file past ~400 lines.

Imports are read with ast, not by importing: an import inside a function counts too (a
late import is still a dependency, and a circle through one is still a circle)."""

import ast
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Set

from conftest import SCRIPTS

PACKAGE = SCRIPTS / "mapbench_cli"
MAX_LINES = 400
LEAVES = {"mapbench_cli.text.words", "mapbench_cli.text.tables"}  # stdlib only: any room may use them
# room -> rooms it must never import (the order: data < stats < text < figures < commands < cli)
FORBIDDEN = {
    "data": {"stats", "text", "figures", "commands", "cli"},
    "stats": {"text", "figures", "commands", "cli"},
    "text": {"figures", "commands", "cli"},
    "figures": {"commands", "cli"},
    "commands": {"cli"},
}


def module_files() -> Dict[str, Path]:
    modules = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(SCRIPTS).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def imports_of(name: str, path: Path, known: Set[str]) -> Set[str]:
    """The package's modules that `name` imports (from x import y counts x, and x.y when y is a module)."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return {m for m in found if m in known and m != name}


def import_graph() -> Dict[str, Set[str]]:
    modules = module_files()
    return {name: imports_of(name, path, set(modules)) for name, path in modules.items()}


def cycles(graph: Dict[str, Set[str]]) -> List[List[str]]:
    """Strongly connected components with more than one module (Tarjan), each a circle."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on_stack: Set[str] = set()
    found: List[List[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def fresh_python(code: str) -> str:
    """What `code` prints in a new interpreter that has only scripts/ on its path."""
    done = subprocess.run([sys.executable, "-c", code], cwd=SCRIPTS, capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(SCRIPTS), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_cycle_search_finds_a_circle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_import_reader_sees_late_and_relative_imports(tmp_path):
    path = tmp_path / "m.py"
    path.write_text("def f():\n    from mapbench_cli.data import schema\nfrom . import words\n")
    known = {"mapbench_cli.data", "mapbench_cli.data.schema", "mapbench_cli.text.words"}
    assert imports_of("mapbench_cli.text.m", path, known) == {"mapbench_cli.data", "mapbench_cli.data.schema",
                                                              "mapbench_cli.text.words"}


def test_no_import_circles():
    graph = import_graph()
    assert len(graph) > 30  # the reader found the package
    assert cycles(graph) == []


def test_rooms_import_only_the_rooms_below_them():
    wrong = []
    for module, deps in import_graph().items():
        for dep in deps - LEAVES:
            if room(dep) in FORBIDDEN.get(room(module), set()):
                wrong.append(f"{module} imports {dep}")
    assert wrong == []


def test_leaves_use_the_standard_library_only():
    graph = import_graph()
    for leaf in LEAVES:
        assert graph[leaf] - LEAVES == set(), leaf


def test_stats_never_imports_matplotlib():
    stats = sorted(m for m in module_files() if room(m) == "stats")
    assert "mapbench_cli.stats.compare" in stats
    code = ("import importlib, sys\n"
            f"for m in {stats!r}:\n"
            "    importlib.import_module(m)\n"
            "print(sorted(m for m in sys.modules if m == 'matplotlib' or m.startswith('matplotlib.')))\n")
    assert fresh_python(code) == "[]"


def test_the_command_line_front_end_loads_no_pandas():
    """`mapbench --help` and usage errors stay quick: the command modules import late."""
    code = ("import sys\nimport mapbench_cli.cli\n"
            "print(sorted(m for m in ('pandas', 'numpy', 'scipy', 'matplotlib') if m in sys.modules))\n")
    assert fresh_python(code) == "[]"


def test_matplotlib_waits_until_something_is_drawn():
    """plot and report refuse bad input before matplotlib is loaded: the pipeline imports it late."""
    code = ("import sys\nimport mapbench_cli.figures.plot, mapbench_cli.commands.report, mapbench_cli.text.compare\n"
            "print('matplotlib' in sys.modules)\n")
    assert fresh_python(code) == "False"


def test_no_module_is_longer_than_the_limit():
    long = {name: n for name, path in module_files().items()
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}
