"""The Diagnoser on this machine: real busy processes pinned with sched_setaffinity.

Fed by a real Sampler("/") every 0.5 s with raise_after_s = 1 s, so a leak that
holds is raised on the third frame that shows it. Each test stops sampling as
soon as what it expects is raised (a few seconds at most) and kills its children.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import pytest

from numaview.diagnose.engine import Diagnoser
from numaview.diagnose.findings import Finding, Thresholds
from numaview.sampler.sampler import Sampler

pytestmark = pytest.mark.real

CPUS = sorted(os.sched_getaffinity(0))
PINNED = CPUS[0]
OTHERS = CPUS[1:]
assert len(CPUS) >= 2, "these tests need 2 CPUs: one to crowd, one left idle"

BURN = f"""
import os, sys
os.sched_setaffinity(0, {{{PINNED}}})
sys.stdout.write("ready\\n"); sys.stdout.flush()
while True:
    pass
"""

# 4 threads that really run at once: sha256 of a large buffer releases the GIL (pure
# Python loops would take turns on the GIL and wait asleep, state S, not runnable).
# The main thread only waits, as a thread pool's does.
POOL = f"""
import hashlib, os, sys, threading
os.sched_setaffinity(0, {{{PINNED}}})
buf = bytes(8 << 20)
def spin():
    while True:
        hashlib.sha256(buf).digest()
for _ in range(4):
    threading.Thread(target=spin, daemon=True).start()
