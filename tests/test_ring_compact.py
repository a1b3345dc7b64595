"""The ring's packed part: frames older than the recent span come back equal, in order, bounded."""

from __future__ import annotations

import random
import threading
from dataclasses import replace

import pytest

from numaview.demo.machine import SimulatedSampler
from numaview.model.frame import CPU_METRICS, CpuTable, Frame, ProcessSample, SystemSample
from numaview.model.ring import RECENT_S, RingBuffer, pack, unpack
from numaview.sampler.sampler import Sampler
from tests.fakefs import FakeClock


def simulated(n: int, seed: int = 7) -> list[Frame]:
    """``n`` frames of the simulated 128-CPU machine, 1 s apart: threads, numa_maps, workload."""
    clock = FakeClock(0.0)
    sim = SimulatedSampler(seed=seed, clock=clock, wall=lambda: 1.7e9 + clock.now)
    out = []
    for _ in range(n):
        clock.advance(1.0)
        out.append(sim.sample())
    return out


@pytest.fixture(scope="module")
def hundred() -> list[Frame]:
    return simulated(100)


def small(mono: float, seq: int) -> Frame:
    return Frame(
        time=mono,
        mono=mono,
        interval_s=1.0,
        cpus=CpuTable.build(
            [0, 1], [True, True], {m: [float(seq % 100), None] for m in CPU_METRICS}
        ),
        nodes=(),
        system=SystemSample(procs_running=seq),
        processes=(),
        seq=seq,
    )


def filled(
    frames: list[Frame], capacity: int = 1000, recent_s: float = 20.0, block: int = 10
) -> RingBuffer:
    ring = RingBuffer(capacity, recent_s=recent_s, block=block)
    for f in frames:
        ring.append(f)
    return ring


def test_packed_frames_come_back_equal(hundred: list[Frame]) -> None:
    ring = filled(hundred)
    assert ring.packed()[1] > 0 and len(ring) == 100
    got = ring.frames()
    assert [f.seq for f in got] == [f.seq for f in hundred]
    assert got == hundred  # every field (CpuTable and ThreadTable compare their columns)
    assert [f.to_dict() for f in got] == [f.to_dict() for f in hundred]
    packed = [g for g, f in zip(got, hundred, strict=True) if g is not f]
    assert len(packed) >= 60  # most of them really went through pack/unpack
    assert all(p.workload for p in packed)  # the load test's samples too
    assert any(p.thread_samples for f in packed for p in f.processes)


def test_frames_of_the_live_sampler_come_back_equal() -> None:
    """This machine's /proc: interned names, thread columns, numa_maps, shared rows."""
    clock = FakeClock()
    sampler = Sampler("/", clock=clock)
    frames = []
    for _ in range(12):
        clock.advance(1.0)
        frames.append(sampler.sample())
    ring = filled(frames, recent_s=3.0, block=4)
    assert ring.packed()[0] == 8
    got = ring.frames()
    assert [f.to_dict() for f in got] == [f.to_dict() for f in frames]
    assert got == frames


def test_recent_frames_are_the_appended_objects(hundred: list[Frame]) -> None:
    ring = filled(hundred)
    recent = ring.window(20.0)
    assert len(recent) == 21
    assert all(a is b for a, b in zip(recent, hundred[-21:], strict=True))
    assert ring.latest() is hundred[-1]


def test_the_charts_window_never_unpacks() -> None:
    """window(RECENT_S), what the charts read every second, is the appended objects."""
    frames = [small(float(i), i) for i in range(int(RECENT_S) * 3)]
    ring = RingBuffer(len(frames))
    for f in frames:
        ring.append(f)
        got = ring.window(RECENT_S)
        assert got[0].mono >= f.mono - RECENT_S and got[-1] is f
        assert all(
            a is b for a, b in zip(got, frames[f.seq - len(got) + 1 : f.seq + 1], strict=True)
        )
    assert ring.packed()[0] >= len(frames) - RECENT_S - ring.block


