"""The Sampler against this machine: real processes, real /proc, real affinity."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from numaview.model.frame import Frame
from numaview.sampler.sampler import Sampler, SamplerOptions

pytestmark = pytest.mark.real

TARGET_CPU = max(os.sched_getaffinity(0))

BURN = f"""
import os, sys
os.sched_setaffinity(0, {{{TARGET_CPU}}})
sys.stdout.write("ready\\n"); sys.stdout.flush()
while True:
    pass
"""

THREADS = """
import os, sys, threading, time
ready = threading.Barrier(3)
tids = {}
def spin(cpu):
    tids[cpu] = threading.get_native_id()
    os.sched_setaffinity(tids[cpu], {cpu})
    ready.wait()
    end = time.monotonic() + 60
    while time.monotonic() < end:
        time.sleep(0.001)
threading.Thread(target=spin, args=(0,), daemon=True).start()
threading.Thread(target=spin, args=(%d,), daemon=True).start()
ready.wait()
blob = bytearray(200 * 1024 * 1024)
for i in range(0, len(blob), 4096):
    blob[i] = 1
sys.stdout.write("ready\\n%%d %%d\\n" %% (tids[0], tids[%d])); sys.stdout.flush()
time.sleep(60)
"""


def start(code: str) -> subprocess.Popen[str]:
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert p.stdout is not None and p.stdout.readline() == "ready\n"
    return p


@pytest.fixture
def burner() -> Iterator[subprocess.Popen[str]]:
    p = start(BURN)
    yield p
    p.kill()
    p.wait()


def two_frames(sampler: Sampler, gap: float = 1.0) -> Frame:
    sampler.sample()
    time.sleep(gap)
    return sampler.sample()


def test_busy_process_pinned_to_a_known_cpu(burner: subprocess.Popen[str]) -> None:
    f = two_frames(Sampler("/"))
    busy = f.cpus.value(TARGET_CPU)
    assert busy is not None and busy >= 90.0, busy
    p = f.process(burner.pid)
    assert p is not None
    assert p.cpu_pct is not None and p.cpu_pct >= 90.0
    assert p.affinity == (TARGET_CPU,)
    assert p.last_cpus == (TARGET_CPU,)
    assert p.state == "R"
    assert p.name == "python3" or p.name.startswith("python")
    assert p.cmdline is not None and "sched_setaffinity" in p.cmdline
    assert p.nodes_running == (0,)
    assert f.processes[0].pid == burner.pid or (f.processes[0].cpu_pct or 0) >= 90
    assert f.errors == ()


def test_per_thread_affinity_and_memory_per_node() -> None:
    p = start(THREADS % (TARGET_CPU, TARGET_CPU))
    assert p.stdout is not None
    tid0, tid_n = map(int, p.stdout.readline().split())
    try:
        sampler = Sampler("/", options=SamplerOptions(numa_k=1000, numa_per_tick=1000))
        f = two_frames(sampler, 0.3)
        s = f.process(p.pid)
        assert s is not None and s.thread_samples is not None
        by_tid = {t.tid: t for t in s.thread_samples}
        assert by_tid[tid0].affinity == (0,)
        assert by_tid[tid0].last_cpu == 0
        assert by_tid[tid_n].affinity == (TARGET_CPU,)
        assert by_tid[tid_n].last_cpu == TARGET_CPU
        assert by_tid[p.pid].affinity is None  # the main thread keeps the process mask
        assert s.thread_affinities_differ
        assert s.threads == 3
        assert s.mem_by_node_bytes is not None
        assert s.mem_by_node_bytes.get(0, 0) >= 200 * 1024 * 1024
        assert s.mem_policy == "default"
    finally:
        p.kill()
        p.wait()


def test_processes_exiting_during_sampling_never_surface_as_errors() -> None:
    churn = subprocess.Popen(
        ["sh", "-c", "while :; do /bin/true & /bin/true; wait; done"],
        stdout=subprocess.DEVNULL,
    )
    try:
        sampler = Sampler("/", options=SamplerOptions(top_n=0, refresh_every=1))
        frames = []
        for _ in range(30):
            frames.append(sampler.sample())
            time.sleep(0.03)
    finally:
        churn.kill()
        churn.wait()
    assert all(f.errors == () for f in frames), [f.errors for f in frames if f.errors]
    assert sum(f.system.processes_total or 0 for f in frames) > 30


def test_sampler_cost_is_measured() -> None:
    f = two_frames(Sampler("/"), 0.2)
    assert f.cost.tick_cpu_s is not None and f.cost.tick_cpu_s > 0
    assert f.cost.self_cpu_pct is not None and f.cost.self_cpu_pct >= 0
    assert 0.15 < f.interval_s < 1.0
