"""The load test on the dashboard: the strip, the load charts, the before/after panel, the
server's row. Frames come from the simulated machine with hand-made workload samples."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace

from rich.segment import Segment
from textual.pilot import Pilot

from numaview.demo.machine import SimulatedSampler
from numaview.model.frame import Frame
from numaview.model.workload import Comparison, FigureChange, Measuring, WorkloadSample
from numaview.stream.source import ManualSource
from numaview.tui.app import BundleArrived, NumaviewApp, make_app
from numaview.tui.widgets.charts import ChartPanel
from numaview.tui.widgets.compare import ComparePanel
from numaview.tui.widgets.loadstrip import LoadStrip
from numaview.tui.widgets.proctable import ProcessTable
from tests.fakefs import FakeClock
from tests.tui_harness import WALL0

Make = Callable[[Frame], tuple[WorkloadSample, ...]]
PIN = "pinned llama-server (4121) to node 0"


def two_sources(f: Frame) -> tuple[WorkloadSample, ...]:
    vllm = WorkloadSample(
        source="http://127.0.0.1:8080/metrics",
        server="vllm",
        mono=f.mono,
        pid=4121,  # the demo's llama-server plays the server
        figures={"out_tok_s": 1234.0, "req_s": 8.2, "ttft_p99_s": 0.48, "waiting": 3.0},
        previous={"out_tok_s": 1000.0, "req_s": 8.1, "ttft_p99_s": 0.6, "waiting": 3.0},
    )
    k6 = WorkloadSample(
        source="k6.ndjson",
        server="k6",
        mono=f.mono - 12,
        figures={"req_s": 40.0, "e2e_p99_s": 0.9},
        stale=True,
    )
    return (vllm, k6)


def no_load(f: Frame) -> tuple[WorkloadSample, ...]:
    return ()


class LoadSampler:
    """The simulated machine, its frames' workload replaced by ``make``'s."""

    def __init__(self, sim: SimulatedSampler, make: Make) -> None:
        self.sim, self.make, self.topology = sim, make, sim.topology

    def sample(self) -> Frame:
        f = self.sim.sample()
        return replace(f, workload=self.make(f))

    def reread(self, pid: int) -> None:
        self.sim.reread(pid)


def load_app(make: Make, charts: bool | None = None) -> tuple[NumaviewApp, ManualSource]:
    clock = FakeClock(0.0)
    sim = SimulatedSampler(seed=7, clock=clock, wall=lambda: WALL0 + clock.now)
    source = ManualSource(LoadSampler(sim, make), kind="simulated", advance=clock.advance)
    return make_app(source, charts=charts), source


Check = Callable[[NumaviewApp, ManualSource, Pilot[int]], Awaitable[None]]


def run(
    check: Check,
    make: Make = two_sources,
    size: tuple[int, int] = (120, 40),
    charts: bool | None = None,
) -> None:
    async def main() -> None:
        app, source = load_app(make, charts)
        async with app.run_test(size=size) as pilot:
            source.push(3)
            await pilot.pause()
            await check(app, source, pilot)

    asyncio.run(main())


def comparison(pin_mono: float) -> Comparison:
    return Comparison(
        source="http://127.0.0.1:8080/metrics",
        server="vllm",
        pin_text=PIN,
        pin_mono=pin_mono,
        before=(pin_mono - 30, pin_mono),
        after=(pin_mono + 5, pin_mono + 35),
        changes=(
            FigureChange("out_tok_s", 1000.0, 1123.0, 12.3, True, True),
            FigureChange("ttft_p99_s", 0.6, 0.48, -20.0, True, True),
            FigureChange("waiting", 3.0, 3.1, 3.3, False, None),
        ),
        samples_before=30,
        samples_after=29,
    )


async def deliver(app: NumaviewApp, pilot: Pilot[int], **kw: object) -> None:
    """A bundle from the Monitor with the shown frame and ``kw``'s comparisons / measuring."""
    b = app.bundle
    assert b is not None
    app.post_message(BundleArrived(replace(b, seq=b.seq + 1, **kw)))  # type: ignore[arg-type]
    await pilot.pause()


def row_line(table: ProcessTable, pid: int) -> list[Segment]:
    for y in range(1, table.size.height):
        segments = list(table.render_line(y))
        words = "".join(seg.text for seg in segments).split()
        if words and words[0] == str(pid):
            return segments
    raise AssertionError(f"pid {pid} not on screen")


def row_text(table: ProcessTable, pid: int) -> str:
    return "".join(seg.text for seg in row_line(table, pid))


