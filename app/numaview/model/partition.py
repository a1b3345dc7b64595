"""Dividing a machine between several processes: one node, L3 domain or package each, or equal shares of whole cores.

Pure (model only): the plan dialog, ``numaview plan`` and the detectors that
propose "separate these" all compute the same partition from the topology
and what the processes use now. Shares are always whole cores, so two
processes never get the two hardware threads of one core; housekeeping
cores (the first ones, CPU 0's core first, as isolcpus setups keep them)
stay out of every share. A process keeps the domain where most of its
memory is when the greedy order gives it that choice (the biggest memory
chooses first: it is the costliest to move), else where its threads are
allowed now. A share its cgroup cpuset forbids is refused, never silently
narrowed, so the caller shows the refusal and applies nothing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from numaview.model.cpuset import format_cpulist
from numaview.model.frame import Frame
from numaview.model.shares import (
    STRATEGIES,
    Member,
    Partition,
    PartitionError,
    Refusal,
    Share,
)
from numaview.model.topology import Topology

__all__ = [
    "STRATEGIES",
    "Member",
    "Partition",
    "PartitionError",
    "Refusal",
    "Share",
    "partition",
    "whole_cores",
]


@dataclass(slots=True)
class _Domain:
    label: str
    cores: list[tuple[int, ...]]
    quota: int = 0
    members: list[Member] | None = None

    @property
    def cpus(self) -> set[int]:
        return {c for core in self.cores for c in core}


def whole_cores(topo: Topology, pool: Sequence[int] | None = None) -> list[tuple[int, ...]]:
    """Online CPUs grouped by physical core, ordered by node, L3 domain and first CPU."""
    usable = set(topo.online_cpus) if pool is None else set(pool) & set(topo.online_cpus)
    node_of = {c.id: c.node for c in topo.cpus}
    l3_of = {c: i for i, cache in enumerate(topo.l3) for c in cache.cpus}
    seen: set[int] = set()
    cores: list[tuple[int, ...]] = []
    for core in topo.cores:
        cpus = tuple(sorted(c for c in core.cpus if c in usable))
        if cpus:
            cores.append(cpus)
            seen.update(cpus)
    cores += [(c,) for c in sorted(usable - seen)]  # no core information: a CPU each

    def order(core: tuple[int, ...]) -> tuple[int, int, int]:
        first = core[0]
        node = node_of.get(first)
        return (-1 if node is None else node, l3_of.get(first, -1), first)

    return sorted(cores, key=order)


def _domains(topo: Topology, cores: list[tuple[int, ...]], strategy: str) -> list[_Domain]:
    if strategy == "cores":
        return [_Domain("cores", list(cores))]
    if strategy == "l3" and not topo.l3:
        raise PartitionError("no L3 information on this machine: divide by node or by cores")
    key: dict[int, tuple[int, str]] = {}
    for c in topo.cpus:
        if strategy == "node" and c.node is not None:
            key[c.id] = (c.node, f"node {c.node}")
        elif strategy == "package" and c.package is not None:
            key[c.id] = (c.package, f"package {c.package}")
    if strategy == "l3":
        for cache in topo.l3:
            for cpu in cache.cpus:
                key[cpu] = (cache.id, f"L3 {cache.id}")
    groups: dict[tuple[int, str], list[tuple[int, ...]]] = {}
    for core in cores:
        k = key.get(core[0])
        if k is None:
            raise PartitionError(f"CPU {core[0]} has no {strategy} in the topology")
        groups.setdefault(k, []).append(core)
    return [_Domain(label, cs) for (_, label), cs in sorted(groups.items())]


def _quotas(domains: list[_Domain], n: int) -> None:
    """How many processes each domain takes: one each while there are domains, else by cores."""
    if n <= len(domains):
        for d in domains:
            d.quota = 1
        return
    total = sum(len(d.cores) for d in domains)
    raw = [n * len(d.cores) / total for d in domains]
    for d, r in zip(domains, raw, strict=True):
        d.quota = min(len(d.cores), math.floor(r))
    left = n - sum(d.quota for d in domains)
    order = sorted(range(len(domains)), key=lambda i: (-(raw[i] - math.floor(raw[i])), i))
    while left > 0:
        grew = False
        for i in order:
            d = domains[i]
            if left and d.quota < len(d.cores):
                d.quota += 1
                left -= 1
                grew = True
        if not grew:
            raise PartitionError(f"{n} processes do not fit in {total} whole cores")


def _score(
    m: Member, d: _Domain, node_of: Mapping[int, int | None], frame: Frame | None
) -> tuple[int, int, int, float, int]:
    """Allowed first, then its memory there, its CPUs there, then the idlest and roomiest."""
    cpus = d.cpus
    nodes = {node_of.get(c) for c in cpus}
    allowed = m.allowed is None or cpus <= set(m.allowed)
    mem = sum(b for n, b in (m.mem_by_node or {}).items() if n in nodes)
    here = len(cpus & set(m.affinity or ())) + len(cpus & set(m.running))
    idle, room = 0.0, 0
    if frame is not None:
        busy = [frame.cpus.value(c) for c in cpus]
        idle = -sum(b or 0.0 for b in busy) / max(len(busy), 1)
        room = sum((n.mem_free_bytes or 0) for n in frame.nodes if n.id in nodes)
    return (int(allowed), mem, here, round(idle / 10), room)


def partition(
    topo: Topology,
    members: Sequence[Member],
    strategy: str,
    *,
    housekeeping: int = 0,
    move_memory: bool = False,
    pool: Sequence[int] | None = None,
    frame: Frame | None = None,
) -> Partition:
    """Each member's share of ``pool`` (default: every online CPU), by ``strategy``.

    ``frame`` (the machine now): among domains equal for a process (no memory of
    it there, none of its CPUs), the idlest, then the one with most free memory.
    """
    if strategy not in STRATEGIES:
        raise PartitionError(f"no strategy {strategy!r} (one of: {', '.join(STRATEGIES)})")
    if not members:
        raise PartitionError("no processes to divide the machine between")
    if len({m.pid for m in members}) != len(members):
        raise PartitionError("a process is listed twice")
    if housekeeping < 0:
        raise PartitionError("housekeeping cores cannot be negative")
    cores = whole_cores(topo, pool)
    if housekeeping >= len(cores):
        raise PartitionError(
            f"{housekeeping} housekeeping cores leave none of the {len(cores)} cores to share"
        )
    kept = sorted(c for core in cores[:housekeeping] for c in core)
    cores = cores[housekeeping:]
    if len(members) > len(cores):
        raise PartitionError(
            f"{len(members)} processes and {len(cores)} whole cores: each needs one at least"
        )
    node_of = {c.id: c.node for c in topo.cpus}
    placed = (
        _equal(cores, members, node_of)
        if strategy == "cores"
        else _by_domain(_domains(topo, cores, strategy), members, node_of, frame)
    )
    shares: list[Share] = []
    refused: list[Refusal] = []
    for m, cpus, n_cores, d in placed:
        share = _share(m, cpus, d, node_of, move_memory, n_cores)
        shares.append(share)
        if m.allowed is not None and not set(cpus) <= set(m.allowed):
            refused.append(
                Refusal(
                    m.pid,
                    m.name,
                    f"its cgroup cpuset allows CPUs {format_cpulist(m.allowed)} only;"
                    f" {share.label} (CPUs {format_cpulist(cpus)}) is outside it",
                )
            )
    order = {m.pid: i for i, m in enumerate(members)}
    shares.sort(key=lambda s: order[s.pid])
    refused.sort(key=lambda r: order[r.pid])
    return Partition(strategy, tuple(shares), tuple(refused), tuple(kept), move_memory)


Placed = list[tuple[Member, tuple[int, ...], int, "_Domain"]]


def _room(m: Member) -> int:
    """How many CPUs its cpuset allows (unknown: any): the most confined chooses first."""
    return len(m.allowed) if m.allowed is not None else 1 << 30


def _by_domain(
    domains: list[_Domain],
    members: Sequence[Member],
    node_of: Mapping[int, int | None],
    frame: Frame | None,
) -> Placed:
    _quotas(domains, len(members))
    for d in domains:
        d.members = []
    # a process its cpuset confines chooses first (it has the fewest choices), then the
    # biggest memory (costliest to move), then the busiest
    order = sorted(members, key=lambda m: (_room(m), -m.mem_total, -(m.cpu_pct or 0.0), m.pid))
    for m in order:
        free = [d for d in domains if d.members is not None and len(d.members) < d.quota]
        best = max(free, key=lambda d: _score(m, d, node_of, frame))  # ties: the first
        assert best.members is not None
        best.members.append(m)
    return [(m, cpus, n, d) for d in domains for m, cpus, n in _split(d)]


def _equal(
    cores: list[tuple[int, ...]], members: Sequence[Member], node_of: Mapping[int, int | None]
) -> Placed:
    """The same number of whole cores each, inside one node where one has room for it.

    Cores left over by the division stay free rather than making one share bigger.
    """
    size = len(cores) // len(members)
    free: dict[int, list[tuple[int, ...]]] = {}
    for core in cores:
        node = node_of.get(core[0])
        free.setdefault(-1 if node is None else node, []).append(core)
    out: Placed = []
    # a process its cpuset confines chooses first, then the biggest memory; else
    # whoever is on the lowest CPUs keeps them
    order = sorted(
        members,
        key=lambda m: (_room(m), -m.mem_total, min(m.affinity or (1 << 30,)), m.pid),
    )
    for m in order:
        ok = set(m.allowed) if m.allowed is not None else None
        inside = {
            n: [core for core in cs if ok is None or set(core) <= ok] for n, cs in free.items()
        }
        roomy = [n for n, cs in inside.items() if len(cs) >= size]
        if roomy:  # its memory's node if it has room, else the node with most room
            node = m.home if m.home in roomy else max(roomy, key=lambda n: (len(inside[n]), -n))
            take = inside[node][:size]
            free[node] = [core for core in free[node] if core not in take]
        else:  # no node has room for a whole share (in its cpuset): across nodes, in order
            take = []
            for n in sorted(free):
                pick = [core for core in inside[n] if core in free[n]] + [
                    core for core in free[n] if core not in inside[n]
                ]
                take += pick[: size - len(take)]
                free[n] = [core for core in free[n] if core not in take]
        cpus = tuple(sorted(c for core in take for c in core))
        out.append((m, cpus, size, _Domain("cores", take, members=[m, *members])))
    return out


def _split(d: _Domain) -> list[tuple[Member, tuple[int, ...], int]]:
    """The domain's cores in contiguous runs, one per member: equal, the busiest get the rest."""
    members = d.members or []
    if not members:
        return []
    k, n = len(members), len(d.cores)
    size, extra = divmod(n, k)
    busiest = sorted(members, key=lambda m: (-(m.cpu_pct or 0.0), m.pid))[:extra]
    # in CPU order: a process keeps the low CPUs it is on, memory homes follow node order
    placed = sorted(
        members,
        key=lambda m: (
            m.home if m.home is not None else 1 << 30,
            min((c for c in m.affinity or () if c in d.cpus), default=1 << 30),
            m.pid,
        ),
    )
    out: list[tuple[Member, tuple[int, ...], int]] = []
    at = 0
    for m in placed:
        take = size + (m in busiest)
        cpus = tuple(sorted(c for core in d.cores[at : at + take] for c in core))
        at += take
        out.append((m, cpus, take))
    return out


def _share(
    m: Member,
    cpus: tuple[int, ...],
    d: _Domain,
    node_of: Mapping[int, int | None],
    move_memory: bool,
    n_cores: int,
) -> Share:
    nodes = tuple(sorted({n for c in cpus if (n := node_of.get(c)) is not None}))
    off = (
        None
        if m.mem_by_node is None
        else sum(b for n, b in m.mem_by_node.items() if n not in nodes)
    )
    return Share(
        pid=m.pid,
        start_time=m.start_time,
        name=m.name,
        cpus=cpus,
        nodes=nodes,
        domain=d.label,
        whole=len(d.members or ()) == 1,
        move_memory=move_memory,
        off_bytes=off,
        stays=m.affinity is not None and tuple(sorted(m.affinity)) == cpus,
        crowded=m.busy_threads > len(cpus),
        n_cores=n_cores,
    )
