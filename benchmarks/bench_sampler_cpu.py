"""The sampler's own CPU use at 1 Hz on this machine, with ~300 extra processes (target 0.5 %).

    .venv/bin/python -m benchmarks.bench_sampler_cpu [--seconds 60] [--extra 300] [--interval 1.0]
        [--against OTHER/app]

Starts N extra ``sleep`` processes, runs a real Sampler("/") with default
options in a SamplerThread for the given time, and prints the median tick
CPU and wall time, and the whole process's CPU % of one core over the run
(``time.process_time()`` / wall: the real overhead figure, thread start-up and
interpreter housekeeping included). The extra processes are killed on exit,
Ctrl+C included. A benchmark, not a test: it reports.

``--against DIR`` compares two sources of numaview (DIR: another checkout's
``app/``, say a ``git worktree`` of the commit before): each runs its own
Sampler in a child process, the two half an interval apart, over the same
sleepers, and their tick CPU is printed side by side. On a shared 2-vCPU
machine whose load drifts by more than a change's effect, runs one after the
other cannot tell such a change from the noise; runs side by side can.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

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


def child(seconds: float, offset: float, interval: float) -> None:
    """--against's worker: ticks at start + offset + k·interval; per-tick CPU as JSON."""
    sampler = Sampler("/")
    start = time.monotonic() + offset
    cpu: list[float] = []
    seen: list[int] = []
    for k in range(max(int(seconds / interval), WARMUP_TICKS + 1)):
        time.sleep(max(start + k * interval - time.monotonic(), 0.0))
        t0 = time.thread_time()
        frame = sampler.sample()
        cpu.append((time.thread_time() - t0) * 1000)
        seen.append(frame.system.processes_total or 0)
    print(json.dumps({"cpu_ms": cpu[WARMUP_TICKS:], "seen": seen[WARMUP_TICKS:]}))


def side_by_side(args: argparse.Namespace) -> None:
    ours = str(Path(__file__).resolve().parents[1] / "app")
    runs = {}
    for label, app, offset in (("this tree", ours, 0.0), ("against", args.against, 0.5)):
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([app, os.getcwd()])}
        cmd = [sys.executable, "-m", "benchmarks.bench_sampler_cpu", "--child"]
        cmd += [str(args.seconds), str(offset * args.interval), str(args.interval)]
        runs[label] = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True)
    for label, proc in runs.items():
        got = json.loads(proc.communicate()[0])
        ms, seen = got["cpu_ms"], got["seen"]
        print(
            f"{label:>9}: {len(ms)} ticks, processes seen median {statistics.median(seen):.0f},"
            f" tick cpu median {statistics.median(ms):.2f} ms, mean {statistics.mean(ms):.2f} ms"
        )
    print(f"  (against: {args.against})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--extra", type=int, default=300, help="extra sleeping processes")
    ap.add_argument("--interval", type=float, default=1.0)
    ap.add_argument("--against", help="another checkout's app/ directory, sampled side by side")
    ap.add_argument("--child", nargs=3, type=float, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return
    procs: list[subprocess.Popen[bytes]] = []
    try:
        start_sleepers(args.extra, procs)
        time.sleep(0.5)  # let them exec
        if args.against:
            side_by_side(args)
            return
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
