"""Recording size, write time and seek time (targets: ≤ 20 MB/hour at 1 Hz, seek < 200 ms).

    .venv/bin/python -m benchmarks.bench_recording [--real 60] [--fake 300]

1. This machine: --real frames sampled 0.1 s apart (not 1 s: to keep the run
   short; the bytes a frame takes hardly depend on the interval), written
   with a Writer; MB/hour = (file size - empty file) / frames × 3600.
2. A fake 256-CPU / 4-node / 300-process machine (the FakeProc of
   bench_ring_memory: 30 busy processes of 4-16 threads whose counters move
   every tick, the CPUs too), --fake frames, extrapolated the same way. Its
   first frame is a key frame (all 300 rows), so the figure is slightly
   pessimistic next to an hour (one key frame per 600).
3. Seek: a synthetic 24 h × 1 Hz recording (86,400 frames) made fast by
   re-inserting the real frames' blobs of (1), written with a key frame every
   --real frames, block after block with increasing seq and time (references
   are relative, so each block decodes like the original). Reported: median and
   max of frame_at(random time) on a fresh Reader (no cache), and the same
   on the fake 256-CPU recording of (2).
MB = 2**20 bytes.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from tests.fakefs import FakeClock, build_machine

from benchmarks.bench_ring_memory import NCPU, NNODE, SHAPE, PartialProc, advance, populate
from numaview.linux.sysfs import discover
from numaview.record.reader import Reader
from numaview.record.writer import Writer
from numaview.sampler.sampler import Sampler

TARGET_MB_H = 20.0
SEEK_TARGET_MS = 200.0
DAY = 86_400


def mb_per_hour(path: Path, empty: int, frames: int) -> float:
    """From the file size, or (small files, whose 64 KB pages hide the growth) the blobs'."""
    grown = path.stat().st_size - empty
    con = sqlite3.connect(path)
    (payload,) = con.execute("SELECT sum(length(data)) FROM frames").fetchone()
    con.close()
    return float(max(grown, payload)) / frames * 3600 / 2**20


def empty_size(tmp: Path, topo: object) -> int:
    p = tmp / "empty.nvr"
    Writer(p, topo, 1.0).close()  # type: ignore[arg-type]
    size = p.stat().st_size
    p.unlink()
    return size


def record_real(tmp: Path, n: int) -> tuple[Path, float, float]:
    topo = discover("/")
    sampler = Sampler("/", topo)
    path = tmp / "real.nvr"
    spent = []
    with Writer(path, topo, 1.0, keyframe_every=n) as w:
        for _ in range(n):
            frame = sampler.sample()
            t0 = time.perf_counter()
            w.add_frame(frame)
            spent.append(time.perf_counter() - t0)
            time.sleep(0.1)
    return path, mb_per_hour(path, empty_size(tmp, topo), n), statistics.median(spent)


def record_fake(tmp: Path, n: int) -> tuple[Path, float, float]:
    root = tmp / "fake"
    build_machine(root, SHAPE)
    rng = random.Random(7)
    fp = PartialProc(root, cpus=list(range(NCPU)), nodes=list(range(NNODE)))
    busy = populate(fp, rng)
    fp.write()
    fp.dirty = {p.pid for p in busy}
    clock = FakeClock()
    sampler = Sampler(root, clock=clock, wall=lambda: 1.7e9 + clock.now)
    path = tmp / "fake.nvr"
    spent = []
    with Writer(path, sampler.topology, 1.0) as w:
        for i in range(n):
            if i:
                advance(fp, busy, clock, rng)
                fp.write()
            frame = sampler.sample()
            t0 = time.perf_counter()
            w.add_frame(frame)
            spent.append(time.perf_counter() - t0)
    size = mb_per_hour(path, empty_size(tmp, sampler.topology), n)
    return path, size, statistics.median(spent)


def synth_day(src: Path, dst: Path) -> None:
    dst.write_bytes(src.read_bytes())
    con = sqlite3.connect(dst)
    rows = con.execute("SELECT time, mono, data FROM frames ORDER BY seq").fetchall()
    t0, m0 = rows[0][0], rows[0][1]
    k = len(rows)
    with con:
        con.execute("DELETE FROM frames")
        con.executemany(
            "INSERT INTO frames (seq, time, mono, data) VALUES (?, ?, ?, ?)",
            ((s + 1, t0 + s, m0 + s, rows[s % k][2]) for s in range(DAY)),
        )
    con.close()


def seek_ms(path: Path, probes: int) -> tuple[float, float, int]:
    rng = random.Random(3)
    with Reader(path) as r:
        first, last = r.first_time or 0.0, r.last_time or 0.0
        n = len(r)
    times = []
    for _ in range(probes):
        with Reader(path) as r:  # fresh: nothing cached from the last seek
            t = rng.uniform(first, last)
            t0 = time.perf_counter()
            frame = r.frame_at(t)
            times.append((time.perf_counter() - t0) * 1000)
            assert frame is not None
    return statistics.median(times), max(times), n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--real", type=int, default=60, help="frames of this machine")
    ap.add_argument("--fake", type=int, default=300, help="frames of the fake 256-CPU machine")
    ap.add_argument("--probes", type=int, default=100, help="random seeks per recording")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        real, real_mb, real_w = record_real(tmp, args.real)
        print(
            f"this machine: {real_mb:.2f} MB/hour at 1 Hz ({args.real} frames extrapolated);"
            f" write {real_w * 1000:.2f} ms/frame"
        )
        fake, fake_mb, fake_w = record_fake(tmp, args.fake)
        print(
            f"fake {NCPU} CPUs / 300 processes: {fake_mb:.1f} MB/hour at 1 Hz"
            f" ({args.fake} frames extrapolated; target ≤ {TARGET_MB_H:g});"
            f" write {fake_w * 1000:.1f} ms/frame"
        )
        day = tmp / "day.nvr"
        t0 = time.perf_counter()
        synth_day(real, day)
        print(
            f"synthetic 24 h × 1 Hz: {DAY} frames (re-inserted real blobs), "
            f"{day.stat().st_size / 2**20:.0f} MB, made in {time.perf_counter() - t0:.1f} s"
        )
        med, worst, n = seek_ms(day, args.probes)
        print(
            f"seek (frame_at, random time) in {n} frames: median {med:.2f} ms, max {worst:.2f} ms"
            f" (target < {SEEK_TARGET_MS:g})"
        )
        med, worst, n = seek_ms(fake, args.probes)
        print(
            f"seek in the fake 256-CPU recording ({n} frames): median {med:.1f} ms, max {worst:.1f} ms"
        )


if __name__ == "__main__":
    main()