sys.stdout.write("ready\\n"); sys.stdout.flush()
threading.Event().wait()
"""

Spawn = Callable[[str], "subprocess.Popen[str]"]


@pytest.fixture
def spawn() -> Iterator[Spawn]:
    children: list[subprocess.Popen[str]] = []

    def start(code: str) -> subprocess.Popen[str]:
        p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        children.append(p)
        assert p.stdout is not None and p.stdout.readline() == "ready\n"
        return p

    try:
        yield start
    finally:
        for p in children:
            p.kill()
        for p in children:
            p.wait()
            if p.stdout is not None:
                p.stdout.close()


def quiet_machine(sampler: Sampler, limit_s: float = 10.0) -> None:
    """Wait until the CPUs we expect idle are; fail loudly if other work keeps them busy."""
    sampler.sample()
    deadline = time.monotonic() + limit_s
    while True:
        time.sleep(0.5)
        f = sampler.sample()
        busy = {c: f.cpus.value(c) or 0.0 for c in OTHERS}
        if all(b < 10.0 for b in busy.values()):
            return
        if time.monotonic() > deadline:
            raise AssertionError(
                f"CPUs {busy} stayed busy with work outside this test for {limit_s} s"
            )


def diagnose(
    sampler: Sampler, d: Diagnoser, want: set[str], frames: int = 16
) -> Callable[[str], Finding]:
    """Sample every 0.5 s until every key in ``want`` is raised with a fix (or ``frames`` ran).

    On a shared machine a moment's work elsewhere may land on the idle CPU: the finding
    has no idle CPU to offer in that frame, so sampling goes on until it has one again.
    Returns a lookup of raised findings whose failure message shows every frame.
    """
    trace = []
    sampler.sample()  # the first frame has no rates
    for _ in range(frames):
        time.sleep(0.5)
        f = sampler.sample()
        now = {x.key: x for x in d.update(f)}
        top = [(p.pid, p.name, p.cpu_pct) for p in f.processes[:4]]
        trace.append(f"{f.cpus.busy_by_cpu()} {top} {sorted(now)}")
        if all(k in now and now[k].fix is not None for k in want):
            break

    def raised(key: str) -> Finding:
        lines = [*(f"{k}: {x.evidence} fix={x.fix}" for k, x in d.ever.items()), *trace]
        assert key in d.ever and d.ever[key].fix is not None, "\n".join(lines)
        return d.ever[key]

    return raised


def test_two_busy_processes_pinned_to_one_cpu(spawn: Spawn) -> None:
    sampler = Sampler("/")
    quiet_machine(sampler)
    a, b = sorted((spawn(BURN), spawn(BURN)), key=lambda p: p.pid)
    # Two loops sharing one CPU get 50 % each, ± 2 (measured): right on the default
    # busy_pct of 50, so they would count as busy in some frames only, and the raise
    # timer would restart. 30 % still means "a busy process". idle_pct 20 leaves room
    # for pytest's own sampling (0-6 % measured) on the idle CPU.
    t = Thresholds(raise_after_s=1.0, busy_pct=30.0, idle_pct=20.0)
    d = Diagnoser(sampler.topology, t)
    overlap, idle = f"overlapping-affinity:{a.pid}:{b.pid}", f"idle-cores:{a.pid},{b.pid}"
    raised = diagnose(sampler, d, {overlap, idle})
    node = sampler.topology.cpu(PINNED).node  # type: ignore[union-attr]

    f = raised(overlap)
    assert f.severity == "warning" and sorted(f.pids) == [a.pid, b.pid]
    assert f.cpus == (PINNED,) and f.nodes == (node,) and f.since is not None
    assert f"pid {a.pid} " in f.evidence and f"pid {b.pid} " in f.evidence
    assert re.search(
        rf"both pinned to CPUs {PINNED} while [1-9]\d* other CPUs are idle", f.evidence
    )
    assert f.fix is not None and f.fix.pid in (a.pid, b.pid) and not f.fix.move_memory
    assert f.fix.cpus and set(f.fix.cpus) <= set(OTHERS)  # off the shared CPU, onto idle ones

    f = raised(idle)
    assert f.severity == "warning" and f.pids == (a.pid, b.pid) and f.nodes == (node,)
    assert PINNED in f.cpus and set(f.cpus) - {PINNED}  # the crowded CPU and idle ones
    assert re.fullmatch(
        rf"\S+ \({a.pid}\) \+ \S+ \({b.pid}\): 2 runnable threads confined to 1 CPUs"
        rf" \({PINNED}\) at \d+ %, while [1-9]\d* CPUs sit idle \([\d,-]+\)",
        f.evidence,
    ), f.evidence
    # the first process (same runnable count: lowest pid) gets one more, idle, CPU
    assert f.fix is not None and f.fix.pid == a.pid and not f.fix.move_memory
    assert len(f.fix.cpus) == 2 and PINNED in f.fix.cpus and set(f.fix.cpus) <= set(CPUS)


def test_busy_four_thread_process_pinned_to_one_cpu_is_oversubscribed(spawn: Spawn) -> None:
    sampler = Sampler("/")
    quiet_machine(sampler)
    pool = spawn(POOL)
    d = Diagnoser(sampler.topology, Thresholds(raise_after_s=1.0, idle_pct=20.0))
    key = f"oversubscription:{pool.pid}"
    raised = diagnose(sampler, d, {key})

    s = sampler.sample().process(pool.pid)
    assert s is not None and s.affinity == (PINNED,) and s.threads == 5
    assert s.thread_samples is not None
    assert sorted(th.state for th in s.thread_samples) == ["R", "R", "R", "R", "S"]

    f = raised(key)
    assert f.severity == "critical"  # at least 2 runnable threads per allowed CPU
    assert f.pids == (pool.pid,) and f.cpus == (PINNED,)
    assert re.fullmatch(
        rf"pid {pool.pid} \S+: 4 runnable threads on 1 allowed CPUs \({PINNED}\),"
        r" [\d,]+ involuntary switches/s",
        f.evidence,
    ), f.evidence
    # widen it with idle CPUs for the 3 threads that wait (as many as there are)
    assert f.fix is not None and f.fix.pid == pool.pid and not f.fix.move_memory
    assert f.fix.cpus == tuple(sorted({PINNED, *OTHERS[:3]}))
