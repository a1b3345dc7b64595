"""Time to put one new frame on screen for a fake 512-CPU machine (target < 10 ms).

    .venv/bin/python -m benchmarks.bench_ui_render [--frames 30] [--size 200x60]

Frames come from the real Sampler over a fake 512-CPU, 8-node tree with 300
processes (made beforehand, not timed). Each is posted to a headless app
as the sampler thread would post it; the CPU time until the screen is
painted is the cost of one frame (Textual's compositor and driver included),
minus an idle refresh. The heatmap's own share is timed separately.
``frame_cost`` is also bench_scale's "new frame on screen".
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from tests.fakefs import FakeProcess, FakeThread

from benchmarks.fakeload import SHAPE_512, LoadedMachine, tmpfs_dir
from numaview.model.frame import Frame
from numaview.sampler.sampler import Sampler
from numaview.stream.source import ManualSource
from numaview.tui.app import make_app
from numaview.tui.widgets.heatmap import Heatmap

TARGET_MS = 10.0
PROFILE = bool(os.environ.get("NUMAVIEW_PROFILE"))


def make_frames(root: Path, count: int) -> tuple[Sampler, list[Frame]]:
    lm = LoadedMachine(root, SHAPE_512)
    cpus = lm.m.cpus
    rng = random.Random(3)
    for i in range(300):
        threads = [FakeThread(1000 + i * 64 + k, cpu=rng.choice(cpus)) for k in range(1 + i % 8)]
        lm.fp.add(FakeProcess(pid=1000 + i * 64, name=f"p{i}", threads=threads, affinity=cpus))
    sampler = lm.sampler()
    busy = list(lm.fp.processes.values())[:60]

    def advance() -> None:
        for c in cpus:
            lm.charge(c, rng.randint(0, 100))
        for p in busy:
            lm.fp.mark(p)
            for th in p.threads:
                th.ticks += rng.randint(0, 100)

    return sampler, lm.frames(sampler, count + 1, advance)[1:]


@dataclass(frozen=True)
class UiCost:
    """Medians over the frames, in ms: CPU per new frame, per idle refresh, the heatmap's own."""

    frame_ms: float
    idle_ms: float
    heat_ms: float
    cell_w: int
    lines: int
    frames: int

    @property
    def net_ms(self) -> float:
        return self.frame_ms - self.idle_ms


async def frame_cost(
    sampler: Sampler, frames: list[Frame], size: tuple[int, int], profile: bool = PROFILE
) -> UiCost:
    """Each frame fed to a headless app as the Monitor would; CPU until it is painted."""
    source = ManualSource(sampler, kind="live")
    app = make_app(source, charts=False)
    async with app.run_test(size=size) as pilot:
        app.monitor.feed(frames[0])
        await pilot.pause()
        idle, costs = [], []
        for frame in frames[1:]:
            t0 = time.process_time()
            app.refresh()
            await pilot.pause()
            idle.append(time.process_time() - t0)
            t0 = time.process_time()
            app.monitor.feed(frame)
            await pilot.pause()
            costs.append(time.process_time() - t0)
        heat = app.query_one(Heatmap)
        heat_ms = []
        for frame in frames:
            t0 = time.perf_counter()
            heat.show(frame)
            for y in range(heat.size.height):
                heat.render_line(y)
            heat_ms.append((time.perf_counter() - t0) * 1000)
        if profile:
            import cProfile
            import pstats

            pr = cProfile.Profile()
            pr.enable()
            for frame in frames:
                app.monitor.feed(frame)
                await pilot.pause()
            pr.disable()
            pstats.Stats(pr).sort_stats("tottime").print_stats(15)
        lines = heat.size.height
    return UiCost(
        frame_ms=statistics.median(costs) * 1000,
        idle_ms=statistics.median(idle) * 1000,
        heat_ms=statistics.median(heat_ms),
        cell_w=heat.cell_w,
        lines=lines,
        frames=len(costs),
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--frames", type=int, default=30)
    ap.add_argument("--size", default="200x60")
    args = ap.parse_args()
    w, h = (int(x) for x in args.size.split("x"))
    with tmpfs_dir() as tmp:
        sampler, frames = make_frames(Path(tmp), args.frames)
    cost = asyncio.run(frame_cost(sampler, frames, (w, h)))
    print(f"512 CPUs, 8 nodes, 300 processes, {w}×{h}, {cost.frames} frames")
    print(
        f"  new frame on screen     median {cost.frame_ms:6.2f} ms CPU"
        f" (idle refresh {cost.idle_ms:.2f} ms)"
    )
    print(f"  of which the heatmap    median {cost.heat_ms:6.2f} ms"
          f" (cell width {cost.cell_w}, {cost.lines} lines)")  # fmt: skip
    net = cost.net_ms
    print(f"frame: {net:.2f} ms net = {net / TARGET_MS:.2f} × the {TARGET_MS:.0f} ms target")


if __name__ == "__main__":
    main()
