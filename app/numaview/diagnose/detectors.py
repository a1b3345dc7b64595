"""The seven leak detectors: frames in, findings out (no I/O, no textual).

Each looks at the newest frame (and, for wandering, the recent ones), and
says what is leaking with the numbers that show it and, where one exists, a
concrete pin plan. Hysteresis is not here but in the engine, so each
detector stays a plain function of its input.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from numaview.diagnose.findings import Finding, PinPlan, Thresholds
from numaview.model.cpuset import format_cpulist
from numaview.model.describe import human_bytes
from numaview.model.frame import Frame, ProcessSample
from numaview.model.topology import Topology


@dataclass(frozen=True, slots=True)
class Context:
    """What every detector needs, computed once per frame."""

    frame: Frame
    history: Sequence[Frame]  # recent frames, oldest first, the newest included
    topo: Topology
    t: Thresholds
    busy: dict[int, float]  # online CPUs with a known busy %
    node_of: dict[int, int]
    node_cpus: dict[int, tuple[int, ...]]  # online CPUs of each node
    siblings: dict[int, tuple[int, ...]]

    @classmethod
    def build(cls, history: Sequence[Frame], topo: Topology, t: Thresholds) -> Context:
        frame = history[-1]
        busy = {c: v for c, v in frame.cpus.busy_by_cpu().items() if v is not None}
        return cls(
            frame=frame,
            history=history,
            topo=topo,
            t=t,
            busy=busy,
            node_of={c.id: c.node for c in topo.cpus if c.node is not None},
            node_cpus={n.id: n.cpus for n in topo.nodes},
            siblings={c.id: c.siblings or (c.id,) for c in topo.cpus},
        )

    def idle(self, cpus: Sequence[int]) -> list[int]:
        return [c for c in cpus if self.busy.get(c, 100.0) < self.t.idle_pct]

    def idle_cores(self, cpus: Sequence[int]) -> list[tuple[int, ...]]:
        """Whole physical cores (every sibling idle) among ``cpus``, each once."""
        out, seen = [], set()
        for c in sorted(cpus):
            core = self.siblings.get(c, (c,))
            if core in seen:
                continue
            seen.add(core)
            if all(self.busy.get(s, 100.0) < self.t.idle_pct for s in core):
                out.append(core)
        return out

    def busy_procs(self) -> list[ProcessSample]:
        # kernel threads are never named nor moved: per-CPU ones cannot be re-pinned
        return [
            p
            for p in self.frame.processes
            if (p.cpu_pct or 0.0) >= self.t.busy_pct and not p.kernel_thread
        ]


def _busy_threads(p: ProcessSample, t: Thresholds) -> int:
    if p.thread_samples:
        return sum(1 for th in p.thread_samples if (th.cpu_pct or 0.0) >= t.busy_pct)
    return max(1, math.ceil((p.cpu_pct or 0.0) / 100 - 0.2))


def _runnable(p: ProcessSample, t: Thresholds) -> int:
    if p.thread_samples:
        return sum(
            1 for th in p.thread_samples if th.state == "R" or (th.cpu_pct or 0) >= t.busy_pct
        )
    return _busy_threads(p, t)


def _groups(c: Context) -> list[tuple[tuple[int, ...], list[ProcessSample]]]:
    """Busy pinned processes grouped by identical affinity (several engines on one CPU set)."""
    everything = set(c.busy)
    groups: dict[tuple[int, ...], list[ProcessSample]] = {}
    for p in c.busy_procs():
        if p.kernel_thread or not p.affinity:
            continue
        allowed = tuple(x for x in p.affinity if x in c.busy)
        if allowed and not everything <= set(allowed):
            groups.setdefault(allowed, []).append(p)
    # by pid, not by the frame's CPU order: the finding's key must not change when two
    # processes sharing CPUs swap places from one frame to the next
    return sorted(
        ((k, sorted(v, key=lambda p: p.pid)) for k, v in groups.items()), key=lambda kv: kv[0]
    )


def _group_name(procs: Sequence[ProcessSample]) -> str:
    if len(procs) == 1:
        return _who(procs[0])
    return " + ".join(f"{p.name} ({p.pid})" for p in procs)


def _who(p: ProcessSample) -> str:
    return f"pid {p.pid} {p.name}"


def _nodes_text(nodes: Sequence[int]) -> str:
    return ("node " if len(nodes) == 1 else "nodes ") + ",".join(map(str, nodes))


def _plan(p: ProcessSample, cpus: Sequence[int], move: bool, target: str) -> PinPlan:
    return PinPlan(p.pid, p.start_time, tuple(sorted(cpus)), move, target)


# -- 1. idle cores ------------------------------------------------------------------


def idle_cores(c: Context) -> list[Finding]:
    out = []
    t = c.t
    for allowed, procs in _groups(c):
        want = sum(_runnable(p, t) for p in procs)
        used = sum(p.cpu_pct or 0.0 for p in procs)
        if want <= len(allowed) or used < 0.8 * 100 * len(allowed):
            continue  # not confined, or not using what it has
        nodes = sorted({c.node_of[x] for x in allowed if x in c.node_of})
        outside = [x for n in nodes for x in c.node_cpus.get(n, ()) if x not in allowed]
        idle_out = c.idle(outside) or c.idle([x for x in c.busy if x not in allowed])
        if not idle_out:
            continue
        mover = max(procs, key=lambda p: _runnable(p, t))
        extra = idle_out[: want - len(allowed)]
        grow = sorted(set(mover.affinity or allowed) | set(extra))
        out.append(
            Finding(
                kind="idle-cores",
                severity="warning",
                key="idle-cores:" + ",".join(str(p.pid) for p in procs),
                evidence=f"{_group_name(procs)}: {want} runnable threads confined to"
                f" {len(allowed)} CPUs ({format_cpulist(allowed)}) at {used:.0f} %, while"
                f" {len(idle_out)} CPUs sit idle ({format_cpulist(idle_out)})",
                explanation="Threads queue for the CPUs they are pinned to while other CPUs"
                " do nothing: the affinity is narrower than the parallelism.",
                pids=tuple(p.pid for p in procs),
                cpus=tuple(sorted(set(allowed) | set(idle_out))),
                nodes=tuple(nodes),
                fix=_plan(
                    mover, grow, False, f"{len(grow)} CPUs, adding idle {format_cpulist(extra)}"
                ),
                score=len(idle_out),
            )
        )
    # machine-wide: an idle node next to a saturated one
    node_busy = {
        n.id: n.busy_pct for n in c.frame.nodes if n.busy_pct is not None and c.node_cpus.get(n.id)
    }
    hot = [n for n, b in node_busy.items() if b >= t.saturated_pct]
    cold = [n for n, b in node_busy.items() if b < t.idle_pct]
    if hot and cold:
        out.append(
            Finding(
                kind="idle-cores",
                severity="warning",
                key=f"idle-cores:nodes:{hot[0]}",
                evidence=f"{_nodes_text(hot)} at {max(node_busy[n] for n in hot):.0f} % busy while"
                f" {_nodes_text(cold)} idle at {min(node_busy[n] for n in cold):.0f} %",
                explanation="Work piles up on some nodes while whole nodes idle: the load is"
                " placed, not spread.",
                cpus=tuple(x for n in cold for x in c.node_cpus[n]),
                nodes=tuple(sorted(hot + cold)),
                score=len(cold),
            )
        )
    return out


# -- 2. cross-node placement ---------------------------------------------------------


def cross_node(c: Context) -> list[Finding]:
    out = []
    t = c.t
    for p in c.busy_procs():
        mem = p.mem_by_node_bytes
        if not mem or not p.nodes_running:
            continue
        total = sum(mem.values())
        if total < t.cross_node_min_bytes:
            continue
        home, home_bytes = max(mem.items(), key=lambda kv: kv[1])
        share = home_bytes / total
        running = set(p.nodes_running)
        threads = len(p.thread_samples) if p.thread_samples else p.threads
        spread = len(running) > 1
        if share < t.cross_node_share or (home in running and not spread):
            continue
        home_cpus = c.node_cpus.get(home, ())
        idle_home = c.idle(home_cpus)
        busy_threads = _busy_threads(p, t)
        if len(idle_home) >= busy_threads or spread:
            fix = _plan(p, home_cpus, False, f"node {home} (where its memory is)")
        else:
            cur = [x for x in (p.affinity or ()) if c.node_of.get(x) in running]
            fix = _plan(p, cur, True, f"{_nodes_text(sorted(running))}, memory moved there")
        where = (
            "spread over " + _nodes_text(sorted(running))
            if spread
            else "on " + _nodes_text(sorted(running))
        )
        out.append(
            Finding(
                kind="cross-node",
                severity="critical" if share >= 0.9 and not spread else "warning",
                key=f"cross-node:{p.pid}",
                evidence=f"{_who(p)}: {threads} threads {where},"
                f" {share * 100:.0f} % of {human_bytes(total)} on node {home}",
                explanation="Its threads reach their memory across the interconnect: every"
                " cache miss pays the remote latency and bandwidth.",
                pids=(p.pid,),
                cpus=tuple(p.last_cpus),
                nodes=tuple(sorted(running | {home})),
                fix=fix,
                score=total * share,
            )
        )
    for n in c.frame.nodes:
        local, other = n.local_node_per_s, n.other_node_per_s
        if local is None or other is None or other < t.remote_min_per_s:
            continue
        share = other / max(local + other, 1.0)
        if share < t.remote_share:
            continue
        out.append(
            Finding(
                kind="cross-node",
                severity="warning",
                key=f"cross-node:node{n.id}",
                evidence=f"node {n.id}: {share * 100:.0f} % of allocations by its CPUs land on"
                f" other nodes ({other:,.0f}/s remote vs {local:,.0f}/s local),"
                f" numa_miss {n.numa_miss_per_s or 0:,.0f}/s",
                explanation="Processes running here allocate memory elsewhere, by policy or"
                " because this node is full.",
                cpus=c.node_cpus.get(n.id, ()),
                nodes=(n.id,),
                score=other,
            )
        )
    return out


# -- 3. SMT contention ---------------------------------------------------------------


def smt_contention(c: Context) -> list[Finding]:
    t = c.t
    contended = []
    seen: set[tuple[int, ...]] = set()
    for cpu in sorted(c.busy):
        core = c.siblings.get(cpu, (cpu,))
        if len(core) < 2 or core in seen:
            continue
        seen.add(core)
        if all(c.busy.get(s, 0.0) >= t.busy_pct for s in core):
            contended.append(core)
    if not contended:
        return []
    out = []
    by_node: dict[int, list[tuple[int, ...]]] = {}
    for core in contended:
        by_node.setdefault(c.node_of.get(core[0], -1), []).append(core)
    for node, cores in by_node.items():
        idle = c.idle_cores(c.node_cpus.get(node, ()))
        scope = f"node {node}"
        if not idle:
            idle = c.idle_cores(list(c.busy))
            scope = "the machine"
        if not idle:
            continue
        cpus = {x for core in cores for x in core}
        procs = [p for p in c.busy_procs() if set(p.last_cpus) & cpus]
        names = ", ".join(p.name for p in procs[:3]) or "?"
        fix = None
        # only a process whose busy threads all fit on the idle cores: fewer CPUs than
        # busy threads would trade sharing a core for sharing a CPU
        fits = [p for p in procs if _busy_threads(p, t) <= len(idle)]
        if fits:
            mover = min(fits, key=lambda p: p.cpu_pct or 0.0)
            n = max(1, _busy_threads(mover, t))
            first = [core[0] for core in idle[:n]]
            fix = _plan(mover, first, False, f"{n} idle cores, one hardware thread each")
        out.append(
            Finding(
                kind="smt-contention",
                severity="warning",
                key=f"smt-contention:node{node}",
                evidence=f"{len(cores)} cores on node {node} run busy threads on both hardware"
                f" threads ({', '.join('/'.join(map(str, k)) for k in cores[:4])}"
                f"{'…' if len(cores) > 4 else ''}; {names}) while {len(idle)} whole cores on"
                f" {scope} are idle",
                explanation="Two SMT siblings share one core's execution units and caches: each"
                " runs at roughly half speed while whole cores sit unused.",
                pids=tuple(p.pid for p in procs),
                cpus=tuple(sorted(cpus)),
                nodes=(node,) if node >= 0 else (),
                fix=fix,
                score=len(cores),
            )
        )
    return out


# -- 4. oversubscription ----------------------------------------------------------------


def oversubscription(c: Context) -> list[Finding]:
    t = c.t
    out = []
    for aff, procs in _groups(c):
        runnable = sum(_runnable(p, t) for p in procs)
        invol = sum(p.ctx_involuntary_per_s or 0.0 for p in procs)
        # Switches are summed over threads only for the busiest processes (the rest
        # have their main thread's, and a pool's main thread often waits), so
        # allowed CPUs all saturated count as evidence too
        saturated = all(c.busy.get(x, 0.0) >= t.saturated_pct for x in aff)
        if runnable <= len(aff) or (invol < t.invol_per_s and not saturated):
            continue
        nodes = sorted({c.node_of[x] for x in aff if x in c.node_of})
        spare = [x for n in nodes for x in c.node_cpus.get(n, ()) if x not in aff]
        idle = c.idle(spare) or c.idle([x for x in c.busy if x not in aff])
        fix = None
        if idle:
            mover = min(procs, key=lambda p: p.rss_bytes or 0) if len(procs) > 1 else procs[0]
            need = _runnable(mover, t) if len(procs) > 1 else runnable - len(aff)
            target = idle[:need] if len(procs) > 1 else sorted(set(aff) | set(idle[:need]))
            fix = _plan(mover, target, False, f"{len(target)} CPUs, idle now")
        out.append(
            Finding(
                kind="oversubscription",
                severity="critical" if runnable >= 2 * len(aff) else "warning",
                key="oversubscription:" + ",".join(str(p.pid) for p in procs),
                evidence=f"{_group_name(procs)}: {runnable} runnable threads on {len(aff)} allowed"
                f" CPUs ({format_cpulist(aff)}), {invol:,.0f} involuntary switches/s",
                explanation="More threads want to run than there are CPUs for them: they take"
                " turns, and each waits in the run queue (tail latency).",
                pids=tuple(p.pid for p in procs),
                cpus=tuple(aff),
                nodes=tuple(nodes),
                fix=fix,
                score=runnable / len(aff),
            )
        )
    s = c.frame.system
    online = len(c.busy) or 1
    running = s.procs_running or 0
    psi = s.psi_cpu_some_avg10
    if running > t.run_queue_factor * online or (psi is not None and psi >= t.psi_cpu_some):
        out.append(
            Finding(
                kind="oversubscription",
                severity="warning",
                key="oversubscription:system",
                evidence=f"{running} runnable tasks on {online} online CPUs"
                + (f", CPU pressure {psi:.0f} % (PSI some avg10)" if psi is not None else ""),
                explanation="The machine as a whole has more runnable work than CPUs.",
                score=running / online,
            )
        )
    return out


# -- 5. overlapping affinity ------------------------------------------------------------


def overlapping_affinity(c: Context) -> list[Finding]:
    all_cpus = set(c.busy)
    # N processes sharing CPUs get ~100/N % each: judge a pair by what it uses
    # together, so three or four engines crowding one CPU are seen too.
    t = c.t
    pinned = [
        p
        for p in c.frame.processes
        if not p.kernel_thread
        and p.affinity
        and not all_cpus <= set(p.affinity)
        and (p.cpu_pct or 0.0) >= t.busy_pct / 4
    ]
    out = []
    done: set[tuple[int, int]] = set()
    for i, a in enumerate(pinned):
        for b in pinned[i + 1 :]:
            shared = set(a.affinity or ()) & set(b.affinity or ())
            if not shared or (a.pid, b.pid) in done:
                continue
            crowded = sum(c.busy.get(x, 0.0) for x in shared) / len(shared) >= t.saturated_pct
            if not crowded and (a.cpu_pct or 0.0) + (b.cpu_pct or 0.0) < t.busy_pct * 1.5:
                continue  # not two busy users of the same CPUs
            union = set(a.affinity or ()) | set(b.affinity or ())
            idle = c.idle([x for x in all_cpus if x not in union])
            if len(idle) < min(len(shared), 1):
                continue
            if not idle:
                continue
            done.add((a.pid, b.pid))
            mover = min((a, b), key=lambda p: p.rss_bytes or 0)
            n = min(len(set(mover.affinity or ())), len(idle))
            # prefer idle CPUs on the mover's memory node, then anywhere
            home = max((mover.mem_by_node_bytes or {0: 0}).items(), key=lambda kv: kv[1])[0]
            ranked = sorted(idle, key=lambda x: (c.node_of.get(x) != home, x))
            target = ranked[:n]
            out.append(
                Finding(
                    kind="overlapping-affinity",
                    severity="warning",
                    key=f"overlapping-affinity:{min(a.pid, b.pid)}:{max(a.pid, b.pid)}",
                    evidence=f"{_who(a)} ({a.cpu_pct:.0f} %) and {_who(b)} ({b.cpu_pct:.0f} %)"
                    f" are both pinned to CPUs {format_cpulist(shared)} while {len(idle)} other"
                    " CPUs are idle",
                    explanation="Two busy processes bound to the same CPUs compete for them,"
                    " while CPUs they are not allowed on stay idle.",
                    pids=(a.pid, b.pid),
                    cpus=tuple(sorted(shared)),
                    nodes=tuple(sorted({c.node_of[x] for x in shared if x in c.node_of})),
                    fix=_plan(mover, target, False, f"{len(target)} idle CPUs"),
                    score=len(shared),
                )
            )
    return out


# -- 6. node memory pressure -------------------------------------------------------------


def node_memory_pressure(c: Context) -> list[Finding]:
    t = c.t
    nodes = [n for n in c.frame.nodes if n.mem_total_bytes and n.mem_free_bytes is not None]
    roomy = [
        n for n in nodes if (n.mem_free_bytes or 0) >= t.mem_room_share * (n.mem_total_bytes or 1)
    ]
    out = []
    for n in nodes:
        total, free = n.mem_total_bytes or 1, n.mem_free_bytes or 0
        if free >= t.mem_free_share * total or not roomy:
            continue
        room = max(roomy, key=lambda r: r.mem_free_bytes or 0)
        if room.id == n.id:
            continue
        spill = n.numa_miss_per_s or 0.0
        heavy = [
            p
            for p in c.frame.processes
            if p.mem_by_node_bytes and p.mem_by_node_bytes.get(n.id, 0) > 0 and not p.kernel_thread
        ]
        fix = None
        if heavy:
            big = max(heavy, key=lambda p: (p.mem_by_node_bytes or {}).get(n.id, 0))
            fix = _plan(
                big, c.node_cpus.get(room.id, ()), True, f"node {room.id}, memory moved there"
            )
        out.append(
            Finding(
                kind="node-memory-pressure",
                severity="critical" if free < 0.02 * total else "warning",
                key=f"node-memory-pressure:{n.id}",
                evidence=f"node {n.id}: {human_bytes(free)} free of {human_bytes(total)}"
                f" ({free / total * 100:.1f} %) while node {room.id} has"
                f" {human_bytes(room.mem_free_bytes)} free; numa_miss {spill:,.0f}/s",
                explanation="New allocations of processes on this node spill to remote nodes"
                " (or the kernel reclaims page cache) although memory is free elsewhere.",
                pids=() if fix is None else (fix.pid,),
                nodes=(n.id, room.id),
                fix=fix,
                score=1 - free / total,
            )
        )
    return out


# -- 7. wandering ----------------------------------------------------------------------


def wandering(c: Context) -> list[Finding]:
    t = c.t
    window = [f for f in c.history if c.frame.mono - f.mono <= t.wander_window_s]
    if len(window) < 3:
        return []
    out = []
    for p in c.busy_procs():
        aff = set(p.affinity or ())
        if len({c.node_of.get(x) for x in aff}) < 2:
            continue  # pinned within one node: cannot wander across nodes
        seq: list[tuple[int, ...]] = []
        last_move = None  # when it last changed nodes
        for f in window:
            q = f.process(p.pid)
            if q is not None and q.start_time == p.start_time and q.nodes_running:
                if seq and seq[-1] != q.nodes_running:
                    last_move = f.mono
                seq.append(q.nodes_running)
        changes = sum(1 for x, y in itertools.pairwise(seq) if x != y)
        if changes < t.wander_changes:
            continue
        if last_move is None or c.frame.mono - last_move >= t.wander_settle_s:
            continue  # it has settled: old moves are history, not a leak now
        visited = sorted({n for s in seq for n in s})
        mem = p.mem_by_node_bytes or {}
        home = (
            max(mem.items(), key=lambda kv: kv[1])[0]
            if mem
            else max(visited, key=lambda n: sum(n in s for s in seq))
        )
        out.append(
            Finding(
                kind="wandering",
                severity="info" if changes < 2 * t.wander_changes else "warning",
                key=f"wandering:{p.pid}",
                evidence=f"{_who(p)} ({p.cpu_pct:.0f} %): its threads changed nodes {changes}"
                f" times in {window[-1].mono - window[0].mono:.0f} s, over {_nodes_text(visited)}",
                explanation="The scheduler moves its threads between nodes: caches go cold on"
                " every move and memory becomes remote for the node it lands on.",
                pids=(p.pid,),
                cpus=tuple(p.last_cpus),
                nodes=tuple(visited),
                fix=_plan(p, c.node_cpus.get(home, ()), False, f"node {home}"),
                score=changes,
            )
        )
    return out


DETECTORS: dict[str, Callable[[Context], list[Finding]]] = {
    "idle-cores": idle_cores,
    "cross-node": cross_node,
    "smt-contention": smt_contention,
    "oversubscription": oversubscription,
    "overlapping-affinity": overlapping_affinity,
    "node-memory-pressure": node_memory_pressure,
    "wandering": wandering,
}
