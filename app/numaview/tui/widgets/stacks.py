"""The stacks view of the process screen: one row per thread, the selected one's stack below.

A DataTable (Line API, cursor built in) rather than a Static: a process can
have hundreds of threads. It is rebuilt only when a dump arrives, which is on
demand (``s``) or every few seconds when auto-refresh (``S``) is on: each dump
stops the target, so it is never tied to the sampling tick.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Static

from numaview.stacks.join import COLUMNS, StackRow, row_cells
from numaview.stacks.types import StackDump, StacksError

Dumper = Callable[[int], StackDump]


def unavailable(pid: int) -> StackDump:
    """The dumper where there is none to be had (a recording: its processes are not here)."""
    raise StacksError("Python stacks are not available here", "unavailable")


class StacksDumped(Message):
    """Posted from the worker thread: a dump, or why there is none."""

    def __init__(self, pid: int, dump: StackDump | None, error: StacksError | None) -> None:
        super().__init__()
        self.pid = pid
        self.dump = dump
        self.error = error


class StacksPanel(Vertical):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rows: list[StackRow] = []

    def compose(self) -> ComposeResult:
        yield Static("", id="stacks-status")
        table: DataTable[str] = DataTable(id="stacks-table", cursor_type="row", zebra_stripes=False)
        yield table
        yield Static("", id="stacks-detail")

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns(*COLUMNS)

    def set_status(self, text: str) -> None:
        self.query_one("#stacks-status", Static).update(text)

    def show(self, rows: list[StackRow]) -> None:
        table: DataTable[str] = self.query_one(DataTable)
        keep = self.selected
        self.rows = rows
        table.clear()
        for r in rows:
            table.add_row(*row_cells(r), key=str(r.tid))
        tids = [r.tid for r in rows]
        if keep is not None and keep.tid in tids:
            table.move_cursor(row=tids.index(keep.tid))
        self._detail()

    @property
    def selected(self) -> StackRow | None:
        table: DataTable[str] = self.query_one(DataTable)
        i = table.cursor_row
        return self.rows[i] if 0 <= i < len(self.rows) else None

    def detail_text(self) -> str:
        r = self.selected
        if r is None:
            return ""
        head = f"thread {r.tid} {r.name}" + ("  (holds the GIL)" if r.owns_gil else "")
        if not r.python:
            return head + "\n  no Python stack: a native thread"
        return "\n".join([head, *(f"  {s}" for s in r.stack)])

    def _detail(self) -> None:
        self.query_one("#stacks-detail", Static).update(self.detail_text())

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self._detail()
