"""Memory of the ring buffer holding one hour at 1 Hz, 256 CPUs, 300 processes (target < 150 MB).

    .venv/bin/python -m benchmarks.bench_ring_memory [--frames 3600] [--traced 600]

A Sampler on a fake 256-CPU / 4-node tree (tmpfs) with a FakeProc of 300
processes: 30 busy ones (4-16 threads, counters move every tick, as do the
CPUs) and 270 idle ones, the 10 biggest with numa_maps. Frames go into a
RingBuffer(capacity_for(1.0)), so unchanged process rows are shared between
frames as they would be live, and all but the newest RECENT_S are packed.
Reported (MB = 2**20 bytes): VmRSS growth from the first to the last frame
(after gc.collect()), and tracemalloc's bytes held by the ring (traced with
the ring full minus traced after ring.clear()) on a shorter run of --traced
frames, extrapolated to an hour with the frames after it packed as its
packed ones were.

FakeProc.write() rewrites every process each tick; to keep the hour under a
few minutes, after the first full write each tick rewrites only the machine
files and the busy processes (``_write_process`` skips the idle ones, whose
files would be rewritten byte-identical). The frames are the same.

    .venv/bin/python -m benchmarks.bench_ring_memory --real [--frames 3600] [--sleep 0.025]

--real: the real Sampler("/") on this machine, with 300 ``sleep 3600``
children started first (a few hundred processes, like a server), fills a
RingBuffer(capacity_for(1.0)) with --frames frames, one every --sleep
seconds of real time while the sampler's clock advances 1 s a frame (so the
ring's recent span kept as objects, RECENT_S, and its one hour count in
frames, as live). Run twice, each in its own process: the ring as it is ("compact":
older frames packed) and with packing off ("plain": every frame an object,
what the ring was before). Printed for each: VmRSS growth from the second
frame to the last (after gc.collect()), per frame and for the hour, the
packed bytes per packed frame, the CPU the appends took (thread time,
amortised per frame, and the slowest append: the one that packed a block),
and window(300) / window(3600) latency (median of 10). Processes that ran
within 25 ms are fewer than within 1 s, so fewer rows change per frame than
at the dashboard's 1 s: --sleep 1 --frames 600 checks the per-frame figures
at the real pace (10 minutes).
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from tests.fakefs import FakeClock, FakeProc, FakeProcess, FakeThread, Shape, build_machine

from numaview.model.ring import RECENT_S, RingBuffer, capacity_for
from numaview.sampler.sampler import Sampler

TARGET_MB = 150.0
SHAPE = Shape(packages=2, nodes_per_package=2, l3_per_node=2, cores_per_l3=16, smt=2)
NCPU, NNODE, NPROC, NBUSY = 256, 4, 300, 30


class PartialProc(FakeProc):
    """Writes only the processes in ``dirty`` (all of them while it is None)."""

    dirty: set[int] | None = None

    def _write_process(self, p: FakeProcess) -> None:
        if self.dirty is None or p.pid in self.dirty:
            super()._write_process(p)


def populate(fp: PartialProc, rng: random.Random) -> list[FakeProcess]:
    cpus = list(range(NCPU))
    busy = []
    for i in range(NPROC):
        pid = 1000 + i
        nthreads = rng.randint(4, 16) if i < NBUSY else 1
        tids = [pid] + [100_000 + i * 32 + k for k in range(nthreads - 1)]
        threads = [
            FakeThread(tid=t, name=f"t{k}", cpu=rng.choice(cpus)) for k, t in enumerate(tids)
        ]
        p = FakeProcess(
            pid=pid, name=f"p{i}", cmdline=[f"/usr/bin/p{i}", "--flag"], threads=threads,
            rss_pages=rng.randint(200, 200_000), affinity=cpus, starttime=500 + i,
        )  # fmt: skip
        fp.add(p)
        if i % 30 == 5:  # 10 big ones, some busy, most idle: numa_maps get read
            p.rss_pages = 3_000_000 - i * 1000
            p.numa_pages = {n: p.rss_pages // NNODE for n in range(NNODE)}
        if i < NBUSY:
            busy.append(p)
    return busy


def advance(fp: PartialProc, busy: list[FakeProcess], clock: FakeClock, rng: random.Random) -> None:
    for p in busy:
        for th in p.threads:
            if rng.random() < 0.7:
                th.ticks += rng.randint(1, 100)
                th.cpu = rng.randrange(NCPU) if rng.random() < 0.2 else th.cpu
        p.voluntary += rng.randint(0, 300)
        p.rss_pages += rng.randint(-50, 50)
    for v in fp.cpus.values():
        used = rng.randint(0, 100)
        v["user"] += used
        v["idle"] += 100 - used
    fp.ctxt += rng.randint(10_000, 20_000)
    fp.uptime += 1.0
    clock.advance(1.0)


def rss_mb() -> float:
    gc.collect()
    with open("/proc/self/status") as f:
        line = next(x for x in f if x.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def fill(root: Path, frames: int, ring: RingBuffer) -> tuple[float, float]:
    """Appends ``frames`` frames; returns (RSS after the first frame, seconds spent)."""
    rng = random.Random(7)
    fp = PartialProc(root, cpus=list(range(NCPU)), nodes=list(range(NNODE)))
    busy = populate(fp, rng)
    fp.write()  # everything, once
    fp.dirty = {p.pid for p in busy}
    clock = FakeClock()
    sampler = Sampler(root, clock=clock)
    t0 = time.perf_counter()
    ring.append(sampler.sample())
    rss0 = rss_mb()
    for _ in range(frames - 1):
        advance(fp, busy, clock, rng)
        fp.write()
        ring.append(sampler.sample())
    return rss0, time.perf_counter() - t0


def real_variant(variant: str, frames: int, sleep_s: float, extra: int) -> dict[str, float]:
    """One ring filled from the live sampler; the figures as a dict (printed as JSON)."""
    kids = [subprocess.Popen(["sleep", "3600"]) for _ in range(extra)]
    try:
        clock = FakeClock()
        sampler = Sampler("/", clock=clock)
        recent = math.inf if variant == "plain" else RECENT_S
        ring = RingBuffer(capacity_for(1.0), recent_s=recent)
        ring.append(sampler.sample())
        clock.advance(1.0)
        ring.append(sampler.sample())
        rss0 = rss_mb()
        append_cpu, slowest = 0.0, 0.0
        for _ in range(frames - 2):
            time.sleep(sleep_s)
            clock.advance(1.0)
            frame = sampler.sample()
            t = time.thread_time()
            ring.append(frame)
            dt = time.thread_time() - t
            append_cpu += dt
            slowest = max(slowest, dt)
        grown = rss_mb() - rss0
        procs = len(frame.processes)
        total = frame.system.processes_total or 0
    finally:
        for k in kids:
            k.kill()
        for k in kids:
            k.wait()
    latency = {}
    for seconds in (300.0, 3600.0):
        times = []
        for _ in range(10):
            t = time.perf_counter()
            got = ring.window(seconds)
            times.append(time.perf_counter() - t)
        assert len(got) == min(len(ring), int(seconds) + 1), (len(got), seconds)
        latency[seconds] = statistics.median(times) * 1e3
    packed_frames, packed_bytes = ring.packed()
    n = len(ring)
    return {
        "frames": n,
        "processes": procs,
        "processes_total": total,
        "rss_growth_mb": grown,
        "kb_per_frame": grown * 1024 / (n - 2),
        "mb_per_hour": grown * 3600 / (n - 2),
        "packed_frames": packed_frames,
        "packed_b_per_frame": packed_bytes / packed_frames if packed_frames else 0.0,
        "append_ms_per_frame": append_cpu * 1e3 / (frames - 2),
        "slowest_append_ms": slowest * 1e3,
        "window_300_ms": latency[300.0],
        "window_3600_ms": latency[3600.0],
    }


def real(args: argparse.Namespace) -> None:
    """Both variants, each in a fresh process (RSS is per process), then the ratio."""
    if args.variant:
        figures = real_variant(args.variant, args.frames, args.sleep, args.extra)
        print(json.dumps(figures))
        return
    got: dict[str, dict[str, float]] = {}
    for variant in ("plain", "compact"):
        cmd = [sys.executable, "-m", "benchmarks.bench_ring_memory", "--real"]
        cmd += ["--variant", variant, "--frames", str(args.frames), "--sleep", str(args.sleep)]
        cmd += ["--extra", str(args.extra)]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        got[variant] = json.loads(out.strip().splitlines()[-1])
    first = got["compact"]
    print(
        f"live sampler on this machine: {first['processes']:.0f} of"
        f" {first['processes_total']:.0f} processes a frame, {first['frames']:.0f} frames"
        f" ({args.sleep * 1e3:.0f} ms apart, 1 s apart on the sampler's clock)"
    )
    for variant, g in got.items():
        print(
            f"{variant:8s} RSS growth {g['rss_growth_mb']:6.1f} MB, {g['kb_per_frame']:5.2f} KB/frame"
            f" -> {g['mb_per_hour']:5.1f} MB/hour; appends {g['append_ms_per_frame']:.3f} ms"
            f" CPU/frame (slowest {g['slowest_append_ms']:.1f} ms);"
            f" window(300) {g['window_300_ms']:.2f} ms, window(3600) {g['window_3600_ms']:.1f} ms"
        )
        if g["packed_frames"]:
            print(
                f"{'':8s} {g['packed_frames']:.0f} frames packed at"
                f" {g['packed_b_per_frame']:.0f} B/frame; the newest {RECENT_S:.0f} s as objects"
            )
    ratio = got["compact"]["mb_per_hour"] / max(got["plain"]["mb_per_hour"], 1e-9)
    print(f"compact / plain: {ratio:.2f} × the hour's RSS")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--frames", type=int, default=3600, help="frames for the RSS run (1 h at 1 Hz)")
    ap.add_argument("--traced", type=int, default=600, help="frames traced by tracemalloc; 0: skip")
    ap.add_argument("--real", action="store_true", help="the live sampler on this machine")
    ap.add_argument("--sleep", type=float, default=0.025, help="--real: seconds between frames")
    ap.add_argument("--extra", type=int, default=300, help="--real: sleeping children started")
    ap.add_argument("--variant", choices=("plain", "compact"), help="--real: only this ring")
    args = ap.parse_args()
    if args.real:
        real(args)
        return
    shm = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    with tempfile.TemporaryDirectory(dir=shm) as tmp:
        build_machine(Path(tmp), SHAPE)
        ring = RingBuffer(capacity_for(1.0))
        rss0, secs = fill(Path(tmp), args.frames, ring)
        grown = rss_mb() - rss0
        n, last = len(ring), ring.latest()
        assert last is not None and len(last.cpus) == NCPU and n == args.frames
        print(f"{n} frames of {NCPU} CPUs, {len(last.processes)} processes, made in {secs:.0f} s")
        hour = grown * 3600 / (n - 1)
        print(
            f"RSS growth:  {grown:6.1f} MB, {grown * 1024 / (n - 1):.1f} KB/frame -> {hour:.1f} MB/hour"
        )
        del ring, last
    traced = None
    if args.traced > 0:
        with tempfile.TemporaryDirectory(dir=shm) as tmp:
            build_machine(Path(tmp), SHAPE)
            tracemalloc.start()
            ring = RingBuffer(capacity_for(1.0))
            fill(Path(tmp), args.traced, ring)
            gc.collect()
            full = tracemalloc.get_traced_memory()[0]
            packed_frames, packed_bytes = ring.packed()
            ring.clear()
            gc.collect()
            held = (full - tracemalloc.get_traced_memory()[0]) / 2**20
            tracemalloc.stop()
        more = max(0, 3600 - args.traced)
        if packed_frames:  # the newest RECENT_S are objects already: the rest would be packed
            traced = held + more * packed_bytes / packed_frames / 2**20
            how = f"the {more} more frames at {packed_bytes / packed_frames:.0f} B packed"
        else:
            traced = held * 3600 / args.traced
            how = "linearly"
        print(
            f"tracemalloc: {held:6.1f} MB held by {args.traced} frames -> {traced:.1f} MB/hour"
            f" (extrapolated: {how})"
        )
    print(f"RSS: {hour:.1f} MB/hour = {hour / TARGET_MB:.2f} × the {TARGET_MB:.0f} MB target")
    if traced is not None:
        print(f"tracemalloc: {traced:.1f} MB/hour = {traced / TARGET_MB:.2f} × the target")


if __name__ == "__main__":
    main()
