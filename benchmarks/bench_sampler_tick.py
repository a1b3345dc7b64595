"""Sampler tick time on a fake 1024-CPU / 16-node tree with 2,000 processes (target < 50 ms).

    .venv/bin/python -m benchmarks.bench_sampler_tick [--repeat 20] [--profile]

The fake /proc (tests/fakefs.FakeProc, on tmpfs) holds 2,000 processes: most
single-threaded and idle, 100 busy ones with 4-32 threads spread over the
CPUs, the 20 biggest with numa_maps. Each tick the busy threads and CPUs
accumulate ticks and a FakeClock advances 1 s; fp.write() is not timed, only
``sampler.sample()`` is (perf_counter: the sampler's tick_wall_s reads the
fake clock). Runs with the default options (top_n=300) and with top_n=0 (all
processes). A benchmark, not a test: it reports.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import statistics
import time
from pathlib import Path

from tests.fakefs import FakeProc, FakeProcess, FakeThread

from benchmarks.fakeload import SHAPE_1024, LoadedMachine, tmpfs_dir
from numaview.sampler.sampler import SamplerOptions

TARGET_MS = 50.0
NCPU, NNODE, NPROC, NBUSY = 1024, 16, 2000, 100


def populate(fp: FakeProc, rng: random.Random) -> list[FakeProcess]:
    """2,000 processes; returns the busy ones."""
    cpus = list(range(NCPU))
    busy: list[FakeProcess] = []
    for i in range(NPROC):
        pid = 1000 + i
        if i < NBUSY:
            n = rng.randint(4, 32)
            tids = [pid] + [100_000 + i * 64 + k for k in range(n - 1)]
            threads = [
                FakeThread(tid=t, name=f"w{k}", cpu=rng.choice(cpus)) for k, t in enumerate(tids)
            ]
            p = FakeProcess(
                pid=pid, name=f"busy{i}", cmdline=[f"/opt/app/busy{i}", "--serve"],
                rss_pages=rng.randint(50_000, 2_000_000), affinity=cpus,
                mems_allowed=list(range(NNODE)), threads=threads, state="R",
            )  # fmt: skip
            if i < 20:  # the biggest: numa_maps spread over a few nodes
                p.rss_pages = 4_000_000 - i * 100_000
                p.numa_pages = {n: p.rss_pages // 4 for n in rng.sample(range(NNODE), 4)}
            busy.append(p)
        else:
            p = FakeProcess(
                pid=pid, name=f"idle{i}", cmdline=[f"/usr/sbin/idle{i}"],
                rss_pages=rng.randint(100, 20_000), affinity=cpus, starttime=500 + i,
            )  # fmt: skip
        fp.add(p)
    return busy


def advance(lm: LoadedMachine, busy: list[FakeProcess], rng: random.Random) -> None:
    hot: set[int] = set()
    for p in busy:
        lm.fp.mark(p)
        for th in p.threads:
            if rng.random() < 0.7:  # ran this second, perhaps on another CPU
                th.ticks += rng.randint(5, 100)
                th.cpu = rng.randrange(NCPU) if rng.random() < 0.3 else th.cpu
                hot.add(th.cpu)
        p.voluntary += rng.randint(0, 500)
    for c in lm.m.cpus:
        used = rng.randint(60, 100) if c in hot else rng.randint(0, 3)
        lm.charge(c, used, system=used - used * 3 // 4)
    lm.fp.ctxt += 50_000


def run(root: Path, options: SamplerOptions, repeat: int, profile: bool) -> list[float]:
    rng = random.Random(1)
    lm = LoadedMachine(root, SHAPE_1024)
    busy = populate(lm.fp, rng)
    lm.fp.write()
    sampler = lm.sampler(options)
    sampler.sample()  # the first tick reads every process's status, cmdline and threads
    out = []
    for i in range(repeat + 1):
        advance(lm, busy, rng)
        lm.next_second()
        t0 = time.perf_counter()
        frame = sampler.sample()
        ms = (time.perf_counter() - t0) * 1000
        if i > 0:  # tick 2 also warms: first rates, first thread reads of everything
            out.append(ms)
    assert frame.system.processes_total == NPROC, frame.system.processes_total
    if profile:
        advance(lm, busy, rng)
        lm.next_second()
        prof = cProfile.Profile()
        prof.runcall(sampler.sample)
        print(f"-- one tick, top_n={options.top_n}, by tottime --")
        pstats.Stats(prof).sort_stats("tottime").print_stats(8)
    return out


def report(label: str, ms: list[float]) -> float:
    med = statistics.median(ms)
    print(
        f"{label:<34} median {med:7.1f} ms  min {min(ms):6.1f}  max {max(ms):6.1f}  (n={len(ms)})"
    )
    return med


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--profile", action="store_true", help="cProfile one tick of each run")
    args = ap.parse_args()
    results = {}
    for top_n in (300, 0):
        with tmpfs_dir() as tmp:
            ms = run(Path(tmp), SamplerOptions(top_n=top_n), args.repeat, args.profile)
        label = "top_n=300 (default)" if top_n else "top_n=0 (all 2,000 processes)"
        results[top_n] = report(label, ms)
    for top_n, med in results.items():
        print(
            f"top_n={top_n}: {med:.1f} ms = {med / TARGET_MS:.2f} × the {TARGET_MS:.0f} ms target"
        )


if __name__ == "__main__":
    main()
