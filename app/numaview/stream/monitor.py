"""Monitor: everything that follows a frame, on the sampling side, and one Bundle out.

For every frame from its source the Monitor runs the detectors, appends the
frame to its ring, writes the recording when one is on, and hands the UI
(or a headless command) one immutable ``Bundle``. Requests (pins, marks,
recording on/off, replay moves) come in through a thread-safe inbox and
their results go out as events in the next bundle. The UI only assigns and
paints: no SQLite, no /proc, no detector runs on its thread.

Threaded (the dashboard): one ``numaview-monitor`` thread takes frames and
requests off one queue, in order, so a pin and the frames around it are seen
in the order they happened, and detectors see every frame even when the UI
drops stale bundles. Inline (``threaded=False``: tests, ``diagnose``,
headless ``record``): the caller's thread does the same work at once.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from numaview.diagnose.engine import HISTORY_S, Diagnoser
from numaview.diagnose.findings import Finding, Thresholds
from numaview.model.frame import Frame
from numaview.model.ring import RingBuffer, capacity_for
from numaview.model.workload import Comparison
from numaview.pinning.apply import PinEvent, Pinner
from numaview.pinning.group import Member, PlanEvent
from numaview.record.format import RecordingError
from numaview.stream.actions import ActionsMixin
from numaview.stream.bundle import (
    MAX_EVENTS,
    Bundle,
    Event,
    MarkRequest,
    PinRequest,
    PlanRequest,
    ReplayRequest,
    Request,
    StartRecording,
    StopRecording,
)
from numaview.stream.measure import PinMeasures, RecordedMeasures, Windows
from numaview.stream.recording import Recording
from numaview.stream.replay_control import ReplayControl
from numaview.stream.source import Dumper, FrameSource

if TYPE_CHECKING:
    from numaview.workload.hub import WorkloadHub  # HTTP and the parsers: only with a source

BundleSink = Callable[[Bundle], None]


def compare_summary(c: Comparison) -> str:
    """One line for the notification: the source and its figures that moved beyond noise."""
    moved = [
        f"{ch.figure} {ch.change_pct:+.0f} %"
        for ch in c.changes
        if ch.beyond_noise and ch.change_pct is not None
    ]
    return f"{c.server or c.source}: " + (", ".join(moved[:4]) or "no change beyond noise")


@dataclass(frozen=True, slots=True)
class _FrameItem:
    frame: Frame
    generation: int


_STOP = object()


class Monitor(ActionsMixin):
    def __init__(
        self,
        source: FrameSource,
        *,
        pinner: Pinner | None = None,
        dumper: Dumper | None = None,
        thresholds: Thresholds | None = None,
        threaded: bool = True,
        clock: Callable[[], float] = time.monotonic,
        workload: WorkloadHub | None = None,
        windows: Windows | None = None,
    ) -> None:
        self.source = source
        self.topology = source.topology
        self.pinner = pinner  # None: re-pinning is not available (replay, or none given)
        self.dumper = dumper  # Python stacks of a process (None: not available)
        self.thresholds = thresholds or Thresholds()
        self.diagnoser = Diagnoser(self.topology, self.thresholds)
        self.ring = RingBuffer(capacity_for(source.interval_s))
        self.threaded = threaded
        self.clock = clock
        self.replay = ReplayControl(self, source) if ReplayControl.accepts(source) else None
        self.workload = workload  # the load test's sources (None: none, or replay/demo)
        self.measures = PinMeasures(windows)
        self.recorded: RecordedMeasures | None = None  # replay: the recording's comparisons
        if self.replay is not None:
            events = self.replay.source.events
            self.recorded = RecordedMeasures([e.data for e in events if e.kind == "compare"])
        self.recording: Recording | None = None
        self.plans: list[tuple[str, tuple[Member, ...]]] = []  # applied plans, for undo
        self.findings: tuple[Finding, ...] = ()
        self.frame: Frame | None = None  # the newest frame processed
        self.latest: Bundle | None = None
        self._events: deque[Event] = deque(maxlen=MAX_EVENTS)
        self._event_id = 0
        self._seq = 0
        self._errors_seen: set[str] = set()
        self._on_bundle: BundleSink | None = None
        self._inbox: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.RLock()  # inline mode: sources and the UI take turns
        self._stopped = False

    # -- life ---------------------------------------------------------------------------

    @property
    def interval_s(self) -> float:
        return self.source.interval_s

    def set_interval(self, seconds: float) -> float:
        got = self.source.set_interval(seconds)
        if self.workload is not None:
            self.workload.set_interval(got)
        return got

    def start(self, on_bundle: BundleSink) -> None:
        """Starts the source (and the monitor thread); bundles go to ``on_bundle``."""
        self._on_bundle = on_bundle
        if self.threaded and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="numaview-monitor", daemon=True)
            self._thread.start()
        if self.threaded and self.replay is not None:
            self._inbox.put(self._start_source)  # a replay's first seek reads the file: not here
        else:
            self._start_source()

    def _start_source(self) -> None:
        if self.workload is not None:
            self.workload.start()
        self.source.start(self.feed)

    def stop(self) -> None:
        """Stops the source, finishes the recording, ends the thread. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        self.source.stop()
        if self.workload is not None:
            self.workload.stop()
        thread = self._thread
        if thread is not None and thread.is_alive():
            # SQLite wants its connection closed on the thread that opened it.
            self._inbox.put(lambda: self._stop_recording(say=False))
            self._inbox.put(_STOP)
            if thread is not threading.current_thread():
                thread.join(timeout=10)
            return
        with self._lock:
            self._stop_recording(say=False)

    # -- the two ways in ----------------------------------------------------------------

    def feed(self, frame: Frame) -> None:
        """A frame from the source (called on the source's thread)."""
        gen = self.replay.generation() if self.replay is not None else 0
        self._put(_FrameItem(frame, gen))

    def submit(self, request: Request) -> None:
        """A request from the UI or a command; thread-safe, never blocks on the work."""
        self._put(request)

    def note_error(self, text: str) -> None:
        """A tick that produced no frame (headless record): recorded as a sampler-error."""

        def record() -> None:
            self._record("sampler-error", self.clock(), {"error": text})
            self.publish()

        self._put(record)

    def _put(self, item: object) -> None:
        if self.threaded and self._thread is not None:
            self._inbox.put(item)
            return
        with self._lock:
            self._handle(item)

    def _run(self) -> None:
        while True:
            item = self._inbox.get()
            if item is _STOP:
                return
            try:
                self._handle(item)
            except Exception as exc:  # never die: say it in the next bundle
                self.event("error", f"{type(exc).__name__}: {exc}", "numaview", "error")
                self.publish()

    def _handle(self, item: object) -> None:
        if isinstance(item, _FrameItem):
            if self.replay is not None and not self.replay.current(item.generation):
                return  # played before a seek: no longer where the recording is
            if self.replay is not None and self.frame is None:
                self.replay.jumped(item.frame)  # the first frame: findings of that moment
                return
            self.process(item.frame)
        elif callable(item):
            item()
        elif isinstance(item, PinRequest):
            self._pin(item)
        elif isinstance(item, PlanRequest):
            self._plan(item)
        elif isinstance(item, MarkRequest):
            self._mark(item.note)
        elif isinstance(item, StartRecording):
            self._start_recording(item)
        elif isinstance(item, StopRecording):
            self._stop_recording(say=True)
            self.publish()
        elif isinstance(item, ReplayRequest):
            if self.replay is None:
                self.event("replay", "this is not a recording", severity="warning")
                self.publish()
            else:
                self.replay.handle(item)

    # -- frames ---------------------------------------------------------------------------

    def process(self, frame: Frame, publish: bool = True) -> None:
        """Everything that follows one frame: detectors, ring, recording, then the bundle."""
        hub = self.workload
        if hub is not None:  # the newest samples only: a slow endpoint never holds a tick
            frame = replace(frame, workload=hub.latest(frame.mono))
            for severity, text in hub.warnings():
                self.event("workload", text, "load test", severity)
        self.findings = self.diagnoser.update(frame)
        self.ring.append(frame)
        self.frame = frame
        self._measure(frame)
        for e in frame.errors:
            if e.startswith("sampler:") and e not in self._errors_seen:
                self._errors_seen.add(e)
                self._record("sampler-error", frame.mono, {"error": e})
        rec = self.recording
        if rec is not None:
            try:
                rec.add_frame(frame, self.findings)
            except RecordingError as exc:  # disk full, file removed: stop, say why
                self._recording_failed(exc)
        if publish:
            self.publish()

    def reset(self, history: list[Frame], frame: Frame) -> None:
        """After a seek: ring and detectors start over on the history before ``frame``."""
        self.diagnoser = Diagnoser(self.topology, self.thresholds)
        self.ring.clear()
        self.measures.clear()
        self.findings = ()
        for f in history:
            self.ring.append(f)
            if f.mono >= frame.mono - HISTORY_S:
                self.findings = self.diagnoser.update(f)
        self.frame = frame

    def publish(self, jumped: bool = False) -> None:
        """One bundle of where things stand now, to the UI (or the headless command)."""
        self._seq += 1
        rec = self.recording
        comparisons, measuring = tuple(self.measures.comparisons), self.measures.measuring
        if self.recorded is not None and self.frame is not None:
            comparisons, measuring = self.recorded.at(self.frame.mono)
        bundle = Bundle(
            seq=self._seq,
            frame=self.frame,
            findings=self.findings,
            events=tuple(self._events),
            interval_s=self.source.interval_s,
            recording=rec.state() if rec is not None else None,
            replay=self.replay.state() if self.replay is not None else None,
            jumped=jumped,
            comparisons=comparisons,
            measuring=measuring,
            plans=tuple(label for label, _ in self.plans),
        )
        self.latest = bundle
        sink = self._on_bundle
        if sink is not None:
            sink(bundle)

    def call(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` on the sampling side, in turn with frames and requests."""
        self._put(fn)

    def event(
        self,
        kind: str,
        text: str,
        title: str = "",
        severity: str = "information",
        pin: PinEvent | None = None,
        plan: PlanEvent | None = None,
    ) -> Event:
        self._event_id += 1
        mono = self.frame.mono if self.frame is not None else None
        e = Event(self._event_id, kind, text, title, severity, mono, pin, plan)
        self._events.append(e)
        return e

    # -- requests -------------------------------------------------------------------------

    def _measure(self, frame: Frame) -> None:
        if not self.measures.due(frame):
            return  # the ring's window only when needed: past RECENT_S it unpacks frames
        for c in self.measures.update(frame, self.ring.window(self.measures.windows.span_s + 5)):
            self.event("compare", compare_summary(c), "before → after", "information")
            self._record("compare", c.pin_mono, c.to_dict())

    def _record(self, kind: str, mono: float, data: dict[str, object]) -> None:
        rec = self.recording
        if rec is None:
            return
        try:
            rec.add_event(kind, mono, data)
        except RecordingError as exc:
            self._recording_failed(exc)

    def _mark(self, note: str) -> None:
        if self.recording is None:
            self.event("mark", "not recording: R starts a recording", severity="warning")
        else:
            mono = self.frame.mono if self.frame is not None else self.clock()
            self._record("mark", mono, {"note": note})
            self.event("mark", f"marked: {note}")
        self.publish()

    def start_recording(self, path: str, meta: dict[str, object], redact: bool = False) -> None:
        """Inline start (headless record): raises RecordingError with the reason."""
        self.recording = Recording(
            path, self.topology, self.source.interval_s, dict(meta), self.findings, redact
        )

    def _start_recording(self, req: StartRecording) -> None:
        if self.recording is None:
            try:
                self.start_recording(req.path, req.meta)
            except RecordingError as exc:
                self.event("recording-error", str(exc), "not recording", "error")
            else:
                self.event("recording", f"recording to {req.path}", "recording")
        self.publish()

    def _recording_failed(self, exc: RecordingError) -> None:
        self.event("recording-error", str(exc), "recording stopped", "error")
        rec, self.recording = self.recording, None
        if rec is not None:
            with contextlib.suppress(RecordingError):  # the error above is what to say
                rec.close()

    def _stop_recording(self, say: bool) -> None:
        rec, self.recording = self.recording, None
        if rec is None:
            return
        try:
            rec.close()
        except RecordingError as exc:
            self.event("recording-error", str(exc), "recording", "error")
            return
        if say:
            self.event("recording", f"saved {rec.path} ({rec.writer.frames} frames)", "recording")
