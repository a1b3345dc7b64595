"""The node-side detectors: cross-node placement, node memory pressure, wandering.

Each judges threads against the NUMA node their memory is on: memory on one
node while the threads run on another, a node out of free memory while
another has plenty, and threads the scheduler keeps moving between nodes
(the one detector that reads the recent frames). Plain functions of a
Context, registered in detectors.py.
"""

from __future__ import annotations

import itertools

from numaview.diagnose.context import Context, _busy_threads, _nodes_text, _plan, _who
from numaview.diagnose.findings import Finding
from numaview.model.frame import ProcessSample
from numaview.render.units import size as human_bytes

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
                evidence=f"{_who(p, c.served)}: {threads} threads {where},"
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
    spans: dict[int, bool] = {}  # id of a (shared) mask -> whether it spans nodes
    index: list[dict[int, ProcessSample]] = []  # the window's rows by pid, when first needed
    for p in c.busy_procs():
        multi = spans.get(id(p.affinity))
        if multi is None:
            multi = spans[id(p.affinity)] = len({c.node_of.get(x) for x in p.affinity or ()}) > 1
        if not multi:
            continue  # pinned within one node: cannot wander across nodes
        if not index:
            index.extend({q.pid: q for q in f.processes} for f in window)
        seq: list[tuple[int, ...]] = []
        last_move = None  # when it last changed nodes
        for f, rows in zip(window, index, strict=True):
            q = rows.get(p.pid)
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
                evidence=f"{_who(p, c.served)} ({p.cpu_pct:.0f} %): its threads changed nodes {changes}"
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
