"""A thread-safe, fixed-capacity ring of frames (default: one hour at the interval)."""

from __future__ import annotations

import math
import threading
from collections import deque

from numaview.model.frame import Frame

DEFAULT_SPAN_S = 3600.0


def capacity_for(interval_s: float, span_s: float = DEFAULT_SPAN_S) -> int:
    return max(1, math.ceil(span_s / interval_s))


class RingBuffer:
    """The sampler thread appends; the UI and detectors read copies, never blocking long."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("ring capacity must be at least 1")
        self._frames: deque[Frame] = deque(maxlen=capacity)
        self._lock = threading.Lock()

    @property
    def capacity(self) -> int:
        return self._frames.maxlen or 0

    def append(self, frame: Frame) -> None:
        with self._lock:
            self._frames.append(frame)

    def latest(self) -> Frame | None:
        with self._lock:
            return self._frames[-1] if self._frames else None

    def frames(self) -> list[Frame]:
        with self._lock:
            return list(self._frames)

    def window(self, seconds: float) -> list[Frame]:
        """Frames of the last ``seconds`` (by the sampler's monotonic clock), oldest first."""
        with self._lock:
            if not self._frames:
                return []
            since = self._frames[-1].mono - seconds
            out: list[Frame] = []
            for f in reversed(self._frames):
                if f.mono < since:
                    break
                out.append(f)
        out.reverse()
        return out

    def after(self, seq: int) -> list[Frame]:
        """Frames newer than ``seq``, oldest first: what a consumer that skipped some missed."""
        with self._lock:
            out: list[Frame] = []
            for f in reversed(self._frames):
                if f.seq <= seq:
                    break
                out.append(f)
        out.reverse()
        return out

    def clear(self) -> None:
        with self._lock:
            self._frames.clear()

    def __len__(self) -> int:
        return len(self._frames)
