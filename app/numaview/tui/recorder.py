"""Recording from the dashboard (R, m): the prompts, and the REC note in the header.

The recording itself is the Monitor's (stream/recording.py), on the sampling
side: the UI only asks for it to start, stop or mark, and shows the state
each bundle carries. A mixin of NumaviewApp to keep app.py small.
"""

from __future__ import annotations

import time

from textual.app import App

from numaview.stream.bundle import Bundle, MarkRequest, StartRecording, StopRecording
from numaview.stream.monitor import Monitor
from numaview.stream.recording import Recording
from numaview.tui.screens.prompt import PromptScreen
from numaview.tui.widgets.header import HeaderBar


def default_name(now: float | None = None) -> str:
    return time.strftime("numaview-%Y%m%d-%H%M%S.nvrec", time.localtime(now))


class RecorderMixin(App[int]):
    """NumaviewApp's recording half; the attributes below are NumaviewApp's."""

    monitor: Monitor
    bundle: Bundle | None
    _rec_note = ""

    @property
    def writer(self) -> Recording | None:
        """The recording in progress, as the last bundle says (None: not recording)."""
        b = self.bundle
        return self.monitor.recording if b is not None and b.recording is not None else None

    def _recording(self) -> bool:
        return self.bundle is not None and self.bundle.recording is not None

    def action_toggle_recording(self) -> None:
        if self.monitor.replay is not None:
            self.notify("recording is for the live or demo dashboard", severity="warning")
            return
        if self._recording():
            self.monitor.submit(StopRecording())
            return
        self.push_screen(
            PromptScreen("record every frame to this file:", default_name()), self.start_recording
        )

    def start_recording(self, name: str | None) -> None:
        if name is not None:
            self.monitor.submit(StartRecording(name, {"from": "dashboard"}))

    def show_recording(self, b: Bundle) -> None:
        r = b.recording
        note = "" if r is None else f"● REC {r.name} {r.seconds:.0f} s"
        if note != self._rec_note:
            self._rec_note = note
            self.query_one(HeaderBar).set_note(note)

    def action_add_mark(self) -> None:
        if not self._recording():
            self.notify("not recording: R starts a recording", severity="warning", timeout=4)
            return
        self.push_screen(PromptScreen("mark this moment; a note:", placeholder="note"), self._mark)

    def _mark(self, note: str | None) -> None:
        if note is not None:
            self.monitor.submit(MarkRequest(note))
