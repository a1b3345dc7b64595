"""Re-pinning from the dashboard (a, Enter on a finding): the pin dialog and what follows.

A mixin of NumaviewApp to keep app.py small. The dialog's dry runs run in a
worker thread; the pin itself is a request to the Monitor, which applies it
on the sampling side, has the process read in full at the next tick, and
sends the result back as an event (a notification and a chart marker).
"""

from __future__ import annotations

from textual.app import App

from numaview.diagnose.findings import Finding, PinPlan
from numaview.model.frame import Frame, ProcessSample
from numaview.model.topology import Topology
from numaview.pinning.apply import PinEvent
from numaview.stream.monitor import Monitor
from numaview.tui.screens.pin import PinScreen
from numaview.tui.widgets.findings import FindingsPanel
from numaview.tui.widgets.proctable import ProcessTable


class PinningMixin(App[int]):
    """NumaviewApp's pinning half; the attributes below are NumaviewApp's."""

    monitor: Monitor
    topology: Topology
    pin_events: list[PinEvent]
    frame: Frame | None
    latest: Frame | None

    def _selected_process(self) -> ProcessSample | None:
        # The table's row: a process, or a thread in threads view (H).
        return self.query_one(ProcessTable).selected

    def _can_pin(self) -> bool:
        if (
            self.monitor.pinner is None
        ):  # replay: the processes on screen are not this machine's now
            self.notify("re-pinning is not available here", severity="warning", timeout=4)
        return self.monitor.pinner is not None

    def action_pin_process(self) -> None:
        row, frame = self._selected_process(), self.frame
        if not self._can_pin():
            return
        if row is None or frame is None:
            self.notify("select a process to pin first", severity="warning", timeout=3)
            return
        pid = self.query_one(ProcessTable).parent_pid(row.pid)  # a thread row: its process
        self._open_pin(frame.process(pid) or row, None)

    def action_apply_fix(self) -> None:
        self._open_fix(self.query_one(FindingsPanel).selected)

    def _open_fix(self, finding: Finding | None) -> None:
        if finding is None or not self._can_pin():
            return
        fix = finding.fix
        if fix is None:
            self.notify("this finding has no automatic fix", severity="warning", timeout=4)
            return
        p = self.frame.process(fix.pid) if self.frame is not None else None
        if p is None or p.start_time != fix.start_time:
            self.notify(f"process {fix.pid} is gone", severity="warning", timeout=4)
            return
        self._open_pin(p, fix)

    def _open_pin(self, p: ProcessSample, preset: PinPlan | None) -> None:
        assert self.monitor.pinner is not None
        self.push_screen(
            PinScreen(self.topology, self.frame, p, self.monitor.pinner, preset, self.monitor)
        )
