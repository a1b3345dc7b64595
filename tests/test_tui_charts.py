"""History series (known numbers) and the ChartPanel widget in a tiny harness app."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from textual.app import App, ComposeResult
from textual.pilot import Pilot

from numaview.demo.machine import SimulatedSampler
from numaview.model.frame import (
    CPU_METRICS,
    CpuTable,
    Frame,
    NodeSample,
    ProcessSample,
    SystemSample,
)
from numaview.render import history
from numaview.tui.widgets.chartmodel import Palette
from numaview.tui.widgets.charts import (
    ChartPanel,
    build_panel_text,
    compute_charts,
    plan_layout,
)
from tests.fakefs import FakeClock

GIB = 1024**3

# What the report hands over for app.tcss (the harness stands in for it).
CHART_CSS = """
ChartPanel { width: 1fr; height: 1fr; }
ChartPanel > .chartpanel--series-0 { color: #5fa8ff; }
ChartPanel > .chartpanel--series-1 { color: #6fd35f; }
ChartPanel > .chartpanel--series-2 { color: #ff6b6b; }
ChartPanel > .chartpanel--series-3 { color: #4fd6c8; }
ChartPanel > .chartpanel--series-4 { color: #f0d44a; }
ChartPanel > .chartpanel--series-5 { color: #c792ea; }
ChartPanel > .chartpanel--series-6 { color: #ff9f40; }
ChartPanel > .chartpanel--series-7 { color: #a0a0a0; }
ChartPanel > .chartpanel--subject { color: #ff2d7a; }
ChartPanel > .chartpanel--subject-cpus { color: #e0e0e0; }
ChartPanel > .chartpanel--marker { color: #b58900; }
"""


# -- frames by hand -------------------------------------------------------------------


def proc(pid: int, cpu_pct: float | None, last_cpus: tuple[int, ...] = (), start: float = 1.0):
    return ProcessSample(
        pid=pid, start_time=start, ppid=1, user="u", name=f"p{pid}", cmdline=None, state="R",
        cpu_pct=cpu_pct, threads=1, affinity=None, last_cpus=last_cpus, nodes_running=(),
        rss_bytes=None,
    )  # fmt: skip


def frame(
    mono: float,
    busy: dict[int, float | None] | None = None,
    free_gib: dict[int, float | None] | None = None,
    cpus: tuple[float | None, ...] = (0.0, 0.0),
    processes: tuple[ProcessSample, ...] = (),
) -> Frame:
    busy = busy or {}
    free_gib = free_gib or {}
    nodes = tuple(
        NodeSample(
            id=n,
            busy_pct=busy.get(n),
            mem_total_bytes=64 * GIB,
            mem_free_bytes=None if free_gib.get(n) is None else int(free_gib[n] * GIB),  # type: ignore[operator]
        )
        for n in sorted(set(busy) | set(free_gib))
    )
    ids = list(range(len(cpus)))
    table = CpuTable.build(ids, [True] * len(ids), {m: list(cpus) for m in CPU_METRICS})
    return Frame(
        time=mono, mono=mono, interval_s=1.0, cpus=table, nodes=nodes, system=SystemSample(),
        processes=processes, seq=int(mono),
    )  # fmt: skip


def test_node_busy_keeps_none_as_gap_and_x_is_relative_to_newest() -> None:
    vals: list[float | None] = [10.0, 20.0, None, 40.0, 50.0]
    frames = [frame(10.0 + i, {0: v, 1: float(i)}) for i, v in enumerate(vals)]
    xs, cols = history.node_busy_series(frames, window_s=300)
    assert xs == [-4.0, -3.0, -2.0, -1.0, 0.0]
    assert cols == {0: vals, 1: [0.0, 1.0, 2.0, 3.0, 4.0]}


def test_window_cuts_old_frames() -> None:
    frames = [frame(float(i), {0: float(i)}) for i in range(10)]
    xs, cols = history.node_busy_series(frames, window_s=5)
    assert xs == [-4.0, -3.0, -2.0, -1.0, 0.0] and cols[0] == [5.0, 6.0, 7.0, 8.0, 9.0]
    assert history.node_busy_series([], 300) == ([], {})


def test_memory_used_is_total_minus_free_in_gib() -> None:
    frames = [frame(0.0, free_gib={0: 16.0, 1: None}), frame(1.0, free_gib={0: 8.0, 1: 64.0})]
    xs, cols = history.node_mem_used_series(frames, 300)
    assert xs == [-1.0, 0.0]
    assert cols == {0: [48.0, 56.0], 1: [None, 0.0]}


def test_cpu_busy_per_cpu_none_for_unknown_cpu() -> None:
    frames = [frame(0.0, cpus=(10.0, None)), frame(1.0, cpus=(30.0, 50.0))]
    _, cols = history.cpu_busy_series(frames, [0, 1, 99], 300)
    assert cols == {0: [10.0, 30.0], 1: [None, 50.0], 99: [None, None]}


def test_process_series_gaps_and_pid_reuse() -> None:
    frames = [
        frame(0.0, processes=(proc(7, 500.0, start=1.0),)),  # an earlier process with pid 7
        frame(1.0, cpus=(20.0, 40.0), processes=(proc(7, 150.0, (0, 1), start=2.0),)),
        frame(2.0),  # not sampled in this frame
        frame(3.0, cpus=(60.0, 80.0), processes=(proc(7, 90.0, (1,), start=2.0),)),
    ]
    xs, pct = history.process_cpu_series(frames, 7, 300)
    assert xs == [-3.0, -2.0, -1.0, 0.0]
    assert pct == [None, 150.0, None, 90.0]
    _, busy = history.process_cpus_busy_series(frames, 7, 300)
    assert busy == [None, 30.0, None, 80.0]
    assert history.process_name(frames, 7) == "p7" and history.process_name(frames, 8) is None
    assert history.process_cpu_series(frames, 8, 300)[1] == [None] * 4


def test_downsampling_averages_fixed_time_buckets() -> None:
    frames = [frame(float(i), {0: float(i)}) for i in range(300)]
    xs, cols = history.node_busy_series(frames, window_s=300, max_points=101)  # 3 s buckets
    assert len(xs) == 100
    assert xs[:2] == [1.0 - 299, 4.0 - 299] and xs[-1] == 298.0 - 299
    assert cols[0][:2] == [1.0, 4.0] and cols[0][-1] == 298.0


def test_downsampling_none_only_bucket_stays_none_and_mixed_averages_known() -> None:
    vals: list[float | None] = [None, None, None, 3.0, None, 5.0]
    frames = [frame(float(i), {0: v}) for i, v in enumerate(vals)]
    xs, cols = history.node_busy_series(frames, window_s=6, max_points=3)  # 3 s buckets
    assert xs == [-4.0, -1.0] and cols[0] == [None, 4.0]


@pytest.mark.parametrize("max_points", [1, 2, 50, 120])
def test_downsampling_bounds_points_whatever_the_ring_holds(max_points: int) -> None:
    frames = [frame(0.5 * i, {0: float(i % 7)}) for i in range(3600)]
    for window in (60.0, 300.0, 1800.0, 3600.0):
        xs, cols = history.node_busy_series(frames, window, max_points)
        assert 1 <= len(xs) <= max_points and len(cols[0]) == len(xs)
        assert xs == sorted(xs) and -window < xs[0] and xs[-1] <= 0


def test_segments_break_at_none_and_time_gaps() -> None:
    xs = [-10.0, -9.0, -8.0, -7.0, -2.0, -1.0]
    ys: list[float | None] = [1.0, None, 3.0, 4.0, 5.0, 6.0]
    assert history.segments(xs, ys) == [
        ([-10.0], [1.0]),
        ([-8.0, -7.0], [3.0, 4.0]),
        ([-2.0, -1.0], [5.0, 6.0]),
    ]


def test_time_ticks_are_round() -> None:
    assert history.time_ticks(300, 60)[1] == ["-5m", "-4m", "-3m", "-2m", "-1m", "now"]
    assert history.time_ticks(300, 20)[1] == ["-5m", "now"]
    assert history.time_ticks(3600, 80)[1][-2:] == ["-10m", "now"]


def test_layout_picks_by_shape_and_gives_up_when_tiny() -> None:
    assert plan_layout(60, 19, 3) == [[(30, 10), (30, 10)], [(60, 9)]]
    assert plan_layout(200, 19, 3) == [[(67, 19), (67, 19), (66, 19)]]
    assert plan_layout(64, 40, 3) == [[(64, 14)], [(64, 13)], [(64, 13)]]
    assert plan_layout(15, 4, 1) is None


# -- the simulated machine ------------------------------------------------------------


def sim_frames(n: int, sim: SimulatedSampler | None = None) -> tuple[SimulatedSampler, list[Frame]]:
    clock = FakeClock(0.0)
    sim = sim or SimulatedSampler(clock=clock, wall=clock)
    out = []
    for _ in range(n):
        out.append(sim.sample())
        clock.advance(1.0)
    return sim, out


def test_panel_text_at_every_size_never_crashes_plotext() -> None:
    sim, frames = sim_frames(40)
    for subject in (None, ("pid", 4121), ("cpu", 17)):
        charts = compute_charts(frames, sim.topology, subject, 300.0)
        for w in range(0, 131, 9):
            for h in range(0, 46, 5):
                text = build_panel_text(charts, w, h, 300.0, [(-20.0, "re-pin"), (0.0, "x")])
                assert all(len(line) <= w for line in text.plain.split("\n")), (w, h)


# -- the widget -----------------------------------------------------------------------


class HarnessApp(App[None]):
    CSS = CHART_CSS

    def __init__(self) -> None:
        super().__init__()
        self.sim, self.frames = sim_frames(12)

    def compose(self) -> ComposeResult:
        yield ChartPanel(self.sim.topology, id="charts")


class BareApp(HarnessApp):
    """No colour rules: the panel falls back to plotext's palette numbers."""

    CSS = "ChartPanel { width: 1fr; height: 1fr; }"


Check = Callable[[HarnessApp, ChartPanel, Pilot[None]], Awaitable[None]]


def run(check: Check, size: tuple[int, int] = (100, 30), css: bool = True) -> None:
    async def main() -> None:
        app = HarnessApp() if css else BareApp()
        async with app.run_test(size=size) as pilot:
            await check(app, app.query_one(ChartPanel), pilot)

    asyncio.run(main())


def test_collecting_then_node_legend() -> None:
    async def check(app: HarnessApp, panel: ChartPanel, pilot: Pilot[None]) -> None:
        panel.show(app.frames[:1])
        await pilot.pause()
        assert "collecting" in panel.render().plain and panel.builds == 0
        panel.show(app.frames[:10])
        await pilot.pause()
        text = panel.render().plain
        assert all(f"node {n}" in text for n in range(4)), text
        assert "busy % per node" in text and "memory used per node" in text
        assert panel.builds == 1 and panel.last_build_s > 0

    run(check)


def test_redraws_are_throttled_and_forced() -> None:
    async def check(app: HarnessApp, panel: ChartPanel, pilot: Pilot[None]) -> None:
        now = [100.0]
        panel.clock = lambda: now[0]
        panel.show(app.frames[:10])
        await pilot.pause()
        assert panel.builds == 1
        now[0] += 1.0
        panel.show(app.frames[:11])  # new data, but within redraw_every_s
        await pilot.pause()
        assert panel.builds == 1
        panel.force_redraw()
        await pilot.pause()
        assert panel.builds == 2
        now[0] += panel.redraw_every_s
        panel.show(app.frames[:11])  # due, but nothing new since the forced build
        await pilot.pause()
        assert panel.builds == 2
        panel.show(app.frames[:12])
        await pilot.pause()
        assert panel.builds == 3
        await pilot.resize_terminal(90, 28)  # a resize redraws at once
        await pilot.pause()
        assert panel.builds == 4

    run(check)


def test_subject_process_and_cpu_and_markers() -> None:
    async def check(app: HarnessApp, panel: ChartPanel, pilot: Pilot[None]) -> None:
        panel.show(app.frames)
        await pilot.pause()
        builds = panel.builds
        panel.set_subject_process(4121)
        await pilot.pause()
        text = panel.render().plain
        assert "llama-server" in text or "pid 4121" in text, text
        assert panel.builds == builds + 1
        panel.set_subject_process(4121)  # the same again costs nothing
        await pilot.pause()
        assert panel.builds == builds + 1
        panel.set_subject_cpu(17)
        panel.add_marker(app.frames[-1].mono - 4, "re-pin")
        await pilot.pause()
        text = panel.render().plain
        assert "CPU 17 busy %" in text and "re-pin" in text and "llama-server" not in text
        assert panel.builds == builds + 2  # two requests, one screen refresh: one build

    run(check)


def test_colours_come_from_css_or_defaults() -> None:
    async def with_css(app: HarnessApp, panel: ChartPanel, pilot: Pilot[None]) -> None:
        pal = panel.palette()
        assert pal.series[0] == (0x5F, 0xA8, 0xFF) and pal.subject == (0xFF, 0x2D, 0x7A)

    async def without(app: HarnessApp, panel: ChartPanel, pilot: Pilot[None]) -> None:
        assert panel.palette() == Palette()

    run(with_css)
    run(without, css=False)


@pytest.mark.parametrize("size", [(15, 4), (19, 30), (100, 4), (30, 8), (1, 1)])
def test_tiny_sizes_do_not_raise(size: tuple[int, int]) -> None:
    async def check(app: HarnessApp, panel: ChartPanel, pilot: Pilot[None]) -> None:
        panel.set_subject_process(4121)
        panel.show(app.frames)
        await pilot.pause()
        text = panel.render().plain
        assert all(len(line) <= size[0] for line in text.split("\n"))

    run(check, size=size)
