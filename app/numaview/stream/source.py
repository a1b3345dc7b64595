"""FrameSource: where frames come from, whether live, simulated or replayed.

The Monitor is the only consumer: it hands a source a callback and receives
frames on the source's thread. Widgets never see a source, so replay looks
exactly like live; what differs (re-pinning, stacks, seeking) is chosen by
the factories in ``stream/factories.py``, never by a kind string in the UI.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from numaview.model.frame import Frame
from numaview.model.ring import RingBuffer, capacity_for
from numaview.model.topology import Topology
from numaview.stacks.types import StackDump
from numaview.stream.ticker import SOURCE_SPAN_S, SamplerThread, Sampling, clamp_interval

Dumper = Callable[[int], StackDump]  # pid -> its threads' Python stacks (raises StacksError)


class FrameSource(Protocol):
    kind: str  # "live", "simulated", "replay": the header's label, nothing decides on it
    topology: Topology

    @property
    def interval_s(self) -> float: ...

    def set_interval(self, seconds: float) -> float: ...

    def start(self, on_frame: Callable[[Frame], None]) -> None: ...

    def stop(self) -> None: ...

    def reread(self, pid: int) -> None:
        """Read this process in full at the next tick (after a pin: its new mask shows at once)."""


class SampledSource:
    """A FrameSource that ticks a Sampling on a SamplerThread (live and simulated)."""

    def __init__(self, sampler: Sampling, interval_s: float = 1.0, kind: str = "live") -> None:
        self.sampler = sampler
        self.kind = kind
        self.topology = sampler.topology
        self._thread = SamplerThread(sampler, interval_s)
        self.ring = self._thread.ring

    @property
    def interval_s(self) -> float:
        return self._thread.interval_s

    def set_interval(self, seconds: float) -> float:
        return self._thread.set_interval(seconds)

    def start(self, on_frame: Callable[[Frame], None]) -> None:
        self._thread.on_frame = on_frame
        if not self._thread.is_alive():
            self._thread.start()

    def stop(self) -> None:
        self._thread.stop()

    def reread(self, pid: int) -> None:
        self.sampler.reread(pid)


class ManualSource:
    """A FrameSource driven by hand: each ``push()`` samples once and delivers the frame.

    For tests and the screenshot script: with a simulated sampler on a fake
    clock it is fully deterministic, and no thread runs.
    """

    def __init__(
        self,
        sampler: Sampling,
        kind: str = "simulated",
        interval_s: float = 1.0,
        advance: Callable[[float], None] | None = None,
    ) -> None:
        self.sampler = sampler
        self.kind = kind
        self.topology = sampler.topology
        # its last minute: the Monitor's ring keeps the hour (see SOURCE_SPAN_S)
        self.ring = RingBuffer(capacity_for(interval_s, SOURCE_SPAN_S))
        self._interval = interval_s
        self._advance = advance
        self._on_frame: Callable[[Frame], None] | None = None
        self.started = False

    @property
    def interval_s(self) -> float:
        return self._interval

    def set_interval(self, seconds: float) -> float:
        self._interval = clamp_interval(seconds)
        return self._interval

    def start(self, on_frame: Callable[[Frame], None]) -> None:
        self._on_frame = on_frame
        self.started = True

    def stop(self) -> None:
        self.started = False

    def reread(self, pid: int) -> None:
        self.sampler.reread(pid)

    def push(self, count: int = 1) -> Frame:
        """Advance the clock by one interval (if we own it), sample, deliver; returns the last frame."""
        frame = None
        for _ in range(count):
            if self._advance is not None:
                self._advance(self._interval)
            frame = self.sampler.sample()
            self.ring.append(frame)
            if self._on_frame is not None:
                self._on_frame(frame)
        assert frame is not None
        return frame