def test_a_row_shared_by_frames_of_a_block_is_one_object_again() -> None:
    row = ProcessSample(
        pid=7, start_time=1.0, ppid=1, user="u", name="idle", cmdline="idle --x", state="S",
        cpu_pct=0.0, threads=1, affinity=(0, 1), last_cpus=(1,), nodes_running=(0,),
        rss_bytes=4096, mem_by_node_bytes={0: 4096},
    )  # fmt: skip
    frames = [replace(small(float(i), i), processes=(row,)) for i in range(40)]
    old = filled(frames, recent_s=5.0).frames()[:10]  # one packed block
    assert old[0].processes[0] is not row and old[0].processes[0] == row
    assert all(f.processes[0] is old[0].processes[0] for f in old)


def test_window_across_the_boundary_is_ordered_and_complete(hundred: list[Frame]) -> None:
    ring = filled(hundred)
    newest = hundred[-1].mono
    for seconds in (0, 5, 19.5, 20, 21, 29.5, 30, 35, 55, 98.9, 99, 100, 1e9):
        want = [f.seq for f in hundred if f.mono >= newest - seconds]
        assert [f.seq for f in ring.window(seconds)] == want, seconds
    for seq in (0, 1, 5, 10, 11, 45, 79, 80, 81, 99, 100):
        assert [f.seq for f in ring.after(seq)] == [f.seq for f in hundred if f.seq > seq], seq


def test_capacity_evicts_the_oldest_even_inside_a_block() -> None:
    frames = [small(float(i), i) for i in range(1, 301)]
    ring = RingBuffer(47, recent_s=5.0, block=10)
    for i, f in enumerate(frames, 1):
        ring.append(f)
        if i in (30, 47, 48, 53, 100, 299):
            assert len(ring) == min(i, 47)
            assert [g.seq for g in ring.frames()] == list(range(max(1, i - 46), i + 1)), i
    assert ring.packed()[1] > 0 and ring.capacity == 47
    assert [f.seq for f in ring.window(1e9)] == list(range(254, 301))
    assert [f.seq for f in ring.after(250)] == list(range(254, 301))
    assert [f.seq for f in ring.window(10)] == list(range(290, 301))
    assert ring.frames() == frames[-47:]


def test_clear_empties_both_parts() -> None:
    ring = RingBuffer(500, recent_s=5.0, block=10)
    for i in range(100):
        ring.append(small(float(i), i))
    assert ring.packed()[1] > 0
    ring.window(80)  # fills the cache of unpacked blocks
    ring.clear()
    assert len(ring) == 0 and ring.frames() == [] and ring.latest() is None
    assert ring.window(10) == [] and ring.after(0) == [] and ring.packed() == (0, 0)
    for i in range(200, 230):
        ring.append(small(float(i), i))
    assert [f.seq for f in ring.frames()] == list(range(200, 230))


def test_a_frame_pickle_refuses_leaves_the_ring_working_unpacked() -> None:
    ring = RingBuffer(100, recent_s=1.0, block=5)
    bad = replace(small(0.0, 0), errors=(threading.Lock(),))  # type: ignore[arg-type]
    ring.append(bad)
    for i in range(1, 40):
        ring.append(small(float(i), i))
    assert ring.pack_error is not None and ring.packed() == (0, 0)
    assert [f.seq for f in ring.frames()] == list(range(40))


def test_pack_and_unpack_round_trip(hundred: list[Frame]) -> None:
    assert unpack(pack(hundred[:7])) == hundred[:7]
    assert unpack(pack([])) == []


def test_append_and_read_from_two_threads() -> None:
    ring = RingBuffer(300, recent_s=20.0, block=16)
    stop = threading.Event()
    errors: list[BaseException] = []
    reads = [0]

    def reader() -> None:
        rng = random.Random(1)
        try:
            while not stop.is_set():
                for got in (
                    ring.window(rng.uniform(0, 400)),
                    ring.frames(),
                    ring.after(rng.randrange(5000)),
                ):
                    seqs = [f.seq for f in got]
                    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))) if seqs else True
                    assert len(seqs) <= 300
                assert len(ring) <= 300
                reads[0] += 1
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        for i in range(6000):
            ring.append(small(float(i), i))
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors, errors[0]
    assert reads[0] > 0 and ring.packed()[1] > 0
    assert [f.seq for f in ring.frames()] == list(range(5700, 6000))
