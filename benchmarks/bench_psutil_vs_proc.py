"""psutil against numaview's own /proc reads, per tick, over every process on this machine.

    .venv/bin/python -m benchmarks.bench_psutil_vs_proc [--runs 5] [--ticks 8] [--interval 0.5] [--spawn 0]

Each tick does two passes over the same machine, one right after the other:

- psutil: ``process_iter`` with the attributes a process-table tick needs
  (pid, name, ppid, status, uids, cpu_times, num_threads, cpu_affinity,
  memory_info, num_ctx_switches, cpu_num), one ``oneshot`` per process;
  Process objects are reused between ticks, as psutil caches them.
- numaview: ``Sampler("/").sample()`` with default options except top_n=0
  (every process): the whole tick, i.e. also /proc/stat per CPU, the nodes'
  meminfo and numastat, loadavg, vmstat, PSI, and the threads of the
  processes that ran (which the psutil pass does not read at all).

Both are timed in CPU seconds of this thread (``thread_time``) and wall
seconds. The figure is the median over ticks of each run, then the median
of the runs; the first two ticks of a run warm both up and are not counted.
``--spawn N`` adds N sleeping processes (a busier machine). A benchmark, not
a test: it reports.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import time
from collections.abc import Callable

import psutil  # type: ignore[import-untyped]

from benchmarks.bench_sampler_cpu import start_sleepers, stop_all
from numaview.sampler.sampler import Sampler, SamplerOptions

ATTRS = [
    "pid",
    "name",
    "ppid",
    "status",
    "uids",
    "cpu_times",
    "num_threads",
    "cpu_affinity",
    "memory_info",
    "num_ctx_switches",
    "cpu_num",
]
WARM = 2


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    """(CPU ms, wall ms) of one call."""
    c0, w0 = time.thread_time(), time.perf_counter()
    fn()
    return (time.thread_time() - c0) * 1000, (time.perf_counter() - w0) * 1000


def one_run(ticks: int, interval: float) -> dict[str, list[float]]:
    sampler = Sampler("/", options=SamplerOptions(top_n=0))
    out: dict[str, list[float]] = {"psutil cpu": [], "psutil wall": [], "nv cpu": [], "nv wall": []}
    counts: list[int] = []

    def psutil_pass() -> None:
        counts.append(sum(1 for _ in psutil.process_iter(ATTRS)))

    for i in range(ticks + WARM):
        ps = timed(psutil_pass)
        nv = timed(sampler.sample)
        if i >= WARM:
            out["psutil cpu"].append(ps[0])
            out["psutil wall"].append(ps[1])
            out["nv cpu"].append(nv[0])
            out["nv wall"].append(nv[1])
        time.sleep(interval)
    out["processes"] = [float(c) for c in counts[WARM:]]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--ticks", type=int, default=8)
    ap.add_argument("--interval", type=float, default=0.5, help="seconds between ticks")
    ap.add_argument("--spawn", type=int, default=0, help="extra sleeping processes")
    args = ap.parse_args()
    extra: list[subprocess.Popen[bytes]] = []
    try:
        start_sleepers(args.spawn, extra)
        time.sleep(0.5)
        runs = [one_run(args.ticks, args.interval) for _ in range(args.runs)]
    finally:
        stop_all(extra)
    med = {k: statistics.median(statistics.median(r[k]) for r in runs) for k in runs[0]}
    spread = {k: (min(min(r[k]) for r in runs), max(max(r[k]) for r in runs)) for k in runs[0]}
    n = int(med["processes"])
    print(f"{n} processes (--spawn {args.spawn}), {args.runs} runs x {args.ticks} ticks")
    for who, label in (("psutil", "psutil process_iter+oneshot"), ("nv", "numaview Sampler tick")):
        cpu, wall = med[f"{who} cpu"], med[f"{who} wall"]
        lo, hi = spread[f"{who} cpu"]
        print(
            f"{label:<28} CPU {cpu:7.2f} ms ({cpu / n * 1000:5.1f} us/process, "
            f"min {lo:.2f} max {hi:.2f})  wall {wall:7.2f} ms"
        )
    print(
        f"psutil / numaview: {med['psutil cpu'] / med['nv cpu']:.1f}x CPU,"
        f" {med['psutil wall'] / med['nv wall']:.1f}x wall"
    )


if __name__ == "__main__":
    main()
