"""The load test on the dashboard: the load strip, the before/after panel and its key.

A mixin of NumaviewApp to keep app.py small. The figures, their comparison
across a pin and the countdown were all computed on the sampling side (the
frame's ``workload``, the bundle's ``comparisons`` and ``measuring``); this
only hands them to the widgets. The process table marks a server's row itself
(``ProcessTable.show`` reads ``frame.workload``'s pids); the charts read the
ring's frames.
"""

from __future__ import annotations

from textual.app import App, ComposeResult

from numaview.model.frame import Frame
from numaview.stream.bundle import Bundle
from numaview.tui.widgets.compare import ComparePanel
from numaview.tui.widgets.loadstrip import LoadStrip


class WorkloadMixin(App[int]):
    """NumaviewApp's load-test half; ``bundle`` is NumaviewApp's."""

    bundle: Bundle | None

    def workload_widgets(self) -> ComposeResult:
        """Under the header: the strip, then the panel (both hidden until there is data)."""
        yield LoadStrip(id="loadstrip")
        yield ComparePanel(id="compare")

    def show_workload(self, frame: Frame) -> None:
        """The shown frame's sources in the strip (hidden when there are none)."""
        self.query_one(LoadStrip).show(frame)

    def show_comparisons(self, bundle: Bundle) -> None:
        """Every bundle, paused or not: a comparison that arrives opens the panel."""
        now = None if bundle.frame is None else bundle.frame.mono
        self.query_one(ComparePanel).show(bundle.comparisons, bundle.measuring, now)

    def action_toggle_compare(self) -> None:
        panel = self.query_one(ComparePanel)
        if not panel.lines:
            self.notify(
                "no before/after comparison yet: pin a process while a workload source is followed",
                timeout=4,
            )
            return
        panel.set_open(not panel.is_open)

    def hide_compare(self) -> bool:
        """Escape: close the panel if it is open (True: it was)."""
        panel = self.query_one(ComparePanel)
        if not panel.is_open:
            return False
        panel.set_open(False)
        return True
