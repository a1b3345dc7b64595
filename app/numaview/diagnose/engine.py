"""The Diagnoser: runs every detector on each frame and applies hysteresis.

A finding is raised only after its detector has reported it for
``raise_after_s`` of frames, and cleared only after ``clear_after_s``
without it, so a load spike or one odd frame does not make the panel
flicker. Raised findings about one cause are then merged into one (merge.py): the
hysteresis is per detector finding, so a symptom coming and going never
restarts the merged finding's timer. Pure: frames in, findings out, so it works the same on live frames,
the simulation and (later) recordings.
"""

from __future__ import annotations

from collections import deque
from dataclasses import replace

from numaview.diagnose.detectors import DETECTORS, Context
from numaview.diagnose.findings import Finding, Thresholds, _Tracked
from numaview.diagnose.merge import merge
from numaview.model.frame import Frame
from numaview.model.topology import Topology

HISTORY_S = 30.0


class Diagnoser:
    def __init__(self, topology: Topology, thresholds: Thresholds | None = None) -> None:
        self.topology = topology
        self.thresholds = thresholds or Thresholds()
        self._history: deque[Frame] = deque()
        self._tracked: dict[str, _Tracked] = {}
        self.ever: dict[str, Finding] = {}  # every finding raised so far, latest version
        self._current: tuple[Finding, ...] = ()  # raised, merged: one per cause

    def update(self, frame: Frame) -> tuple[Finding, ...]:
        """Feed one frame; returns the raised findings, most severe first."""
        if frame.interval_s <= 0:
            return self.current()  # a first frame has no rates: nothing to judge yet
        self._history.append(frame)
        while self._history and frame.mono - self._history[0].mono > HISTORY_S:
            self._history.popleft()
        ctx = Context.build(list(self._history), self.topology, self.thresholds)
        now = frame.mono
        seen: set[str] = set()
        for detect in DETECTORS.values():
            for f in detect(ctx):
                if f.key in seen:
                    continue
                seen.add(f.key)
                tr = self._tracked.get(f.key)
                if tr is None:
                    tr = self._tracked[f.key] = _Tracked(f, now, now)
                tr.last_seen = now
                if not tr.raised and now - tr.first_seen >= self.thresholds.raise_after_s:
                    tr.raised = True
                    tr.finding = replace(f, since=now)
                elif tr.raised:
                    tr.finding = replace(f, since=tr.finding.since)  # keep when it was raised
                else:
                    tr.finding = f
        for key, tr in list(self._tracked.items()):
            if key in seen:
                continue
            gone_for = now - tr.last_seen
            if not tr.raised or gone_for >= self.thresholds.clear_after_s:
                del self._tracked[key]
        raised = [tr.finding for tr in self._tracked.values() if tr.raised]
        self._current = tuple(merge(raised, ctx))
        for f in self._current:
            self.ever[f.key] = f
            for sym in f.symptoms:  # raised alone before, part of this cause now: once
                if sym.key != f.key:
                    self.ever.pop(sym.key, None)
        return self._current

    def current(self) -> tuple[Finding, ...]:
        """The raised findings, one per cause (merged), most severe first."""
        return self._current
