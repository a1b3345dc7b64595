"""The layer rules of docs/ARCHITECTURE.md, checked on the source itself."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "app" / "numaview"

# layer -> numaview layers it may import (besides itself); third-party allowed
ALLOWED_INTERNAL = {
    "model": set(),
    "linux": {"model"},
    "sampler": {"model", "linux"},
    "workload": {"model", "linux"},
    "demo": {"model", "linux", "sampler", "pinning", "stacks", "diagnose", "workload"},
    "diagnose": {"model", "render"},  # render.units only (checked below)
    "pinning": {"model", "linux"},
    "record": {"model"},
    "stacks": {"model", "linux"},
    "stream": {
        "model",
        "linux",
        "sampler",
        "workload",
        "diagnose",
        "pinning",
        "record",
        "stacks",
        "demo",
    },
    "render": {"model", "diagnose"},
    "tui": {"model", "render", "stream", "diagnose", "pinning", "record", "stacks"},
}
ALLOWED_EXTERNAL = {
    "model": set(),
    "linux": {"psutil"},
    "sampler": {"psutil", "pynvml"},  # pynvml: the optional gpu extra, imported on first use
    "workload": {"prometheus_client"},
    "demo": set(),
    "diagnose": set(),
    "pinning": {"psutil"},
    "record": set(),
    "stacks": {"psutil"},
    "stream": set(),
    "render": set(),
    "tui": {"textual", "rich", "plotext"},
}
NO_IO_MODULES = {"os", "io", "pathlib", "subprocess", "socket", "shutil", "sqlite3"}
NO_IO_LAYERS = {"model", "diagnose", "render"}


def modules() -> list[Path]:
    return sorted(p for p in PKG.rglob("*.py"))


def layer_of(path: Path) -> str:
    rel = path.relative_to(PKG)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def imports_of(path: Path) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text(), str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.module, node.lineno))
    return out


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PKG)))
def test_module_respects_its_layer(path: Path) -> None:
    layer = layer_of(path)
    if layer not in ALLOWED_INTERNAL:
        return  # cli.py, __init__, __main__: may import everything
    stdlib = sys.stdlib_module_names
    for name, line in imports_of(path):
        top = name.split(".")[0]
        where = f"{path.relative_to(PKG)}:{line} imports {name}"
        if top == "numaview":
            parts = name.split(".")
            if len(parts) > 1 and parts[1] != layer:
                assert parts[1] in ALLOWED_INTERNAL[layer], where
        elif top in stdlib:
            if layer in NO_IO_LAYERS:
                assert top not in NO_IO_MODULES, where
        else:
            assert top in ALLOWED_EXTERNAL[layer], where
    if layer in NO_IO_LAYERS:
        tree = ast.parse(path.read_text())
        calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
        assert not any(isinstance(c.func, ast.Name) and c.func.id == "open" for c in calls)


@pytest.mark.parametrize(
    "path", sorted((PKG / "diagnose").rglob("*.py")), ids=lambda p: str(p.relative_to(PKG))
)
def test_diagnose_uses_only_the_units_of_render(path: Path) -> None:
    """Evidence text formats bytes as the UI does; nothing else of render/ (it imports diagnose)."""
    for name, line in imports_of(path):
        if name.startswith("numaview.render"):
            assert name == "numaview.render.units", f"{path.relative_to(PKG)}:{line} imports {name}"


def test_cli_imports_textual_only_inside_ui_commands() -> None:
    top_level = [n for f in (PKG / "cli").glob("*.py") for n in ast.parse(f.read_text()).body]
    for node in top_level:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
            assert not any(str(n).startswith(("textual", "numaview.tui")) for n in names)


def test_headless_commands_do_not_load_textual() -> None:
    code = (
        "import sys, contextlib, io\n"
        "from numaview.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    assert main(['topology', '--json']) == 0\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('textual', 'plotext')]\n"
        "assert not bad, bad\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize(
    "path", sorted((PKG / "tui").rglob("*.py")), ids=lambda p: str(p.relative_to(PKG))
)
def test_tui_never_reads_the_os_itself(path: Path) -> None:
    tree = ast.parse(path.read_text())
    for name, line in imports_of(path):
        assert name.split(".")[0] not in ("os", "pathlib", "psutil", "subprocess"), f"{path}:{line}"
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            assert not node.value.startswith(("/proc", "/sys")), f"{path}:{node.lineno}"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id != "open", f"{path}:{node.lineno}"


MAX_LINES = 450  # DESIGN.md: "modules under ~400 lines"


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PKG)))
def test_module_stays_small(path: Path) -> None:
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{path.name}: {lines} lines; split it (DESIGN.md: ~400)"


# -- indirect I/O: a widget must not reach a module that reads the OS or starts processes --

IO_IMPORTS = {"subprocess", "sqlite3", "socket", "ctypes", "psutil"}
IO_PACKAGES = {"linux", "sampler"}  # the readers of /proc and /sys, and the sampler


def _module_name(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def _runtime_imports(path: Path) -> set[str]:
    """Modules imported when ``path`` is imported: top level, not under TYPE_CHECKING."""
    out: set[str] = set()

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.If):
                test = node.test
                if isinstance(test, ast.Name) and test.id == "TYPE_CHECKING":
                    visit(node.orelse)
                    continue
                visit(node.body)
                visit(node.orelse)
            elif isinstance(node, (ast.Try,)):
                visit(node.body)
                for h in node.handlers:
                    visit(h.body)
            elif isinstance(node, ast.Import):
                out.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                out.add(node.module)
                out.update(f"{node.module}.{a.name}" for a in node.names)

    visit(ast.parse(path.read_text()).body)
    return out


def _graph() -> tuple[dict[str, set[str]], set[str]]:
    paths = {_module_name(p): p for p in modules()}
    edges: dict[str, set[str]] = {}
    io: set[str] = set()
    for name, path in paths.items():
        imports = _runtime_imports(path)
        edges[name] = {i for i in imports if i in paths}
        layer = name.split(".")[1] if "." in name else ""
        if layer in IO_PACKAGES or {i.split(".")[0] for i in imports} & IO_IMPORTS:
            io.add(name)
    return edges, io


WIDGETS = sorted(p for d in ("widgets", "screens") for p in (PKG / "tui" / d).rglob("*.py"))


def _reach(edges: dict[str, set[str]], start: str) -> dict[str, str]:
    """Every module importing ``start`` loads, each with the module that imported it."""
    via, todo = {start: start}, [start]
    while todo:
        m = todo.pop()
        for n in edges.get(m, ()):
            if n not in via:
                via[n] = m
                todo.append(n)
    return via


@pytest.mark.parametrize("path", WIDGETS, ids=lambda p: str(p.relative_to(PKG)))
def test_widgets_reach_no_io_module_even_indirectly(path: Path) -> None:
    edges, io = _graph()
    start = _module_name(path)
    via = _reach(edges, start)
    chains = []
    for bad in sorted(via.keys() & io):
        chain = [bad]
        while chain[-1] != start:
            chain.append(via[chain[-1]])
        chains.append(" <- ".join(chain))
    assert not chains, "\n".join(chains)


def test_the_io_check_catches_a_module_that_reaches_the_os_indirectly() -> None:
    edges, io = _graph()
    assert {"numaview.stacks.pyspy", "numaview.record.writer", "numaview.linux.fsroot"} <= io
    # The pinner reads /proc: a widget importing it at run time would load linux/.
    assert "numaview.linux.fsroot" in _reach(edges, "numaview.pinning.apply")
    # and a replay opens SQLite (the Monitor loads the recording side when it records)
    assert "numaview.record.reader" in _reach(edges, "numaview.record.replay")


def _find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    done: set[str] = set()

    def visit(m: str, stack: list[str]) -> list[str] | None:
        if m in stack:
            return [*stack[stack.index(m) :], m]
        if m in done:
            return None
        for n in sorted(edges.get(m, ())):
            if n.startswith(m + "."):
                continue  # a package importing its own submodule (cli/__init__)
            found = visit(n, [*stack, m])
            if found:
                return found
        done.add(m)
        return None

    for m in sorted(edges):
        found = visit(m, [])
        if found:
            return found
    return None


def test_no_import_cycle() -> None:
    """Modules imported at run time form no cycle (TYPE_CHECKING imports aside)."""
    edges, _ = _graph()
    assert _find_cycle(edges) is None, " -> ".join(_find_cycle(edges) or [])
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
