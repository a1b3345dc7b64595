"""The Monitor: one pipeline on the sampling side, the UI only paints.

Headless recordings get the dashboard's finding events; the UI thread does
no I/O and runs no detector per frame (counted, as the sampler tests count
reads); the pin dialog answers keys while its dry run is slow; events are
not lost when the UI drops stale bundles; frames played before a seek are
dropped.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from numaview.cli import main
from numaview.demo.machine import SimulatedSampler
from numaview.demo.pinner import SimulatedPinner
from numaview.diagnose.engine import Diagnoser
from numaview.linux.sysfs import discover
from numaview.model.frame import Frame
from numaview.pinning.apply import PinEvent
from numaview.pinning.plan import Target
from numaview.record.reader import Reader
from numaview.record.replay import ReplaySource
from numaview.record.writer import Writer
from numaview.sampler.sampler import Sampler
from numaview.stream.bundle import Bundle, MarkRequest, PinRequest, StartRecording
from numaview.stream.factories import for_source
from numaview.stream.monitor import _FrameItem
from numaview.stream.source import ManualSource, SampledSource
from numaview.tui.app import NumaviewApp, make_app
from numaview.tui.screens.pin import CHECKING, PinScreen
from tests.fakefs import FakeClock
from tests.tui_harness import WALL0


def sim_source() -> tuple[ManualSource, SimulatedSampler]:
    clock = FakeClock(0.0)
    sim = SimulatedSampler(seed=7, clock=clock, wall=lambda: WALL0 + clock.now)
    return ManualSource(sim, kind="simulated", advance=clock.advance), sim


# -- headless record: the same pipeline as the dashboard -------------------------------


def test_headless_record_holds_finding_events(tmp_path: Path) -> None:
    out = tmp_path / "h.nvrec"
    assert main(["record", "--simulated", "-o", str(out), "--duration", "12"]) == 0
    with Reader(out) as r:
        kinds = {e.data["kind"] for e in r.events("finding")}
        assert len(r) >= 12
    # the simulation's leaks, raised after 3 s as on the dashboard
    assert {"cross-node", "oversubscription"} <= kinds


def test_headless_record_of_this_machine_runs_through_the_monitor(tmp_path: Path) -> None:
    out = tmp_path / "real.nvrec"
    seen: list[int] = []
    real = Diagnoser.update

    def counted(self: Diagnoser, frame: Frame) -> Any:
        seen.append(frame.seq)
        return real(self, frame)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Diagnoser, "update", counted)
        assert main(["record", "-o", str(out), "--duration", "0.6", "--interval", "0.2"]) == 0
    with Reader(out) as r:
        assert len(r) >= 2 and len(seen) == len(r)  # every recorded frame was diagnosed


def test_monitor_records_pins_marks_and_findings_inline(tmp_path: Path) -> None:
    source, sim = sim_source()
    monitor = for_source(source, pinner=SimulatedPinner(sim), threaded=False)
    bundles: list[Bundle] = []
    monitor.start(bundles.append)
    source.push(2)
    out = tmp_path / "m.nvrec"
    monitor.submit(StartRecording(str(out)))
    source.push(6)
    target = Target("node", "node 0", tuple(c.id for c in sim.topology.cpus if c.node == 0), (0,))
    replies: list[tuple[PinEvent | None, str | None]] = []
    monitor.submit(PinRequest(4121, target, reply=lambda e, err: replies.append((e, err))))
    monitor.submit(MarkRequest("after the pin"))
    source.push(2)
    monitor.stop()
    [(event, error)] = replies
    assert error is None and event is not None and event.pid == 4121
    kinds = [e.kind for e in bundles[-1].events]
    assert "pin" in kinds and "mark" in kinds and "recording" in kinds
    with Reader(out) as r:
        assert len(r) == 8
        assert [e.data["pid"] for e in r.events("pin")] == [4121]
        assert [e.data["note"] for e in r.events("mark")] == ["after the pin"]
        assert r.events("finding")  # raised while recording


def test_a_failed_pin_says_why_and_changes_nothing() -> None:
    source, sim = sim_source()
    pinner = SimulatedPinner(sim)
    monitor = for_source(source, pinner=pinner, threaded=False)
    monitor.start(lambda b: None)
    source.push(2)
    replies: list[tuple[PinEvent | None, str | None]] = []
    bad = Target("cpus", "CPUs 0", (0,), ())
    monitor.submit(PinRequest(99999, bad, reply=lambda e, err: replies.append((e, err))))
    [(event, error)] = replies
    assert event is None and error is not None and "99999" in error
    assert pinner.events == []


def test_events_survive_bundles_the_ui_dropped() -> None:
    source, _ = sim_source()
    monitor = for_source(source, threaded=False)
    bundles: list[Bundle] = []
    monitor.start(bundles.append)
    source.push(1)
    monitor.submit(MarkRequest("one"))  # not recording: a warning event
    source.push(3)  # three more bundles; a UI that took only the last sees the event
    assert [e.text for e in bundles[-1].new_events(0)] == ["not recording: R starts a recording"]
    assert bundles[-1].new_events(bundles[-1].events[-1].id) == []


def test_detectors_see_every_frame_when_the_threaded_ui_is_slow() -> None:
    clock = FakeClock(0.0)
    sim = SimulatedSampler(seed=7, clock=clock, wall=lambda: WALL0 + clock.now)
    source = ManualSource(sim, advance=clock.advance)
    monitor = for_source(source, threaded=True)
    got: list[Bundle] = []
    done = threading.Event()

    def slow_ui(b: Bundle) -> None:
        time.sleep(0.01)
        got.append(b)
        if b.frame is not None and b.frame.seq == 30:
            done.set()

    monitor.start(slow_ui)
    for _ in range(30):
        source.push()
    assert done.wait(10)
    monitor.stop()
    assert len(monitor.ring) == 30  # every frame went through the pipeline
    assert got[-1].findings  # and the detectors raised the simulation's leaks


def _recording(tmp_path: Path, frames: int = 40) -> Path:
    path = tmp_path / "rec.nvrec"
    clock = FakeClock(0.0)
    sim = SimulatedSampler(seed=7, clock=clock, wall=lambda: WALL0 + clock.now)
    with Writer(path, sim.topology, 1.0) as w:
        for _ in range(frames):
            clock.advance(1.0)
            w.add_frame(sim.sample())
    return path


def test_frames_played_before_a_seek_are_dropped(tmp_path: Path) -> None:
    src = ReplaySource(Reader(_recording(tmp_path)), clock=FakeClock(0.0), threaded=False)
    monitor = for_source(src, threaded=False)
    bundles: list[Bundle] = []
    monitor.start(bundles.append)
    assert bundles and bundles[-1].jumped  # the start: detectors over the history before it
    assert monitor.frame is src.frame
    old = src.generation
    played = src.reader.frame_by_seq(2)  # delivered by the playback thread just before...
    there = src.seek(src.first_time + 30)  # ...the replay keys moved the recording
    assert there is not None and src.generation > old
    monitor._handle(_FrameItem(played, old))
    assert monitor.frame is not played and monitor.ring.latest() is not played
    monitor._handle(_FrameItem(there, src.generation))
    assert monitor.frame is there


# -- the UI thread ---------------------------------------------------------------------


@contextlib.contextmanager
def count_io_in(handler_owner: type, handler: str) -> Iterator[Counter[str]]:
    """Count OS reads, detector runs and recording writes made inside ``handler`` on this thread."""
    counts: Counter[str] = Counter()
    inside = threading.local()
    me = threading.get_ident()

    def guard(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapped(*a: Any, **kw: Any) -> Any:
            if getattr(inside, "on", False) and threading.get_ident() == me:
                counts[name] += 1
            return fn(*a, **kw)

        return wrapped

    original = getattr(handler_owner, handler)

    def timed(self: Any, message: Any) -> Any:
        inside.on = True
        counts["frames"] += 1
        try:
            return original(self, message)
        finally:
            inside.on = False

    with pytest.MonkeyPatch.context() as mp:
        for name in ("open", "read", "pread", "listdir", "scandir", "stat", "sched_getaffinity"):
            mp.setattr(os, name, guard(f"os.{name}", getattr(os, name)))
        mp.setattr(builtins, "open", guard("open", builtins.open))
        mp.setattr(Diagnoser, "update", guard("detectors", Diagnoser.update))
        mp.setattr(Writer, "add_frame", guard("sqlite", Writer.add_frame))
        mp.setattr(Writer, "add_event", guard("sqlite", Writer.add_event))
        mp.setattr(handler_owner, handler, timed)
        yield counts


@pytest.mark.real
def test_the_ui_thread_does_no_io_per_frame_on_the_live_machine(tmp_path: Path) -> None:
    """The real sampler on this machine's /proc, a recording on: the UI thread only paints."""
    topo = discover("/")
    source = SampledSource(Sampler("/", topo), 0.1, kind="live")
    app = make_app(for_source(source), charts=True)
    assert app.monitor.threaded

    async def go() -> Counter[str]:
        with count_io_in(NumaviewApp, "on_bundle_arrived") as counts:
            async with app.run_test(size=(160, 50)) as pilot:
                app.start_recording(str(tmp_path / "ui.nvrec"))
                for _ in range(100):
                    await pilot.pause(0.05)
                    if counts["frames"] >= 15:
                        break
            return Counter(counts)

    counts = asyncio.run(go())
    assert counts["frames"] >= 15
    assert counts - Counter(frames=counts["frames"]) == Counter()  # nothing else at all
    with Reader(tmp_path / "ui.nvrec") as r:
        assert len(r) >= 5  # the recording was written, on the sampling side


