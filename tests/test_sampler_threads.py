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
