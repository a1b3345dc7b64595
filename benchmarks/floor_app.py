"""The floor: a bare Textual app that repaints one line a second.

    .venv/bin/python -m benchmarks.floor_app

What any Textual dashboard costs before it samples or draws anything of its
own (the event loop, the compositor, the driver writing one changed line).
bench_peers runs it beside numaview so numaview's cost above Textual itself
can be quoted.
"""

from __future__ import annotations

import time

from textual.app import App, ComposeResult
from textual.widgets import Static


class FloorApp(App[None]):
    """One Static whose text changes once a second; nothing else."""

    CSS = "Static { height: 1; }"

    def compose(self) -> ComposeResult:
        yield Static("", id="line")

    def on_mount(self) -> None:
        self.set_interval(1.0, self._tick)

    def _tick(self) -> None:
        self.query_one("#line", Static).update(time.strftime("%H:%M:%S"))


if __name__ == "__main__":
    FloorApp().run()
