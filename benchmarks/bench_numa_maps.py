"""Cost of reading /proc/PID/numa_maps of a process with GiBs resident, and its stall.

    .venv/bin/python -m benchmarks.bench_numa_maps [--gib 4] [--repeat 10]

A child Python process maps --gib GiB anonymous memory and touches every page,
then on command runs a tight loop recording the largest gap between two
perf_counter() readings (its stall detector): once while the parent reads its
numa_maps --repeat times (FsRoot.read, 64 MiB limit, as the Sampler does; then
parse_numa_maps), once over an equal window with no reads (baseline). Both in
two loop flavours: "plain" (pure Python, no syscalls) and "churn" (mmap and
munmap 1 MiB each turn, like a malloc-heavy program: those need the mmap lock
the page-table walk holds). smaps_rollup is timed for comparison. Prints the
added cost per tick and per second at the Sampler defaults (numa_k=10,
numa_every_s=10, numa_per_tick=2), as if all K heaviest were this size.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from typing import IO

from numaview.linux.fsroot import FsRoot
from numaview.linux.procparse import parse_numa_maps
from numaview.sampler.sampler import PAGE_SIZE, SamplerOptions

CHILD = r"""
import mmap, sys, time
n = int(sys.argv[1])
m = mmap.mmap(-1, n)
for i in range(0, n, 4096):
    m[i] = 1
print("ready", flush=True)
for line in sys.stdin:
    mode, seconds = line.split()
    print("start", flush=True)
    pc = time.perf_counter
    end = pc() + float(seconds)
    last = t = pc()
    gap = 0.0
    while t < end:
        if mode == "churn":
            mmap.mmap(-1, 1 << 20).close()
        t = pc()
        if t - last > gap:
            gap = t - last
        last = t
    print(gap, flush=True)
"""


def ask(child: subprocess.Popen[str], mode: str, seconds: float) -> IO[str]:
    assert child.stdin is not None and child.stdout is not None
    child.stdin.write(f"{mode} {seconds}\n")
    child.stdin.flush()
    assert child.stdout.readline().strip() == "start"
    return child.stdout


def timed_reads(fs: FsRoot, rel: str, repeat: int, parse: bool) -> tuple[list[float], int]:
    ms, size = [], 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        text = fs.read(rel, limit=64 << 20)
        assert text is not None, f"cannot read /{rel}"
        if parse:
            by_node, _ = parse_numa_maps(text, PAGE_SIZE // 1024)
            assert sum(by_node.values()) > 0
        ms.append((time.perf_counter() - t0) * 1000)
        size = len(text)
    return ms, size


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--gib", type=float, default=4.0, help="resident GiB in the child (≤ 6)")
    ap.add_argument("--repeat", type=int, default=10)
    args = ap.parse_args()
    if not 0 < args.gib <= 6:
        ap.error("--gib must be in (0, 6] on this 24 GiB machine")
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(int(args.gib * 2**30))],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        fs, rel = FsRoot("/"), f"proc/{child.pid}/numa_maps"
        timed_reads(fs, rel, 1, parse=True)  # warm
        ms, size = timed_reads(fs, rel, args.repeat, parse=True)
        raw, _ = timed_reads(fs, rel, args.repeat, parse=False)
        roll, roll_size = timed_reads(fs, f"proc/{child.pid}/smaps_rollup", args.repeat, False)
        med = statistics.median(ms)
        window = max(0.5, sum(ms) / 1000 * 1.5)
        gaps = {}
        for mode in ("plain", "churn"):
            out = ask(child, mode, window)
            during, _ = timed_reads(fs, rel, args.repeat, parse=True)
            gaps[mode, "reads"] = float(out.readline()) * 1000
            gaps[mode, "idle"] = float(ask(child, mode, window).readline()) * 1000
            gaps[mode, "read_ms"] = statistics.median(during)
    finally:
        child.kill()
        child.wait()
    with open("/sys/kernel/mm/transparent_hugepage/enabled") as f:
        thp = f.read().strip()
    print(f"child: {args.gib:g} GiB anonymous, touched; THP: {thp}")
    print(
        f"numa_maps read+parse  median {med:7.2f} ms  min {min(ms):6.2f}  max {max(ms):6.2f}"
        f"  ({size} bytes; read alone {statistics.median(raw):.2f} ms, n={args.repeat})"
    )
    print(
        f"smaps_rollup read     median {statistics.median(roll):7.2f} ms  min {min(roll):6.2f}"
        f"  max {max(roll):6.2f}  ({roll_size} bytes)"
    )
    for mode in ("plain", "churn"):
        print(
            f"child's max loop gap, {mode:<5}: {gaps[mode, 'reads']:7.2f} ms during reads"
            f" (read+parse median {gaps[mode, 'read_ms']:.2f} ms) vs {gaps[mode, 'idle']:6.2f} ms"
            f" idle, {window:.2f} s windows"
        )
    o = SamplerOptions()
    per_s = min(o.numa_per_tick / 1.0, o.numa_k / o.numa_every_s)  # reads/s at 1 Hz
    print(
        f"defaults numa_k={o.numa_k}, numa_every_s={o.numa_every_s:g}, numa_per_tick={o.numa_per_tick}:"
        f" worst tick +{o.numa_per_tick * med:.2f} ms, sustained {per_s:g} read/s ="
        f" +{per_s * med:.2f} ms/s = {per_s * med / 10:.3f} % of one core"
    )


if __name__ == "__main__":
    main()
