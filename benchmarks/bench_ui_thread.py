"""The UI thread's CPU time per frame, with the detectors and a recording on.

    .venv/bin/python -m benchmarks.bench_ui_thread [--seconds 20] [--interval 0.2]

The dashboard on the simulated 128-CPU machine, headless at 160×50, its real
threads (sampler, and the Monitor where there is one) ticking every
--interval, recording to a file in /dev/shm. The UI thread's CPU time is
measured inside its frame handler (``time.thread_time``), so it is what the
UI thread spends per frame and nothing else. The same file runs on an older
checkout (before the Monitor: the handler then also ran the detectors and
wrote SQLite), which is how the README's before/after figures were taken:

    git worktree add /tmp/nv-before 17a80f1
    cp benchmarks/bench_ui_thread.py /tmp/nv-before/benchmarks/
    (cd /tmp/nv-before && PYTHONPATH=app:. ../main/.venv/bin/python -m benchmarks.bench_ui_thread)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any


def _app(interval: float) -> Any:
    try:  # after: the Monitor
        from numaview.demo.machine import SimulatedSampler
        from numaview.demo.pinner import SimulatedPinner
        from numaview.stream.factories import for_source
        from numaview.stream.source import SampledSource
        from numaview.tui.app import make_app

        sim = SimulatedSampler(seed=7)
        monitor = for_source(
            SampledSource(sim, interval, kind="simulated"), pinner=SimulatedPinner(sim)
        )
        return make_app(monitor, charts=True), "on_bundle_arrived"
    except ImportError:  # before
        from numaview.pinning.simulated import SimulatedPinner  # type: ignore[import-not-found,no-redef]
        from numaview.sampler.simulated import SimulatedSampler  # type: ignore[import-not-found,no-redef]
        from numaview.sampler.source import SampledSource  # type: ignore[import-not-found,no-redef]

        from numaview.tui.app import make_app

        sim = SimulatedSampler(seed=7)
        src = SampledSource(sim, interval, kind="simulated")
        return make_app(src, charts=True, pinner=SimulatedPinner(sim)), "on_frame_arrived"


async def measure(seconds: float, interval: float, out: Path) -> None:
    app, handler = _app(interval)
    cls = type(app)
    original = getattr(cls, handler)
    costs: list[float] = []
    main = threading.get_ident()

    def timed(self: Any, message: Any) -> None:
        assert threading.get_ident() == main
        t0 = time.thread_time()
        original(self, message)
        costs.append(time.thread_time() - t0)

    setattr(cls, handler, timed)
    try:
        async with app.run_test(size=(160, 50)) as pilot:
            await pilot.pause(1.0)
            app.start_recording(str(out))
            t0 = time.thread_time()
            await asyncio.sleep(seconds)
            total = time.thread_time() - t0
            n = len(costs)
            report(handler, interval, seconds, costs, total, n)  # before quitting: the old
            # dashboard raised NoMatches when it quit while recording (issue 19)
    finally:
        setattr(cls, handler, original)


def report(
    handler: str, interval: float, seconds: float, costs: list[float], total: float, n: int
) -> None:
    print(
        f"UI thread per frame ({handler}, 128 CPUs, 160×50, charts on, recording, every {interval:g} s)"
    )
    print(f"  frames handled      {n}")
    print(f"  handler CPU         median {statistics.median(costs) * 1000:6.2f} ms,"
          f" p90 {sorted(costs)[int(len(costs) * 0.9)] * 1000:6.2f} ms")  # fmt: skip
    print(f"  UI thread CPU       {total / max(n, 1) * 1000:6.2f} ms per frame over {seconds:g} s"
          " (painting included)")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--interval", type=float, default=0.2)
    args = ap.parse_args()
    shm = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    with tempfile.TemporaryDirectory(dir=shm) as tmp:
        asyncio.run(measure(args.seconds, args.interval, Path(tmp) / "bench.nvrec"))


if __name__ == "__main__":
    main()
