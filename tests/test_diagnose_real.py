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
    """Wait until the CPUs we expect idle are; fail loudly if other work keeps them busy.

    Niced work does not count: a shared machine's background job at nice 19
    yields the CPU to these tests' processes at once, and the detectors count
    a CPU running only niced work as free (what CI machines look like).
    """
    sampler.sample()
    deadline = time.monotonic() + limit_s
    while True:
        time.sleep(0.5)
        f = sampler.sample()
        busy = {c: (f.cpus.value(c) or 0.0) - (f.cpus.value(c, "nice_pct") or 0.0) for c in OTHERS}
        if all(b < 10.0 for b in busy.values()):
            return
        if time.monotonic() > deadline:
            raise AssertionError(
                f"CPUs {busy} stayed busy with work outside this test for {limit_s} s"
            )


def diagnose(
    sampler: Sampler,
    d: Diagnoser,
    want: set[str],
    frames: int = 24,
    symptoms: frozenset[str] = frozenset(),
) -> Callable[[str], Finding]:
    """Sample every 0.5 s until every key in ``want`` is raised with a fix (or ``frames`` ran),
    and with at least these ``symptoms`` (kinds) merged into it.

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
        if all(
            k in now and now[k].fix is not None and symptoms <= {x.kind for x in now[k].symptoms}
            for k in want
        ):
            break

    def raised(key: str) -> Finding:
        lines = [*(f"{k}: {x.evidence} fix={x.fix}" for k, x in d.ever.items()), *trace]
        assert key in d.ever and d.ever[key].fix is not None, "\n".join(lines)
        return d.ever[key]

    return raised


def check_one_cause(
    d: Diagnoser, raised: Callable[[str], Finding], key: str, pids: list[int]
) -> Finding:
    """One finding names every process, lists the detectors' symptoms, and has one fix."""
    f = raised(key)
    assert sorted(f.pids) == pids and f.cpus[0] == PINNED and f.since is not None
    assert all(f"({pid})" in f.evidence for pid in pids), f.evidence
    kinds = [s.kind for s in f.symptoms]
    assert kinds[0] == "oversubscription" and "overlapping-affinity" in kinds, kinds
    # nothing else names these processes: one finding per cause
    about = [x for x in d.ever.values() if set(x.pids) & set(pids)]
    assert about == [f], [x.key for x in about]
    # one fix: the busier process... either one stays on the shared CPU, the other moves off
    # it onto an idle one, whole, memory staying
    assert f.fix is not None and f.plan == () and f.fix.pid in pids and not f.fix.move_memory
    assert f.fix.cpus and set(f.fix.cpus) <= set(OTHERS)
    return f


def test_two_busy_processes_pinned_to_one_cpu(spawn: Spawn) -> None:
    sampler = Sampler("/")
    quiet_machine(sampler)
    a, b = sorted((spawn(BURN), spawn(BURN)), key=lambda p: p.pid)
    # Two loops sharing one CPU get 50 % each, ± 2 (measured): right on the default
    # busy_pct of 50; they count as contenders from their own CPU % and involuntary
    # switches, so the default thresholds hold. idle_pct 20 leaves room for pytest's
    # own sampling (0-6 % measured) on the idle CPU.
    t = Thresholds(raise_after_s=1.0, idle_pct=20.0)
    d = Diagnoser(sampler.topology, t)
    key = f"oversubscription:{a.pid},{b.pid}"
    # three detectors see it: each raised after its own 1 s, all in this one finding
    three = frozenset({"oversubscription", "overlapping-affinity", "idle-cores"})
    raised = diagnose(sampler, d, {key}, symptoms=three)
    f = check_one_cause(d, raised, key, [a.pid, b.pid])
    assert re.fullmatch(
        rf"\S+ \({a.pid}\) \+ \S+ \({b.pid}\): [2-9] runnable threads on 1 allowed CPUs"
        rf" \({PINNED}\), [\d,]+ involuntary switches/s",
        f.evidence,
    ), f.evidence
    assert {s.kind for s in f.symptoms} >= {
        "oversubscription",
        "overlapping-affinity",
        "idle-cores",
    }


# Five threads, two of them busy in pure Python: they take turns on the GIL, so
# neither thread is busy on its own (each ~25 %, mostly waiting, state S) while the
# process uses half of its one CPU and is switched out hundreds of times a second.
GIL = f"""
import os, sys, threading, time
os.sched_setaffinity(0, {{{PINNED}}})
def spin():
    while True:
        sum(range(1000))
def nap():
    while True:
        time.sleep(1)
for target in (spin, spin, nap, nap):
    threading.Thread(target=target, daemon=True).start()
sys.stdout.write("ready\\n"); sys.stdout.flush()
threading.Event().wait()
"""


def test_two_gil_bound_five_thread_processes_on_one_cpu_are_one_finding_with_a_fix(
    spawn: Spawn,
) -> None:
    sampler = Sampler("/")
    quiet_machine(sampler)
    a, b = sorted((spawn(GIL), spawn(GIL)), key=lambda p: p.pid)
    d = Diagnoser(sampler.topology, Thresholds(raise_after_s=1.0, idle_pct=20.0))
    key = f"oversubscription:{a.pid},{b.pid}"
    raised = diagnose(sampler, d, {key}, symptoms=frozenset({"overlapping-affinity"}))
    # Rates over half a second, as diagnose() samples: right after its last sample the
    # span is a few ms, and one thread that held the GIL through it reads as ~100 %.
    time.sleep(0.5)
    s = sampler.sample().process(a.pid)
    assert s is not None and s.threads == 5 and s.affinity == (PINNED,)
    assert s.thread_samples is not None  # no thread is busy on its own
    assert all((th.cpu_pct or 0.0) < 50 for th in s.thread_samples), list(s.thread_samples)
    check_one_cause(d, raised, key, [a.pid, b.pid])


def test_busy_four_thread_process_pinned_to_one_cpu_is_oversubscribed(spawn: Spawn) -> None:
    sampler = Sampler("/")
    quiet_machine(sampler)
    pool = spawn(POOL)
    d = Diagnoser(sampler.topology, Thresholds(raise_after_s=1.0, idle_pct=20.0))
    key = f"oversubscription:{pool.pid}"
    raised = diagnose(sampler, d, {key})

    time.sleep(0.5)  # a frame over half a second, as diagnose() samples
    s = sampler.sample().process(pool.pid)
    assert s is not None and s.affinity == (PINNED,) and s.threads == 5
    assert s.thread_samples is not None
    assert sorted(th.state for th in s.thread_samples) == ["R", "R", "R", "R", "S"]

    f = raised(key)
    assert f.severity == "critical"  # at least 2 runnable threads per allowed CPU
    assert f.pids == (pool.pid,) and PINNED in f.cpus  # and the idle CPUs it could use
    assert re.fullmatch(
        rf"pid {pool.pid} \S+: 4 runnable threads on 1 allowed CPUs \({PINNED}\),"
        r" [\d,]+ involuntary switches/s",
        f.evidence,
    ), f.evidence
    # widen it with idle CPUs for the 3 threads that wait (as many as there are)
    assert f.fix is not None and f.fix.pid == pool.pid and not f.fix.move_memory
    assert f.fix.cpus == tuple(sorted({PINNED, *OTHERS[:3]}))
