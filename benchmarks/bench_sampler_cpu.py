"""The sampler's own CPU use at 1 Hz on this machine, with ~300 extra processes (target 0.5 %).

    .venv/bin/python -m benchmarks.bench_sampler_cpu [--seconds 60] [--extra 300] [--interval 1.0]

Starts N extra ``sleep`` processes, runs a real Sampler("/") with default
options in a SamplerThread for the given time, and prints the median tick
CPU and wall time, and the whole process's CPU % of one core over the run
(``time.process_time()`` / wall: the real overhead figure, thread start-up and
interpreter housekeeping included). The extra processes are killed on exit,
Ctrl+C included. A benchmark, not a test: it reports.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import time

from numaview.model.frame import Frame
from numaview.sampler.sampler import Sampler
from numaview.stream.ticker import SamplerThread

TARGET_PCT = 0.5
PEERS = "glances 6.5 %, htop 2.0 %, atop 2.5 %, btop 0.85 %"


def start_sleepers(n: int, procs: list[subprocess.Popen[bytes]]) -> None:
    # Appends as it goes, so a Ctrl+C half-way still leaves every child to kill.
    for _ in range(n):
        procs.append(subprocess.Popen(["sleep", "600"], stdin=subprocess.DEVNULL))


def stop_all(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        if p.poll() is None:
            p.kill()
    for p in procs:
        p.wait()


WARMUP_TICKS = 2  # tick 1 reads every process's status, cmdline, threads; tick 2 their rates


def run(seconds: float, interval: float) -> tuple[list[Frame], float, float, float]:
    """Frames, whole-run CPU %, steady CPU % (after the warm-up ticks), wall seconds.

    The window ends as the last frame lands, so it spans whole intervals and
    every tick in it is complete.
    """
    frames: list[Frame] = []
    marks: list[tuple[float, float]] = []  # (process CPU, monotonic) as each frame lands

    def on_frame(f: Frame) -> None:
        frames.append(f)
        marks.append((time.process_time(), time.monotonic()))

    sampler = Sampler("/")  # topology discovery: start-up, not tick cost
    thread = SamplerThread(sampler, interval_s=interval, on_frame=on_frame)
    cpu0, wall0 = time.process_time(), time.monotonic()
    thread.start()
    try:
        time.sleep(seconds)
    finally:
        thread.stop()
    (cpu1, wall1), (cpu_n, wall_n) = marks[WARMUP_TICKS - 1], marks[-1]
    whole = (cpu_n - cpu0) / (wall_n - wall0) * 100
    steady = (cpu_n - cpu1) / (wall_n - wall1) * 100
    return frames, whole, steady, wall_n - wall0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--extra", type=int, default=300, help="extra sleeping processes")
    ap.add_argument("--interval", type=float, default=1.0)
    args = ap.parse_args()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        start_sleepers(args.extra, procs)
        time.sleep(0.5)  # let them exec
        frames, whole, steady, wall = run(args.seconds, args.interval)
    finally:
        stop_all(procs)
    ticks = frames[WARMUP_TICKS:]
    cpu_ms = [f.cost.tick_cpu_s * 1000 for f in ticks if f.cost.tick_cpu_s is not None]
    wall_ms = [f.cost.tick_wall_s * 1000 for f in ticks if f.cost.tick_wall_s is not None]
    seen = [f.system.processes_total or 0 for f in frames]
    print(
        f"{len(frames)} ticks in {wall:.1f} s at {args.interval:g} s, {args.extra} extra sleepers"
    )
    print(
        f"processes seen: median {statistics.median(seen):.0f} (min {min(seen)}, max {max(seen)})"
    )
    for i, f in enumerate(frames[:WARMUP_TICKS]):
        print(
            f"warm-up tick {i + 1}:  cpu {(f.cost.tick_cpu_s or 0) * 1000:6.2f} ms"
            f"  wall {(f.cost.tick_wall_s or 0) * 1000:6.2f} ms"
        )
    print(
        f"later ticks:     cpu median {statistics.median(cpu_ms):6.2f} ms (max {max(cpu_ms):.2f})"
        f"  wall median {statistics.median(wall_ms):6.2f} ms (max {max(wall_ms):.2f})"
    )
    print(
        f"tick cpu / interval: {statistics.median(cpu_ms) / 10 / args.interval:.3f} % of one core"
    )
    print(
        f"process CPU over the whole run: {whole:.3f} % of one core"
        f" (after tick {WARMUP_TICKS}: {steady:.3f} %)"
    )
    print(
        f"steady overhead: {steady:.3f} % = {steady / TARGET_PCT:.2f} × the {TARGET_PCT} % target"
    )
    print(f"peers here at 1 s refresh, ~370 processes: {PEERS}")


if __name__ == "__main__":
    main()
