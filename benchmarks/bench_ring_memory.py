"""Memory of the ring buffer holding one hour at 1 Hz, 256 CPUs, 300 processes (target < 150 MB).

    .venv/bin/python -m benchmarks.bench_ring_memory [--frames 3600] [--traced 600]

A Sampler on a fake 256-CPU / 4-node tree (tmpfs) with a FakeProc of 300
processes: 30 busy ones (4-16 threads, counters move every tick, as do the
CPUs) and 270 idle ones, the 10 biggest with numa_maps. Frames go into a
RingBuffer(capacity_for(1.0)), so unchanged process rows are shared between
frames as they would be live. Reported (MB = 2**20 bytes): VmRSS growth from
the first to the last frame (after gc.collect()), and tracemalloc's bytes held
by the ring (traced with the ring full minus traced after ring.clear()) on a
shorter run of --traced frames, extrapolated linearly to an hour.

FakeProc.write() rewrites every process each tick; to keep the hour under a
few minutes, after the first full write each tick rewrites only the machine
files and the busy processes (``_write_process`` skips the idle ones, whose
files would be rewritten byte-identical). The frames are the same.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import tempfile
import time
import tracemalloc
from pathlib import Path

from tests.fakefs import FakeClock, FakeProc, FakeProcess, FakeThread, Shape, build_machine

from numaview.model.ring import RingBuffer, capacity_for
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--frames", type=int, default=3600, help="frames for the RSS run (1 h at 1 Hz)")
    ap.add_argument("--traced", type=int, default=600, help="frames traced by tracemalloc; 0: skip")
    args = ap.parse_args()
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
            ring.clear()
            gc.collect()
            held = (full - tracemalloc.get_traced_memory()[0]) / 2**20
            tracemalloc.stop()
        traced = held * 3600 / args.traced
        print(
            f"tracemalloc: {held:6.1f} MB held by {args.traced} frames -> {traced:.1f} MB/hour (extrapolated)"
        )
    print(f"RSS: {hour:.1f} MB/hour = {hour / TARGET_MB:.2f} × the {TARGET_MB:.0f} MB target")
    if traced is not None:
        print(f"tracemalloc: {traced:.1f} MB/hour = {traced / TARGET_MB:.2f} × the target")


if __name__ == "__main__":
    main()