def colour_of(table: ProcessTable, pid: int) -> tuple[int, int, int] | None:
    style = row_line(table, pid)[0].style
    color = None if style is None else style.color
    return None if color is None else tuple(color.get_truecolor())  # type: ignore[return-value]


# -- the strip ---------------------------------------------------------------------------


def test_strip_shows_one_line_per_source_and_stale() -> None:
    async def check(app: NumaviewApp, source: ManualSource, pilot: Pilot[int]) -> None:
        strip = app.query_one(LoadStrip)
        assert strip.region.height == 2 and not strip.has_class("-empty")
        assert strip.text(0) == (
            "vllm · pid 4121 · 1,234 tok/s · 8.2 req/s · TTFT p99 480 ms · queue 3"
        )
        assert strip.text(1) == "k6 · 40.0 req/s · E2E p99 900 ms · stale 12s"
        header = app.query_one("#header")
        assert strip.region.y == header.region.y + 1  # right under the header
        # the colours are the trend classes: tok/s up (good) differs from the same req/s
        line = list(strip.render_line(0))
        style_of = {seg.text: seg.style for seg in line}
        assert style_of["1,234 tok/s"] != style_of["8.2 req/s"]
        assert style_of["1,234 tok/s"] == style_of["TTFT p99 480 ms"]  # both good

    run(check)


def test_strip_hidden_without_workload() -> None:
    async def check(app: NumaviewApp, source: ManualSource, pilot: Pilot[int]) -> None:
        strip = app.query_one(LoadStrip)
        assert strip.has_class("-empty") and strip.region.height == 0
        assert app.query_one(ComparePanel).region.height == 0

    run(check, make=no_load)


def test_strip_is_cut_to_80_columns_keeping_name_and_stale() -> None:
    async def check(app: NumaviewApp, source: ManualSource, pilot: Pilot[int]) -> None:
        strip = app.query_one(LoadStrip)
        first = strip.text(0)
        assert strip.size.width == 80 and len(first) <= 80
        assert first.startswith("vllm · 1,234 tok/s")  # the pid went first
        assert strip.text(1).endswith("stale 12s")

    def long(f: Frame) -> tuple[WorkloadSample, ...]:
        vllm, k6 = two_sources(f)
        more = {**vllm.figures, "itl_p99_s": 0.035, "e2e_p99_s": 2.0, "req_s": 128.5}
        return (replace(vllm, figures=more), k6)

    run(check, make=long, size=(80, 24))


# -- charts ------------------------------------------------------------------------------


def test_charts_add_throughput_and_latency_only_with_workload() -> None:
    async def check(app: NumaviewApp, source: ManualSource, pilot: Pilot[int]) -> None:
        source.push(10)
        await pilot.pause()
        panel = app.query_one(ChartPanel)
        panel.force_redraw()
        await pilot.pause()
        text = panel.render().plain
        assert "busy % per node" in text
        # the stale k6 source has no line: vllm's tokens and TTFT
        assert "output tokens/s" in text and "TTFT p99 latency, ms" in text, text
        assert "requests/s" not in text and "E2E" not in text

    async def without(app: NumaviewApp, source: ManualSource, pilot: Pilot[int]) -> None:
        source.push(10)
        await pilot.pause()
        panel = app.query_one(ChartPanel)
        panel.force_redraw()
        await pilot.pause()
        text = panel.render().plain
        assert "busy % per node" in text and "latency" not in text and "tok" not in text

    run(check, size=(200, 70), charts=True)
    run(without, make=no_load, size=(200, 70), charts=True)


def test_throughput_chart_is_tokens_and_pin_markers_show_on_it() -> None:
    def tokens(f: Frame) -> tuple[WorkloadSample, ...]:
        return two_sources(f)[:1]

    async def check(app: NumaviewApp, source: ManualSource, pilot: Pilot[int]) -> None:
        source.push(10)
        await pilot.pause()
        panel = app.query_one(ChartPanel)
        panel.force_redraw()
        await pilot.pause()
        bars = panel.render().plain.count("│")  # the charts' frames have some
        assert app.frame is not None
        panel.add_marker(app.frame.mono - 30, "re-pin")
        await pilot.pause()
        text = panel.render().plain
        assert "output tokens/s" in text and "TTFT p99 latency, ms" in text
        assert "re-pin" in text
        # the marker's line is drawn down every chart (5 here, a few rows each)
        assert text.count("│") >= bars + 5 * 3

    run(check, make=tokens, size=(200, 70), charts=True)


