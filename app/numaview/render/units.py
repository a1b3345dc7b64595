"""One formatter per unit, and the one glyph for a value nobody measured.

A leaf module (stdlib only, nothing from numaview) so that every layer that
shows a number — the TUI, the text commands, the detectors' evidence — prints
it the same way. Unknown is ``None`` in the data and :data:`MISSING` on
screen: never 0, which would claim a measurement.
"""

from __future__ import annotations

import math

MISSING = "–"  # en dash: reads as "no value" in a column of numbers, and is one cell wide

_SCALES = (("", 1.0), ("k", 1e3), ("M", 1e6), ("G", 1e9), ("T", 1e12), ("P", 1e15))


def _known(v: float | None) -> bool:
    return v is not None and math.isfinite(v)


def size(n: float | None, *, short: bool = False) -> str:
    """Bytes, 1024-based. Long, as ``free -h`` prints them: ``512 B``, ``1.5 GiB``,
    ``30 GiB``; short, as ``top`` does, for narrow columns: ``512B``, ``1.2G``, ``30M``."""
    if n is None or not _known(n):
        return MISSING
    value = float(n)
    if short:
        if value < 1024:
            return f"{value:.0f}B"
        for unit in ("K", "M", "G", "T", "P"):
            value /= 1024
            if value < 1024 or unit == "P":
                if value < 10 and round(value, 1) != int(value):
                    return f"{value:.1f}{unit}"
                return f"{value:.0f}{unit}"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            if unit == "B" or value >= 100 or value == int(value):
                return f"{value:.0f} {unit}"
            return f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def rate(v: float | None, unit: str = "") -> str:
    """Counts a second in at most 6 columns before ``unit``: ``950.5``, ``12.3k/s``,
    ``4.1M``; :data:`MISSING` alone (no unit) when unknown."""
    if v is None or not _known(v):
        return MISSING
    for suffix, scale in _SCALES[:3]:
        if v < 999.95 * scale:
            return f"{v / scale:.1f}{suffix}{unit}"
    return f"{v / 1e9:.1f}G{unit}"


def pct(v: float | None, digits: int = 1, *, sign: bool = False) -> str:
    """A percentage: ``11.2`` (a column titled ``%``) or, with ``sign``, ``11.2%``."""
    if v is None or not _known(v):
        return MISSING
    return f"{v:.{digits}f}" + ("%" if sign else "")


def number(v: float | None, width: int, digits: int = 1) -> str:
    """``v`` in at most ``width`` cells: with ``digits`` decimals when they fit, else
    fewer (``1482.6`` → ``1483``), else scaled (``12800`` → ``12.8k``, ``13k``).

    A cell too narrow for a number must not push the next column aside, and a
    number cut at the end (``1482…``) hides its magnitude; this keeps it. When
    nothing fits, the shortest form is returned (the caller cuts it).
    """
    if v is None or not _known(v):
        return MISSING
    best = f"{v:.{digits}f}"
    for d in range(digits, -1, -1):
        text = f"{v:.{d}f}"
        if len(text) <= width:
            return text
        best = text
    for suffix, scale in _SCALES[1:]:
        if abs(v) < 999.5 * scale or suffix == "P":
            for d in (1, 0):
                text = f"{v / scale:.{d}f}{suffix}"
                if len(text) <= width:
                    return text
                best = min(best, text, key=len)
            break  # a larger scale would only say 0.0M
    return best


def duration(seconds: float | None) -> str:
    """A latency: ``850 µs``, ``3.5 ms``, ``480 ms``, ``1.2 s``, ``35 s``."""
    if seconds is None or not _known(seconds):
        return MISSING
    s = abs(seconds)
    if s == 0:
        return "0 ms"
    if s < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if s < 9.95e-3:
        return f"{seconds * 1e3:.1f} ms"
    if s < 0.9995:
        return f"{seconds * 1e3:.0f} ms"
    if s < 9.95:
        return f"{seconds:.1f} s"
    return f"{seconds:.0f} s"


def throughput(v: float | None, unit: str = "") -> str:
    """A load test's rate (tokens or requests a second), then `` unit`` if given:
    ``8.2``, ``45.3``, ``123``, ``1,234``, ``12,345``, ``123k``, ``1.2M``."""
    if v is None or not _known(v):
        return MISSING
    a = abs(v)
    if a < 99.95:
        text = f"{v:.1f}"
    elif a < 99_999.5:
        text = f"{v:,.0f}"
    elif a < 999_500:
        text = f"{v / 1e3:.0f}k"
    else:
        text = f"{v / 1e6:.1f}M"
    return f"{text} {unit}" if unit else text


def count(v: float | None) -> str:
    """A gauge's count (a queue's length): ``3``, or ``2.5`` when averaged."""
    if v is None or not _known(v):
        return MISSING
    return f"{v:.0f}" if v == int(v) else f"{v:.1f}"
