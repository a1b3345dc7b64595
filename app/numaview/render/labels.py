"""Short names for sets of CPUs and nodes, for narrow table columns.

A pinning mistake is what the reader scans the AFFINITY column for, so a set
that matches a topology object gets that object's name (``node1``, ``L3 4``)
instead of a cpu list nobody can check by eye on a 128-CPU machine.
"""

from __future__ import annotations

from collections.abc import Iterable

from numaview.model.cpuset import format_cpulist
from numaview.model.frame import ProcessSample
from numaview.model.topology import Topology
from numaview.render.units import MISSING, size


class _Names:
    """The named CPU sets of one topology, built once: labels are asked per row per tick."""

    def __init__(self, topo: Topology) -> None:
        self.online = frozenset(topo.online_cpus)
        self.nodes = [(n.id, frozenset(n.cpus)) for n in topo.nodes if n.cpus]
        self.node_names = {cpus: f"node{nid}" for nid, cpus in reversed(self.nodes)}
        self.l3_names = {frozenset(c.cpus): f"L3 {c.id}" for c in reversed(topo.l3) if c.cpus}

    def label(self, cpus: Iterable[int]) -> str:
        given = frozenset(cpus)
        # Kernels report masks that include offline and merely possible CPUs (an
        # unpinned task often shows 0-255 on a 128-CPU box); only online ones matter.
        eff = given & self.online if self.online else given
        if not eff:
            return format_cpulist(given) or "none"
        if eff == self.online:
            return "all"
        name = self.node_names.get(eff) or self.l3_names.get(eff)
        if name is not None:
            return name
        whole = [nid for nid, ncpus in self.nodes if ncpus <= eff]
        if len(whole) > 1 and frozenset().union(*(c for n, c in self.nodes if n in whole)) == eff:
            return "node" + "+".join(str(n) for n in whole)
        return format_cpulist(given)


# id(topology) -> (topology, names). The topology is kept so its id is not reused;
# it is not hashable (distances are dicts), and an app holds one or two of them.
_CACHE: dict[int, tuple[Topology, _Names]] = {}
_CACHE_MAX = 4


def _names(topo: Topology) -> _Names:
    hit = _CACHE.get(id(topo))
    if hit is not None and hit[0] is topo:
        return hit[1]
    if len(_CACHE) >= _CACHE_MAX:
        _CACHE.pop(next(iter(_CACHE)))
    names = _Names(topo)
    _CACHE[id(topo)] = (topo, names)
    return names


def affinity_label(cpus: Iterable[int] | None, topology: Topology) -> str:
    """``all``, ``node1``, ``node0+1``, ``L3 4``, else the cpu list; ``–`` if unknown.

    Matching is on the online CPUs of the set; the fallback prints the set as given.
    """
    if cpus is None:
        return MISSING
    return _names(topology).label(cpus)


def nodes_label(nodes: Iterable[int]) -> str:
    """``0``, ``0,2``, ``0-3`` (runs of three or more), ``–`` when empty.

    A range only saves room from three nodes on; ``0,1`` is as short as ``0-1``
    and reads as two nodes at a glance.
    """
    ids = sorted(set(nodes))
    if not ids:
        return MISSING
    parts: list[str] = []
    i = 0
    while i < len(ids):
        j = i
        while j + 1 < len(ids) and ids[j + 1] == ids[j] + 1:
            j += 1
        if j - i >= 2:
            parts.append(f"{ids[i]}-{ids[j]}")
        else:
            parts.extend(str(n) for n in ids[i : j + 1])
        i = j + 1
    return ",".join(parts)


def command_label(p: ProcessSample) -> str:
    """The command line, or the name; kernel threads in brackets as ps and top show them."""
    return f"[{p.name}]" if p.kernel_thread else (p.cmdline or p.name)


def mem_by_node_text(p: ProcessSample) -> str:
    if p.mem_by_node_bytes is None:
        return MISSING
    return " ".join(f"{n}:{size(b, short=True)}" for n, b in sorted(p.mem_by_node_bytes.items()))
