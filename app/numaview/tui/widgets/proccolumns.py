"""The TUI's side of the process columns: their layout at a terminal width, and
when a row is drawn hot or dim.

The columns themselves (titles, widths, alignment, sorts, cell text) are
``render/columns.py``, shared with ``numaview snapshot`` and ``numaview export``.
"""

from __future__ import annotations

from numaview.render import columns

HOT_PCT = 90.0  # CPU% cell drawn hot from here
IDLE_PCT = 0.5  # rows below this are drawn dim: they are rarely what one looks for

ProcKey = tuple[int, float]
GUTTER = 1  # the table's first cell: ● on a tagged row (htop's space)


def layout(width: int, gpus: bool = False) -> list[int]:
    """Widths of ``columns.PROCESS_COLUMNS`` on a ``width``-cell line (0: hidden):
    COMMAND takes the rest and is cut first, then whole columns go. The GPU
    column is there on a machine with GPUs only."""
    hidden = () if gpus else (columns.GPU_COL,)
    return columns.layout(columns.PROCESS_COLUMNS, width, hidden=hidden)


def table_layout(width: int, gpus: bool = False) -> list[int]:
    """The process table's columns: ``layout`` of what the tag gutter leaves."""
    return layout(width - GUTTER, gpus)