# -- the before/after panel -----------------------------------------------------------------


def test_comparison_opens_the_panel_with_its_rows() -> None:
    async def check(app: NumaviewApp, source: ManualSource, pilot: Pilot[int]) -> None:
        panel = app.query_one(ComparePanel)
        assert not panel.has_class("-open") and panel.region.height == 0
        assert app.frame is not None
        await deliver(app, pilot, comparisons=(comparison(app.frame.mono - 40),))
        assert panel.has_class("-open") and panel.region.height > 3
        lines = panel.text()
        assert lines[0] == f"before → after pin: {PIN}"
        assert "before 30 s (30 samples) · after 30 s (29 samples)" in lines[1]
        out = next(ln for ln in lines if ln.strip().startswith("out"))
        assert out.split() == [
            "out",
            "1,000",
            "tok/s",
            "→",
            "1,123",
            "tok/s",
            "+12.3",
            "%",
            "better",
        ]
        assert any(ln.endswith("noise") for ln in lines)
        painted = "".join(seg.text for seg in panel.render_line(3))
        assert "1,123 tok/s" in painted and "better" in painted

    run(check)


def test_measuring_countdown_then_toggle_and_escape() -> None:
    async def check(app: NumaviewApp, source: ManualSource, pilot: Pilot[int]) -> None:
        panel = app.query_one(ComparePanel)
        assert app.frame is not None
        now = app.frame.mono
        m = Measuring(PIN, pin_mono=now - 5, ready_mono=now + 40)
        await deliver(app, pilot, measuring=(m,))
        assert panel.has_class("-open")
        assert panel.text() == [f"measuring after pin {PIN} … 40s left"]
        await pilot.press("C")
        assert not panel.has_class("-open") and panel.region.height == 0
        await pilot.press("C")
        assert panel.has_class("-open") and panel.region.height == 1 + 1  # and its border
        await pilot.press("escape")
        assert not panel.has_class("-open")
        # the same measurement again does not reopen it; a comparison does
        await deliver(app, pilot, measuring=(m,))
        assert not panel.has_class("-open")
        await deliver(app, pilot, comparisons=(comparison(now - 5),), measuring=())
        assert panel.has_class("-open") and "measuring" not in " ".join(panel.text())
        assert any(ln.endswith("better") for ln in panel.text())

    run(check)


def test_toggle_without_anything_to_show_says_so() -> None:
    async def check(app: NumaviewApp, source: ManualSource, pilot: Pilot[int]) -> None:
        await pilot.press("C")
        assert not app.query_one(ComparePanel).has_class("-open")
        assert any("no before/after" in n.message for n in app._notifications)

    run(check)


# -- the process table -------------------------------------------------------------------


def test_server_row_is_marked() -> None:
    async def check(app: NumaviewApp, source: ManualSource, pilot: Pilot[int]) -> None:
        table = app.query_one(ProcessTable)
        row = row_text(table, 4121).rstrip()
        assert "llama-server -m" in row and row.endswith("◆ vllm")
        assert colour_of(table, 4121) == (0xFF, 0xB0, 0x00)  # proctable--server in app.tcss
        others = [p.pid for p in table.visible_rows()[:5] if p.pid != 4121]
        assert others and all("◆" not in row_text(table, pid) for pid in others)
        assert all(colour_of(table, pid) != (0xFF, 0xB0, 0x00) for pid in others)

    async def unmarked(app: NumaviewApp, source: ManualSource, pilot: Pilot[int]) -> None:
        assert "◆" not in row_text(app.query_one(ProcessTable), 4121)

    run(check)
    run(unmarked, make=no_load)


# -- sizes -------------------------------------------------------------------------------


def test_small_terminals_with_workload_do_not_crash() -> None:
    async def check(app: NumaviewApp, source: ManualSource, pilot: Pilot[int]) -> None:
        source.push(2)
        await pilot.pause()
        assert app.frame is not None
        await deliver(app, pilot, comparisons=(comparison(app.frame.mono - 40),))
        assert app.query_one(ComparePanel).region.height > 0
        await pilot.resize_terminal(20, 10)
        await pilot.pause()
        assert app.screen.has_class("too-small")
        assert app.query_one(LoadStrip).region.height == 0
        assert app.query_one(ComparePanel).region.height == 0
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        strip = app.query_one(LoadStrip)
        assert strip.region.height == 2 and len(strip.text(0)) <= 80
        assert app.query_one(ProcessTable).region.height > 0

    run(check, size=(80, 24))
