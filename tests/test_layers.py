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
    "demo": {"model", "linux", "sampler", "pinning", "stacks", "diagnose"},
    "diagnose": {"model", "render"},  # render.units only (checked below)
    "pinning": {"model", "linux"},
    "record": {"model", "stream"},
    "stacks": {"model", "linux"},
    "stream": {"model", "linux", "sampler", "diagnose", "pinning", "record", "stacks"},
    "render": {"model", "diagnose"},
    "tui": {"model", "render", "stream", "diagnose", "pinning", "record", "stacks", "demo"},
}
ALLOWED_EXTERNAL = {
    "model": set(),
    "linux": {"psutil"},
    "sampler": {"psutil"},
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
