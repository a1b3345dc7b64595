"""FrameSource: what the UI reads, whether the frames come live, simulated or replayed.

Widgets cannot tell sources apart, so replay looks exactly like live. A
source owns its ring buffer and its clock; the UI hands it a callback and
receives frames on the sampler thread (it must only post a message from it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from numaview.model.frame import Frame
from numaview.model.topology import Topology
from numaview.sampler.ring import RingBuffer
from numaview.sampler.thread import SamplerThread, Sampling


class FrameSource(Protocol):
    kind: str  # "live", "simulated", "replay"
    topology: Topology
    ring: RingBuffer

    @property
    def interval_s(self) -> float: ...

    def set_interval(self, seconds: float) -> float: ...

    def start(self, on_frame: Callable[[Frame], None]) -> None: ...

    def stop(self) -> None: ...


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
