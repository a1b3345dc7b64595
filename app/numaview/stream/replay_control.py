"""Moving through a recording on the sampling side: play/pause, step, speed, seeks.

The replay keys send ``ReplayRequest``s; here, on the Monitor's thread, the
source moves (reading SQLite), the ring and the detectors start over on the
history before the new position, and one bundle (``jumped``) goes out. A
frame the playback thread delivered before a seek carries an older
generation and is dropped, so nothing from before a jump can show after it.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from numaview.diagnose.engine import HISTORY_S, Diagnoser
from numaview.model.frame import Frame
from numaview.stream.bundle import ReplayRequest, ReplayState

if TYPE_CHECKING:
    from numaview.stream.monitor import Monitor
    from numaview.stream.source import FrameSource

FINDING_SCAN_S = 600.0  # how far a next/previous-finding seek looks


class ReplayControl:
    def __init__(self, monitor: Monitor, source: FrameSource) -> None:
        from numaview.record.replay import NAV_EVENTS, ReplaySource

        assert isinstance(source, ReplaySource)
        self.monitor = monitor
        self.source = source
        # Playing stops by itself at the end: the UI hears it from a bundle, not a timer.
        source.on_state = lambda: monitor.call(monitor.publish)
        self._nav = tuple(e.time for e in source.events if e.kind in NAV_EVENTS)

    @staticmethod
    def accepts(source: object) -> bool:
        # record.replay (and SQLite) load with a recording, not with every Monitor:
        # when the module is not loaded, no ReplaySource exists
        replay = sys.modules.get("numaview.record.replay")
        return replay is not None and isinstance(source, replay.ReplaySource)

    def generation(self) -> int:
        return self.source.generation

    def current(self, generation: int) -> bool:
        return generation == self.source.generation

    def state(self) -> ReplayState:
        src = self.source
        shown = self.monitor.frame
        return ReplayState(
            first_time=src.first_time,
            last_time=src.last_time,
            position=shown.time if shown is not None else src.first_time,
            events=self._nav,
            speed=src.speed,
            playing=src.playing,
        )

    def jumped(self, frame: Frame | None, say: str = "") -> None:
        """After a seek: the detectors start over on the HISTORY_S before the position."""
        m = self.monitor
        if say:
            m.event("replay", say)
        if frame is None:
            m.publish()
            return
        m.reset(self.source.ring.frames(), frame)
        m.publish(jumped=True)

    def handle(self, req: ReplayRequest) -> None:
        src, m, arg = self.source, self.monitor, req.arg
        what = req.what
        if what == "play":
            src.toggle_playing()
            m.publish()
        elif what == "speed":
            speed = src.step_speed(int(arg))
            m.event("replay", f"{speed:g}×")
            m.publish()
        elif what == "step":
            self._step(int(arg))
        elif what == "seek_by":
            self.jumped(src.seek_by(float(arg)))
        elif what == "seek_to":
            self._goto(str(arg))
        elif what == "event":
            self._event(int(arg))
        elif what == "finding":
            self._finding(int(arg))
        else:
            m.event("replay", f"unknown replay request {what!r}", severity="warning")
            m.publish()

    def _step(self, direction: int) -> None:
        before = self.source.frame
        frame = self.source.step(direction)
        if frame is None:
            self.monitor.event(
                "replay", "the end of the recording" if direction > 0 else "the start"
            )
            self.monitor.publish()
        elif direction > 0 and before is not None and frame.seq > before.seq:
            self.monitor.process(frame)  # the detectors go on from here
        else:
            self.jumped(frame)

    def _goto(self, text: str) -> None:
        try:
            from numaview.record.replay import parse_when

            t = parse_when(text, self.source.first_time)
        except ValueError:
            self.monitor.event("replay", f"{text!r}: not seconds or HH:MM:SS", severity="warning")
            self.monitor.publish()
            return
        self.jumped(self.source.seek(t))

    def _event(self, direction: int) -> None:
        hit = self.source.seek_event(direction)
        if hit is None:
            self.monitor.event("replay", "no more events that way")
            self.monitor.publish()
            return
        event, frame = hit
        what = event.data.get("note") or event.data.get("target") or event.data.get("error") or ""
        self.jumped(frame, f"{event.kind} {what}".strip())

    def _finding(self, direction: int) -> None:
        """Seek to where the raised findings change, found by a throwaway Diagnoser.

        Findings are recomputed, not read from the file (improved detectors
        apply to old recordings), so the scan runs them over the frames; it is
        bounded to FINDING_SCAN_S so a long recording cannot stall replay.
        """
        src, m = self.source, self.monitor
        cur = src.frame
        if cur is None:
            return
        d = Diagnoser(m.topology, m.thresholds)
        if direction > 0:
            for f in src.ring.window(HISTORY_S):
                d.update(f)
            now = {x.key for x in d.current()}
            for f in src.reader.frames_between(cur.time + 1e-6, cur.time + FINDING_SCAN_S):
                keys = {x.key for x in d.update(f)}
                if keys != now:
                    self.jumped(src.seek(f.time), _change(now, keys))
                    return
        else:
            start = cur.time - FINDING_SCAN_S - HISTORY_S
            change, before, prev = None, set[str](), None
            for f in src.reader.frames_between(start, cur.time - 1e-6):
                keys = {x.key for x in d.update(f)}
                if prev is not None and keys != prev and f.time >= start + HISTORY_S:
                    change, before = f, prev
                prev = keys
            if change is not None:
                frame = src.seek(change.time)
                if frame is not None:
                    m.reset(src.ring.frames(), frame)
                m.event("replay", _change(before, {x.key for x in m.findings}))
                m.publish(jumped=True)
                return
        m.event("replay", "the findings do not change within 10 min that way")
        m.publish()


def _change(before: set[str], after: set[str]) -> str:
    raised = sorted(after - before)
    cleared = sorted(before - after)
    parts = [f"raised {', '.join(raised)}"] * bool(raised) + [
        f"cleared {', '.join(cleared)}"
    ] * bool(cleared)
    return "; ".join(parts) or "findings changed"
