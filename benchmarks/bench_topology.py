"""Topology discovery time on a fake 1024-CPU, 16-node machine (target < 100 ms).

    .venv/bin/python -m benchmarks.bench_topology [--repeat N]

Prints the median and spread of ``discover()`` over N runs, and the same on
this machine's real /sys for comparison. A benchmark, not a test: it reports.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from tests.fakefs import Shape, build_machine

from numaview.linux.sysfs import discover

TARGET_MS = 100.0


def time_discover(root: str | Path, repeat: int) -> list[float]:
    discover(root)  # warm the dentry cache, as a second run of numaview would find it
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        discover(root)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def report(label: str, ms: list[float]) -> float:
    med = statistics.median(ms)
    print(
        f"{label:<44} median {med:7.1f} ms  min {min(ms):6.1f}  max {max(ms):6.1f}  (n={len(ms)})"
    )
    return med


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=15)
    args = ap.parse_args()
    shape = Shape(packages=8, nodes_per_package=2, l3_per_node=4, cores_per_l3=8, smt=2)
    # tmpfs, like sysfs, lives in RAM; the disk here is far slower than either.
    shm = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    with tempfile.TemporaryDirectory(dir=shm) as tmp:
        m = build_machine(Path(tmp), shape)
        topo = discover(tmp)
        assert len(topo.cpus) == len(m.cpus) == 1024 and len(topo.nodes) == 16
        fake = report(
            "fake 1024 CPUs, 8 packages, 16 nodes, 64 L3", time_discover(tmp, args.repeat)
        )
    real_topo = discover("/")
    report(f"this machine's /sys ({len(real_topo.cpus)} CPUs)", time_discover("/", args.repeat))
    print(
        f"1024-CPU discovery: {fake:.1f} ms = {fake / TARGET_MS:.2f} × the {TARGET_MS:.0f} ms target"
    )


if __name__ == "__main__":
    main()
