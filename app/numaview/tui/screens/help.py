"""The help screen: every key, generated from the bindings so it cannot go stale."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

INTRO = (
    "numaview shows every CPU on the machine's topology (packages → NUMA nodes → L3 domains →"
    " cores, SMT siblings side by side), each node's memory and where allocations land, and the"
    " processes using them. Select a process to see the CPUs it may use (others dimmed) and the"
    " CPUs its threads are on now (●)."
)


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Close"),
        Binding("q", "dismiss", "Close"),
        Binding("question_mark", "dismiss", "Close", show=False),
        Binding("f1", "dismiss", "Close", show=False),
    ]

    def __init__(self, rows: list[tuple[str, str]]) -> None:
        super().__init__()
        self.rows = rows

    def compose(self) -> ComposeResult:
        table = Table(box=None, show_header=True, header_style="bold", expand=False)
        table.add_column("key")
        table.add_column("does")
        seen: set[tuple[str, str]] = set()
        for key, what in self.rows:
            if (key, what) not in seen:
                seen.add((key, what))
                table.add_row(key, what)
        with VerticalScroll(id="help-box"):
            yield Static("numaview — keys", id="help-title")
            yield Static(INTRO, id="help-intro")
            yield Static(table, id="help-keys")
            yield Static("esc / q: close", id="help-foot")

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
