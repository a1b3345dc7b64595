"""Recording from the dashboard (R, m): every frame the app receives, pins, marks and findings.

The Writer lives on the UI thread and is fed from on_frame_arrived: add_frame
measured 1.6 ms median, 2.7 ms max on the 128-CPU simulation (one SQLite
transaction, WAL, no fsync), well under a frame's budget, so no writer
thread and queue. A mixin of NumaviewApp to keep app.py small.
"""

from __future__ import annotations

import time
from typing import Any

from textual.app import App

from numaview.diagnose.findings import Finding
from numaview.model.frame import Frame
from numaview.model.topology import Topology
from numaview.pinning.apply import PinEvent
from numaview.record.format import RecordingError
from numaview.record.writer import Writer
from numaview.stream.source import FrameSource
from numaview.tui.screens.prompt import PromptScreen
from numaview.tui.widgets.header import HeaderBar


def default_name(now: float | None = None) -> str:
    return time.strftime("numaview-%Y%m%d-%H%M%S.nvrec", time.localtime(now))


class RecorderMixin(App[int]):
    """NumaviewApp's recording half; the attributes below are NumaviewApp's."""

    source: FrameSource
    topology: Topology
    pin_events: list[PinEvent]
    findings: tuple[Finding, ...]
    frame: Frame | None
    latest: Frame | None
    writer: Writer | None = None
    _rec_start: float | None = None  # mono of the first frame recorded
    _pins_written = 0
    _raised_keys: frozenset[str] = frozenset()

    def action_toggle_recording(self) -> None:
        if self.source.kind == "replay":
            self.notify("recording is for the live or demo dashboard", severity="warning")
            return
        if self.writer is not None:
            self.stop_recording()
            return
        self.push_screen(
            PromptScreen("record every frame to this file:", default_name()), self.start_recording
        )

    def start_recording(self, name: str | None) -> None:
        if name is None or self.writer is not None:
            return
        try:
            self.writer = Writer(name, self.topology, self.source.interval_s, {"from": "dashboard"})
        except RecordingError as exc:
            self.notify(str(exc), title="not recording", severity="error", timeout=8)
            return
        self._rec_start = None
        self._pins_written = len(self.pin_events)  # pins made before do not belong to it
        self._raised_keys = frozenset(f.key for f in self.findings)
        self._show_rec()

    def record_frame(self, frame: Frame, findings: tuple[Finding, ...]) -> None:
        """Called for every frame the app diagnoses (also those its queue dropped)."""
        w = self.writer
        if w is None:
            return
        try:
            w.add_frame(frame)
            if self._rec_start is None:
                self._rec_start = frame.mono
            for event in self.pin_events[self._pins_written :]:
                w.add_event("pin", frame.mono, event.to_dict(), when=event.time)
            self._pins_written = len(self.pin_events)
            for f in findings:
                if f.key not in self._raised_keys:  # raised just now
                    w.add_event("finding", frame.mono, f.to_dict(), when=frame.time)
            self._raised_keys = frozenset(f.key for f in findings)
        except RecordingError as exc:  # disk full, file removed: stop, say why
            self.notify(str(exc), title="recording stopped", severity="error", timeout=10)
            self.stop_recording()
            return
        self._show_rec(frame)

    def _show_rec(self, frame: Frame | None = None) -> None:
        w = self.writer
        note = ""
        if w is not None:
            secs = 0.0 if frame is None or self._rec_start is None else frame.mono - self._rec_start
            note = f"● REC {w.path.name} {secs:.0f} s"
        header = self.query_one(HeaderBar)
        header.note = note
        header.refresh()

    def action_add_mark(self) -> None:
        if self.writer is None:
            self.notify("not recording: R starts a recording", severity="warning", timeout=4)
            return
        self.push_screen(PromptScreen("mark this moment; a note:", placeholder="note"), self._mark)

    def _mark(self, note: str | None) -> None:
        w, shown = self.writer, self.latest or self.frame
        if note is None or w is None:
            return
        data: dict[str, Any] = {"note": note}
        w.add_event("mark", shown.mono if shown else time.monotonic(), data)
        self.notify(f"marked: {note}", timeout=3)

    def stop_recording(self) -> None:
        w, self.writer = self.writer, None
        if w is None:
            return
        w.close()
        self.notify(f"saved {w.path} ({w.frames} frames)", title="recording", timeout=6)
        self._show_rec()
