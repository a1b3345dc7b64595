"""Cache-domain contention: busy work crowding one L3 domain while another idles, or spread thin over several.

Processes sharing an L3 domain share its capacity and its memory bandwidth;
two heavy ones in one domain evict each other's working sets while the
domain next door (same node, same memory latency) does nothing. The fix is
a plan that gives each its own domain. The other way round, one process
whose busy threads are spread over several domains although they would fit
in one pays cross-domain traffic for every shared cache line; the fix pins
it to one. Works on any machine with two or more L3 domains (AMD CCXs,
Intel sub-NUMA clusters, several sockets). Plain functions of a Context.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from numaview.diagnose.context import Context, _plan, _who, member
from numaview.diagnose.findings import Finding, PinPlan
from numaview.model.cpuset import format_cpulist
from numaview.model.frame import ProcessSample
from numaview.model.partition import PartitionError, partition
from numaview.model.topology import Cache

_STEM = re.compile(r"[-_:. ]?\d+$")  # "worker-3" and "worker-12" are one pool


def _busy_cpus(p: ProcessSample, c: Context) -> list[int]:
    """The CPU each busy thread last ran on (one per thread; repeats count)."""
    if p.thread_samples:
        return p.thread_samples.busy_cpus(c.t.busy_pct)
    return list(p.last_cpus)


def _load(c: Context, cache: Cache) -> float:
    vals = [c.load[x] for x in cache.cpus if x in c.load]
    return sum(vals) / len(vals) if vals else 0.0


def _idle_domains(c: Context, around: Cache, anywhere: bool) -> list[Cache]:
    out = []
    for other in c.topo.l3:
        online = [x for x in other.cpus if x in c.busy]
        if other.id == around.id or not online or len(c.idle(online)) < len(online):
            continue
        if anywhere or set(other.nodes) & set(around.nodes):
            out.append(other)
    return out


def _separate(
    c: Context, procs: Sequence[ProcessSample], pool: Sequence[int]
) -> tuple[PinPlan, ...]:
    """One L3 domain each, within ``pool``: the moves that change something."""
    try:
        part = partition(c.topo, [member(p, c) for p in procs], "l3", pool=pool, frame=c.frame)
    except PartitionError:
        return ()
    return tuple(PinPlan(s.pid, s.start_time, s.cpus, False, s.label) for s in part.moves)


def cache_contention(c: Context) -> list[Finding]:
    if len(c.topo.l3) < 2:
        return []
    l3_of = {x: cache for cache in c.topo.l3 for x in cache.cpus}
    by_domain: dict[int, list[tuple[ProcessSample, int]]] = {}
    out = []
    for p in c.busy_procs():
        cpus = _busy_cpus(p, c)
        counts: dict[int, int] = {}
        for x in cpus:
            if x in l3_of:
                counts[l3_of[x].id] = counts.get(l3_of[x].id, 0) + 1
        for dom, n in counts.items():
            if n * 2 >= len(cpus):  # most of its busy threads are there
                by_domain.setdefault(dom, []).append((p, n))
        spread = _spread(c, p, counts)
        if spread is not None:
            out.append(spread)
    caches = {cache.id: cache for cache in c.topo.l3}
    for dom, parties in sorted(by_domain.items()):
        cache = caches[dom]
        procs = sorted((p for p, _ in parties), key=lambda p: p.pid)
        bound = any(p.mem_policy == "bind" for p in procs)  # memory pinned: stay on its node
        idle = _idle_domains(c, cache, anywhere=not bound)
        if not idle:
            continue
        near = [d for d in idle if set(d.nodes) & set(cache.nodes)] or idle
        cores = {c.siblings.get(x, (x,)) for x in cache.cpus if x in c.busy}
        if sum(n for _, n in parties) * 2 <= len(cores):
            continue  # their busy threads fill half its cores or less: room for both
        if len(procs) >= 2:
            out.append(_shared(c, cache, procs, dict((p.pid, n) for p, n in parties), near))
        else:
            f = _pools(c, cache, procs[0], near)
            if f is not None:
                out.append(f)
    return out


def _where(cache: Cache) -> str:
    nodes = ",".join(map(str, cache.nodes))
    return f"L3 {cache.id} (CPUs {format_cpulist(cache.cpus)}" + (
        f", node {nodes})" if nodes else ")"
    )


def _shared(
    c: Context, cache: Cache, procs: list[ProcessSample], busy: dict[int, int], idle: list[Cache]
) -> Finding:
    who = " and ".join(
        f"{_who(p, c.served)} ({p.cpu_pct or 0:.0f} %, {busy[p.pid]} busy threads)" for p in procs
    )
    free = idle[0]
    pool = sorted({*cache.cpus, *(x for d in idle for x in d.cpus)})
    plan = _separate(c, procs, pool)
    fix = plan[0] if len(plan) == 1 else None
    return Finding(
        kind="cache-contention",
        severity="warning",
        key="cache-contention:" + ",".join(str(p.pid) for p in procs),
        evidence=f"{who} share {_where(cache)}, {_load(c, cache):.0f} % busy, while"
        f" {_where(free)} idles at {_load(c, free):.0f} %",
        explanation="Busy processes in one L3 domain evict each other's working sets and"
        " split its memory bandwidth, while a domain with the same memory latency is unused.",
        pids=tuple(p.pid for p in procs),
        cpus=tuple(sorted(cache.cpus)),
        nodes=tuple(sorted(set(cache.nodes) | set(free.nodes))),
        fix=fix,
        plan=() if fix is not None else plan,
        score=len(procs),
    )


def _pools(c: Context, cache: Cache, p: ProcessSample, idle: list[Cache]) -> Finding | None:
    """One process whose thread pools (by name) crowd one saturated domain next to an idle one."""
    pools: dict[str, int] = {}
    for th in p.thread_samples or ():
        if (th.cpu_pct or 0.0) >= c.t.busy_pct and th.last_cpu in cache.cpus:
            stem = _STEM.sub("", th.name) or th.name
            pools[stem] = pools.get(stem, 0) + 1
    if len(pools) < 2 or _load(c, cache) < c.t.saturated_pct:
        return None
    free = idle[0]
    grow = sorted({*cache.cpus, *free.cpus} & set(c.busy))
    names = ", ".join(f"{name} ×{n}" for name, n in sorted(pools.items()))
    return Finding(
        kind="cache-contention",
        severity="warning",
        key=f"cache-contention:{p.pid}:pools",
        evidence=f"{_who(p, c.served)}: {len(pools)} busy thread pools ({names}) share"
        f" {_where(cache)} at {_load(c, cache):.0f} % while {_where(free)} idles at"
        f" {_load(c, free):.0f} %",
        explanation="Its thread pools compete for one domain's cores and cache while the"
        " next domain is unused.",
        pids=(p.pid,),
        cpus=tuple(sorted(cache.cpus)),
        nodes=tuple(sorted(set(cache.nodes) | set(free.nodes))),
        fix=_plan(p, grow, False, f"L3 {cache.id} and L3 {free.id}"),
        score=len(pools),
    )


def _spread(c: Context, p: ProcessSample, counts: dict[int, int]) -> Finding | None:
    """Busy threads over several domains that would fit, idle cores included, in one."""
    n = sum(counts.values())
    if len(counts) < 2 or n < 2:
        return None
    caches = {cache.id: cache for cache in c.topo.l3}
    allowed = set(p.affinity or c.busy)
    home = max((p.mem_by_node_bytes or {}).items(), key=lambda kv: kv[1], default=(None, 0))[0]
    mine = set(p.thread_samples.last_cpus) if p.thread_samples else set()

    def room(cache: Cache) -> int:
        """Cores it could use there: idle ones, and the ones its own threads hold."""
        cores = {c.siblings.get(x, (x,)) for x in cache.cpus if x in c.busy and x in allowed}
        idle = c.idle_set
        return sum(1 for core in cores if all(x in mine or x in idle for x in core))

    fits = [caches[d] for d in counts if set(caches[d].cpus) <= allowed and room(caches[d]) >= n]
    if not fits:
        return None
    best = max(fits, key=lambda d: (home in d.nodes, counts[d.id], -d.id))
    where = ", ".join(f"L3 {d} ×{k}" for d, k in sorted(counts.items()))
    return Finding(
        kind="cache-contention",
        severity="info",
        key=f"cache-contention:{p.pid}:spread",
        evidence=f"{_who(p, c.served)}: {n} busy threads spread over {len(counts)} L3 domains"
        f" ({where}) although they fit in {_where(best)}",
        explanation="Threads that share data across L3 domains move every shared cache line"
        " between them; in one domain they would hit the same cache.",
        pids=(p.pid,),
        cpus=tuple(sorted(x for d in counts for x in caches[d].cpus)),
        nodes=tuple(sorted({nd for d in counts for nd in caches[d].nodes})),
        fix=_plan(p, best.cpus, False, f"L3 {best.id}"),
        score=n,
    )
