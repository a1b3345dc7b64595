"""RingBuffer and SamplerThread: capacity, windows, schedule without drift, never dying."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from numaview.model.frame import CPU_METRICS, CpuTable, Frame, SystemSample
from numaview.model.ring import RingBuffer, capacity_for
from numaview.stream.ticker import SamplerThread, clamp_interval, next_tick


def frame(mono: float, seq: int = 0) -> Frame:
    return Frame(
        time=mono,
        mono=mono,
        interval_s=1.0,
        cpus=CpuTable.build(
            [],
            [],
            {m: [] for m in CPU_METRICS},
        ),
        nodes=(),
        system=SystemSample(),
        processes=(),
        seq=seq,
    )


def test_capacity_is_an_hour_of_frames() -> None:
    assert capacity_for(1.0) == 3600
    assert capacity_for(0.1) == 36000
    assert capacity_for(7.0) == 515
    with pytest.raises(ValueError):
        RingBuffer(0)


def test_ring_keeps_the_newest_and_windows_by_monotonic_time() -> None:
    ring = RingBuffer(5)
    assert ring.latest() is None and ring.window(10) == []
    for i in range(8):
        ring.append(frame(100.0 + i, seq=i))
    assert len(ring) == 5 and ring.capacity == 5
    assert [f.seq for f in ring.frames()] == [3, 4, 5, 6, 7]
    assert ring.latest().seq == 7  # type: ignore[union-attr]
    assert [f.seq for f in ring.window(2.0)] == [5, 6, 7]
    ring.clear()
    assert len(ring) == 0


def test_ring_is_safe_across_threads() -> None:
    ring = RingBuffer(1000)
    stop = threading.Event()
    seen: list[int] = []

    def reader() -> None:
        while not stop.is_set():
            frames = ring.frames()
            seen.append(len(frames))
            assert [f.seq for f in frames] == sorted(f.seq for f in frames)

    t = threading.Thread(target=reader)
    t.start()
    for i in range(20000):
        ring.append(frame(float(i), seq=i))
    stop.set()
    t.join()
    assert len(ring) == 1000 and ring.latest().seq == 19999  # type: ignore[union-attr]
    assert seen


def test_next_tick_keeps_phase_and_skips_missed_ticks() -> None:
    assert next_tick(0.0, 0, 1.0, 0.3) == (1, 1.0)
    assert next_tick(0.0, 1, 1.0, 1.9) == (2, 2.0)  # a slow tick does not shift the next
    assert next_tick(0.0, 1, 1.0, 4.5) == (5, 5.0)  # ticks 2-4 missed: skipped, phase kept
    k, due = next_tick(10.0, 3, 0.1, 10.35)
    assert k == 4 and due == pytest.approx(10.4)


def test_interval_is_clamped() -> None:
    assert clamp_interval(0.01) == 0.1
    assert clamp_interval(0.5) == 0.5
    assert clamp_interval(1e6) == 60.0


class ScriptedSampler:
    """Fails on some ticks, like a sampler whose /proc vanished for a moment."""

    def __init__(self, fail_on: set[int]) -> None:
        self.calls = 0
        self.fail_on = fail_on

    def sample(self) -> Frame:
        self.calls += 1
        if self.calls in self.fail_on:
            raise OSError("boom")
        return frame(time.monotonic(), seq=self.calls)


def test_thread_never_dies_and_reports_errors_in_the_next_frame() -> None:
    got: list[Frame] = []
    th = SamplerThread(ScriptedSampler({2, 3}), interval_s=0.1, on_frame=got.append)  # type: ignore[arg-type]
    th.start()
    deadline = time.monotonic() + 5
    while len(got) < 4 and time.monotonic() < deadline:
        time.sleep(0.02)
    th.stop()
    assert not th.is_alive()
    assert [f.seq for f in got[:3]] == [1, 4, 5]
    assert got[1].errors == ("sampler: OSError: boom", "sampler: OSError: boom")
    assert got[0].errors == () and got[2].errors == ()
    assert len(th.ring) == len(got)


def test_thread_ticks_on_schedule_without_drift() -> None:
    got: list[Frame] = []
    th = SamplerThread(ScriptedSampler(set()), interval_s=0.1, on_frame=got.append)  # type: ignore[arg-type]
    th.start()
    time.sleep(1.55)
    th.stop()
    monos = [f.mono for f in got]
    assert 12 <= len(monos) <= 17
    # no accumulated drift: tick k sits near start + k·interval
    offsets = [m - monos[0] - i * 0.1 for i, m in enumerate(monos)]
    assert max(abs(o) for o in offsets) < 0.08, offsets


def test_set_interval_takes_effect_and_is_clamped() -> None:
    got: list[Frame] = []
    th = SamplerThread(ScriptedSampler(set()), interval_s=5.0, on_frame=got.append)  # type: ignore[arg-type]
    th.start()
    time.sleep(0.2)
    assert len(got) == 1
    assert th.set_interval(0.01) == 0.1  # wakes the thread at once
    time.sleep(0.5)
    th.stop()
    assert len(got) >= 4


def test_consumer_errors_do_not_kill_the_thread(tmp_path: Path) -> None:
    calls: list[int] = []

    def consumer(f: Frame) -> None:
        calls.append(f.seq)
        if len(calls) == 1:
            raise RuntimeError("ui gone")

    th = SamplerThread(ScriptedSampler(set()), interval_s=0.1, on_frame=consumer)  # type: ignore[arg-type]
    th.start()
    time.sleep(0.35)
    th.stop()
    assert len(calls) >= 3
    assert replace(th.ring.frames()[1]).errors == ("frame consumer: RuntimeError: ui gone",)


def test_ring_after_returns_what_a_slow_consumer_missed() -> None:
    ring = RingBuffer(10)
    for i in range(1, 8):
        ring.append(frame(float(i), seq=i))
    assert [f.seq for f in ring.after(4)] == [5, 6, 7]
    assert ring.after(7) == []
    assert [f.seq for f in ring.after(0)] == list(range(1, 8))
