"""render/units.py: one formatter per unit, one missing-value glyph, and a leaf module."""

from __future__ import annotations

import ast
import math
import sys
from pathlib import Path

import pytest

from numaview.render import units
from numaview.render.units import MISSING, number, pct, rate, size

UNITS = Path(units.__file__)
PKG = UNITS.parents[1]


def test_units_is_a_leaf_of_the_stdlib() -> None:
    """Every layer may use it (diagnose too), so it imports nothing of numaview."""
    tree = ast.parse(UNITS.read_text())
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"line {node.lineno}: relative import"
            names = [str(node.module)]
        for name in names:
            top = name.split(".")[0]
            assert top == "__future__" or top in sys.stdlib_module_names, f"imports {name}"


def test_one_missing_glyph_in_render_and_widgets() -> None:
    """No module of render/ or tui/widgets/ spells the glyph itself (except units)."""
    offenders = []
    for path in [*(PKG / "render").glob("*.py"), *(PKG / "tui" / "widgets").glob("*.py")]:
        if path == UNITS:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                doc = node.value.count("\n") > 0 or "``" in node.value
                if MISSING in node.value and not doc:
                    offenders.append(f"{path.name}:{node.lineno}")
    assert offenders == []


@pytest.mark.parametrize(
    ("n", "long", "short"),
    [
        (None, MISSING, MISSING),
        (0, "0 B", "0B"),
        (512, "512 B", "512B"),
        (1536, "1.5 KiB", "1.5K"),
        (30 * 1024**2, "30 MiB", "30M"),
        (1536 * 1024**2, "1.5 GiB", "1.5G"),
        (100 * 1024**3 + 1, "100 GiB", "100G"),
        (16 * 1024**3, "16 GiB", "16G"),
        (5 * 1024**5, "5120 TiB", "5P"),
    ],
)
def test_size_long_and_short(n: int | None, long: str, short: str) -> None:
    assert size(n) == long
    assert size(n, short=True) == short


def test_rate_fits_six_columns_and_takes_a_unit() -> None:
    assert rate(950.5) == "950.5" and rate(12345.0) == "12.3k" and rate(4.1e6) == "4.1M"
    assert rate(999.96) == "1.0k"  # not "1000.0": the 6-column promise
    assert rate(2.5e9) == "2.5G"
    assert rate(20_000.0, "/s") == "20.0k/s"
    assert rate(None, "/s") == MISSING  # the glyph alone, not "–/s"
    assert rate(math.nan) == MISSING
    assert all(len(rate(10.0**k)) <= 6 for k in range(12))


def test_pct() -> None:
    assert pct(11.24) == "11.2" and pct(11.6, 0, sign=True) == "12%"
    assert pct(0.5, 2, sign=True) == "0.50%" and pct(None, sign=True) == MISSING


@pytest.mark.parametrize(
    ("v", "width", "digits", "text"),
    [
        (1482.616, 6, 1, "1482.6"),
        (1482.616, 5, 1, "1483"),  # decimals go first
        (1482.616, 4, 1, "1483"),
        (1482.616, 3, 1, "1k"),
        (12800.0, 5, 1, "12800"),
        (12800.0, 4, 1, "13k"),
        (102400.0, 6, 1, "102400"),
        (1_234_567.0, 6, 1, "1.2M"),
        (100_000, 5, 0, "100k"),
        (4_194_304, 7, 0, "4194304"),
        (0.04, 6, 1, "0.0"),
        (None, 6, 1, MISSING),
    ],
)
def test_number_fits_its_width(v: float | None, width: int, digits: int, text: str) -> None:
    assert number(v, width, digits) == text
    assert len(text) <= width


def test_number_never_claims_a_smaller_scale() -> None:
    """Too narrow for 12.8k: the shortest form comes back (the caller cuts), never 0M."""
    assert number(12800.0, 2) == "13k"
    for v in (0.3, 7.0, 999.0, 12_345.0, 9.9e6, 3.2e12):
        for width in range(3, 9):
            text = number(v, width)
            assert len(text) <= width, (v, width, text)
            assert not text.startswith("0") or v < 1, (v, width, text)
