"""The Monitor's actions: a pin, and a plan of several pins applied (or undone) as one.

A mixin of Monitor (monitor.py keeps the frames, the bundle and the
recording): each runs on the sampling side, in turn with frames, answers its
request's ``reply`` and says what happened in an event of the next bundle.
A plan is one event and one record in the recording; the Monitor keeps a
stack of applied plans so one undo restores every process of the newest.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from numaview.diagnose.findings import PinPlan
from numaview.model.topology import Topology
from numaview.pinning.apply import PinEvent, Pinner
from numaview.pinning.group import (
    Member,
    Move,
    PlanError,
    PlanEvent,
    apply_moves,
    members_of,
    undo_plan,
)
from numaview.pinning.plan import PinError, plan_target
from numaview.record.format import RecordingError
from numaview.stream.bundle import Event, PinRequest, PlanRequest
from numaview.stream.measure import PinMeasures
from numaview.stream.recording import Recording
from numaview.stream.source import FrameSource

if TYPE_CHECKING:
    from numaview.model.frame import Frame


def moves_from(topo: Topology, plans: Sequence[PinPlan], names: Mapping[int, str]) -> list[Move]:
    """A finding's fix (one pin or a plan of several) as moves; raises PinError on a bad target."""
    return [
        Move(p.pid, names.get(p.pid, "?"), plan_target(topo, p.cpus, p.target), p.move_memory)
        for p in plans
    ]


class ActionsMixin:
    """Monitor's pin and plan requests; the attributes below are Monitor's."""

    pinner: Pinner | None
    source: FrameSource
    frame: Frame | None
    recording: Recording | None
    measures: PinMeasures
    clock: Callable[[], float]
    plans: list[tuple[str, tuple[Member, ...]]]

    if TYPE_CHECKING:  # Monitor's

        def publish(self, jumped: bool = False) -> None: ...

        def event(
            self,
            kind: str,
            text: str,
            title: str = "",
            severity: str = "information",
            pin: PinEvent | None = None,
            plan: PlanEvent | None = None,
        ) -> Event: ...

        def _recording_failed(self, exc: RecordingError) -> None: ...

    def _pin(self, req: PinRequest) -> None:
        if self.pinner is None:
            self.event("pin-failed", "re-pinning is not available here", "not pinned", "warning")
            if req.reply is not None:
                req.reply(None, "re-pinning is not available here")
            self.publish()
            return
        try:
            event = self.pinner.apply(req.pid, req.target, req.move_memory)
        except PinError as exc:
            if req.reply is not None:
                req.reply(None, str(exc))
            self.publish()
            return
        # An idle process's new mask shows at the next tick, not on its rotation turn.
        self.source.reread(event.pid)
        mono = self.frame.mono if self.frame is not None else self.clock()
        self._record_pin(event, mono)
        e = self.event(
            "pin", event.summary(), "undo" if event.undo else "pinned", "information", pin=event
        )
        if self.frame is not None and self.frame.workload:
            self.measures.pinned(event.summary(), mono, e.id)
        if req.reply is not None:
            req.reply(event, None)
        self.publish()

    def _plan(self, req: PlanRequest) -> None:
        """Several pins as one: all applied or all rolled back; one event, one undo."""

        def answer(event: PlanEvent | None, error: str | None) -> None:
            if error is not None:
                self.event("plan-failed", error, "plan not applied", "warning")
            if req.reply is not None:
                req.reply(event, error)
            self.publish()

        if self.pinner is None:
            answer(None, "re-pinning is not available here")
            return
        try:
            if req.undo:
                if not self.plans:
                    answer(None, "no plan to undo")
                    return
                label, members = self.plans[-1]
                try:
                    event = undo_plan(self.pinner, label, members)
                finally:
                    self.plans.pop()  # what could be restored was; the rest is gone
            else:
                event = apply_moves(self.pinner, req.moves, req.label)
                self.plans.append((req.label, members_of(event)))
        except PlanError as exc:
            if exc.event is None:
                answer(None, str(exc))
                return
            event = exc.event  # an undo that restored only some: say both
            self.event("plan-failed", str(exc), "undo", "warning")
        for pid in event.pids:
            self.source.reread(pid)
        mono = self.frame.mono if self.frame is not None else self.clock()
        rec = self.recording
        if rec is not None:
            try:
                rec.add_plan(event, mono)
            except RecordingError as exc:
                self._recording_failed(exc)
        e = self.event(
            "plan", event.summary(), "plan undone" if event.undo else "plan applied", plan=event
        )
        if self.frame is not None and self.frame.workload:
            self.measures.pinned(event.summary(), mono, e.id)
        answer(event, None)

    def _record_pin(self, event: PinEvent, mono: float) -> None:
        rec = self.recording
        if rec is None:
            return
        try:
            rec.add_pin(event, mono)
        except RecordingError as exc:
            self._recording_failed(exc)
