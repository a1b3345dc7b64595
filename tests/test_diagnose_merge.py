"""One finding per cause (diagnose/merge.py) and the cache-domain detector, on hand-built frames.

The merge cases use test_diagnose's fake 2-node tree (16 CPUs, SMT2, one L3
per node); the cache cases a 2-node tree with two L3 domains per node (32 CPUs).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import pytest

from numaview.diagnose.context import Context
from numaview.diagnose.detectors import cache_contention
from numaview.diagnose.engine import Diagnoser
from numaview.diagnose.findings import Finding, PinPlan, Thresholds
from numaview.linux.sysfs import discover
from numaview.model.frame import (
    CPU_METRICS,
    CpuTable,
    Frame,
    ProcessSample,
    SystemSample,
    ThreadSample,
    ThreadTable,
)
from numaview.model.topology import Topology
from tests.fakefs import Shape, build_machine
from tests.test_diagnose import GIB, NODE1, frame, keys, proc, topo

__all__ = ["topo"]  # the 16-CPU fixture, shared with test_diagnose

FAST = Thresholds(raise_after_s=0.0)


def run(topo: Topology, frames: Sequence[Frame], t: Thresholds = FAST) -> tuple[Finding, ...]:
    d = Diagnoser(topo, t)
    out: tuple[Finding, ...] = ()
    for f in frames:
        out = d.update(f)
    return out


def about(found: Sequence[Finding], pids: set[int]) -> list[Finding]:
    return [f for f in found if set(f.pids) & pids]


def burners(t: float, cpu: int = 4) -> Frame:
    """Two single-thread loops pinned to one CPU: 50 % each, switched out 120 times a second."""
    a = proc(700, "burn", [(cpu, 50.0, "R")], (cpu,), invol=120.0)
    b = proc(701, "burn", [(cpu, 50.0, "R")], (cpu,), invol=120.0)
    return frame(t, [a, b], system=SystemSample(procs_running=4, psi_cpu_some_avg10=45.0))


def gil_bound(t: float, cpu: int = 4) -> Frame:
    """Two Python processes, 5 threads each, 2 taking turns on the GIL: no thread busy alone."""
    procs = []
    for pid in (800, 801):
        threads = [
            (cpu, 24.0, "S"),
            (cpu, 24.0, "S"),
            (cpu, 0.5, "S"),
            (cpu, 0.5, "S"),
            (cpu, 0.0, "S"),
        ]
        procs.append(proc(pid, "python3", threads, (cpu,), invol=240.0))
    return frame(t, procs, system=SystemSample(procs_running=3, psi_cpu_some_avg10=50.0))


def test_two_burners_on_one_cpu_are_one_finding_with_one_fix(topo: Topology) -> None:
    out = run(topo, [burners(float(t)) for t in range(1, 4)])
    [f] = about(out, {700, 701})
    assert f.key == "oversubscription:700,701" and f.pids == (700, 701)
    assert [s.kind for s in f.symptoms] == [
        "oversubscription",
        "overlapping-affinity",
        "idle-cores",
        "oversubscription",  # the machine's run queue and PSI: the same cause
    ]
    assert "oversubscription:system" in keys([f]) and len(out) == 1
    # one fix, no plan: 700 keeps CPU 4, 701 gets a whole idle core of node 1
    assert f.plan == () and f.fix is not None and f.fix.pid == 701
    assert set(f.fix.cpus) <= set(NODE1) and 4 not in f.fix.cpus and len(f.fix.cpus) == 2
    assert f.fix.cpus in {(c, c + 8) for c in range(5, 8)}


def test_gil_bound_processes_are_seen_by_their_process_numbers(topo: Topology) -> None:
    out = run(topo, [gil_bound(float(t)) for t in range(1, 4)])
    [f] = about(out, {800, 801})
    assert f.kind == "oversubscription" and f.pids == (800, 801)
    assert f.evidence.startswith(
        "python3 (800) + python3 (801): 2 runnable threads on 1 allowed CPUs (4)"
    )
    assert "480 involuntary switches/s" in f.evidence
    assert f.fix is not None and f.fix.pid == 801 and 4 not in f.fix.cpus


def apply_fix(
    frame_procs: Sequence[ProcessSample], fixes: Sequence[PinPlan]
) -> list[ProcessSample]:
    """The processes after the fixes: the new mask, each thread moved onto it in turn."""
    out = []
    for p in frame_procs:
        fix = next((x for x in fixes if x.pid == p.pid), None)
        if fix is None:
            out.append(p)
            continue
        rows = [
            ThreadSample(th.tid, th.name, th.state, fix.cpus[i % len(fix.cpus)], th.cpu_pct)
            for i, th in enumerate(p.thread_samples or ())
        ]
        out.append(replace(p, affinity=fix.cpus, thread_samples=ThreadTable(rows)))
    return out


def rebuilt(t: float, procs: Sequence[ProcessSample]) -> Frame:
    """A frame of these processes with their CPU % no longer shared (each alone now)."""
    alone = []
    for p in procs:
        rows = list(p.thread_samples or ())
        cpus = {th.last_cpu for th in rows}
        crowded = len(cpus) < len(rows) and len(cpus) == 1
        rows = [
            replace(th, cpu_pct=th.cpu_pct if crowded else min(100.0, 2 * (th.cpu_pct or 0)))
            for th in rows
        ]
        alone.append(
            replace(
                p,
                cpu_pct=sum(th.cpu_pct or 0 for th in rows),
                thread_samples=ThreadTable(rows),
                ctx_involuntary_per_s=0.0,
                last_cpus=tuple(sorted(cpus)),  # type: ignore[arg-type]
            )
        )
    return frame(t, alone)


@pytest.mark.parametrize("case", [burners, gil_bound])
def test_applying_every_fix_in_order_leaves_none_of_their_findings(
    topo: Topology, case: Callable[[float], Frame]
) -> None:
    d = Diagnoser(topo, FAST)
    for t in range(1, 4):
        out = d.update(case(float(t)))
    pids = {p for f in out for p in f.pids}
    fixes = [x for f in out for x in f.fixes]
    assert fixes and len({x.pid for x in fixes}) == len(fixes)  # nobody moved twice
    procs = apply_fix(case(4.0).processes, fixes)
    for t in range(5, 12):
        out = d.update(rebuilt(float(t), procs))
    assert about(out, pids) == [], [f.key for f in out]


def test_two_causes_never_hand_the_same_idle_cpus_to_two_processes(topo: Topology) -> None:
    # A+B crowd CPU 4, C+D crowd CPU 5: node 1's idle cores could go to either pair
    procs = [
        proc(900, "a", [(4, 50.0, "R")], (4,), invol=150.0),
        proc(901, "b", [(4, 50.0, "R")], (4,), invol=150.0),
        proc(910, "c", [(5, 50.0, "R")], (5,), invol=150.0),
        proc(911, "d", [(5, 50.0, "R")], (5,), invol=150.0),
    ]
    out = run(topo, [frame(float(t), procs) for t in range(1, 4)])
    assert len(about(out, {900, 901})) == 1 and len(about(out, {910, 911})) == 1
    given = [set(x.cpus) for f in out for x in f.fixes]
    assert given and all(not a & b for i, a in enumerate(given) for b in given[i + 1 :])
    movers = [x.pid for f in out for x in f.fixes]
    assert len(movers) == len(set(movers))


# -- cache-domain contention, on a tree with two L3 domains per node -------------------

SHAPE2 = Shape(packages=1, nodes_per_package=2, l3_per_node=2, cores_per_l3=4, smt=2)
CPUS32 = tuple(range(32))
L3 = [(*range(0, 4), *range(16, 20)), (*range(4, 8), *range(20, 24))]  # node 0's two domains


@pytest.fixture(scope="module")
def topo2(tmp_path_factory: pytest.TempPathFactory) -> Topology:
    t = discover(build_machine(tmp_path_factory.mktemp("2l3"), SHAPE2).root)
    assert [c.cpus for c in t.l3[:2]] == L3 and [c.nodes for c in t.l3] == [(0,), (0,), (1,), (1,)]
    return t


def frame32(t: float, procs: Sequence[ProcessSample]) -> Frame:
    load = dict.fromkeys(CPUS32, 0.0)
    for p in procs:
        for th in p.thread_samples or ():
            if th.last_cpu is not None:
                load[th.last_cpu] = min(100.0, load[th.last_cpu] + (th.cpu_pct or 0.0))
    rows: dict[str, list[float | None]] = {m: [0.0] * 32 for m in CPU_METRICS}
    rows["busy_pct"] = [load[c] for c in CPUS32]
    return Frame(
        time=1764200000.0 + t,
        mono=t,
        interval_s=1.0,
        cpus=CpuTable.build(CPUS32, [True] * 32, rows),
        nodes=(),
        system=SystemSample(procs_running=3),
        processes=tuple(procs),
    )


def p32(
    pid: int, cpus: Sequence[int], pct: float = 100.0, names: Sequence[str] = (), **kw: object
) -> ProcessSample:
    rows = [
        ThreadSample(pid + i, names[i] if names else f"w{i}", "R", c, pct)
        for i, c in enumerate(cpus)
    ]
    base = ProcessSample(
        pid=pid, start_time=5.0, ppid=1, user="u", name=f"p{pid}", cmdline="x", state="R",
        cpu_pct=pct * len(cpus), threads=len(cpus), affinity=CPUS32, last_cpus=tuple(sorted(set(cpus))),
        nodes_running=(0,), rss_bytes=GIB, mem_policy="default", mem_by_node_bytes={0: GIB},
        thread_samples=ThreadTable(rows),
    )  # fmt: skip
    return replace(base, **kw)  # type: ignore[arg-type]


def cache(topo2: Topology, procs: Sequence[ProcessSample]) -> list[Finding]:
    return cache_contention(Context.build([frame32(1.0, procs)], topo2, Thresholds()))


def test_two_busy_processes_in_one_l3_next_to_an_idle_one_get_a_plan(topo2: Topology) -> None:
    a = p32(100, (0, 1, 2), mem_by_node_bytes={0: 8 * GIB})
    b = p32(200, (3, 16, 17), mem_by_node_bytes={0: GIB})
    [f] = cache(topo2, [a, b])
    assert f.key == "cache-contention:100,200" and f.severity == "warning"
    assert f.evidence == (
        "pid 100 p100 (300 %, 3 busy threads) and pid 200 p200 (300 %, 3 busy threads) share"
        " L3 0 (CPUs 0-3,16-19, node 0), 75 % busy, while L3 1 (CPUs 4-7,20-23, node 0) idles at 0 %"
    )
    # one domain each, both pinned so the scheduler cannot bring them back together:
    # the bigger memory keeps L3 0, the other gets L3 1 (same node, same memory latency)
    assert f.fix is None
    assert [(m.pid, m.cpus, m.target) for m in f.plan] == [
        (100, L3[0], "L3 0"),
        (200, L3[1], "L3 1"),
    ]


def test_memory_bound_to_a_node_keeps_the_plan_on_that_node(topo2: Topology) -> None:
    # L3 1 busy with someone else: the only idle domains are on node 1
    other = p32(300, (4, 5, 6, 7, 20, 21, 22, 23), mem_by_node_bytes={0: GIB})
    a = p32(100, (0, 1, 2), mem_policy="bind")
    b = p32(200, (3, 16, 17), mem_policy="bind")
    assert [f for f in cache(topo2, [a, b, other]) if 100 in f.pids] == []
    a, b = replace(a, mem_policy="default"), replace(b, mem_policy="default")
    [f] = [f for f in cache(topo2, [a, b, other]) if 100 in f.pids]
    node1 = set(topo2.node(1).cpus)  # type: ignore[union-attr]
    assert [m.pid for m in f.plan] == [100, 200] and set(f.plan[1].cpus) <= node1


def test_one_process_spread_over_domains_it_would_fit_in_one(topo2: Topology) -> None:
    p = p32(400, (0, 1, 4, 5))  # 2 busy threads in L3 0, 2 in L3 1; L3 0 has room for all 4
    [f] = cache(topo2, [p])
    assert f.key == "cache-contention:400:spread" and f.severity == "info"
    assert "4 busy threads spread over 2 L3 domains (L3 0 ×2, L3 1 ×2)" in f.evidence
    assert f.fix is not None and f.fix.cpus == L3[0]


def test_thread_pools_crowding_a_saturated_domain_next_to_an_idle_one(topo2: Topology) -> None:
    names = [f"tokio-{i}" for i in range(4)] + [f"rayon-{i}" for i in range(4)]
    p = p32(500, L3[0], names=names, affinity=L3[0])
    [f] = cache(topo2, [p])
    assert f.key == "cache-contention:500:pools"
    assert "2 busy thread pools (rayon ×4, tokio ×4) share L3 0" in f.evidence
    assert f.fix is not None and f.fix.cpus == tuple(sorted(L3[0] + L3[1]))
