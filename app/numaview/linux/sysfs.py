"""Hardware topology discovery from FSROOT/sys and FSROOT/proc.

Real sysfs is not the textbook, so every rule here is about trusting the right
file: a core is its set of SMT siblings (core_id repeats across dies and
packages), a cache domain is its shared_cpu_list, node distances are listed in
the order of online node ids (which may be sparse), CPU lists may exist only as
hex masks on old kernels, and any file may be missing or hold junk. Missing or
malformed data becomes None plus a warning; only a tree with no CPUs at all is
an error.

The file-reading helpers live in ``sysfsreader``, the cache step in
``cachedomains`` and the allowed-CPUs/cgroup step in ``allowed``, so each module
stays small; ``discover`` here runs them all.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable

from numaview.linux.allowed import AllowedSteps
from numaview.linux.cachedomains import CacheSteps
from numaview.linux.fsroot import FsRoot
from numaview.linux.gpus import discover_gpus
from numaview.linux.sysfsreader import CPU_DIR, parse_int
from numaview.model.cpuset import CpuList
from numaview.model.topology import (
    Core,
    Cpu,
    Host,
    Node,
    Package,
    Topology,
)

NODE_DIR = "sys/devices/system/node"
_CPU_RE = re.compile(r"cpu(\d+)")
_NODE_RE = re.compile(r"node(\d+)")


class TopologyError(Exception):
    """The tree holds no usable CPU information at all."""


def discover(root: str | os.PathLike[str] = "/") -> Topology:
    """Discover the topology of the machine whose / is ``root``."""
    return _Discovery(FsRoot(root)).run()


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def find(self, x: int) -> int:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


class _Discovery(CacheSteps, AllowedSteps):
    # -- steps -----------------------------------------------------------------

    def run(self) -> Topology:
        all_ids, online = self._cpus()
        topo = {c: self._cpu_topology(c) for c in online}
        cores, siblings = self._cores(online, topo)
        nodes, cpu_node = self._nodes(all_ids, online)
        l2, l3, cpu_l2, cpu_l3 = self._caches(online, cpu_node)
        kinds, capacities = self._kinds(online)

        core_of = {cpu: core.id for core in cores for cpu in core.cpus}
        cpus = tuple(
            Cpu(
                id=c,
                online=c in online,
                package=topo[c][0] if c in topo else None,
                die=topo[c][1] if c in topo else None,
                core=core_of.get(c),
                core_id=topo[c][2] if c in topo else None,
                node=cpu_node.get(c),
                l3=cpu_l3.get(c),
                l2=cpu_l2.get(c),
                siblings=siblings.get(c, ()),
                kind=kinds.get(c),
                capacity=capacities.get(c),
            )
            for c in all_ids
        )
        core_tuple = tuple(
            Core(
                id=k.id,
                package=k.package,
                cpus=k.cpus,
                core_id=k.core_id,
                kind=kinds.get(k.cpus[0]),
            )
            for k in cores
        )
        by_pkg: dict[int, list[int]] = {}
        for c in cpus:
            if c.online and c.package is not None:
                by_pkg.setdefault(c.package, []).append(c.id)
        packages = tuple(
            Package(
                id=p,
                cpus=tuple(ids),
                nodes=tuple(sorted({cpu_node[i] for i in ids if i in cpu_node})),
            )
            for p, ids in sorted(by_pkg.items())
        )
        gpus = discover_gpus(self.fs, self.w, online, {n.id: n for n in nodes})
        return Topology(
            cpus=cpus,
            nodes=nodes,
            packages=packages,
            cores=core_tuple,
            l3=l3,
            l2=l2,
            allowed=self._allowed(),
            host=self._host(),
            warnings=self.w.lines(),
            gpus=gpus,
        )

    def _cpus(self) -> tuple[CpuList, frozenset[int]]:
        entries = self.fs.listdir(CPU_DIR)
        if entries is None:
            raise TopologyError(
                f"no CPU information: {self.fs.path(CPU_DIR)} is missing"
                " (is --root a copy of a machine's / with sys/ and proc/?)"
            )
        dirs = {int(m.group(1)) for e in entries if (m := _CPU_RE.fullmatch(e))}
        present = self._list("cpu/present", f"{CPU_DIR}/present") or ()
        all_ids = tuple(sorted(dirs | set(present)))
        if not all_ids:
            raise TopologyError(f"no CPUs found under {self.fs.path(CPU_DIR)}")
        online_list = self._list("cpu/online", f"{CPU_DIR}/online")
        if online_list is not None:
            online = frozenset(online_list) & set(all_ids)
        else:
            # Per-CPU files; x86 cpu0 often has none because it cannot go offline.
            flags = {c: parse_int(self.fs.read(f"{CPU_DIR}/cpu{c}/online")) for c in all_ids}
            if all(v is None for v in flags.values()):
                self.w.add("no cpu/online file: assuming every CPU is online")
            online = frozenset(c for c, v in flags.items() if v != 0)
        if not online:
            raise TopologyError(f"no online CPU under {self.fs.path(CPU_DIR)}")
        return all_ids, online

    def _cpu_topology(self, c: int) -> tuple[int | None, int | None, int | None, CpuList | None]:
        """(package, die, core_id, siblings) of one online CPU."""
        tp = f"{CPU_DIR}/cpu{c}/topology"
        package = self._cpu_int(c, f"{tp}/physical_package_id", "topology/physical_package_id")
        if package is not None and package < 0:
            package = None  # -1: the firmware did not say
        die = self._cpu_int(c, f"{tp}/die_id", "die_id", required=False)
        if die is not None and die < 0:
            die = None
        core_id = self._cpu_int(c, f"{tp}/core_id", "topology/core_id")
        sib = self._cpu_list(c, "core_cpus_list", f"{tp}/core_cpus_list")
        if sib is None:
            sib = self._cpu_list(
                c, "thread_siblings_list", f"{tp}/thread_siblings_list", f"{tp}/thread_siblings"
            )
        if sib is None:
            self.w.add_cpu(c, "no SMT sibling list (topology/thread_siblings*)")
        return package, die, core_id, sib

    def _cores(
        self,
        online: frozenset[int],
        topo: dict[int, tuple[int | None, int | None, int | None, CpuList | None]],
    ) -> tuple[list[Core], dict[int, CpuList]]:
        uf = _UnionFind()
        fallback: dict[tuple[int, int | None, int], int] = {}
        for c in sorted(online):
            uf.find(c)
            package, die, core_id, sib = topo[c]
            if sib is None:
                # No sibling list: fall back to (package, die, core_id), the old way.
                if package is not None and core_id is not None:
                    key = (package, die, core_id)
                    if key in fallback:
                        uf.union(c, fallback[key])
                    else:
                        fallback[key] = c
                continue
            for s in sib:
                if s not in online or s == c:
                    continue
                other = topo[s][3]
                if other is not None and c not in other:
                    self.w.add_cpus((c, s), "SMT sibling lists disagree; treated as one core")
                uf.union(c, s)
        groups: dict[int, list[int]] = {}
        for c in sorted(online):
            groups.setdefault(uf.find(c), []).append(c)
        cores: list[Core] = []
        siblings: dict[int, CpuList] = {}
        for i, members in enumerate(sorted(groups.values(), key=lambda g: g[0])):
            pkgs = {topo[m][0] for m in members}
            if len(pkgs) > 1:
                self.w.add_cpus(members, "SMT siblings report different packages")
            first = topo[members[0]]
            cores.append(Core(id=i, package=first[0], cpus=tuple(members), core_id=first[2]))
            for m in members:
                siblings[m] = tuple(members)
        return cores, siblings

    def _nodes(
        self, all_ids: CpuList, online: frozenset[int]
    ) -> tuple[tuple[Node, ...], dict[int, int]]:
        entries = self.fs.listdir(NODE_DIR)
        node_ids = sorted(int(m.group(1)) for e in (entries or ()) if (m := _NODE_RE.fullmatch(e)))
        if not node_ids:
            self.w.add(
                "no NUMA nodes in sysfs (kernel without NUMA?): treating the machine as one node"
            )
            return (
                Node(
                    id=0,
                    cpus=tuple(sorted(online)),
                    offline_cpus=tuple(c for c in all_ids if c not in online),
                    mem_total_bytes=self._meminfo_total("proc/meminfo", "MemTotal:"),
                    distances={0: 10},
                ),
            ), dict.fromkeys(all_ids, 0)
        cpu_node: dict[int, int] = {}
        listed: dict[int, CpuList] = {}
        for n in node_ids:
            base = f"{NODE_DIR}/node{n}"
            cpus = self._list(f"node{n}/cpulist", f"{base}/cpulist", f"{base}/cpumap")
            if cpus is None:
                self.w.add(f"node{n}: no cpulist or cpumap file; its CPUs are unknown")
                cpus = ()
            listed[n] = cpus
            for c in cpus:
                if c in cpu_node and cpu_node[c] != n:
                    self.w.add_cpu(c, f"listed under nodes {cpu_node[c]} and {n}")
                cpu_node.setdefault(c, n)
        # CPUs no node lists (offline ones, usually): the cpuN/nodeM link says.
        for c in all_ids:
            if c in cpu_node:
                continue
            for e in self.fs.listdir(f"{CPU_DIR}/cpu{c}") or ():
                if m := _NODE_RE.fullmatch(e):
                    cpu_node[c] = int(m.group(1))
                    break
            else:
                if c in online:
                    self.w.add_cpu(c, "in no NUMA node")
        distance_ids = self._list("node/online", f"{NODE_DIR}/online")
        if distance_ids is None or len(distance_ids) != len(node_ids):
            distance_ids = tuple(node_ids)
        nodes = []
        for n in node_ids:
            base = f"{NODE_DIR}/node{n}"
            nodes.append(
                Node(
                    id=n,
                    cpus=tuple(c for c in listed[n] if c in online and cpu_node.get(c) == n),
                    offline_cpus=tuple(
                        c for c in all_ids if c not in online and cpu_node.get(c) == n
                    ),
                    mem_total_bytes=self._meminfo_total(f"{base}/meminfo", "MemTotal:"),
                    distances=self._distances(n, base, distance_ids),
                )
            )
        return tuple(nodes), cpu_node

    def _meminfo_total(self, rel: str, key: str) -> int | None:
        text = self.fs.read(rel)
        if text is None:
            self.w.add(f"{rel}: missing; memory size unknown")
            return None
        for line in text.splitlines():
            # "Node 0 MemTotal:  3631324 kB" or "MemTotal:  3631324 kB"
            if key in line:
                parts = line.split(key, 1)[1].split()
                if parts and parts[0].isdigit():
                    unit = parts[1] if len(parts) > 1 else "kB"
                    return int(parts[0]) * (1024 if unit.lower() == "kb" else 1)
                break
        self.w.add(f"{rel}: no readable {key[:-1]} line; memory size unknown")
        return None

    def _distances(self, n: int, base: str, ids: CpuList) -> dict[int, int] | None:
        text = self.fs.read(f"{base}/distance")
        if text is None:
            self.w.add(f"node{n}/distance: missing")
            return None
        values = [parse_int(v) for v in text.strip(" \t\r\n\x00").split()]
        if any(v is None for v in values) or len(values) != len(ids):
            self.w.add(
                f"node{n}/distance: {len(values)} values for {len(ids)} nodes or junk; ignored"
            )
            return None
        return {i: v for i, v in zip(ids, values, strict=True) if v is not None}

    def _kinds(self, online: frozenset[int]) -> tuple[dict[int, str], dict[int, int]]:
        """CPU kind on hybrid parts: Intel's cpu_core/cpu_atom PMUs, arm64's cpu_capacity."""
        kinds: dict[int, str] = {}
        for pmu, kind in (("cpu_core", "performance"), ("cpu_atom", "efficiency")):
            cpus = self._list(f"{pmu}/cpus", f"sys/devices/{pmu}/cpus")
            for c in cpus or ():
                kinds[c] = kind
        capacities: dict[int, int] = {}
        first = min(online)
        if self.fs.read(f"{CPU_DIR}/cpu{first}/cpu_capacity") is not None:
            read: Callable[[int], int | None] = lambda c: parse_int(  # noqa: E731
                self.fs.read(f"{CPU_DIR}/cpu{c}/cpu_capacity")
            )
            for c in sorted(online):
                cap = read(c)
                if cap is not None:
                    capacities[c] = cap
            if not kinds and len(set(capacities.values())) > 1:
                top = max(capacities.values())
                kinds = {
                    c: "performance" if v == top else "efficiency" for c, v in capacities.items()
                }
        return kinds, capacities

    def _host(self) -> Host:
        def line(rel: str) -> str | None:
            text = self.fs.read(rel)
            return None if text is None else (text.strip(" \t\r\n\x00") or None)

        model = None
        # Only the head: /proc/cpuinfo on 1024 CPUs is megabytes, generated on read.
        cpuinfo = self.fs.read("proc/cpuinfo", limit=16384)
        for row in (cpuinfo or "").splitlines():
            key, _, value = row.partition(":")
            if key.strip() in ("model name", "Model", "cpu model"):
                model = value.strip() or None
                break
        return Host(
            hostname=line("proc/sys/kernel/hostname"),
            kernel=line("proc/sys/kernel/osrelease"),
            cpu_model=model,
        )
