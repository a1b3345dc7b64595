"""SamplerThread: ticks a Sampler on the monotonic clock, without drift, forever.

Tick k happens at start + k × interval; a tick that runs late does not push
the later ones back, and ticks missed entirely (a suspended VM, a stalled
disk) are skipped rather than bunched. The thread never dies of a sampling
error: the error goes into the next frame's ``errors``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Protocol

from numaview.model.frame import Frame
from numaview.model.ring import RingBuffer, capacity_for
from numaview.model.topology import Topology

MIN_INTERVAL_S = 0.1
MAX_INTERVAL_S = 60.0
FIRST_GAP_S = 0.25
# A source keeps only its last minute: the Monitor's ring holds the hour of the
# same frames, and two hour-long rings would pack every frame twice.
SOURCE_SPAN_S = 60.0


def clamp_interval(seconds: float) -> float:
    return min(max(seconds, MIN_INTERVAL_S), MAX_INTERVAL_S)


class Sampling(Protocol):
    """Anything that turns the present into a Frame: the live Sampler, the simulation."""

    topology: Topology

    def sample(self) -> Frame: ...

    def reread(self, pid: int) -> None:
        """Read this process in full next time (after a pin); may do nothing."""


def next_tick(start: float, k: int, interval: float, now: float) -> tuple[int, float]:
    """Index and time of the tick after tick k: start + (k+1)·interval.

    Times are fixed multiples of the interval from ``start``, so a slow tick
    does not shift the ones after it; ticks whose time has already passed are
    skipped, not run back to back.
    """
    k += 1
    due = start + k * interval
    if due < now:
        k += int((now - due) // interval) + 1
        due = start + k * interval
    return k, due


class SamplerThread(threading.Thread):
    def __init__(
        self,
        sampler: Sampling,
        interval_s: float = 1.0,
        ring: RingBuffer | None = None,
        on_frame: Callable[[Frame], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(name="numaview-sampler", daemon=True)
        self.sampler = sampler
        self._interval = clamp_interval(interval_s)
        self.ring = (
            ring if ring is not None else RingBuffer(capacity_for(self._interval, SOURCE_SPAN_S))
        )
        self.on_frame = on_frame
        self.clock = clock
        self._stop_event = threading.Event()
        self._wake = threading.Event()
        self._pending_errors: list[str] = []
        self.ticks = 0

    @property
    def interval_s(self) -> float:
        return self._interval

    def set_interval(self, seconds: float) -> float:
        """Change the tick interval; takes effect from the next tick."""
        self._interval = clamp_interval(seconds)
        self._wake.set()
        return self._interval

    def stop(self, timeout: float | None = 5.0) -> None:
        self._stop_event.set()
        self._wake.set()
        if self.is_alive() and threading.current_thread() is not self:
            self.join(timeout)

    def run(self) -> None:
        # The first frame only sets the baseline (rates need two readings), so the
        # second comes after FIRST_GAP_S rather than a whole interval: the UI
        # shows real numbers within a fraction of a second.
        self._tick()
        self._wake.wait(min(FIRST_GAP_S, self._interval))
        self._wake.clear()
        start = self.clock()
        k = 0
        interval = self._interval
        while not self._stop_event.is_set():
            self._tick()
            now = self.clock()
            if interval != self._interval:  # re-anchor the schedule on a new interval
                interval, start, k = self._interval, now, 0
            k, due = next_tick(start, k, interval, now)
            self._wake.wait(max(due - now, 0.0))  # set_interval/stop wake it early
            self._wake.clear()

    def _tick(self) -> None:
        try:
            frame = self.sampler.sample()
        except Exception as exc:  # never die: report in the next frame
            self._pending_errors.append(f"sampler: {type(exc).__name__}: {exc}")
            return
        if self._pending_errors:
            frame = _with_errors(frame, self._pending_errors)
            self._pending_errors = []
        self.ticks += 1
        self.ring.append(frame)
        if self.on_frame is not None:
            try:
                self.on_frame(frame)
            except Exception as exc:
                self._pending_errors.append(f"frame consumer: {type(exc).__name__}: {exc}")


def _with_errors(frame: Frame, errors: list[str]) -> Frame:
    return replace(frame, errors=(*errors, *frame.errors))
