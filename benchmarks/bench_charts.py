"""Cost of one ChartPanel redraw (all 3 charts), and what it means at redraw_every_s = 5 s.

    .venv/bin/python -m benchmarks.bench_charts [--repeat 30] [--frames 3600]

History: 3600 frames (an hour at 1 Hz) of the simulated 128-CPU, 4-node
machine, passed whole (the widget cuts its 300 s window itself); subject:
llama-server (pid 4121, 16 threads), and one marker. For each size it times,
median of --repeat runs:

- series: ``compute_charts`` (window cut, downsampling to ≤ 120 points, lines);
- plotext: ``build_panel_text`` without its Text.from_ansi call (layout, the
  3 plotext builds, legend), and from_ansi on its own;
- in app: a headless Textual app whose screen is the panel (subject, marker
  set), forced redraw + screen refresh, process CPU time minus that of a
  refresh with nothing to build: the whole cost, series and Textual's
  rendering of the Text included.

All times are process CPU time (the budget's unit; steadier than wall time on
a shared machine). CPU % of one core = in app / redraw_every_s (5 s). A
benchmark, not a test: it reports.

Measured on the dev container (2 vCPU AMD EPYC, Python 3.11, plotext 6.1.0,
textual 8.2.8), the default --repeat 30; repeated runs agree within ~2 ms:

    3600 frames, window 300 s, subject pid 4121, repeat 30
    size       series   plotext    from_ansi    in app   CPU %
    60×20       1.8ms    15.6ms        0.5ms    22.8ms   0.46%
    120×40       2.5ms    20.0ms        1.5ms    24.5ms   0.49%

So a redraw every 5 s costs about 0.5 % of one core, a quarter of the app's
2 % budget; redrawing every second would cost 2.3-2.5 %, over it.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Callable
from typing import Any

from rich.text import Text
from tests.fakefs import FakeClock
from textual.app import App, ComposeResult

from numaview.demo.machine import SimulatedSampler
from numaview.model.frame import Frame
from numaview.model.topology import Topology
from numaview.tui.widgets import chartmodel, charts
from numaview.tui.widgets.charts import ChartPanel, build_panel_text, compute_charts

SIZES = ((60, 20), (120, 40))
SUBJECT: charts.Subject = ("pid", 4121)
REDRAW_EVERY_S = 5.0


def history(n: int) -> tuple[Topology, list[Frame]]:
    clock = FakeClock(0.0)
    sim = SimulatedSampler(clock=clock, wall=clock)
    frames = []
    for _ in range(n):
        frames.append(sim.sample())
        clock.advance(1.0)
    return sim.topology, frames


def panel_text_ms(
    chs: list[chartmodel.Chart], w: int, h: int, markers: list[tuple[float, str]], repeat: int
) -> tuple[float, float]:
    """Median of build_panel_text, and of the Text.from_ansi call inside it."""
    orig = Text.from_ansi
    spent: list[float] = []

    def timed(*args: Any, **kwargs: Any) -> Text:
        t = time.process_time()
        out = orig(*args, **kwargs)
        spent.append(time.process_time() - t)
        return out

    Text.from_ansi = timed  # type: ignore[method-assign]
    try:
        total = median_ms(lambda: build_panel_text(chs, w, h, 300.0, markers), repeat)
    finally:
        Text.from_ansi = orig  # type: ignore[method-assign]
    return total, statistics.median(spent) * 1000


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.process_time()  # CPU time: the budget's unit, and steadier on a shared box
        fn()
        times.append(time.process_time() - t)
    return statistics.median(times) * 1000


class Bench(App[None]):
    CSS = "ChartPanel { width: 1fr; height: 1fr; }"

    def __init__(self, topo: Topology) -> None:
        super().__init__()
        self.topo = topo

    def compose(self) -> ComposeResult:
        yield ChartPanel(self.topo)


def in_app_ms(topo: Topology, frames: list[Frame], size: tuple[int, int], repeat: int) -> float:
    """Median process CPU of a forced redraw + refresh, minus a refresh with nothing to build."""

    async def main() -> float:
        app = Bench(topo)
        async with app.run_test(size=size) as pilot:
            panel = app.query_one(ChartPanel)
            panel.set_subject_process(SUBJECT[1])
            panel.add_marker(frames[-1].mono - 120, "re-pin 4121")
            panel.show(frames)
            await pilot.pause()
            redraw, idle = [], []
            for _ in range(repeat):
                t = time.process_time()
                panel.force_redraw()
                await pilot.pause()
                redraw.append(time.process_time() - t)
                t = time.process_time()
                panel.refresh()
                await pilot.pause()
                idle.append(time.process_time() - t)
            assert panel.builds == repeat + 1, panel.builds
            return (statistics.median(redraw) - statistics.median(idle)) * 1000

    return asyncio.run(main())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--frames", type=int, default=3600)
    args = ap.parse_args()
    topo, frames = history(args.frames)
    newest = frames[-1].mono
    markers = [(-120.0, "re-pin 4121")]
    print(f"{len(frames)} frames, window 300 s, subject pid {SUBJECT[1]}, repeat {args.repeat}")
    print(f"{'size':8} {'series':>8} {'plotext':>9} {'from_ansi':>12} {'in app':>9} {'CPU %':>7}")
    for w, h in SIZES:
        chs = compute_charts(frames, topo, SUBJECT, 300.0)
        series = median_ms(lambda: compute_charts(frames, topo, SUBJECT, 300.0), args.repeat)
        panel_ms, ansi_ms = panel_text_ms(chs, w, h, markers, args.repeat)
        in_app = in_app_ms(topo, frames, (w, h), args.repeat)
        pct = in_app / 1000 / REDRAW_EVERY_S * 100
        print(
            f"{w}×{h:<5} {series:6.1f}ms {panel_ms - ansi_ms:7.1f}ms {ansi_ms:10.1f}ms"
            f" {in_app:7.1f}ms {pct:6.2f}%"
        )
    print(f"(newest frame mono {newest:.0f}; CPU % = in-app redraw / {REDRAW_EVERY_S:g} s)")


if __name__ == "__main__":
    main()
