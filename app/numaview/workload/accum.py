"""Raw readings into reset-corrected running totals, and the figures over the last window.

A server's counters go back to 0 when it restarts; a rate over a window that
spans the restart would come out negative (or, from a histogram, nonsense).
So every counter and histogram bucket gets an offset that grows by the value
it had just before each reset, and the totals a ``WorkloadSample`` carries
only ever rise. A reset is:

- a counter that went down, or whose ``_created`` timestamp changed (a
  restart that already counted past the old value does not go down);
- a histogram whose ``_count`` or any bucket went down, whose ``_created``
  changed, or whose bounds changed. With new bounds, the old buckets cannot
  carry over: the bucket totals start again from the new raw counts (a
  window across the change has no percentiles, its bounds differ) while the
  ``_count`` and ``_sum`` carry on;
- a counter or histogram that is missing from a reading: it is taken as reset
  to 0 there and then (its total stays, frozen), so when it comes back its
  whole value is new. A server that drops a metric without restarting
  would be counted twice; servers drop metrics when they restart.

A reading from a different server (another one took the port) starts afresh.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, replace

from numaview.model.workload import Histogram, Reading, WorkloadSample
from numaview.workload.figures import empty_figures, figures_between


@dataclass(slots=True)
class _CounterState:
    raw: float  # the last raw value (0 after it went missing)
    offset: float
    created: float | None


@dataclass(slots=True)
class _HistState:
    raw: Histogram
    offsets: tuple[float, ...]  # per bucket
    total_offset: float
    sum_offset: float
    created: float | None
    missing: bool = False


def _corrected(h: Histogram, s: _HistState) -> Histogram:
    return Histogram(
        h.bounds,
        tuple(c + o for c, o in zip(h.counts, s.offsets, strict=True)),
        None if h.total is None else h.total + s.total_offset,
        None if h.sum is None else h.sum + s.sum_offset,
    )


def _went_down(new: Histogram, old: Histogram) -> bool:
    if new.total is not None and old.total is not None and new.total < old.total:
        return True
    return any(n < o for n, o in zip(new.counts, old.counts, strict=True))


class Accumulator:
    """One source's samples: corrected totals, and figures over the window before each."""

    def __init__(self, source: str, window_s: float = 5.0, keep_s: float = 60.0) -> None:
        self.source = source
        self.window_s = window_s
        self.keep_s = keep_s
        self._server: str | None = None
        self._counters: dict[str, _CounterState] = {}
        self._hists: dict[str, _HistState] = {}
        self._samples: deque[WorkloadSample] = deque()

    @property
    def latest(self) -> WorkloadSample | None:
        """The newest good sample, None before the first reading."""
        return self._samples[-1] if self._samples else None

    # -- correcting ----------------------------------------------------------------------

    def _counter(self, name: str, raw: float, created: float | None) -> float:
        s = self._counters.get(name)
        if s is None:
            self._counters[name] = _CounterState(raw, 0.0, created)
            return raw
        restarted = created is not None and s.created is not None and created != s.created
        if raw < s.raw or restarted:
            s.offset += s.raw
        s.raw = raw
        if created is not None:
            s.created = created
        return raw + s.offset

    def _hist(self, name: str, h: Histogram, created: float | None) -> Histogram:
        s = self._hists.get(name)
        if s is None:
            s = _HistState(h, (0.0,) * len(h.counts), 0.0, 0.0, created)
            self._hists[name] = s
            return h
        restarted = created is not None and s.created is not None and created != s.created
        old = s.raw
        if h.bounds != old.bounds:
            # new buckets cannot continue the old ones; _count and _sum can
            s.offsets = (0.0,) * len(h.counts)
            s.total_offset += old.total or 0.0
            s.sum_offset += old.sum or 0.0
        elif s.missing or restarted or _went_down(h, old):
            s.offsets = tuple(o + c for o, c in zip(s.offsets, old.counts, strict=True))
            s.total_offset += old.total or 0.0
            s.sum_offset += old.sum or 0.0
        s.raw, s.missing = h, False
        if created is not None:
            s.created = created
        return _corrected(h, s)

    def _missing_hist(self, s: _HistState) -> Histogram:
        """A histogram absent from this reading: reset to 0 now, its corrected total kept."""
        if not s.missing:
            s.offsets = tuple(o + c for o, c in zip(s.offsets, s.raw.counts, strict=True))
            s.total_offset += s.raw.total or 0.0
            s.sum_offset += s.raw.sum or 0.0
            s.raw = Histogram(
                s.raw.bounds,
                (0.0,) * len(s.raw.counts),
                None if s.raw.total is None else 0.0,
                None if s.raw.sum is None else 0.0,
            )
            s.missing = True
        return _corrected(s.raw, s)

    def _correct(self, reading: Reading) -> tuple[dict[str, float], dict[str, Histogram]]:
        counters: dict[str, float] = {}
        for name, raw in reading.counters.items():
            if not math.isfinite(raw):
                continue  # as if missing (below)
            counters[name] = self._counter(name, raw, reading.created.get(name))
        for name, s in self._counters.items():
            if name not in counters:  # gone: reset to 0 now, total frozen
                s.offset += s.raw
                s.raw = 0.0
                counters[name] = s.offset
        hists: dict[str, Histogram] = {}
        for name, h in reading.hists.items():
            hists[name] = self._hist(name, h, reading.created.get(name))
        for name, hs in self._hists.items():
            if name not in reading.hists:
                hists[name] = self._missing_hist(hs)
        return counters, hists

    # -- samples -------------------------------------------------------------------------

    def _before(self, mono: float, newest: int) -> int | None:
        """Index of the newest sample at or before ``mono`` among the first ``newest``,
        else the oldest; None when there are none."""
        if newest <= 0:
            return None
        found = 0
        for i in range(newest):
            m = self._samples[i].mono
            if m is not None and m <= mono:
                found = i
        return found

    def add(self, reading: Reading, mono: float, pid: int | None = None) -> WorkloadSample:
        """The sample of this reading: corrected totals and the figures up to ``mono``."""
        if self._server is not None and reading.server != self._server:
            self._counters.clear()
            self._hists.clear()
            self._samples.clear()
        self._server = reading.server
        counters, hists = self._correct(reading)
        gauges = {k: v for k, v in reading.gauges.items() if math.isfinite(v)}
        now = WorkloadSample(self.source, reading.server, mono, pid, counters, hists, gauges)
        n = len(self._samples)
        base = self._before(mono - self.window_s, n)
        figures, previous, window = figures_between(now, now), empty_figures(), None
        if base is not None:
            start = self._samples[base]
            figures = figures_between(start, now)
            window = mono - start.mono if start.mono is not None else None
            prior = self._before(
                (start.mono if start.mono is not None else mono) - self.window_s, base
            )
            if prior is not None:
                previous = figures_between(self._samples[prior], start)
        sample = replace(now, figures=figures, previous=previous, window_s=window)
        self._samples.append(sample)
        self._prune(mono)
        return sample

    def failed(self, error: str, mono: float) -> WorkloadSample:
        """The latest good sample, saying why this read failed (an empty one before any)."""
        self._prune(mono)
        last = self.latest
        if last is None:
            return WorkloadSample(self.source, "", None, error=error)
        return replace(last, error=error)

    def _prune(self, mono: float) -> None:
        """Keep the last ``keep_s`` of samples, and always the newest."""
        while len(self._samples) > 1:
            m = self._samples[0].mono
            if m is None or m < mono - self.keep_s:
                self._samples.popleft()
            else:
                break
