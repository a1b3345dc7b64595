"""ReplaySource: a recording played back as a FrameSource, so the dashboard cannot tell it from live.

It lives in sampler/ (not record/) because a FrameSource owns a RingBuffer;
sampler/ may import record/ for this (docs/ARCHITECTURE.md, layers).

Playback is driven by ``tick()``: it delivers every frame whose recorded time,
scaled by the speed, has come on ``clock``. The playback thread only calls
tick() and sleeps until the next frame is due (or until a key changes the
state); tests inject a fake clock and call tick() themselves, so no test
waits on real time. One lock guards the Reader: the thread and the UI take
turns on it (the Reader's connection allows another thread for this reason).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from numaview.model.frame import Frame
from numaview.model.ring import RingBuffer, capacity_for
from numaview.record.reader import Event, Reader

SPEEDS = (1.0, 2.0, 10.0, 60.0)
REFILL_S = 300.0  # history refilled on a seek: the charts' window, not the hour the ring holds
NAV_EVENTS = ("pin", "plan", "mark", "sampler-error")  # what n/N jump between


def parse_when(text: str, first_time: float) -> float:
    """Epoch time from "90" / "90.5" (seconds from the start) or "HH:MM:SS" (local clock).

    A clock time earlier than the start is taken as the next day's, so a
    recording that runs past midnight is still reachable.
    """
    text = text.strip()
    if ":" not in text:
        return first_time + float(text)
    parts = [int(p) for p in text.split(":")]
    if len(parts) != 3 or not (0 <= parts[0] < 24 and 0 <= parts[1] < 60 and 0 <= parts[2] < 60):
        raise ValueError(text)
    h, m, s = parts
    day = time.localtime(first_time)
    t = time.mktime((day.tm_year, day.tm_mon, day.tm_mday, h, m, s, 0, 0, -1))
    return t + 86400 if t < first_time - 1 else t


class ReplaySource:
    """Plays ``reader``'s frames at recorded pace × speed; seek, step and pause from the UI."""

    kind = "replay"

    def __init__(
        self,
        reader: Reader,
        *,
        speed: float = 1.0,
        start: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        threaded: bool = True,
    ) -> None:
        self.reader = reader
        self.topology = reader.topology  # the recorded machine, not this one
        self._interval = reader.interval_s
        # What a move hands the Monitor as history: the REFILL_S a seek reads, or
        # (a step back, a jump to a finding) what played before, as much. The
        # Monitor's own ring keeps the hour as it plays.
        self.ring = RingBuffer(capacity_for(self._interval, REFILL_S + 60.0))
        self.speed = speed
        self.playing = True
        self.events: list[Event] = reader.events()
        self.first_time = reader.first_time or 0.0
        self.last_time = reader.last_time or self.first_time
        self.frame: Frame | None = None  # the frame at the position
        self.pos = 0  # the recording's seq of that frame; 0 before start
        self._start = start
        self._clock = clock
        self._threaded = threaded
        self._cond = threading.Condition(threading.RLock())
        self._on_frame: Callable[[Frame], None] | None = None
        self._next: tuple[int, Frame] | None = None
        self._anchor = (0.0, 0.0)  # (clock, frame.mono) where pacing restarts
        self._thread: threading.Thread | None = None
        self._stopped = False
        self._cursor: float | None = None  # an event's time after jumping to it (between frames)
        self.generation = 0  # +1 on every move that is not playing on: older deliveries are stale
        self.on_state: Callable[[], None] | None = None  # told when playing stops at the end

    # -- FrameSource ------------------------------------------------------------------

    @property
    def interval_s(self) -> float:
        return self._interval

    def set_interval(self, seconds: float) -> float:
        return self._interval  # the recording's interval is fixed

    def reread(self, pid: int) -> None:
        """Nothing to read: a recording's processes are not this machine's."""

    def start(self, on_frame: Callable[[Frame], None]) -> None:
        """Goes to the start position (history filled) and delivers that frame, then plays."""
        self._on_frame = on_frame
        frame = self.seek(self.first_time if self._start is None else self._start)
        if frame is not None:
            on_frame(frame)
        if self._threaded and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="numaview-replay", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2)

    # -- playback ---------------------------------------------------------------------

    def _run(self) -> None:
        with self._cond:
            while not self._stopped:
                delay = self.tick()
                self._cond.wait(timeout=delay)

    def tick(self) -> float | None:
        """Delivers the frames that are due; seconds until the next one (None: nothing to wait for)."""
        with self._cond:
            while self.playing and self.frame is not None:
                nxt = self._peek()
                if nxt is None:
                    self.playing = False  # the end: stay on the last frame
                    if self.on_state is not None:
                        self.on_state()
                    return None
                seq, frame = nxt
                due = self._anchor[0] + (frame.mono - self._anchor[1]) / self.speed
                now = self._clock()
                if due > now:
                    return due - now
                self._next = None
                self._set(seq, frame, jump=False)
                self.ring.append(frame)
                if self._on_frame is not None:
                    self._on_frame(frame)
            return None

    def _peek(self) -> tuple[int, Frame] | None:
        if self._next is None:
            try:
                self._next = (self.pos + 1, self.reader.frame_by_seq(self.pos + 1))
            except IndexError:
                return None
        return self._next

    def _set(self, seq: int, frame: Frame, jump: bool = True) -> None:
        self.pos, self.frame, self._cursor = seq, frame, None
        if jump:
            self.generation += 1

    def _reanchor(self) -> None:
        if self.frame is not None:
            self._anchor = (self._clock(), self.frame.mono)
        self._cond.notify_all()

    def set_playing(self, playing: bool) -> None:
        with self._cond:
            self.playing = playing
            self._reanchor()

    def toggle_playing(self) -> bool:
        self.set_playing(not self.playing)
        return self.playing

    def set_speed(self, speed: float) -> float:
        with self._cond:
            self.speed = speed
            self._reanchor()
            return speed

    def step_speed(self, direction: int) -> float:
        """The next speed up (+1) or down (-1) in SPEEDS."""
        i = min(range(len(SPEEDS)), key=lambda k: abs(SPEEDS[k] - self.speed))
        return self.set_speed(SPEEDS[max(0, min(len(SPEEDS) - 1, i + direction))])

    # -- moving -----------------------------------------------------------------------

    def seek(self, t: float) -> Frame | None:
        """To the frame at or before ``t``; the ring is refilled with the REFILL_S before it.

        The caller (the UI) shows the returned frame and re-runs its detectors
        over the ring: nothing is delivered through on_frame, so no stale
        frame from before the seek can arrive after it.
        """
        with self._cond:
            seq = self.reader.seq_at(t)
            if seq is None:
                return None
            frame = self.reader.frame_by_seq(seq)
            self.ring.clear()
            for f in self.reader.frames_between(frame.time - REFILL_S, frame.time):
                if f.time < frame.time:
                    self.ring.append(f)
            self.ring.append(frame)
            self._next = None
            self._set(seq, frame)
            self._reanchor()
            return frame

    def seek_by(self, seconds: float) -> Frame | None:
        base = self.frame.time if self.frame is not None else self.first_time
        return self.seek(max(self.first_time, min(self.last_time, base + seconds)))

    def step(self, direction: int) -> Frame | None:
        """One frame forward (+1) or back (-1); pauses, as a video player's frame step does."""
        with self._cond:
            self.playing = False
            target = self.pos + direction
            try:
                frame = self.reader.frame_by_seq(target)
            except IndexError:
                return None
            if direction > 0:
                self.ring.append(frame)
            else:  # the ring is cut back to the new position, no re-read
                kept = [f for f in self.ring.frames() if f.time < frame.time]
                self.ring.clear()
                for f in [*kept, frame]:
                    self.ring.append(f)
            self._next = None
            self._set(target, frame)
            self._reanchor()
            return frame

    def event_after(self, direction: int) -> Event | None:
        """The next (+1) or previous (-1) pin, mark or sampler error from the position."""
        now = self.frame.time if self.frame is not None else self.first_time
        if self._cursor is not None:
            now = max(now, self._cursor)
        marks = [e for e in self.events if e.kind in NAV_EVENTS]
        if direction > 0:
            return next((e for e in marks if e.time > now + 1e-6), None)
        return next((e for e in reversed(marks) if e.time < now - 1e-6), None)

    def seek_event(self, direction: int) -> tuple[Event, Frame | None] | None:
        e = self.event_after(direction)
        if e is None:
            return None
        with self._cond:
            frame = self.seek(e.time)
            self._cursor = e.time  # "next" goes past this event, not back to it
            return e, frame
