"""ReplaySource on a recording of the simulated machine, and the replay UI driven with Pilot."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import Input

from numaview.demo.machine import SimulatedSampler
from numaview.model.frame import Frame
from numaview.record.reader import Reader
from numaview.record.replay import ReplaySource, parse_when
from numaview.record.writer import Writer
from numaview.tui.app import NumaviewApp, make_app
from numaview.tui.replay_app import REPLAY_HELP, ReplayApp
from numaview.tui.widgets.findings import FindingsPanel
from numaview.tui.widgets.header import HeaderBar
from numaview.tui.widgets.timeline import Timeline
from tests.fakefs import FakeClock
from tests.tui_harness import WALL0, demo_app

FRAMES = 60


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """60 frames at 1 s of the simulation, a pin event at frame 30 and a mark at frame 45."""
    path = tmp_path_factory.mktemp("rec") / "sim.nvrec"
    clock = FakeClock(0.0)
    sim = SimulatedSampler(seed=7, clock=clock, wall=lambda: WALL0 + clock.now)
    with Writer(path, sim.topology, 1.0) as w:
        for i in range(1, FRAMES + 1):
            clock.advance(1.0)
            f = sim.sample()
            w.add_frame(f)
            if i == 30:
                w.add_event("pin", f.mono, {"pid": 4121, "target": "node 1"}, when=f.time)
            if i == 45:
                w.add_event("mark", f.mono, {"note": "here"}, when=f.time)
    return path


def source(path: Path, **kw: object) -> tuple[ReplaySource, FakeClock, list[Frame]]:
    clock = FakeClock(100.0)
    src = ReplaySource(Reader(path), clock=clock, threaded=False, **kw)  # type: ignore[arg-type]
    got: list[Frame] = []
    src.start(got.append)
    return src, clock, got


def test_plays_in_order_at_recorded_pace_times_speed(recording: Path) -> None:
    src, clock, got = source(recording, speed=60.0)
    assert src.kind == "replay" and src.topology.host.hostname == "sim-2s-128"
    assert len(got) == 1 and src.pos == 1
    assert src.tick() == pytest.approx(1 / 60)  # the next frame is 1 s of recording away
    clock.advance(0.5)  # 30 s of recording
    src.tick()
    assert [f.mono for f in got] == sorted(f.mono for f in got) and len(got) == 31
    assert src.pos == 31 and len(src.ring) == 31
    clock.advance(10)
    src.tick()
    assert len(got) == FRAMES and not src.playing  # stops at the end


def test_pause_stops_delivery_and_resume_goes_on(recording: Path) -> None:
    src, clock, got = source(recording, speed=10.0)
    src.set_playing(False)
    clock.advance(5)
    assert src.tick() is None and len(got) == 1
    src.toggle_playing()
    clock.advance(0.35)  # 3.5 s of recording after resuming
    src.tick()
    assert len(got) == 4


def test_step_forward_and_back(recording: Path) -> None:
    src, _clock, _got = source(recording)
    first = src.frame
    assert first is not None
    f2 = src.step(+1)
    assert f2 is not None and src.pos == 2 and not src.playing and src.ring.latest() is f2
    back = src.step(-1)
    assert back is not None and back.time == first.time and src.pos == 1 and len(src.ring) == 1
    assert src.step(-1) is None and src.pos == 1  # nothing before the first


def test_seek_to_time_gives_frame_at_or_before_and_refills_history(recording: Path) -> None:
    src, _clock, _got = source(recording)
    t = src.first_time + 40.5
    frame = src.seek(t)
    assert frame is not None and frame.time <= t < frame.time + 1.0 and src.pos == 41
    assert len(src.ring) == 41 and src.ring.latest() is frame
    assert [f.time for f in src.ring.frames()] == sorted(f.time for f in src.ring.frames())
    src.seek_by(-10)
    assert src.pos == 31 and len(src.ring) == 31
    src.seek_by(+1000)
    assert src.pos == FRAMES


def test_next_and_previous_event(recording: Path) -> None:
    src, _clock, _got = source(recording)
    hit = src.seek_event(+1)
    assert hit is not None and hit[0].kind == "pin" and src.pos == 30
    hit = src.seek_event(+1)
    assert hit is not None and hit[0].kind == "mark" and src.pos == 45
    assert src.seek_event(+1) is None
    hit = src.seek_event(-1)
    assert hit is not None and hit[0].kind == "pin" and src.pos == 30


def test_start_position_and_parse_when(recording: Path) -> None:
    src, _clock, _got = source(recording, start=WALL0 + 20.0)
    assert src.pos == 20  # frame k was taken at WALL0 + k
    first = src.first_time
    assert parse_when("12", first) == first + 12
    lt = time.localtime(first + 5)
    assert parse_when(time.strftime("%H:%M:%S", lt), first) == pytest.approx(first + 5, abs=1)
    with pytest.raises(ValueError):
        parse_when("25:00:00", first)


def test_the_thread_plays_at_60x_on_the_real_clock(recording: Path) -> None:
    src = ReplaySource(Reader(recording), speed=60.0)
    got: list[Frame] = []
    src.start(got.append)
    end = time.monotonic() + 10
    while len(got) < FRAMES and time.monotonic() < end:
        time.sleep(0.05)
    src.stop()
    assert len(got) == FRAMES and [f.mono for f in got] == sorted(f.mono for f in got)


# -- the replay UI, driven with Pilot ------------------------------------------------------


def _messages(app: App[int]) -> list[str]:
    return [str(n.message) for n in app._notifications]


def run_replay(path: Path, scenario: Callable[..., Awaitable[None]]) -> None:
    async def main() -> None:
        src = ReplaySource(Reader(path), clock=FakeClock(0.0), threaded=False)
        app = make_app(src)
        async with app.run_test(size=(140, 40)) as pilot:
            await pilot.pause()
            await scenario(app, src, pilot)

    asyncio.run(main())


def test_replay_ui_header_timeline_play_pause_speed_and_no_pinning(recording: Path) -> None:
    async def check(app: NumaviewApp, src: ReplaySource, pilot: Pilot[int]) -> None:
        assert isinstance(app, ReplayApp) and app.pinner is None
        header = app.query_one(HeaderBar)
        assert "REPLAY" in header.text() and "sim-2s-128" in header.text()
        timeline = app.query_one(Timeline)
        line = timeline.render_line(0).text
        assert line.startswith("▮") and "1× · playing" in line and "◆" in line
        await pilot.press("space")
        assert not src.playing and "paused" in timeline.render_line(0).text
        assert "PAUSED" in header.text() and "REPLAY" in header.text()
        await pilot.press("right_square_bracket")
        assert src.speed == 2.0 and "2×" in timeline.render_line(0).text
        await pilot.press("right")  # +10 s
        await pilot.pause()
        assert src.pos == 11 and app.frame is src.frame
        assert not timeline.render_line(0).text.startswith("▮")
        await pilot.press("full_stop")
        assert src.pos == 12 and app.frame is src.frame
        await pilot.press("comma", "comma")
        assert src.pos == 10 and app.frame is src.frame
        await pilot.press("n")
        assert src.pos == 30 and app.frame is src.frame
        await pilot.press("a")
        assert "re-pinning is disabled in replay (this is a recording)" in _messages(app)
        await pilot.press("question_mark")
        await pilot.pause()
        rows = app._help_rows()
        assert ("]", REPLAY_HELP["replay_speed(1)"]) in rows and not any(k == "+" for k, _ in rows)

    run_replay(recording, check)


def test_findings_appear_after_seeking_into_the_leaky_part(recording: Path) -> None:
    async def check(app: NumaviewApp, src: ReplaySource, pilot: Pilot[int]) -> None:
        assert not app.query_one(FindingsPanel).findings  # one frame: nothing judged yet
        await pilot.press("g")
        await pilot.press(*"40", "enter")
        await pilot.pause()
        assert src.pos == 41 and app.frame is src.frame
        assert app.findings  # the simulation leaks: found over the 30 s before frame 41
        assert app.query_one(FindingsPanel).findings == app.findings

    run_replay(recording, check)


def test_R_records_the_demo_and_m_marks_it(tmp_path: Path) -> None:
    out = tmp_path / "ui.nvrec"

    async def main() -> None:
        app, source = demo_app()
        async with app.run_test(size=(120, 40)) as pilot:
            source.push(2)
            await pilot.pause()
            await pilot.press("R")
            await pilot.pause()
            box = app.screen.query_one(Input)
            assert box.value.startswith("numaview-") and box.value.endswith(".nvrec")
            box.value = str(out)
            await pilot.press("enter")
            await pilot.pause()
            for _ in range(8):
                source.push()
                await pilot.pause()
            assert "● REC ui.nvrec" in app.query_one(HeaderBar).text()
            await pilot.press("m")
            await pilot.press(*"slow", "enter")
            await pilot.pause()
            source.push(2)
            await pilot.pause()
            await pilot.press("R")
            await pilot.pause()
            assert app.writer is None and "REC" not in app.query_one(HeaderBar).text()

    asyncio.run(main())
    with Reader(out) as r:
        assert len(r) >= 10
        marks = r.events("mark")
        assert [e.data["note"] for e in marks] == ["slow"]
        assert r.topology.host.hostname == "sim-2s-128"


def test_next_and_previous_finding_change(recording: Path) -> None:
    """From the start, } lands where the first findings are raised; { goes back before it."""

    async def check(app: NumaviewApp, src: ReplaySource, pilot: Pilot[int]) -> None:
        await pilot.press("space")  # paused: only the seeks move it
        assert src.pos == 1 and not app.findings
        await pilot.press("right_curly_bracket")
        await pilot.pause()
        first = src.pos
        assert 3 <= first <= 10 and app.findings  # raised after 3 s of the leaks
        assert any(m.startswith("raised ") and "cross-node:4121" in m for m in _messages(app))
        await pilot.press("right", "right", "right")  # well into the leaky part
        await pilot.pause()
        there = src.pos
        said = len(_messages(app))
        await pilot.press("left_curly_bracket")
        await pilot.pause()
        assert first <= src.pos < there  # back to the last change before where it was
        assert any(m.startswith(("raised ", "cleared ")) for m in _messages(app)[said:])

    run_replay(recording, check)


def test_replay_draws_the_recorded_load_strip_at_the_recorded_position(recording: Path) -> None:
    from numaview.tui.widgets.loadstrip import LoadStrip

    async def check(app: NumaviewApp, src: ReplaySource, pilot: Pilot[int]) -> None:
        await pilot.press("space")  # pause: the strip is the frame's, frame by frame
        await pilot.press("right")
        await pilot.pause()
        strip = app.query_one(LoadStrip)
        frame = app.frame
        assert frame is not None and len(frame.workload) == 3
        assert strip.region.height == 3
        assert strip.text(0).startswith("llamacpp · pid 4121 · ")
        tok = frame.workload[0].figures["out_tok_s"]
        assert tok is not None and f"{tok:,.0f} tok/s" in strip.text(0)

    run_replay(recording, check)
