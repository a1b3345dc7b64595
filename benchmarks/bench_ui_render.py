"""Time to put one new frame on screen for a fake 512-CPU machine (target < 10 ms).

    .venv/bin/python -m benchmarks.bench_ui_render [--frames 30] [--size 200x60]

Frames come from the real Sampler over a fake 512-CPU, 8-node tree with 300
processes (made beforehand, not timed). Each is posted to a headless app
as the sampler thread would post it; the CPU time until the screen is
painted is the cost of one frame (Textual's compositor and driver included),
minus an idle refresh. The heatmap's own share is timed separately.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

from tests.fakefs import FakeClock, FakeProc, FakeProcess, FakeThread, Shape, build_machine

from numaview.model.frame import Frame
from numaview.sampler.sampler import Sampler
from numaview.stream.source import ManualSource
from numaview.tui.app import make_app
from numaview.tui.widgets.heatmap import Heatmap

TARGET_MS = 10.0
PROFILE = bool(os.environ.get("NUMAVIEW_PROFILE"))
SHAPE = Shape(packages=4, nodes_per_package=2, l3_per_node=2, cores_per_l3=16, smt=2)


def make_frames(root: Path, count: int) -> tuple[Sampler, list[Frame]]:
    m = build_machine(root, SHAPE)
    fp = FakeProc(root, m.cpus, m.node_ids)
    rng = random.Random(3)
    for i in range(300):
        threads = [FakeThread(1000 + i * 64 + k, cpu=rng.choice(m.cpus)) for k in range(1 + i % 8)]
        fp.add(FakeProcess(pid=1000 + i * 64, name=f"p{i}", threads=threads, affinity=m.cpus))
    clock = FakeClock()
    sampler = Sampler(root, clock=clock)
    frames = []
    for _ in range(count + 1):
        for c in m.cpus:
            used = rng.randint(0, 100)
            fp.cpus[c]["user"] += used
            fp.cpus[c]["idle"] += 100 - used
        for p in list(fp.processes.values())[:60]:
            for th in p.threads:
                th.ticks += rng.randint(0, 100)
        fp.uptime += 1
        clock.advance(1.0)
        fp.write()
        frames.append(sampler.sample())
    return sampler, frames[1:]


async def measure(sampler: Sampler, frames: list[Frame], size: tuple[int, int]) -> None:
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
        if PROFILE:
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
    frame_ms = statistics.median(costs) * 1000
    idle_ms = statistics.median(idle) * 1000
    net = frame_ms - idle_ms
    print(f"512 CPUs, 8 nodes, 300 processes, {size[0]}×{size[1]}, {len(costs)} frames")
    print(
        f"  new frame on screen     median {frame_ms:6.2f} ms CPU (idle refresh {idle_ms:.2f} ms)"
    )
    print(f"  of which the heatmap    median {statistics.median(heat_ms):6.2f} ms"
          f" (cell width {heat.cell_w}, {lines} lines)")  # fmt: skip
    print(f"frame: {net:.2f} ms net = {net / TARGET_MS:.2f} × the {TARGET_MS:.0f} ms target")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--frames", type=int, default=30)
    ap.add_argument("--size", default="200x60")
    args = ap.parse_args()
    w, h = (int(x) for x in args.size.split("x"))
    shm = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    with tempfile.TemporaryDirectory(dir=shm) as tmp:
        sampler, frames = make_frames(Path(tmp), args.frames)
    asyncio.run(measure(sampler, frames, (w, h)))


if __name__ == "__main__":
    main()
