"""Thread pools: switch rates summed over all threads, thread CPU % over the right time."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from numaview.linux import procparse
from numaview.sampler.sampler import CLK_TCK
from tests.fakefs import FakeProcess, FakeThread
from tests.test_sampler import Rig


def pool(rig: Rig, workers: int = 4) -> FakeProcess:
    threads = [FakeThread(6000, "main", cpu=0)]
    threads += [FakeThread(6001 + k, f"worker-{k}", cpu=k + 1) for k in range(workers)]
    return rig.fp.add(FakeProcess(pid=6000, name="server", affinity=[0, 1, 2], threads=threads))


def test_preempted_workers_count_though_the_main_thread_sleeps(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    p = pool(rig)
    rig.tick()
    rig.tick()
    for th in p.threads[1:]:
        th.ticks += 90 * CLK_TCK // 100
        th.involuntary += 40  # four workers on three CPUs: preempted
        th.voluntary += 5
    s = rig.tick().process(6000)
    assert s is not None and s.cpu_pct == 360.0
    assert (s.ctx_voluntary_per_s, s.ctx_involuntary_per_s) == (20.0, 160.0)


def test_a_thread_that_exits_does_not_make_rates_negative(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    p = pool(rig)
    for th in p.threads[1:]:
        th.involuntary = 1000
    rig.tick()
    rig.tick()
    p.threads.pop()  # worker-3 exits, with its 1000 switches
    p.threads[1].ticks += 50
    p.threads[1].involuntary += 7
    s = rig.tick().process(6000)
    assert s is not None and s.ctx_involuntary_per_s == 7.0 and s.threads == 4


def test_pool_rates_drop_to_zero_when_no_thread_runs(tmp_path: Path) -> None:
    rig = Rig(tmp_path, refresh_every=1000)
    p = pool(rig)
    rig.tick()
    rig.tick()
    p.threads[2].ticks += 30
    p.threads[2].involuntary += 12
    s = rig.tick().process(6000)
    assert s is not None and s.ctx_involuntary_per_s == 12.0
    s = rig.tick().process(6000)  # nobody used a clock tick of CPU
    assert s is not None and (s.ctx_voluntary_per_s, s.ctx_involuntary_per_s) == (0.0, 0.0)


def test_thread_cpu_is_over_the_time_since_the_threads_were_last_read(tmp_path: Path) -> None:
    rig = Rig(tmp_path, threads_top=1, refresh_every=1000)
    p = pool(rig, workers=1)
    hog = rig.fp.add(FakeProcess(pid=7000, name="hog", threads=[FakeThread(7000, cpu=5)]))
    rig.tick()
    rig.tick()
    for _ in range(3):  # the hog outranks it: its threads are not read for 3 s
        hog.threads[0].ticks += 100
        p.threads[1].ticks += 20
        s = rig.tick().process(6000)
        assert s is not None and s.cpu_pct == 20.0
    p.threads[1].ticks += 20  # now it is the busiest and its threads are read
    s = rig.tick().process(6000)
    assert s is not None and s.thread_samples is not None
    worker = {t.tid: t for t in s.thread_samples}[6001]
    assert worker.cpu_pct == 20.0  # 80 ticks over 4 s, not over 1 s


POOL = """import threading
def spin():
    while True:
        pass