def sim_events(app: NumaviewApp) -> list[PinEvent]:
    assert isinstance(app.pinner, SimulatedPinner)
    return app.pinner.events


class SlowPinner(SimulatedPinner):
    """A pinner whose dry run takes a second (a process with thousands of threads)."""

    def apply(
        self, pid: int, target: Target, move_memory: bool = False, dry_run: bool = False
    ) -> PinEvent:
        if dry_run:
            time.sleep(1.0)
        return super().apply(pid, target, move_memory, dry_run)


def test_the_pin_dialog_answers_keys_while_its_dry_run_is_slow() -> None:
    source, sim = sim_source()
    monitor = for_source(source, pinner=SlowPinner(sim), threaded=True)
    app = make_app(monitor, charts=False)

    async def wait_for(check: Callable[[], bool], pilot: Any, seconds: float = 6.0) -> None:
        deadline = time.monotonic() + seconds
        while not check() and time.monotonic() < deadline:
            await pilot.pause(0.05)
        assert check()

    async def go() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            source.push(6)
            await wait_for(lambda: app.frame is not None and app.frame.seq == 6, pilot)
            await pilot.press("a")
            await wait_for(lambda: isinstance(app.screen, PinScreen), pilot)
            screen = app.screen
            assert isinstance(screen, PinScreen)
            first = screen.choice_id
            t0 = time.monotonic()
            for key in ("up", "down", "up"):
                await pilot.press(key)
                await pilot.pause()
            took = time.monotonic() - t0
            assert took < 0.8  # three keys answered within one dry run's time
            assert screen.choice_id != first
            summary = screen.query_one("#pin-summary")
            assert str(summary.render()) == CHECKING  # the newest choice is being checked
            await pilot.press("enter")  # not checked yet: a bell, nothing applied
            assert isinstance(app.screen, PinScreen) and sim_events(app) == []
            await wait_for(lambda: screen.preview is not None, pilot)
            assert str(summary.render()).startswith("pin 16 threads of llama-server")
            await pilot.press("enter")
            await wait_for(lambda: not isinstance(app.screen, PinScreen), pilot)
            await wait_for(lambda: len(app.pin_events) == 1, pilot)

    asyncio.run(go())
    monitor.stop()
