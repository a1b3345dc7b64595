"""Before/after each pin: the windows around it, waited for on the sampling side.

A pin (from the UI, or undo) opens a ``Measuring``; once a frame is past the
pin + settle + after-window, each workload source's samples in the ring
give one ``Comparison`` (``workload/compare.py`` says how a change is judged
against the before-window's noise). The Monitor puts the comparisons in its
bundles, as ``compare`` events, and in the recording.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from numaview.model.frame import Frame
from numaview.model.workload import Comparison, Measuring, WorkloadSample

KEEP = 16  # comparisons a bundle carries, newest last


@dataclass(frozen=True, slots=True)
class Windows:
    before_s: float = 30.0
    settle_s: float = 5.0
    after_s: float = 30.0

    @property
    def span_s(self) -> float:
        return self.before_s + self.settle_s + self.after_s


def samples_by_source(frames: Sequence[Frame]) -> dict[str, list[WorkloadSample]]:
    """Each source's distinct samples in time order (a frame repeats a sample between reads)."""
    out: dict[str, list[WorkloadSample]] = {}
    for f in frames:
        for s in f.workload:
            if s.mono is None or s.error is not None:
                continue
            seq = out.setdefault(s.source, [])
            if not seq or seq[-1].mono != s.mono:
                seq.append(s)
    return out


def compare_frames(
    frames: Sequence[Frame],
    pin_mono: float,
    pin_text: str,
    windows: Windows,
    event_id: int | None = None,
) -> list[Comparison]:
    """One comparison per source that has samples on both sides of the pin."""
    from numaview.workload.compare import compare  # statistics: with the first comparison

    out = []
    for samples in samples_by_source(frames).values():
        c = compare(
            samples,
            pin_mono,
            pin_text,
            windows.before_s,
            windows.settle_s,
            windows.after_s,
            event_id,
        )
        if c is not None:
            out.append(c)
    return out


@dataclass(slots=True)
class _Pending:
    measuring: Measuring
    event_id: int | None


class PinMeasures:
    def __init__(self, windows: Windows | None = None) -> None:
        self.windows = windows or Windows()
        self._pending: list[_Pending] = []
        self.comparisons: deque[Comparison] = deque(maxlen=KEEP)

    def pinned(self, text: str, mono: float, event_id: int | None) -> None:
        ready = mono + self.windows.settle_s + self.windows.after_s
        self._pending.append(_Pending(Measuring(text, mono, ready), event_id))

    @property
    def measuring(self) -> tuple[Measuring, ...]:
        return tuple(p.measuring for p in self._pending)

    def due(self, frame: Frame) -> bool:
        """Whether an after-window closes with ``frame`` (only then is the ring read)."""
        return any(frame.mono >= p.measuring.ready_mono for p in self._pending)

    def update(self, frame: Frame, frames: Sequence[Frame]) -> list[Comparison]:
        """Comparisons whose after-window closed with ``frame`` (``frames``: the ring)."""
        done = [p for p in self._pending if frame.mono >= p.measuring.ready_mono]
        if not done:
            return []
        self._pending = [p for p in self._pending if p not in done]
        out = []
        for p in done:
            m = p.measuring
            lo = m.pin_mono - self.windows.before_s
            window = [f for f in frames if lo <= f.mono <= m.ready_mono]
            for c in compare_frames(window, m.pin_mono, m.pin_text, self.windows, p.event_id):
                out.append(c)
                self.comparisons.append(c)
        return out

    def clear(self) -> None:
        self._pending.clear()
        self.comparisons.clear()


class RecordedMeasures:
    """Replay: the recording's ``compare`` events, shown once the replay is past them.

    A recorded comparison appears when the position reaches the end of its
    after-window, as it did live; before that, from its pin on, it counts
    down. Computed from the position, so a seek shows what was known then.
    """

    def __init__(self, compare_events: Sequence[Mapping[str, Any]]) -> None:
        comps = []
        for data in compare_events:
            try:
                comps.append(Comparison.from_dict(data))
            except (KeyError, TypeError, ValueError):
                continue  # a damaged or foreign event: the rest still shows
        self.comparisons = sorted(comps, key=lambda c: c.after[1])

    def at(self, mono: float) -> tuple[tuple[Comparison, ...], tuple[Measuring, ...]]:
        done = tuple(c for c in self.comparisons if c.after[1] <= mono)[-KEEP:]
        pending = {
            c.pin_mono: Measuring(c.pin_text, c.pin_mono, c.after[1])
            for c in self.comparisons
            if c.pin_mono <= mono < c.after[1]
        }
        return done, tuple(pending.values())