ts = [threading.Thread(target=spin, daemon=True) for _ in range(2)]
[t.start() for t in ts]
[t.join() for t in ts]
"""


@pytest.mark.real
def test_a_real_pool_sharing_a_cpu_shows_its_workers_preemptions() -> None:
    from numaview.sampler.sampler import Sampler

    cpu = sorted(os.sched_getaffinity(0))[0]
    pool = subprocess.Popen([sys.executable, "-c", POOL])
    burner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        for p in (pool, burner):
            os.sched_setaffinity(p.pid, {cpu})
            for tid in os.listdir(f"/proc/{p.pid}/task"):
                os.sched_setaffinity(int(tid), {cpu})
        sampler = Sampler("/")
        sampler.sample()
        time.sleep(0.5)
        sampler.sample()
        main0 = procparse.parse_pid_status(Path(f"/proc/{pool.pid}/status").read_text())
        time.sleep(1.0)
        s = sampler.sample().process(pool.pid)
        main1 = procparse.parse_pid_status(Path(f"/proc/{pool.pid}/status").read_text())
    finally:
        for p in (pool, burner):
            p.kill()
            p.wait()
    assert s is not None and s.threads == 3
    assert s.ctx_involuntary_per_s is not None and s.ctx_involuntary_per_s > 20
    # The main thread waits in join(): its own count, all /proc/PID/status has, stands.
    assert main0.nonvoluntary_ctxt is not None and main1.nonvoluntary_ctxt is not None
    assert main1.nonvoluntary_ctxt - main0.nonvoluntary_ctxt < 5


def busy_pools(rig: Rig, pools: int, threads: int) -> list[FakeProcess]:
    """``pools`` processes of ``threads`` threads each, every thread running every second."""
    out = []
    for k in range(pools):
        pid = 10_000 + 1000 * k
        ths = [FakeThread(pid + t, f"w{t}", cpu=(k + t) % 32) for t in range(threads)]
        out.append(rig.fp.add(FakeProcess(pid=pid, name=f"pool{k}", threads=ths)))
    return out


def run_second(pools: list[FakeProcess], weights: list[int]) -> None:
    for p, w in zip(pools, weights, strict=True):
        for th in p.threads:
            th.ticks += w


def test_thread_files_a_tick_stay_within_the_budget_and_no_pool_starves(tmp_path: Path) -> None:
    # Six pools of 40 busy threads (a stat and a status each: 480 thread files a
    # tick) and a budget of 200: the busiest pool is read most ticks, every pool at
    # least once a rotation.
    rig = Rig(tmp_path, thread_files=200, refresh_every=5)
    pools = busy_pools(rig, 6, 40)
    weights = [60, 50, 40, 30, 20, 10]  # ticks a thread a second: pool0 the busiest
    rig.tick()  # first reads: always, whatever the budget
    reads: dict[int, list[int]] = {p.pid: [] for p in pools}
    for second in range(2, 32):
        run_second(pools, weights)
        f = rig.tick()
        files = 0
        for p in pools:
            state = rig.sampler.processes.by_pid[str(p.pid)]
            if state.threads_tick == rig.sampler.processes.tick:
                reads[p.pid].append(second)
                files += state.thread_files
            row = f.process(p.pid)
            assert (
                row is not None and row.thread_samples is not None and len(row.thread_samples) == 40
            )
        assert files <= 200, (second, files)
    busiest = reads[pools[0].pid]
    assert len(busiest) >= 15, busiest
    for p in pools:
        got = reads[p.pid]
        # All came due together after the first tick: the last waits two rotations.
        assert got and got[0] <= 1 + 2 * 5, (p.name, got)
        gaps = [b - a for a, b in zip(got, [*got[1:], 31], strict=True)]
        assert max(gaps) <= 5 + 2, (p.name, got)  # then its rotation, and a tick of slack


def test_a_pool_read_late_gets_thread_cpu_over_its_own_span(tmp_path: Path) -> None:
    # A budget under one pool's files: one pool a tick, the busiest but for the
    # other's turn each rotation (3 ticks).
    rig = Rig(tmp_path, thread_files=50, refresh_every=3)
    pools = busy_pools(rig, 2, 40)
    rig.tick()
    rig.tick()
    seen: dict[int, float] = {}
    late_reads = 0
    for _ in range(6):
        run_second(pools, [80, 30])
        f = rig.tick()
        row = f.process(pools[1].pid)
        state = rig.sampler.processes.by_pid[str(pools[1].pid)]
        assert row is not None and row.cpu_pct == 40 * 30.0  # the process row: every tick
        if state.threads_tick == rig.sampler.processes.tick and row.thread_samples is not None:
            late_reads += 1
            seen.update({t.tid: t.cpu_pct for t in row.thread_samples if t.cpu_pct is not None})
    # When its threads are read after waiting, each shows its 30 % over the whole wait.
    assert seen and set(seen.values()) == {30.0}
    assert 1 <= late_reads <= 3  # not every tick: it waited its turn
    busiest = rig.sampler.processes.by_pid[str(pools[0].pid)]
    assert busiest.threads_tick >= rig.sampler.processes.tick - 1


def test_no_budget_reads_every_pool_every_tick(tmp_path: Path) -> None:
    rig = Rig(tmp_path, thread_files=0, refresh_every=1000)
    pools = busy_pools(rig, 4, 40)
    rig.tick()
    for _ in range(3):
        run_second(pools, [10, 10, 10, 10])
        rig.tick()
        tick = rig.sampler.processes.tick
        assert all(rig.sampler.processes.by_pid[str(p.pid)].threads_tick == tick for p in pools)


def test_a_pool_read_tick_after_tick_keeps_its_thread_files_open_and_gives_them_back(
    tmp_path: Path,
) -> None:
    rig = Rig(tmp_path, refresh_every=1000)
    reader = rig.sampler.processes
    (p,) = busy_pools(rig, 1, 6)
    room = reader.pools.room[0]
    rig.tick()
    for _ in range(2):
        run_second([p], [20])
        rig.tick()
    state = reader.by_pid[str(p.pid)]
    assert sorted(state.thread_fds) == sorted(str(t.tid) for t in p.threads)
    assert reader.pools.room[0] == room - 6
    # A thread exits and its tid comes back as a new thread with other counts: the
    # kept descriptor of the old file is not read as the new thread.
    old = p.threads.pop()
    p.threads.append(FakeThread(old.tid, "reborn", cpu=7, ticks=5000))
    run_second([p], [20])
    rig.tick()
    run_second([p], [20])
    f = rig.tick()
    row = f.process(p.pid)
    assert row is not None and row.thread_samples is not None
    reborn = {t.tid: t for t in row.thread_samples}[old.tid]
    assert (reborn.name, reborn.last_cpu) == ("reborn", 7)
    assert reader.pools.room[0] == room - 6
    # Not read this tick (nothing ran, not its turn): it gives its descriptors back.
    rig.tick()
    assert state.thread_fds == {} and reader.pools.room[0] == room
    # Read again on two ticks, then gone: nothing stays open.
    for _ in range(2):
        run_second([p], [20])
        rig.tick()
    assert len(state.thread_fds) == 6
    rig.fp.remove(p.pid)
    rig.tick()
    assert reader.pools.room[0] == room and not reader.pools.holders


STOPPABLE = """import sys, threading, time
stop = [threading.Event() for _ in range(3)]
def work(ev):
    while not ev.is_set():
        sum(range(20000)); time.sleep(0.002)
