"""Process table redraw time: 300 rows at 160×50 (target: a few ms a frame).

    .venv/bin/python -m benchmarks.bench_proctable [--repeat 200]

Inside a headless Textual app (the styles come from CSS), times
``table.show(frame)`` followed by ``render_line`` of every visible line, for
(a) a frame whose 300 row objects are all new, and (b) a frame where only 30
rows are new objects and 270 are the previous frame's (what the sampler does
for unchanged processes). Also reports how many lines (b) marks for repaint,
the same through Textual's line pipeline (``render_lines``, which adds
padding, tint and crop), and the process screen's thread list. Frames are
built before timing. A benchmark, not a test: it reports.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import replace

from tests.fakefs import FakeClock
from textual.app import App, ComposeResult
from textual.geometry import Region

from numaview.demo.machine import SimulatedSampler
from numaview.model.frame import Frame, ProcessSample, ThreadSample
from numaview.tui.screens.process import ThreadList
from numaview.tui.widgets.proctable import ProcessTable

W, H, ROWS, CHANGED = 160, 50, 300, 30

CSS = """
ProcessTable { height: 1fr; }
ThreadList { height: 1fr; }
ProcessTable > .proctable--header { background: #2b2f3a; color: #e6e6e6; text-style: bold; }
ProcessTable > .proctable--cursor { background: #3a3f4b; }
ProcessTable:focus > .proctable--cursor { background: #005f87; text-style: bold; }
ProcessTable > .proctable--kernel { color: #7f8fa6; }
ProcessTable > .proctable--hot { color: #ff5f5f; text-style: bold; }
ProcessTable > .proctable--dim { color: #6c6c6c; }
"""


def base_frame() -> tuple[SimulatedSampler, Frame]:
    clock = FakeClock(0.0)
    sim = SimulatedSampler(clock=clock)
    for _ in range(6):
        frame = sim.sample()
        clock.advance(1.0)
    return sim, frame


def widen(frame: Frame, rng: random.Random) -> Frame:
    """The simulated 33 processes copied up to 300, with new pids and spread-out CPU %."""
    procs: list[ProcessSample] = []
    k = 0
    while len(procs) < ROWS:
        for p in frame.processes:
            if len(procs) == ROWS:
                break
            cpu = None if p.cpu_pct is None else round(p.cpu_pct * rng.uniform(0.2, 1.5), 1)
            procs.append(replace(p, pid=p.pid + 100_000 * k, cpu_pct=cpu))
        k += 1
    return replace(frame, processes=tuple(procs))


def jitter(frame: Frame, rng: random.Random, n: int) -> Frame:
    """A new frame with n rows replaced by new objects (others are the same objects)."""
    procs = list(frame.processes)
    for i in rng.sample(range(len(procs)), n):
        p = procs[i]
        cpu = None if p.cpu_pct is None else round(p.cpu_pct * rng.uniform(0.9, 1.1), 1)
        procs[i] = replace(p, cpu_pct=cpu)
    return replace(frame, processes=tuple(procs), seq=frame.seq + 1)


def median_ms(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1000:7.3f} ms (p90 {sorted(samples)[int(len(samples) * 0.9)] * 1000:.3f})"


class Bench(App[None]):
    CSS = CSS

    def __init__(self, sim: SimulatedSampler) -> None:
        super().__init__()
        self.sim = sim

    def compose(self) -> ComposeResult:
        yield ProcessTable(self.sim.topology, id="procs")


def timed(fn: Callable[..., object], *args: object) -> float:
    t0 = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t0


async def run(repeat: int) -> None:
    rng = random.Random(1)
    sim, frame = base_frame()
    app = Bench(sim)
    async with app.run_test(size=(W, H)) as pilot:
        table = app.query_one(ProcessTable)
        table.focus()
        table.show(widen(frame, rng))
        await pilot.pause()
        height = table.size.height

        def redraw() -> None:
            for y in range(height):
                table.render_line(y)

        def step(f: Frame) -> None:
            table.show(f)
            redraw()

        redraw()
        fresh = [widen(frame, rng) for _ in range(repeat)]
        full = [timed(step, f) for f in fresh]

        current = fresh[-1]
        partial, repaint_lines = [], []
        for _ in range(repeat):
            current = jitter(current, rng, CHANGED)
            table._styles_cache._dirty_lines.clear()  # show() marks the lines to repaint
            partial.append(timed(step, current))
            repaint_lines.append(len(table._styles_cache._dirty_lines))

        pipeline = []
        for f in fresh[: max(repeat // 4, 10)]:
            table.show(f)
            table._styles_cache.clear()
            pipeline.append(timed(table.render_lines, Region(0, 0, W, height)))

        print(f"process table, {ROWS} rows, {W}×{H} ({height} lines drawn):")
        print(f"  new frame, every row new       show + {height} lines: {median_ms(full)}")
        print(
            f"  new frame, {CHANGED} rows new          show + {height} lines: {median_ms(partial)}"
        )
        print(
            f"    lines marked for repaint after the {CHANGED}-row frame: median "
            f"{statistics.median(repaint_lines):.0f} of {height}"
        )
        print(f"  all lines through Textual's render_lines (new rows): {median_ms(pipeline)}")

        threads = ThreadList(sim.topology, id="threads")
        await app.mount(threads)
        await pilot.pause()
        for n in (16, 1000):
            rows = [
                tuple(
                    ThreadSample(tid=10_000 + i, name=f"worker-{i}", state="R",
                                 last_cpu=(i + k) % 128, cpu_pct=float((i * 7 + k) % 100))
                    for i in range(n)
                )
                for k in range(repeat)
            ]  # fmt: skip
            th = threads.size.height

            def draw(ts: tuple[ThreadSample, ...], th: int = th) -> None:
                threads.show(ts)
                for y in range(th):
                    threads.render_line(y)

            samples = [timed(draw, ts) for ts in rows]
            print(f"  thread list, {n} threads, all new, {th} lines: {median_ms(samples)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(run(args.repeat))


if __name__ == "__main__":
    main()
