"""The heatmap as a CPU picker: a cursor moved with the arrow keys, space toggles a CPU.

The pin dialog's custom CPU list can be typed, but on a 128-CPU machine
nobody remembers which ids share an L3; pointing at the cells of the
topology is how a person builds such a list. It stays one line a node: the
dialog has less room than the dashboard.
"""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.message import Message

from numaview.tui.widgets.heatmap import Heatmap


class CpuPicker(Heatmap, can_focus=True):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left", "step(-1, 0)", "Previous CPU", show=False),
        Binding("right", "step(1, 0)", "Next CPU", show=False),
        Binding("up", "step(0, -1)", "CPU above", show=False),
        Binding("down", "step(0, 1)", "CPU below", show=False),
        Binding("space", "toggle_cpu", "Toggle CPU"),
    ]

    class Toggled(Message):
        """Space on a CPU: the dialog adds it to, or takes it out of, the custom list."""

        def __init__(self, cpu: int) -> None:
            super().__init__()
            self.cpu = cpu

    def _line_budget(self) -> int:
        return len(self.rows)

    def positions(self) -> list[tuple[int, int, int]]:
        """(line, column, cpu) of every cell, in reading order."""
        if not self._lines:
            self._relayout(self.size.width or 80)
        out: list[tuple[int, int, int]] = []
        for y, line in enumerate(self._lines):
            x = 0
            for text, _, cpu in line:
                if cpu is not None:
                    out.append((y, x, cpu))
                x += self.cell_w if cpu is not None else len(text)
        return out

    def on_focus(self) -> None:
        if self.cursor_cpu is None:
            cells = self.positions()
            if cells:
                self.set_cursor(cells[0][2])

    def on_blur(self) -> None:
        self.set_cursor(None)

    def action_step(self, dx: int, dy: int) -> None:
        cells = self.positions()
        if not cells:
            return
        here = next((i for i, c in enumerate(cells) if c[2] == self.cursor_cpu), None)
        if here is None:
            self.set_cursor(cells[0][2])
            return
        y, x, _ = cells[here]
        if dy == 0:
            self.set_cursor(cells[(here + dx) % len(cells)][2])
            return
        lines = sorted({c[0] for c in cells})
        at = lines.index(y) + dy
        if 0 <= at < len(lines):
            row = [c for c in cells if c[0] == lines[at]]
            self.set_cursor(min(row, key=lambda c: abs(c[1] - x))[2])

    def action_toggle_cpu(self) -> None:
        if self.cursor_cpu is not None:
            self.post_message(self.Toggled(self.cursor_cpu))