ts = [threading.Thread(target=work, args=(e,), name=f"w{i}") for i, e in enumerate(stop)]
[t.start() for t in ts]
print("ready", flush=True)
sys.stdin.readline()
stop[0].set(); ts[0].join()
print("one gone", flush=True)
sys.stdin.readline()
"""


@pytest.mark.real
def test_a_real_pool_read_through_kept_descriptors_drops_a_thread_that_exits() -> None:
    from numaview.sampler.sampler import Sampler

    child = subprocess.Popen(
        [sys.executable, "-c", STOPPABLE], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert child.stdin is not None and child.stdout is not None
    try:
        assert child.stdout.readline().strip() == "ready"
        sampler = Sampler("/")
        reader = sampler.processes
        for _ in range(3):
            sampler.sample()
            time.sleep(0.2)
        state = reader.by_pid[str(child.pid)]
        before = set(os.listdir(f"/proc/{child.pid}/task"))
        assert len(before) == 4 and set(state.thread_fds) == before  # main + 3 workers, kept
        child.stdin.write("\n")
        child.stdin.flush()
        assert child.stdout.readline().strip() == "one gone"
        time.sleep(0.2)
        row = sampler.sample().process(child.pid)
        now = set(os.listdir(f"/proc/{child.pid}/task"))
        assert len(now) == 3 and row is not None and row.thread_samples is not None
        assert {str(t.tid) for t in row.thread_samples} == now
        assert set(state.thread_fds) <= now  # the exited thread's descriptor is closed
    finally:
        child.kill()
        child.wait()
