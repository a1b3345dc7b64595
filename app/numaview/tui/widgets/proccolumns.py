"""The process table's columns: their titles and widths, how they fit a width, how they sort.

Plain functions of numbers and strings (no widget), so the layout at any
terminal width is tested directly.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.cells import cell_len, set_cell_size

from numaview.model.frame import ProcessSample

UNKNOWN = "–"
HOT_PCT = 90.0  # CPU% cell drawn hot from here
IDLE_PCT = 0.5  # rows below this are drawn dim: they are rarely what one looks for
COMMAND_ROOM = 50  # COMMAND keeps this much before AFFINITY / MEM/NODE may grow
COMMAND_MIN = 16  # below this, whole columns go (DROP_ORDER) rather than every name

ProcKey = tuple[int, float]


def _neg(v: float | None) -> float:
    # Descending sorts put unknown values last, not between 0 and the rest.
    return 1.0 if v is None else -v


SORTS: dict[str, Callable[[ProcessSample], tuple[float, ...]]] = {
    "cpu": lambda p: (_neg(p.cpu_pct), p.pid),
    "mem": lambda p: (_neg(p.rss_bytes), p.pid),
    "threads": lambda p: (-p.threads, p.pid),
    "invol": lambda p: (_neg(p.ctx_involuntary_per_s), p.pid),
    "pid": lambda p: (p.pid, p.start_time),
}
SORT_KEYS = tuple(SORTS)

# title, width, how many columns it may grow by, right-aligned, sort key it shows
COLUMNS: tuple[tuple[str, int, int, bool, str | None], ...] = (
    ("PID", 7, 0, True, "pid"),
    ("USER", 8, 0, False, None),
    ("CPU%", 6, 0, True, "cpu"),
    ("THR", 5, 0, True, "threads"),
    ("RSS", 6, 0, True, "mem"),
    ("AFFINITY", 10, 8, False, None),
    ("NODES", 7, 0, False, None),
    ("MEM/NODE", 14, 10, False, None),
    ("INVOL/s", 8, 0, True, "invol"),
    ("COMMAND", 0, 0, False, None),
)
CPU_COL = 2
DROP_ORDER = (7, 8, 6, 3)  # MEM/NODE, INVOL/s, NODES, THR


def layout(width: int) -> list[int]:
    """Column widths (0: hidden). COMMAND takes the rest and is cut first; numbers
    without names are useless, so below COMMAND_MIN whole columns go (DROP_ORDER)."""
    widths = [c[1] for c in COLUMNS]

    def rest() -> int:
        return width - sum(w + 1 for w in widths[:-1] if w)

    for i in DROP_ORDER:
        if rest() >= COMMAND_MIN:
            break
        widths[i] = 0
    spare = rest() - COMMAND_ROOM
    for i, col in enumerate(COLUMNS):
        grow = min(col[2], max(spare, 0)) if widths[i] else 0
        widths[i] += grow
        spare -= grow
    widths[-1] = max(rest(), 0)
    return widths


def fit(text: str, width: int, right: bool = False) -> str:
    """Exactly ``width`` cells: padded, or cut with an ellipsis so the cut shows."""
    if not text.isprintable():
        text = "".join(ch if ch.isprintable() else "?" for ch in text)
    n = len(text) if text.isascii() else cell_len(text)
    if n > width:
        if width <= 0:
            return ""
        return (text[: width - 1] if text.isascii() else set_cell_size(text, width - 1)) + "…"
    pad = " " * (width - n)
    return pad + text if right else text + pad
